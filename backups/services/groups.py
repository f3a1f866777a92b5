"""Users, groups and product access (R7): restore what is missing; approve, deny or revoke
what was restored, keeping every decision."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from backups.models import Membership, Organization, OrgGroup, Product, ProductAccess
from backups.models.products import ProductAccessDecision

from .audit import record_event
from .errors import Refused


def groups_restore(
    *, organization: Organization, destination: Product, rows: Iterable[dict]
) -> dict:
    """Create the backup's groups that the organization lacks, with their members who are
    members of the organization, and their access to `destination`, not approved (R7)."""
    User = get_user_model()
    member_ids = set(
        Membership.objects.filter(organization=organization).values_list("user_id", flat=True)
    )
    existing = set(organization.groups.values_list("name", flat=True))
    report = {"restored": [], "skipped": [], "members_added": 0, "access_awaiting_approval": []}
    for row in rows:
        if row["name"] in existing:
            report["skipped"].append(row["name"])
            continue
        group = OrgGroup.objects.create(organization=organization, name=row["name"])
        usernames = [m["username"] for m in row["members"]]
        users = User.objects.filter(username__in=usernames, pk__in=member_ids)
        group.members.add(*users)
        report["members_added"] += len(users)
        report["restored"].append(row["name"])
        if row.get("product_access") is not None:
            # It affects billing: an org admin approves it on "Review product access".
            ProductAccess.objects.create(group=group, product=destination, approved=False)
            report["access_awaiting_approval"].append(row["name"])
    return report


def product_access_pending(organization: Organization):
    return (
        ProductAccess.objects.filter(product__organization=organization, approved=False)
        .select_related("group", "product")
        .order_by("product__name", "group__name")
    )


def product_access_history(organization: Organization):
    """Every decision on the organization's product access, newest first (R7)."""
    return ProductAccessDecision.objects.filter(organization=organization).select_related(
        "decided_by"
    )


# R7: what each decision does, as one conditional write on the access row. `approved` is the
# state the row must still be in: if it is not, another admin decided first and nothing
# changes. Approve applies the access; deny and revoke remove it (the group stays).
_DECISIONS = {
    ProductAccessDecision.Kind.APPROVED: False,
    ProductAccessDecision.Kind.DENIED: False,
    ProductAccessDecision.Kind.REVOKED: True,
}
ALREADY_REVIEWED = "This product access was already reviewed."
NOT_APPROVED_YET = "This product access is not approved yet: approve or deny it first."


def product_access_decide(
    *, access: ProductAccess, decision: str, actor, now: datetime | None = None
) -> ProductAccessDecision:
    """Approve or deny a restored group's access to a product, or revoke an approved one (R7).

    Raises Refused when the access is no longer in the state the decision needs."""
    decision = ProductAccessDecision.Kind(decision)
    must_be_approved = _DECISIONS[decision]
    organization = access.product.organization
    with transaction.atomic():
        pending_or_applied = ProductAccess.objects.filter(pk=access.pk, approved=must_be_approved)
        if decision == ProductAccessDecision.Kind.APPROVED:
            changed = pending_or_applied.update(approved=True)
        else:
            changed, _ = pending_or_applied.delete()
        if not changed:
            if not must_be_approved:
                raise Refused(ALREADY_REVIEWED)
            still_pending = ProductAccess.objects.filter(pk=access.pk, approved=False).exists()
            raise Refused(
                NOT_APPROVED_YET if still_pending else "This product access was already revoked."
            )
        members = access.group.members.count()
        record = ProductAccessDecision.objects.create(
            organization=organization,
            access_id=access.pk,
            group=access.group,
            group_name=access.group.name,
            product=access.product,
            product_name=access.product.name,
            members=members,
            decision=decision,
            decided_by=actor if getattr(actor, "is_authenticated", False) else None,
            decided_at=now or timezone.now(),
        )
        record_event(
            action=f"product_access.{decision.value}",
            actor=actor,
            organization=organization,
            target=f"{access.group.name} → {access.product.name}",
            details={
                "group": access.group.name,
                "product": access.product.name,
                "members": members,
                "access_id": access.pk,
            },
        )
    return record

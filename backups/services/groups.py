"""Users, groups and product access (R7): restore what is missing, approve what was restored."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction

from backups.models import Membership, Organization, OrgGroup, Product, ProductAccess

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


def product_access_decide(*, access: ProductAccess, approve: bool, actor) -> None:
    """Approve (apply) or deny (remove) a restored group's access to a product (R7)."""
    with transaction.atomic():
        if approve:
            changed = ProductAccess.objects.filter(pk=access.pk, approved=False).update(
                approved=True
            )
        else:
            changed, _ = ProductAccess.objects.filter(pk=access.pk, approved=False).delete()
        if not changed:
            raise Refused("This product access was already reviewed.")
        record_event(
            action="product_access.approved" if approve else "product_access.denied",
            actor=actor,
            organization=access.product.organization,
            target=access,
            details={"group": access.group.name, "product": access.product.name},
        )

"""Organization writes: early-access enrollment (SPEC §1, only staff set it, in Django admin)."""

from django.db import transaction

from backups.models import Organization
from backups.services.audit import record_event


def organization_set_enrolled(*, organization: Organization, enrolled: bool, actor) -> bool:
    """Enroll or unenroll an organization; return whether anything changed."""
    with transaction.atomic():
        # A conditional update: two staff clicking at once change the flag, and record the
        # event, exactly once.
        changed = bool(
            Organization.objects.filter(pk=organization.pk, enrolled=not enrolled).update(
                enrolled=enrolled
            )
        )
        if changed:
            record_event(
                action="organization.enrolled" if enrolled else "organization.unenrolled",
                actor=actor,
                organization=organization,
                target=organization,
            )
    organization.enrolled = enrolled
    return changed

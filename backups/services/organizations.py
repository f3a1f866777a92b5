"""Organization writes: early-access enrollment (SPEC §1, only staff set it, in Django admin),
and the time zone of its scheduled backups (A1)."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from backups.models import BackupPolicy, Organization
from backups.rules.schedules import time_zone_problem
from backups.services.audit import record_event

from .errors import Refused
from .schedules import next_slot


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


def organization_set_time_zone(
    *, organization: Organization, time_zone: str, actor, now: datetime | None = None
) -> bool:
    """Set the time zone the organization's schedules read (A1) and move every weekly
    policy's next slot to its day and time there; return whether anything changed."""
    problem = time_zone_problem(time_zone)
    if problem:
        raise Refused(problem)
    now = now or timezone.now()
    with transaction.atomic():
        before = (
            Organization.objects.select_for_update()
            .values_list("time_zone", flat=True)
            .get(pk=organization.pk)
        )
        if before == time_zone:
            organization.time_zone = time_zone
            return False
        Organization.objects.filter(pk=organization.pk).update(time_zone=time_zone)
        policies = BackupPolicy.objects.filter(
            product__organization=organization, schedule=BackupPolicy.Schedule.WEEKLY
        )
        for policy in policies:
            # From now: a slot due and held back (B3) under the old zone moves to the new
            # zone's next one, as a schedule set afresh would.
            policy.next_run_at = next_slot(policy, after=now, time_zone=time_zone)
            policy.save(update_fields=["next_run_at"])
        record_event(
            action="organization.time_zone_changed",
            actor=actor,
            organization=organization,
            target=organization,
            details={"from": before, "to": time_zone},
        )
    organization.time_zone = time_zone
    return True

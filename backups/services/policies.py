from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from backups.models import BackupPolicy, Product

from .audit import record_event
from .errors import Refused
from .schedules import next_slot

OPTION_FIELDS = (
    "include_attachments",
    "include_personal_spaces",
    "include_users_and_groups",
    "verify",  # A3
)
# A1: manual, or weekly on a day at a time in the organization's time zone.
SCHEDULE_FIELDS = ("schedule", "schedule_weekday", "schedule_time")


def backup_policy_create(
    *, product: Product, actor, now: datetime | None = None, **options
) -> BackupPolicy:
    """Create the product's one backup policy (P1); a second one is refused."""
    fields = _clean(product, options)
    try:
        with transaction.atomic():
            policy = BackupPolicy(product=product, created_by=actor, **fields)
            _set_next_run(policy, now or timezone.now())
            policy.save()
    except IntegrityError:
        # P1 is the database's unique index; two admins submitting at once end up here.
        raise Refused(f"{product.name} already has a backup policy.")
    record_event(
        action="policy.created",
        actor=actor,
        organization=product.organization,
        target=policy,
        details=_details(policy),
    )
    return policy


def backup_policy_update(
    *, policy: BackupPolicy, actor, now: datetime | None = None, **options
) -> BackupPolicy:
    """Change a policy's options; backups already started keep theirs (P3). A new schedule
    (A1) moves the next slot; an unchanged one keeps it (a slot held back by B3 stays due)."""
    before = (policy.schedule, policy.schedule_weekday, policy.schedule_time)
    for field, value in _clean(policy.product, options).items():
        setattr(policy, field, value)
    if (policy.schedule, policy.schedule_weekday, policy.schedule_time) != before:
        _set_next_run(policy, now or timezone.now())
    policy.save()
    record_event(
        action="policy.updated",
        actor=actor,
        organization=policy.product.organization,
        target=policy,
        details=_details(policy),
    )
    return policy


def _set_next_run(policy: BackupPolicy, now: datetime) -> None:
    """A1: a weekly policy's first slot after now; a manual one has none."""
    policy.next_run_at = next_slot(
        policy, after=now, time_zone=policy.product.organization.time_zone
    )


def _details(policy: BackupPolicy) -> dict:
    details = {**policy.options(), "verify": policy.verify, "schedule": policy.schedule}
    if policy.schedule == BackupPolicy.Schedule.WEEKLY:
        details["schedule_weekday"] = policy.schedule_weekday
        details["schedule_time"] = policy.schedule_time.strftime("%H:%M")
    return details


def _clean(product: Product, options: dict) -> dict:
    unknown = set(options) - set(OPTION_FIELDS) - set(SCHEDULE_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy options: {sorted(unknown)}")
    if product.kind != Product.Kind.CONFLUENCE:
        options = {**options, "include_personal_spaces": False}
    if options.get("schedule") == BackupPolicy.Schedule.MANUAL:
        # A manual policy keeps no day and time: the page would otherwise show a stale one.
        options = {**options, "schedule_weekday": None, "schedule_time": None}
    return options

"""A1: scheduled backups. Every minute `automation_tick` starts the weekly backups whose slot
has come and the automatic retries that are due (A2), through `backup_request` and its rules.

A slot stays due (`next_run_at <= now`) until a backup starts for it: B3 (a complete backup
in the last 7 days) or B4 (a backup or a restore running) only hold it back. When a backup
starts, the slot moves to the first one after *now* (not after the old slot), so slots missed
while the service was down run once. Two schedulers ticking at once start one backup: the
product row lock and B4's unique index in `backup_request`, and the slot's conditional update
in the same transaction. A refusal that will not pass by itself (B6, an organization no longer
enrolled) is recorded once and the slot moves on.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from backups import rules
from backups.models import Backup, BackupPolicy
from backups.rules.schedules import next_weekly_slot

from .audit import record_event
from .backups import backup_request, product_activity
from .errors import Refused
from .retries import start_due_retries

log = logging.getLogger(__name__)


def next_slot(policy: BackupPolicy, *, after: datetime, time_zone: str) -> datetime | None:
    """The first slot of `policy` after `after` (UTC), or None for a manual policy."""
    if policy.schedule != BackupPolicy.Schedule.WEEKLY:
        return None
    return next_weekly_slot(
        after=after,
        weekday=policy.schedule_weekday,
        at=policy.schedule_time,
        time_zone=time_zone,
    )


class _SlotTaken(Exception):
    """Another scheduler moved the slot on since this one read it: its backup is the one."""


def held_back(product, now: datetime) -> bool:
    """Will the refusal pass by itself (A1)? B4: something is running; B3: the week since the
    last complete backup has not passed. Anything else (B6, enrollment) is for good."""
    activity = product_activity(product)
    if activity.backup_in_progress or activity.restore_in_progress:
        return True
    last = activity.last_complete_at
    return last is not None and now < last + rules.BACKUP_INTERVAL


def _start_slot(policy: BackupPolicy, now: datetime) -> str | None:
    product = policy.product
    slot = policy.next_run_at
    following = next_slot(policy, after=now, time_zone=product.organization.time_zone)
    try:
        with transaction.atomic():
            backup = backup_request(
                product=product, actor=None, now=now, trigger=Backup.Trigger.SCHEDULE
            )
            # Conditional on the slot read: the scheduler that moved it started its backup.
            if not BackupPolicy.objects.filter(pk=policy.pk, next_run_at=slot).update(
                next_run_at=following
            ):
                raise _SlotTaken
            record_event(
                action="backup.schedule_started",
                organization=product.organization,
                target=backup,
                details={"slot": slot.isoformat(), "next_run_at": following.isoformat()},
            )
    except _SlotTaken:
        return None
    except Refused as refused:
        if held_back(product, now):
            return None  # stays due; a later tick starts it once the rules allow (A1)
        with transaction.atomic():
            if not BackupPolicy.objects.filter(pk=policy.pk, next_run_at=slot).update(
                next_run_at=following
            ):
                return None
            # Once per slot: the conditional update above lets one scheduler through.
            record_event(
                action="backup.schedule_refused",
                organization=product.organization,
                target=policy,
                details={
                    "reason": refused.reason,
                    "slot": slot.isoformat(),
                    "next_run_at": following.isoformat(),
                },
            )
        return f"did not start the scheduled backup of {product.name}: {refused.reason}"
    return f"started scheduled backup #{backup.pk} of {product.name}"


def start_due_schedules(now: datetime) -> list[str]:
    """Start the backup of every weekly policy whose slot has come (A1); what was done."""
    due = (
        BackupPolicy.objects.filter(schedule=BackupPolicy.Schedule.WEEKLY, next_run_at__lte=now)
        .select_related("product__organization")
        .order_by("next_run_at", "pk")
    )
    done = []
    for policy in due:
        try:
            line = _start_slot(policy, now)
        except Exception:  # one product's trouble does not stop the others' backups
            log.exception("Scheduled backup of policy %s", policy.pk)
            continue
        if line:
            done.append(line)
    return done


def automation_tick(now: datetime | None = None) -> list[str]:
    """A1, A2: start the scheduled backups and the automatic retries that are due now."""
    now = now or timezone.now()
    done = start_due_schedules(now) + start_due_retries(now)
    for line in done:
        log.info("automation: %s", line)
    return done

"""A1, A2 on the pages: a backup's attempts, and a policy's schedule and next run.

    {% load automation %}
    {% backup_attempts backup compact as attempts %}   attempts.label, .next_at, .reason, .others
    {% policy_schedule policy decision now as sched %}  sched.words, .next_at, .due_words

Templates that need these (`_backup_attempts.html`, `_policies_table.html`) are shared by
views built elsewhere; the tags read the rows they are given, so every view shows the same.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django import template
from django.db.models import Q
from django.utils import timezone

from backups.models import Backup, BackupPolicy
from backups.rules.retries import RetryPlan, attempt_label
from backups.rules.schedules import schedule_words, slot_held_words
from backups.services.retries import backup_retry_plan

register = template.Library()


@dataclass
class Attempts:
    label: str = ""
    next_at: datetime | None = None
    reason: str = ""
    others: list = field(default_factory=list)


@register.simple_tag
def backup_attempts(backup: Backup, compact: bool = False) -> Attempts:
    """A2: 'Attempt 1 of 3 · next attempt at …', 'Automatic retry: attempt 2 of 3', why a
    failed backup is not tried again, and (on its page) links to its other attempts."""
    plan = backup_retry_plan(backup) if backup.status == Backup.Status.FAILED else None
    if plan is None:
        plan = RetryPlan()
    result = Attempts(
        label=attempt_label(trigger=backup.trigger, attempt=backup.attempt, plan=plan),
        next_at=plan.due_at,
        reason=plan.reason,
    )
    chained = backup.attempt > 1 or getattr(backup, "retried", False) or plan.due_at
    if not compact and chained:
        first = backup.first_attempt_id or backup.pk
        result.others = list(
            Backup.objects.filter(Q(pk=first) | Q(first_attempt_id=first))
            .exclude(pk=backup.pk)
            .order_by("attempt")
        )
    return result


@dataclass
class ScheduleCell:
    words: str
    next_at: datetime | None = None
    due_words: str = ""


@register.simple_tag
def policy_schedule(policy: BackupPolicy, decision=None, now: datetime | None = None):
    """A1: 'Weekly on Monday at 02:00 (Europe/Paris)' and its next run, or 'Manually'; a slot
    that has come but the rules hold back (B3, B4) says when it starts."""
    time_zone = policy.product.organization.time_zone
    cell = ScheduleCell(
        words=schedule_words(
            schedule=policy.schedule,
            weekday=policy.schedule_weekday,
            at=policy.schedule_time,
            time_zone=time_zone,
        ),
        next_at=policy.next_run_at,
    )
    now = now or timezone.now()
    if policy.next_run_at and policy.next_run_at <= now and decision is not None:
        if decision:
            cell.due_words = "Due — starts within a minute"
        else:
            cell.due_words = slot_held_words(not_before=decision.not_before, reason=decision.reason)
    return cell

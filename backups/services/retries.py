"""A2: automatic retries. A backup that FAILED for a reason that may pass is started again
RETRY_DELAY after it ended, as a new row (attempt n + 1, linked to the first attempt), at most
MAX_ATTEMPTS times in all, through `backup_request` and its rules."""

import logging
from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from backups.models import Backup
from backups.rules.retries import MAX_ATTEMPTS, RETRY_DELAY, retry_plan

from .audit import record_event
from .backups import backup_request, product_activity
from .errors import Refused

log = logging.getLogger(__name__)

FINISHED = (Backup.Status.COMPLETE, Backup.Status.INCOMPLETE)


def later_attempts():
    """Rows of attempts after OuterRef's backup (for Exists)."""
    return Backup.objects.filter(
        first_attempt_id=Coalesce(OuterRef("first_attempt_id"), OuterRef("pk")),
        attempt__gt=OuterRef("attempt"),
    )


def finished_since():
    """Backups of OuterRef's product that finished with data after it started (for Exists)."""
    return Backup.objects.filter(
        product=OuterRef("product"), status__in=FINISHED, completed_at__gt=OuterRef("started_at")
    )


def with_retry_facts(backups):
    """Annotate `retried` and `superseded`, what rules.retries.retry_plan needs besides the row."""
    return backups.annotate(retried=Exists(later_attempts()), superseded=Exists(finished_since()))


def backup_retry_plan(backup: Backup):
    """The retry plan of one backup (A2), from annotations if the row has them."""
    if not hasattr(backup, "retried"):
        first = backup.first_attempt_id or backup.pk
        backup.retried = Backup.objects.filter(
            first_attempt_id=first, attempt__gt=backup.attempt
        ).exists()
        backup.superseded = Backup.objects.filter(
            product_id=backup.product_id,
            status__in=FINISHED,
            completed_at__gt=backup.started_at,
        ).exists()
    return retry_plan(
        status=backup.status,
        transient=backup.failure_transient,
        attempt=backup.attempt,
        completed_at=backup.completed_at,
        retried=backup.retried,
        superseded=backup.superseded,
    )


def retry_candidates(now: datetime):
    """FAILED backups that may pass and have attempts left, ended RETRY_DELAY ago or more."""
    return Backup.objects.filter(
        status=Backup.Status.FAILED,
        failure_transient=True,
        attempt__lt=MAX_ATTEMPTS,
        completed_at__lte=now - RETRY_DELAY,
    )


def due_retries(now: datetime):
    """FAILED backups whose next attempt is due now (A2)."""
    return (
        with_retry_facts(retry_candidates(now))
        .filter(Q(retried=False) & Q(superseded=False))
        .select_related("product__organization")
        .order_by("completed_at", "pk")
    )


def _retry(failed: Backup, now: datetime) -> str | None:
    product = failed.product
    try:
        backup = backup_request(
            product=product, actor=None, now=now, trigger=Backup.Trigger.RETRY, retry_of=failed
        )
    except Refused as refused:
        first = failed.first_attempt_id or failed.pk
        if Backup.objects.filter(first_attempt_id=first, attempt=failed.attempt + 1).exists():
            return None  # another scheduler started this attempt
        activity = product_activity(product)
        if activity.backup_in_progress or activity.restore_in_progress:
            return None  # B4: tried again at the next tick
        # For good (B6, B3 after a newer complete backup, enrollment): no more attempts. The
        # conditional update lets one scheduler record it; the page then says it is not retried.
        if not Backup.objects.filter(pk=failed.pk, failure_transient=True).update(
            failure_transient=False
        ):
            return None
        record_event(
            action="backup.retry_refused",
            organization=product.organization,
            target=failed,
            details={"reason": refused.reason, "attempt": failed.attempt + 1},
        )
        return f"did not retry backup #{failed.pk} of {product.name}: {refused.reason}"
    record_event(
        action="backup.retry_started",
        organization=product.organization,
        target=backup,
        details={"retry_of": failed.pk, "attempt": backup.attempt},
    )
    return f"started attempt {backup.attempt} of backup #{failed.pk} of {product.name}"


def start_due_retries(now: datetime) -> list[str]:
    """Start every automatic retry that is due (A2); what was done."""
    done = []
    if not retry_candidates(now).exists():
        return done  # the usual tick (every minute): one cheap query
    for failed in due_retries(now):
        try:
            line = _retry(failed, now)
        except Exception:
            log.exception("Retry of backup %s", failed.pk)
            continue
        if line:
            done.append(line)
    return done

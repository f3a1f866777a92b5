"""What the organization is told (SPEC A4): an email (console backend by default) and a
webhook call to every endpoint that chose the event, for a backup or restore that ended, a
verification that failed, and a backup expiring in 48 hours that was never downloaded.

Nothing here may fail the job that raised the event: mail errors are logged, webhooks are only
queued here (services/webhooks.py sends them from a task).
"""

import logging
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from backups.models import Backup, BackupExpiryNotice, Membership, WebhookEvent
from backups.rules import RETENTION, format_when

from .webhooks import webhook_event_emit

log = logging.getLogger(__name__)

# A4: a backup is announced this long before it expires, if no file of it was downloaded.
EXPIRY_WARNING = timedelta(hours=48)


def _webhooks(organization, event: str, text: str, data: dict) -> None:
    try:
        webhook_event_emit(organization=organization, event=event, text=text, data=data)
    except Exception:
        # The job that raised the event has ended well or badly on its own; a notification
        # problem must not change that.
        log.exception("Could not queue the webhooks of %s for %s", event, organization)


def _admin_emails(organization) -> list[str]:
    return sorted(
        Membership.objects.filter(organization=organization, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def _mail(subject: str, lines: list[str], recipients: list[str], what: str) -> None:
    if not recipients:
        return
    try:
        send_mail(
            subject=subject, message="\n".join(lines), from_email=None, recipient_list=recipients
        )
    except Exception:
        log.exception("Could not email %s about %s", ", ".join(recipients), what)


def _backup_data(backup) -> dict:
    product = backup.product
    return {
        "backup": {
            "id": backup.pk,
            "status": backup.status,
            "started_at": backup.started_at,
            "completed_at": backup.completed_at,
            "expires_at": backup.expires_at,
            "total_bytes": backup.total_bytes,
            "missing": len(backup.missing or []),
            "failure_reason": backup.failure_reason,
        },
        "product": {"id": product.pk, "name": product.name, "kind": product.kind},
    }


def notify_backup_finished(backup) -> None:
    product = backup.product
    _webhooks(
        product.organization,
        WebhookEvent.BACKUP_FINISHED,
        f"Backup of {product.name} ended: {backup.get_status_display()}."
        + (f" Why: {backup.failure_reason}" if backup.status == backup.Status.FAILED else ""),
        _backup_data(backup),
    )
    user = backup.created_by
    if user is None or not user.email:
        return
    lines = [f"Your backup of {product.name} ended: {backup.get_status_display()}."]
    if backup.status == backup.Status.FAILED:
        lines.append(f"Why: {backup.failure_reason}")
    elif backup.missing:
        lines.append("Not in the backup:")
        lines += [f"- {m['what']}: {m['reason']}" for m in backup.missing]
    try:
        send_mail(
            subject=f"Backup of {product.name}: {backup.get_status_display()}",
            message="\n".join(lines),
            from_email=None,
            recipient_list=[user.email],
        )
    except Exception:
        # A mail server being down must never turn a finished backup into a failed one.
        log.exception("Could not email %s about backup %s", user.email, backup.pk)


def notify_restore_finished(restore) -> None:
    destination = restore.destination
    _webhooks(
        destination.organization,
        WebhookEvent.RESTORE_FINISHED,
        f"Restore of {restore.source_product_name} into {destination.name} ended: "
        f"{restore.get_status_display()}."
        + (f" Why: {restore.failure_reason}" if restore.status == restore.Status.FAILED else ""),
        {
            "restore": {
                "id": restore.pk,
                "status": restore.status,
                "source_product_name": restore.source_product_name,
                "backup_id": restore.backup_id,
                "failure_reason": restore.failure_reason,
                "restored": (restore.report or {}).get("restored", {}),
            },
            "product": {"id": destination.pk, "name": destination.name, "kind": destination.kind},
        },
    )
    user = restore.created_by
    if user is None or not user.email:
        return
    lines = [
        f"Your restore of {restore.source_product_name} into {restore.destination.name} ended: "
        f"{restore.get_status_display()}."
    ]
    if restore.status == restore.Status.FAILED:
        lines.append(f"Why: {restore.failure_reason}")
        lines.append("Nothing was changed in the destination.")
    else:
        report = restore.report
        lines += [f"Restored {n} {t}." for t, n in report.get("restored", {}).items()]
        if report.get("skipped_space_keys"):
            lines.append(
                "Skipped spaces (their key exists): " + ", ".join(report["skipped_space_keys"])
            )
        pending = report.get("groups", {}).get("access_awaiting_approval")
        if pending:
            lines.append("Product access awaiting your approval: " + ", ".join(pending))
    try:
        send_mail(
            subject=f"Restore into {restore.destination.name}: {restore.get_status_display()}",
            message="\n".join(lines),
            from_email=None,
            recipient_list=[user.email],
        )
    except Exception:
        log.exception("Could not email %s about restore %s", user.email, restore.pk)


def notify_verification_failed(backup, reason: str) -> None:
    """A3: a completed backup could not be proven restorable; the org admins hear why."""
    product = backup.product
    text = f"Backup #{backup.pk} of {product.name} could not be verified: {reason}"
    _webhooks(
        product.organization,
        WebhookEvent.VERIFICATION_FAILED,
        text,
        {**_backup_data(backup), "reason": reason},
    )
    _mail(
        f"Backup of {product.name} could not be verified",
        [
            text,
            "Do not count on this backup for a restore; run a new backup of the product.",
        ],
        _admin_emails(product.organization),
        f"verification of backup {backup.pk}",
    )


def notify_backup_expiring(backup) -> None:
    """A4: the backup expires within 48 hours and no file of it was ever downloaded."""
    product = backup.product
    text = (
        f"Backup #{backup.pk} of {product.name} expires {format_when(backup.expires_at)} "
        "and was never downloaded. Download its backup file before then to keep a copy."
    )
    _webhooks(product.organization, WebhookEvent.BACKUP_EXPIRING, text, _backup_data(backup))
    _mail(
        f"Backup of {product.name} expires in less than 48 hours",
        [text],
        _admin_emails(product.organization),
        f"expiry of backup {backup.pk}",
    )


def backups_expiring_undownloaded(now: datetime):
    """Backups that expire within 48 hours, were never downloaded and were not announced."""
    return (
        Backup.objects.filter(
            status__in=[Backup.Status.COMPLETE, Backup.Status.INCOMPLETE],
            started_at__gt=now - RETENTION,
            started_at__lte=now - RETENTION + EXPIRY_WARNING,
            expiry_notice__isnull=True,
        )
        .exclude(Q(file__downloads_used__gt=0))
        .select_related("product__organization")
        .order_by("started_at", "pk")
    )


def notify_expiring_backups(*, now: datetime | None = None) -> list:
    """Announce each expiring, never-downloaded backup once (the notice row's unique backup is
    what makes a second run, or two at once, announce nothing twice)."""
    now = now or timezone.now()
    announced = []
    for backup in backups_expiring_undownloaded(now):
        _notice, created = BackupExpiryNotice.objects.get_or_create(backup=backup)
        if created:
            notify_backup_expiring(backup)
            announced.append(backup)
    return announced

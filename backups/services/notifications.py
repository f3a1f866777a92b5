"""Emails to the admin who started a job, when it ends (console backend by default)."""

import logging

from django.core.mail import send_mail

log = logging.getLogger(__name__)


def notify_backup_finished(backup) -> None:
    user = backup.created_by
    if user is None or not user.email:
        return
    product = backup.product
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

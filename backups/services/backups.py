"""Backups: ask whether one may run, request it, fail it, expire it (B1-B8, E1, E3)."""

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from backups import rules, storage
from backups.models import Backup, BackupFile, Membership, Product, Restore
from backups.productdata import content_summary

from .audit import record_event
from .blobs import blobs_release
from .errors import Refused
from .jobs import BACKUP, enqueue_on_commit, finish, transition
from .notifications import notify_backup_finished

log = logging.getLogger(__name__)


def product_activity(product: Product) -> rules.ProductActivity:
    """The facts about a product that the backup and restore rules need."""
    last_complete = (
        Backup.objects.filter(product=product, status=Backup.Status.COMPLETE)
        .order_by("-completed_at")
        .values_list("completed_at", flat=True)
        .first()
    )
    return rules.ProductActivity(
        last_complete_at=last_complete,
        backup_in_progress=Backup.objects.filter(
            product=product, status=Backup.Status.IN_PROGRESS
        ).exists(),
        restore_in_progress=Restore.objects.filter(
            destination=product, status=Restore.Status.IN_PROGRESS
        ).exists(),
    )


def backup_decision(
    *,
    product: Product,
    user,
    now: datetime | None = None,
    summary=None,
    trigger: str = Backup.Trigger.MANUAL,
) -> rules.Decision:
    """May `user` start a backup of `product` now? The reason is what the page shows.

    A scheduled backup or an automatic retry (A1, A2) has no user: its policy is the standing
    order of the org admin who set it, so only the other rules (B1, B3, B4, B6) apply."""
    if trigger in AUTOMATIC:
        is_org_admin = True
    else:
        membership = Membership.objects.filter(user=user, organization=product.organization).first()
        is_org_admin = bool(membership and membership.is_admin)
    if summary is None:
        summary = content_summary(product)
    return rules.backup_allowed(
        is_org_admin=is_org_admin,
        enrolled=product.organization.enrolled,
        product_name=product.name,
        kind=product.kind,
        activity=product_activity(product),
        data_bytes=summary.data_bytes,
        attachment_bytes=summary.attachment_bytes,
        limits=settings.BACKUP_LIMITS,
        now=now or timezone.now(),
    )


AUTOMATIC = (Backup.Trigger.SCHEDULE, Backup.Trigger.RETRY)


def backup_request(
    *,
    product: Product,
    actor,
    now: datetime | None = None,
    trigger: str = Backup.Trigger.MANUAL,
    retry_of: Backup | None = None,
) -> Backup:
    """Start a backup of `product` with its policy's options, or raise Refused with the reason.

    `trigger` says who asked (an admin, the API, the schedule, a retry); a retry (A2) names the
    failed backup it tries again and becomes the next attempt of the first one."""
    now = now or timezone.now()
    if (trigger == Backup.Trigger.RETRY) != (retry_of is not None):
        raise TypeError("a retry, and only a retry, names the backup it retries")
    # B6's sizes are read before the lock: counting a large product takes seconds, and on
    # SQLite the transaction below holds the one write lock of the whole site. Only a restore
    # changes a product's content, and B4 (checked under the lock) refuses a backup then.
    summary = content_summary(product)
    try:
        with transaction.atomic():
            # The lock serializes requests for one product: ten clicks make one backup (B4).
            product = (
                Product.objects.select_for_update()
                .select_related("organization")
                .get(pk=product.pk)
            )
            policy = getattr(product, "backup_policy", None)
            if policy is None:
                raise Refused(f"{product.name} has no backup policy yet: create one first.")
            decision = backup_decision(
                product=product, user=actor, now=now, summary=summary, trigger=trigger
            )
            if not decision:
                raise Refused(decision)
            attempt = {}
            if retry_of is not None:
                attempt = {
                    "attempt": retry_of.attempt + 1,
                    "first_attempt_id": retry_of.first_attempt_id or retry_of.pk,
                }
            backup = Backup.objects.create(
                product=product,
                policy=policy,
                created_by=actor,
                trigger=trigger,
                **attempt,
                options=policy.options(),  # P3: a copy; later edits do not reach this backup
                started_at=now,
                heartbeat_at=now,
            )
            backup.storage_prefix = storage.backup_prefix(
                organization_id=product.organization_id, product_id=product.id, backup_id=backup.id
            )
            backup.save(update_fields=["storage_prefix"])
            record_event(
                action="backup.started",
                actor=actor,
                organization=product.organization,
                target=backup,
                details={"options": backup.options, "trigger": trigger, "attempt": backup.attempt},
            )
            enqueue_on_commit(BACKUP, backup.id)
    except IntegrityError:
        # A unique index caught a race that the lock did not (SQLite has no row locks; its
        # write lock serializes instead): one IN_PROGRESS backup per product (B4), or one row
        # per attempt when two schedulers retry the same backup at once (A2).
        if (
            retry_of is not None
            and Backup.objects.filter(
                first_attempt_id=retry_of.first_attempt_id or retry_of.pk,
                attempt=retry_of.attempt + 1,
            ).exists()
        ):
            raise Refused(f"Attempt {retry_of.attempt + 1} of this backup has already started.")
        raise Refused(f"A backup of {product.name} is already in progress.")
    return backup


def backup_fail(*, backup_id: int, reason: str, actor=None, transient: bool = False) -> bool:
    """Mark an in-progress backup FAILED and remove what it wrote (B5). False if it had ended.

    `transient`: the reason may pass (storage, network, rate limit, a worker that died), so
    the backup is one an automatic retry may try again (A2)."""
    if not finish(
        BACKUP,
        backup_id,
        Backup.Status.FAILED,
        failure_reason=reason,
        failure_transient=transient,
    ):
        return False
    backup = Backup.objects.select_related("product__organization", "created_by").get(pk=backup_id)
    if backup.storage_prefix:
        try:
            storage.delete_prefix(backup.storage_prefix)
        except storage.StorageError:
            # Often the very storage that failed the backup: what is left has no manifest, so
            # it can never pass for a finished backup; the admin still hears of the failure.
            log.exception("Backup %s failed; its partial objects could not be removed", backup_id)
    try:
        blobs_release(backup_id=backup_id)  # its attachments, entities: copies only it held go
    except storage.StorageError:
        # The copies stay DELETING; the next release in the organization deletes them.
        log.exception("Backup %s failed; its attachment copies could not be removed", backup_id)
    record_event(
        action="backup.failed",
        actor=actor,
        organization=backup.product.organization,
        target=backup,
        details={"reason": reason, "transient": transient},
    )
    notify_backup_finished(backup)
    return True


def backup_expire(*, backup: Backup, now: datetime, actor=None, force: bool = False) -> bool:
    """COMPLETE/INCOMPLETE -> EXPIRED and delete its data (B7, D5). False if not expirable.

    Without `force`, only a backup taken 14 days ago or more expires. The data goes first,
    then the status: if the storage fails (StorageError), the backup stays as it was and the
    next run tries again, so no EXPIRED record ever leaves data behind. Deleting twice is
    harmless, and the conditional update makes two runs at once record it exactly once.
    """
    expirable = (Backup.Status.COMPLETE, Backup.Status.INCOMPLETE)
    candidates = Backup.objects.all() if force else Backup.objects.due(now)
    if not candidates.filter(pk=backup.pk, status__in=expirable).exists():
        return False
    if backup.storage_prefix:
        # Past 14 days the rules already refuse every use of it, so nothing reads it now.
        storage.delete_prefix(backup.storage_prefix)
    # Its attachments and entities files are shared (#16): a stored copy goes only with the
    # last backup that holds it. A StorageError here leaves the backup as it is, and the next
    # run finishes the job (blobs_release retries the copies it had marked for deletion).
    blobs_release(backup_id=backup.pk)
    # started_at never changes, so "taken 14 days ago" still holds: only the status can race.
    if not transition(Backup, backup.pk, expirable, Backup.Status.EXPIRED, expired_at=now):
        return False
    # D5: the backup file went with it (it lives under the same prefix).
    file_id = BackupFile.objects.filter(backup=backup).values_list("pk", flat=True).first()
    if file_id:
        F = BackupFile.Status
        transition(BackupFile, file_id, (F.GENERATING, F.READY, F.FAILED), F.EXPIRED)
    record_event(
        action="backup.expired",
        actor=actor,
        organization=backup.product.organization,
        target=backup,
        details={"forced": force},
    )
    return True

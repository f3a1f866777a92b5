"""The restore engine: run a requested restore to its end, or fail it (R8, C6, C7, E3).

services/restores.py decides whether a restore may start and requests it; this module runs
it in the worker, as backup_engine.py does for backups.
"""

import logging
import time
from datetime import datetime

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from backups import storage
from backups.models import Product, Restore
from backups.productdata import ImportOptions, for_product

from .audit import record_event
from .groups import groups_restore
from .notifications import notify_restore_finished
from .restores import StoredBackupSource
from .uploads import UploadSource, upload_delete

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0


# --- run -------------------------------------------------------------------------------------


class RestoreCancelled(Exception):
    """Someone else ended the restore (staff "Mark failed", or fail_stale_jobs)."""


def files_folder(restore: Restore) -> str:
    """Where a restore writes attachment files: its own folder, found again after a crash."""
    return f"attachments/{restore.destination_id}/restore-{restore.pk}"


def live_progress_key(restore_id: int) -> str:
    return f"backupsite:restore:{restore_id}:progress"


def live_progress(restore: Restore) -> dict | None:
    """Progress of a running restore, from the cache (shared by the web server and workers)."""
    return cache.get(live_progress_key(restore.pk))


class DestinationChanged(Exception):
    """R6 no longer holds at the moment of publishing: nothing was written."""


def restore_run(*, restore_id: int) -> str | None:
    """Run a requested restore; a second call for it does nothing.

    R8 without one long transaction: the content goes into a hidden staging product in short
    transactions (SQLite has one write lock; the site's logins and saves must not wait for a
    whole restore), then moves into the destination in one short transaction with the status
    change (`_publish`). Until then the destination shows nothing; if anything fails, the
    staging product and the files are deleted.
    """
    now = timezone.now()
    claimed = Restore.objects.filter(
        pk=restore_id, status=Restore.Status.IN_PROGRESS, claimed_at__isnull=True
    ).update(claimed_at=now, heartbeat_at=now)
    if not claimed:
        log.warning("Restore %s is not waiting to run; not running it", restore_id)
        return None
    restore = Restore.objects.select_related(
        "backup__product", "upload", "destination__organization", "created_by"
    ).get(pk=restore_id)
    progress = _Progress(restore)
    source = None
    try:
        source = (
            UploadSource(restore.upload)
            if restore.upload_id
            else StoredBackupSource(restore.backup)
        )
        destination = for_product(restore.destination)
        if hasattr(destination, "restore_into_site"):
            _restore_into_site(restore, destination, source, progress)
            return _completed(restore)
        staged = for_product(_staging_product(restore))
        report = staged.import_content(
            source,
            ImportOptions(
                include_attachments=restore.options["include_attachments"],
                file_folder=files_folder(restore),
                on_progress=progress.add,
                existing_space_keys=(
                    frozenset(destination.space_keys())
                    if restore.destination.kind == Product.Kind.CONFLUENCE
                    else None
                ),
            ),
            atomic=False,
        )
        _publish(restore, staged, report.as_dict(), source, progress)
    except RestoreCancelled:
        _discard(restore)
        return None
    except Exception as exc:
        log.exception("Restore %s failed", restore_id)
        if not restore_fail(restore_id=restore_id, reason=_describe(exc)):
            _discard(restore)  # failed by someone else meanwhile: clean up what we wrote since
        return Restore.Status.FAILED
    finally:
        cache.delete(live_progress_key(restore_id))
        if isinstance(source, UploadSource):
            source.close()
    return _completed(restore)


def _completed(restore: Restore) -> str:
    restore.refresh_from_db()
    if restore.upload_id:
        upload_delete(upload=restore.upload, reason="restored")  # E2
    record_event(
        action="restore.completed",
        organization=restore.destination.organization,
        target=restore,
        details=restore.report,
    )
    notify_restore_finished(restore)
    return Restore.Status.COMPLETE


def _restore_into_site(restore: Restore, destination, source, progress: "_Progress") -> None:
    """C6, C7: a connected destination is written through its API (no transaction there:
    a failure deletes what was created, inside restore_into_site), checked first (C1)."""
    from .connections import connection_check

    check = connection_check(connection=destination.connection)
    if not check.ok:
        raise DestinationChanged(
            f"The connection to {destination.connection.site_url} failed its check, so "
            f"nothing was restored: {check.message}"
        )
    report = destination.restore_into_site(
        source,
        ImportOptions(
            include_attachments=restore.options["include_attachments"],
            on_progress=progress.add,
        ),
    )
    # What the site's API could not set, and each item it could not reach (C6).
    result = {**report.as_dict(), "not_restored": report.not_restored}
    with transaction.atomic():
        _complete(restore, restore.destination, result, source, progress)


def _staging_product(restore: Restore) -> Product:
    """The hidden product this restore writes into before it publishes."""
    destination = restore.destination
    with transaction.atomic():
        staging = Product.all_objects.create(
            organization=destination.organization,
            kind=destination.kind,
            name=f"Restore #{restore.pk} (staging, not visible)",
            is_staging=True,
        )
        if not Restore.objects.filter(pk=restore.pk, status=Restore.Status.IN_PROGRESS).update(
            staging_product=staging
        ):
            raise RestoreCancelled()
    restore.staging_product = staging
    return staging


def _publish(restore: Restore, staged, result: dict, source, progress: "_Progress") -> None:
    """Move the staged content into the destination and mark the restore COMPLETE: one short
    transaction, so the destination shows all of the restore or none of it (R8)."""
    with transaction.atomic():
        destination = Product.objects.select_for_update().get(pk=restore.destination_id)
        problem = staged.publish_problem(destination)
        if problem:
            raise DestinationChanged(problem)
        staged.move_content_to(destination)
        _complete(restore, destination, result, source, progress)
        Product.all_objects.filter(pk=staged.product.pk, is_staging=True).delete()


def _complete(restore: Restore, destination, result: dict, source, progress) -> None:
    """Inside the caller's transaction: the groups (R7), then the status, in the same
    transaction as the content: both or neither. Someone else ended it: RestoreCancelled."""
    if restore.options["include_users_and_groups"]:
        result["groups"] = groups_restore(
            organization=destination.organization,
            destination=destination,
            rows=source.rows("groups"),
        )
    done = timezone.now()
    if not Restore.objects.filter(pk=restore.pk, status=Restore.Status.IN_PROGRESS).update(
        status=Restore.Status.COMPLETE,
        completed_at=done,
        heartbeat_at=done,
        report=result,
        items_done=progress.done,
        staging_product=None,
    ):
        raise RestoreCancelled()


def _discard(restore: Restore) -> None:
    """Delete what a restore that did not complete wrote: its staging product and files."""
    _delete_restored_files(restore)
    staging_id = (
        Restore.objects.filter(pk=restore.pk).values_list("staging_product", flat=True).first()
    )
    staging = Product.all_objects.filter(pk=staging_id, is_staging=True).first()
    if staging is None:
        return
    for_product(staging).delete_content()
    Product.all_objects.filter(pk=staging.pk, is_staging=True).delete()


def _describe(exc: Exception) -> str:
    if isinstance(exc, DestinationChanged):
        return str(exc)
    if isinstance(exc, OSError | storage.StorageError):
        return f"The restore could not read or write its files: {exc}"
    return f"Unexpected error ({exc.__class__.__name__}): {exc}"


def _delete_restored_files(restore: Restore) -> None:
    folder = files_folder(restore)
    try:
        dirs, _ = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for d in dirs:
        for name in default_storage.listdir(f"{folder}/{d}")[1]:
            default_storage.delete(f"{folder}/{d}/{name}")


class _Progress:
    def __init__(self, restore: Restore):
        self.restore = restore
        self.done = 0
        self.last = 0.0

    def add(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = time.monotonic()
            cache.set(
                live_progress_key(self.restore.pk),
                {"items_done": self.done, "heartbeat_at": timezone.now().isoformat()},
                timeout=24 * 3600,
            )


def restore_heartbeat(restore: Restore) -> datetime | None:
    live = live_progress(restore)
    if live:
        return max(restore.heartbeat_at, datetime.fromisoformat(live["heartbeat_at"]))
    return restore.heartbeat_at


def restore_fail(*, restore_id: int, reason: str, actor=None) -> bool:
    """Mark a restore FAILED and delete the files it wrote (R8). False if it had ended."""
    now = timezone.now()
    changed = Restore.objects.filter(pk=restore_id, status=Restore.Status.IN_PROGRESS).update(
        status=Restore.Status.FAILED, failure_reason=reason, completed_at=now, heartbeat_at=now
    )
    if not changed:
        return False
    restore = Restore.objects.select_related("destination__organization", "created_by").get(
        pk=restore_id
    )
    _discard(restore)
    record_event(
        action="restore.failed",
        actor=actor,
        organization=restore.destination.organization,
        target=restore,
        details={"reason": reason},
    )
    notify_restore_finished(restore)
    return True

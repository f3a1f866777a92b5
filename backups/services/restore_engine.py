"""The restore engine: run a requested restore to its end, or fail it (R8, C6, C7, E3).

services/restores.py decides whether a restore may start and requests it; this module runs
it in the worker, as backup_engine.py does for backups.
"""

import logging
from datetime import datetime

from django.core.cache import cache
from django.db import transaction

from backups import storage
from backups.archive import EntitiesFileDamaged
from backups.models import Product, Restore
from backups.productdata import AttachmentIntegrityError, ImportOptions, for_product
from backups.productdata.base import ReferenceGone
from backups.productdata.parsed_rows import RowProcessFailed
from backups.selectors import refresh_content_summary

from . import jobs
from .audit import record_event
from .groups import groups_restore
from .jobs import RESTORE, JobEnded, Progress, claim, finish
from .notifications import notify_restore_finished
from .restores import RestoreSource, restore_source_of

log = logging.getLogger(__name__)


# --- run -------------------------------------------------------------------------------------


def files_folder(restore: Restore) -> str:
    """Where a restore writes attachment files: its own folder, found again after a crash."""
    return f"attachments/{restore.destination_id}/restore-{restore.pk}"


def live_progress_key(restore_id: int) -> str:
    return jobs.live_progress_key(RESTORE, restore_id)


def live_progress(restore: Restore) -> dict | None:
    """Progress of a running restore, from the cache (shared by the web server and workers)."""
    return jobs.live_progress(RESTORE, restore.pk)


class DestinationChanged(Exception):
    """R6 no longer holds at the moment of publishing: nothing was written."""


def restore_execute(*, restore_id: int) -> str | None:
    """Run a requested restore; a second call for it does nothing.

    R8 without one long transaction: the content goes into a hidden staging product in short
    transactions (SQLite has one write lock; the site's logins and saves must not wait for a
    whole restore), then moves into the destination in one short transaction with the status
    change (`_publish`). Until then the destination shows nothing; if anything fails, the
    staging product and the files are deleted.
    """
    if not claim(RESTORE, restore_id):
        return None
    restore = Restore.objects.select_related(
        "backup__product", "upload", "destination__organization", "created_by"
    ).get(pk=restore_id)
    progress = Progress(RESTORE, restore_id)
    source = None
    try:
        source = restore_source_of(restore)
        destination = for_product(restore.destination)
        if hasattr(destination, "restore_into_site"):
            _restore_into_site(restore, destination, source, progress)
            return _completed(restore, source)
        staged, report = import_into_staging(
            _staging_product(restore),
            source,
            include_attachments=restore.options["include_attachments"],
            file_folder=files_folder(restore),
            on_progress=progress.add,
            destination=restore.destination,
            existing_space_keys=(
                frozenset(destination.space_keys())
                if restore.destination.kind == Product.Kind.CONFLUENCE
                else None
            ),
        )
        if not _publish(restore, staged, report, source, progress):
            # The org page shows stored counts (#13 item 11): the destination's changed now.
            refresh_content_summary(restore.destination)
    except JobEnded:
        _discard(restore)
        return None
    except Exception as exc:
        log.exception("Restore %s failed", restore_id)
        if not restore_fail(restore_id=restore_id, reason=_describe(exc)):
            _discard(restore)  # failed by someone else meanwhile: clean up what we wrote since
        return Restore.Status.FAILED
    finally:
        cache.delete(live_progress_key(restore_id))
        if source is not None:
            source.close()
    return _completed(restore, source)


def _completed(restore: Restore, source: RestoreSource) -> str:
    restore.refresh_from_db()
    source.restored()  # an uploaded file is deleted once restored (E2)
    record_event(
        action="restore.completed",
        organization=restore.destination.organization,
        target=restore,
        details=restore.report,
    )
    notify_restore_finished(restore)
    return Restore.Status.COMPLETE


def _restore_into_site(restore: Restore, destination, source, progress: Progress) -> None:
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


# --- staging: the half of a restore that nobody sees -----------------------------------------
#
# A restore imports into a hidden staging product, then publishes it (_publish). The import
# half is also what a verification's trial restore runs (A3, services/verification.py): the
# same code path, into a scratch staging product that is deleted, never published.


def staging_product_create(*, organization, kind: str, name: str) -> Product:
    """A hidden product (`Product.objects` leaves it out) to import into."""
    return Product.all_objects.create(
        organization=organization, kind=kind, name=name, is_staging=True
    )


def import_into_staging(
    staging: Product,
    source,
    *,
    include_attachments: bool,
    file_folder: str,
    on_progress=None,
    destination: Product | None = None,
    existing_space_keys: frozenset[str] | None = None,
):
    """Import the source's rows and files into a staging product, in short transactions
    (atomic=False: nobody sees it). Returns the staging product's data layer and the report;
    a failure has deleted the files it copied, the rows stay for `staging_discard`.
    `destination`: the product a restore publishes into. Jira issues are written with its
    product from the start, under the staging product's projects (which hide them), so the
    publish moves the projects and not every issue (#16, productdata/jira.py)."""
    staged = for_product(staging)
    if destination is not None and staging.kind == Product.Kind.JIRA:
        staged.issues_product = destination
    report = staged.import_content(
        source,
        ImportOptions(
            include_attachments=include_attachments,
            file_folder=file_folder,
            on_progress=on_progress,
            existing_space_keys=existing_space_keys,
        ),
        atomic=False,
    )
    return staged, report


def staging_discard(staging_id: int | None, *, file_folder: str) -> None:
    """Delete a staging product (never a visible one), its content and the files under
    `file_folder`; safe to call again, or for a product that was never made."""
    # Every file is one per attachment, at <folder>/<uuid>/<name> (productdata.store_attachment).
    for name in storage.attachment_list(file_folder.rstrip("/") + "/"):
        storage.attachment_delete(name)
    staging = Product.all_objects.filter(pk=staging_id, is_staging=True).first()
    if staging is None:
        return
    for_product(staging).delete_content()
    Product.all_objects.filter(pk=staging.pk, is_staging=True).delete()


def _staging_product(restore: Restore) -> Product:
    """The hidden product this restore writes into before it publishes."""
    destination = restore.destination
    with transaction.atomic():
        staging = staging_product_create(
            organization=destination.organization,
            kind=destination.kind,
            name=f"Restore #{restore.pk} (staging, not visible)",
        )
        if not Restore.objects.running().filter(pk=restore.pk).update(staging_product=staging):
            raise JobEnded()
    restore.staging_product = staging
    return staging


def _publish(restore: Restore, staged, report, source, progress: Progress) -> bool:
    """Move the staged content into the destination and mark the restore COMPLETE: one short
    transaction, so the destination shows all of the restore or none of it (R8).

    Into a destination that holds nothing (always for Jira, R6; Confluence without a space),
    its stored counts (#13 item 11) become what the import wrote, in the same transaction:
    #16, counting every row of it again was ~7% of a restore. Returns whether it stored
    them; if not, the caller counts them (a Confluence destination with spaces of its own)."""
    with transaction.atomic():
        destination = Product.objects.select_for_update().get(pk=restore.destination_id)
        problem = staged.publish_problem(destination)
        if problem:
            raise DestinationChanged(problem)
        empty = type(staged)(destination).is_empty()
        staged.move_content_to(destination)
        if empty:
            refresh_content_summary(destination, summary=staged.written_summary(report))
        _complete(restore, destination, report.as_dict(), source, progress)
        Product.all_objects.filter(pk=staged.product.pk, is_staging=True).delete()
    return empty


def _complete(restore: Restore, destination, result: dict, source, progress) -> None:
    """Inside the caller's transaction: the groups (R7), then the status, in the same
    transaction as the content: both or neither. Someone else ended it: JobEnded."""
    if restore.options["include_users_and_groups"]:
        result["groups"] = groups_restore(
            organization=destination.organization,
            destination=destination,
            rows=source.rows("groups"),
        )
    if not finish(
        RESTORE,
        restore.pk,
        Restore.Status.COMPLETE,
        report=result,
        items_done=progress.items,
        staging_product=None,
    ):
        raise JobEnded()


def _discard(restore: Restore) -> None:
    """Delete what a restore that did not complete wrote: its staging product and files."""
    staging_id = (
        Restore.objects.filter(pk=restore.pk).values_list("staging_product", flat=True).first()
    )
    staging_discard(staging_id, file_folder=files_folder(restore))


def _describe(exc: Exception) -> str:
    # What the backup or the destination is found to be: said as it is, not as "unexpected".
    if isinstance(
        exc,
        DestinationChanged
        | ReferenceGone
        | AttachmentIntegrityError
        | EntitiesFileDamaged
        | RowProcessFailed,
    ):
        return str(exc)
    if isinstance(exc, OSError | storage.StorageError):
        return f"The restore could not read or write its files: {exc}"
    return f"Unexpected error ({exc.__class__.__name__}): {exc}"


def restore_heartbeat(restore: Restore) -> datetime | None:
    """When the restore's worker last reported: its row, or the cache if later (E3)."""
    return jobs.heartbeat(RESTORE, restore)


def restore_fail(*, restore_id: int, reason: str, actor=None) -> bool:
    """Mark a restore FAILED and delete the files it wrote (R8). False if it had ended."""
    if not finish(RESTORE, restore_id, Restore.Status.FAILED, failure_reason=reason):
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

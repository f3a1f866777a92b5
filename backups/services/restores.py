"""Restores: ask whether one may run, request it, run it, fail it (R1-R8)."""

import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime

import orjson
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from backups import archive, rules, storage
from backups.models import Backup, Membership, Product, Restore, Upload
from backups.productdata import KINDS, ImportOptions, for_product

from .audit import record_event
from .backups import product_activity
from .errors import Refused
from .groups import groups_restore
from .notifications import notify_restore_finished
from .uploads import UploadSource, upload_delete, upload_restore_source

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0


# --- what is restored from where -------------------------------------------------------------


class StoredBackupSource:
    """Rows and attachment files of a backup in the service's storage (a RowSource)."""

    def __init__(self, backup: Backup):
        self.prefix = backup.storage_prefix
        with storage.open_object(self.prefix + archive.MANIFEST_NAME) as f:
            self.manifest = json.loads(f.read())

    def rows(self, content_type: str) -> Iterator[dict]:
        info = self.manifest["entities"].get(content_type)
        if info is None:
            return
        with storage.open_object(self.prefix + info["file"]) as f:
            for line in f:
                yield orjson.loads(line)

    def open_attachment(self, path: str):
        return storage.open_object(self.prefix + path)


def source_of(backup: Backup) -> rules.RestoreSource:
    return rules.RestoreSource(
        backup_id=backup.pk,
        status=backup.status,
        kind=backup.product.kind,
        organization_id=backup.product.organization_id,
        taken_at=backup.started_at,
    )


def destination_of(product: Product, summary=None) -> rules.RestoreDestination:
    if summary is None:
        summary = destination_summary(product)
    return rules.RestoreDestination(
        product_name=product.name,
        kind=product.kind,
        organization_id=product.organization_id,
        activity=product_activity(product),
        containers_by_state=summary.containers_by_state,
        items=summary.items,
        unreachable=summary.unreachable,
    )


def destination_summary(product: Product):
    """What R6 judges: the product's content now. A connected site is asked (its projects in
    every state); an embedded product is counted."""
    data = for_product(product)
    if hasattr(data, "live_summary"):
        return data.live_summary()
    return data.summary()


def last_restore_started_at(backup_id: int) -> datetime | None:
    """R5: the start of the last restore of this backup that did not fail (from any source)."""
    return (
        Restore.objects.filter(source_backup_id=backup_id)
        .exclude(status=Restore.Status.FAILED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )


def restore_decision(
    *,
    source: rules.RestoreSource,
    destination: Product,
    now: datetime | None = None,
    summary=None,
) -> rules.Decision:
    return rules.restore_allowed(
        source=source,
        destination=destination_of(destination, summary),
        last_restore_started_at=last_restore_started_at(source.backup_id),
        now=now or timezone.now(),
    )


def restore_source_decision(
    *, backup: Backup | None = None, upload: Upload | None = None, now: datetime | None = None
) -> rules.Decision:
    """Can this stored backup (or validated upload) be restored at all now (R2, R3, R4), and
    was it not restored this week (R5, per backup id whichever way it came)?"""
    now = now or timezone.now()
    source = upload_restore_source(upload) if upload is not None else source_of(backup)
    decision = rules.restore_source_allowed(source=source, now=now)
    if not decision:
        return decision
    return rules.restore_once_a_week(
        last_restore_started_at=last_restore_started_at(source.backup_id), now=now
    )


def restore_destinations(
    *, source: rules.RestoreSource, organization, now: datetime | None = None
) -> list[tuple[Product, rules.Decision]]:
    """The organization's products of the backup's kind, eligible ones first (R1, R6)."""
    now = now or timezone.now()
    products = organization.products.filter(kind=source.kind).order_by("name")
    choices = [(p, restore_decision(source=source, destination=p, now=now)) for p in products]
    return sorted(choices, key=lambda c: not c[1].allowed)


def restore_options(
    *, backup_options: dict, include_attachments: bool, include_users_and_groups: bool
):
    """R7: attachments only when the backup has them; users and groups only when it has them."""
    return {
        "include_attachments": include_attachments
        and backup_options.get("include_attachments", False),
        "include_users_and_groups": include_users_and_groups
        and backup_options.get("include_users_and_groups", False),
    }


def restore_preview(
    *, destination: Product, backup: Backup | None = None, upload: Upload | None = None
) -> dict:
    """What the review step shows: what will be restored and what skipped (R6)."""
    source = UploadSource(upload) if upload is not None else StoredBackupSource(backup)
    try:
        manifest = source.manifest
        entities = manifest["entities"]
        kind = manifest["product"]["kind"]
        # In the order a person reads them (projects before issues), not the manifest's.
        order = (*KINDS[kind].content_types, "groups")
        counts = {t: entities[t]["rows"] for t in order if t in entities}
        skipped_spaces: list[str] = []
        if destination.kind == Product.Kind.CONFLUENCE and manifest["product"]["kind"] == (
            "confluence"
        ):
            existing = for_product(destination).space_keys()
            skipped_spaces = sorted(r["key"] for r in source.rows("spaces") if r["key"] in existing)
    finally:
        if isinstance(source, UploadSource):
            source.close()
    return {
        "counts": counts,
        "skipped_space_keys": skipped_spaces,
        "missing": manifest["missing"],
    }


# --- request ---------------------------------------------------------------------------------


def restore_request(
    *,
    destination: Product,
    actor,
    backup: Backup | None = None,
    upload: Upload | None = None,
    include_attachments: bool = True,
    include_users_and_groups: bool = True,
    now: datetime | None = None,
) -> Restore:
    """Start restoring a stored backup, or a validated uploaded file, into `destination`;
    or raise Refused with the reason. Every rule is checked again here, under locks."""
    now = now or timezone.now()
    # R6's counts are read before the lock (on SQLite the transaction below holds the site's
    # one write lock; counting a large product takes seconds). The restore checks R6 again at
    # the moment it writes (`_publish`), so nothing written since can be overwritten.
    summary = destination_summary(destination)
    try:
        with transaction.atomic():
            # Lock the destination (serializes restores and backups of it) and the source.
            destination = Product.objects.select_for_update().get(pk=destination.pk)
            if upload is not None:
                upload = Upload.objects.select_for_update().get(pk=upload.pk)
                if upload.status != Upload.Status.VALID:
                    raise Refused("This uploaded file has not been validated for a restore.")
                source = upload_restore_source(upload)
                manifest = upload.manifest
                fields = {
                    "upload": upload,
                    "source_product_name": manifest["product"]["name"],
                    "source_taken_at": source.taken_at,
                    "items_total": sum(e["rows"] for e in manifest["entities"].values()),
                }
                backup_options = manifest["options"]
            else:
                backup = (
                    Backup.objects.select_for_update(of=("self",))
                    .select_related("product")
                    .get(pk=backup.pk)
                )
                source = source_of(backup)
                fields = {
                    "backup": backup,
                    "source_product_name": backup.product.name,
                    "source_taken_at": backup.started_at,
                    "items_total": sum(e["rows"] for e in backup.counts.values()),
                }
                backup_options = backup.options
            if not _is_admin(actor, source.organization_id) or not _is_admin(
                actor, destination.organization_id
            ):
                raise Refused("Only org admins of the backup's organization can restore it.")
            decision = restore_decision(
                source=source, destination=destination, now=now, summary=summary
            )
            if not decision:
                raise Refused(decision)
            restore = Restore.objects.create(
                source_backup_id=source.backup_id,
                destination=destination,
                created_by=actor,
                options=restore_options(
                    backup_options=backup_options,
                    include_attachments=include_attachments,
                    include_users_and_groups=include_users_and_groups,
                ),
                started_at=now,
                heartbeat_at=now,
                **fields,
            )
            record_event(
                action="restore.started",
                actor=actor,
                organization=destination.organization,
                target=restore,
                details={
                    "backup": source.backup_id,
                    "from_file": source.from_file,
                    "options": restore.options,
                },
            )
            transaction.on_commit(
                lambda: async_task(
                    "backups.tasks.run_restore", restore.pk, task_name=f"restore-{restore.pk}"
                )
            )
    except IntegrityError:
        raise Refused(f"A restore into {destination.name} is already in progress.")
    return restore


def _is_admin(user, organization_id: int) -> bool:
    return Membership.objects.filter(
        user=user, organization_id=organization_id, role=Membership.Role.ADMIN
    ).exists()


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
    result = {
        **report.as_dict(),
        "not_restored": report.not_restored
        + [f"Status not reachable by a transition: {s}" for s in report.unreached_statuses]
        + [f"Link to an issue outside the backup: {link}" for link in report.links_left_out],
    }
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

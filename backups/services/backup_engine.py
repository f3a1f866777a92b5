"""The backup engine: copy one product's content into the backup storage (B2, B5, B6, B8).

Under the backup's prefix it writes, in this order:
  attachments/<id>/<name>   a reference (BackupBlob) to the organization's one stored copy of
                            the attachment's bytes under blobs/<org>/ (#16 item 2), copied in
                            chunks (no file in memory), or server-side when both storages are
                            buckets on one S3 endpoint, only when no backup holds them yet
                            (in batches: two transactions per batch, two files copied at
                            once, #16 item 1: attachment_copy.py); a connected site's
                            files are held the same way as they are read
                            (productdata/connected.py: one unchanged since an earlier
                            backup is not downloaded again)
  entities/<type>.jsonl     one JSON object per line, streamed from the product data layer,
                            held like an attachment (a reference to the organization's one copy
                            of those bytes, blobs.blob_write): an unchanged product's are the
                            same from one backup to the next, and stored once (#16)
  entities/groups.jsonl     the organization's groups, members and access, when the policy says
  manifest.json             last: a prefix without a manifest is not a finished backup

Attachments go first so that a Confluence space whose files cannot be read is left out of the
entities files whole, and reported (INCOMPLETE), rather than half in the backup.
"""

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from backups import archive, rules, storage
from backups.connectors.http import SiteError, SiteUnreachable
from backups.models import Backup, OrgGroup, ProductAccess, SiteConnection
from backups.productdata import AttachmentFile, ExportOptions, for_product

from .attachment_copy import COPY_THREADS, hold_batch
from .audit import record_event
from .backups import backup_fail
from .blobs import blob_write, blobs_release
from .connections import connection_check
from .jobs import BACKUP, JobEnded, Progress, claim, finish
from .notifications import notify_backup_finished
from .verification import verification_after_backup

log = logging.getLogger(__name__)

WRITE_CHUNK = 256 * 1024

# The attachment copy (#16 item 1): the files of a batch are held with two transactions in all
# (services/blobs.blobs_refer, blobs_store), not two per file; a batch is at most this many
# files and bytes (the bytes bound what a backup that fails or is ended copied for nothing).
BATCH_FILES = 256
BATCH_BYTES = 256 * 1024 * 1024


class LimitCrossed(Exception):
    """B6: the backup grew past a size limit while it ran."""


def backup_execute(*, backup_id: int) -> str | None:
    """Run a requested backup to its end. A second call for the same backup does nothing."""
    if not claim(BACKUP, backup_id):
        return None
    backup = Backup.objects.select_related("product__organization", "created_by").get(pk=backup_id)
    problem, transient = _connection_problem(backup.product)
    if problem:
        backup_fail(backup_id=backup_id, reason=problem, transient=transient)
        return Backup.Status.FAILED
    try:
        return _Engine(backup).run()
    except JobEnded:
        storage.delete_prefix(backup.storage_prefix)
        blobs_release(backup_id=backup_id)
        log.warning("Backup %s was ended while it ran; removed what it wrote", backup_id)
        return None
    except Exception as exc:
        log.exception("Backup %s failed", backup_id)
        backup_fail(backup_id=backup_id, reason=describe_error(exc), transient=is_transient(exc))
        return Backup.Status.FAILED


def _connection_problem(product) -> tuple[str | None, bool]:
    """C1: a connected site is checked again before every backup; why it cannot be used, and
    whether that may pass (A2: an unreachable site, not a refused token)."""
    connection = SiteConnection.objects.filter(product=product).first()
    if connection is None:
        return None, False
    result = connection_check(connection=connection)
    if result.ok:
        return None, False
    return (
        f"The connection to {connection.site_url} failed its check, so nothing was backed up: "
        f"{result.message}"
    ), result.transient


def describe_error(exc: Exception) -> str:
    """The failure reason an admin reads: what failed and where, in plain words."""
    if isinstance(exc, (LimitCrossed, storage.StorageError, SiteError)):
        return str(exc)
    if isinstance(exc, OSError):
        return f"The {storage.storage_label()} failed: {exc}"
    return f"Unexpected error ({exc.__class__.__name__}): {exc}"


def is_transient(exc: Exception) -> bool:
    """A2: may the same backup succeed if tried again later? A storage or network failure and
    a site that kept rate-limiting may pass; a size limit (B6), refused credentials, a site
    answering what its API does not publish, or a bug will not."""
    if isinstance(exc, LimitCrossed):
        return False
    if isinstance(exc, SiteError):
        return isinstance(exc, SiteUnreachable)
    return isinstance(exc, (storage.StorageError, OSError))


class _Engine:
    def __init__(self, backup: Backup):
        self.backup = backup
        self.product = backup.product
        self.data = for_product(self.product)
        self.prefix = backup.storage_prefix
        opts = backup.options
        self.options = ExportOptions(
            include_attachments=opts.get("include_attachments", True),
            include_personal_spaces=opts.get("include_personal_spaces", True),
        )
        self.limits = settings.BACKUP_LIMITS  # read once: the limits the backup started with
        self.progress = Progress(BACKUP, backup.pk)
        self.data_bytes = 0
        self.attachment_bytes = 0
        self.stored_bytes = 0  # attachment bytes this backup wrote (not held already)
        self.counted_in_prepare = getattr(self.data, "counts_items_in_prepare", False)

    # --- progress --------------------------------------------------------------------------

    def start(self) -> None:
        summary = self.data.summary()
        items = summary.containers + summary.items + summary.comments
        total_bytes = summary.data_bytes
        if self.options.include_attachments:
            items += summary.attachments
            total_bytes += summary.attachment_bytes
        self.progress.report(items_total=items, bytes_total=total_bytes)

    def check_limits(self) -> None:
        crossed = rules.size_crossed_while_running(
            kind=self.product.kind,
            data_bytes=self.data_bytes,
            attachment_bytes=self.attachment_bytes,
            limits=self.limits,
        )
        if not crossed:
            raise LimitCrossed(crossed.reason)

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> str:
        try:
            return self._run()
        except BaseException:
            if hasattr(self.data, "finish_backup"):
                self.data.finish_backup(completed=False)
            raise

    def _run(self) -> str:
        self.start()
        read_missing: list[dict] = []
        if hasattr(self.data, "prepare_backup"):
            # A connected site: read it once into a spool (its attachments held by the backup
            # as they are read); what could not be read is named (B5, C4).
            read_missing = self.data.prepare_backup(
                backup=self.backup,
                prefix=self.prefix,
                options=self.options,
                progress=self.progress.add,
            )
        failed_paths, missing, skip_spaces = self.copy_attachments()
        missing = read_missing + missing
        options = ExportOptions(
            include_attachments=self.options.include_attachments,
            include_personal_spaces=self.options.include_personal_spaces,
            skip_space_keys=frozenset(skip_spaces),
        )
        entities: dict[str, dict] = {}
        for content_type in self.data.content_types:
            if content_type == "attachments":
                rows = (
                    row
                    for row, _ in self.data.attachments(options)
                    if row["path"] not in failed_paths
                )
            else:
                rows = self.data.rows(content_type, options)
            entities[content_type] = self.write_entities(
                content_type,
                rows,
                count_items=content_type != "attachments" and not self.counted_in_prepare,
            )
        if self.backup.options.get("include_users_and_groups"):
            entities["groups"] = self.write_entities("groups", self.group_rows(), count_items=True)
        attachments = entities.get("attachments", {"rows": 0})
        return self.finish(
            entities=entities,
            attachment_count=attachments["rows"],
            missing=missing,
        )

    def copy_attachments(self) -> tuple[set[str], list[dict], set[str]]:
        """Copy every attachment; return the paths that failed, the missing list, bad spaces."""
        failed: set[str] = set()
        missing: list[dict] = []
        bad_spaces: dict[str, list[str]] = {}
        copied_by_space: dict[str, list[str]] = {}
        is_confluence = self.product.kind == "confluence"
        # A server-side copy (S3 to S3) costs this worker no CPU: one at a time, as before.
        threads = 1 if storage.server_side_copy_available() else COPY_THREADS
        with ThreadPoolExecutor(threads, thread_name_prefix="attachment-copy") as pool:
            for batch in self.batches(self.data.attachments(self.options)):
                outcomes, stored = hold_batch(backup=self.backup, batch=batch, pool=pool)
                self.stored_bytes += stored
                # Each file is counted as it was one at a time: in order, the limit (B6)
                # checked after each, so a backup fails at the same file with the same reason.
                for f in batch:
                    problem = outcomes.get(f.path)
                    if problem is not None:
                        failed.add(f.path)
                        if is_confluence:
                            bad_spaces.setdefault(f.owner, []).append(f"{f.name}: {problem}")
                        else:
                            missing.append(
                                {"what": f"{f.owner} / {f.name}", "reason": str(problem)}
                            )
                        self.progress.add(items=1)
                        continue
                    if is_confluence:
                        copied_by_space.setdefault(f.owner, []).append(f.path)
                    self.attachment_bytes += f.size
                    self.check_limits()
                    if f.stored:  # counted as it was downloaded (prepare_backup)
                        self.progress.add()
                    else:
                        self.progress.add(items=1, nbytes=f.size)
        # Confluence: a space with an unreadable file is left out whole, and its copied files
        # let go of, so the backup never holds half a space.
        for space_key, problems in sorted(bad_spaces.items()):
            blobs_release(backup_id=self.backup.pk, paths=copied_by_space.get(space_key, []))
            missing.append(
                {
                    "what": f"space {space_key}",
                    "reason": f"{len(problems)} attachment(s) could not be read: "
                    + "; ".join(problems),
                }
            )
        return failed, missing, set(bad_spaces)

    def batches(self, attachments) -> Iterator[list[AttachmentFile]]:
        """The attachments in batches of at most BATCH_FILES files and BATCH_BYTES bytes; a
        batch also ends at the file that would cross the attachment limit (B6) were every
        file before it copied, so a backup that crosses it copies no file past that one."""
        batch: list[AttachmentFile] = []
        nbytes = 0
        for _, f in attachments:
            batch.append(f)
            nbytes += f.size
            crossing = not rules.size_crossed_while_running(
                kind=self.product.kind,
                data_bytes=self.data_bytes,
                attachment_bytes=self.attachment_bytes + nbytes,
                limits=self.limits,
            )
            if len(batch) >= BATCH_FILES or nbytes >= BATCH_BYTES or crossing:
                yield batch
                batch, nbytes = [], 0
        if batch:
            yield batch

    def write_entities(self, content_type: str, rows, *, count_items: bool) -> dict:
        counter = {"rows": 0}

        def chunks() -> Iterator[bytes]:
            buffer: list[bytes] = []
            size = 0
            for row in rows:
                line = orjson.dumps(row) + b"\n"  # compact UTF-8 JSON, as json.dumps would
                buffer.append(line)
                size += len(line)
                counter["rows"] += 1
                if size >= WRITE_CHUNK:
                    yield b"".join(buffer)
                    self.data_bytes += size
                    self.check_limits()
                    self.progress.add(items=len(buffer) if count_items else 0, nbytes=size)
                    buffer, size = [], 0
            if buffer:
                yield b"".join(buffer)
                self.data_bytes += size
                self.check_limits()
                self.progress.add(items=len(buffer) if count_items else 0, nbytes=size)

        name = archive.entities_file(content_type)
        # Written whole, then held by reference: to the copy an earlier backup stored when the
        # bytes are the same (this one's is deleted), else as a new copy. Read through
        # storage.resolve at prefix + name, as before.
        written, _ = blob_write(backup=self.backup, path=name, chunks=chunks())
        return {
            "file": name,
            "rows": counter["rows"],
            "bytes": written.size,
            "sha256": written.sha256,
        }

    def group_rows(self) -> Iterator[dict]:
        """The organization's groups, their members, and their access to this product."""
        access = ProductAccess.objects.filter(product=self.product)
        groups = (
            OrgGroup.objects.filter(organization=self.product.organization)
            .order_by("name")
            .prefetch_related("members", Prefetch("product_access", queryset=access))
        )
        for group in groups:
            grants = list(group.product_access.all())
            yield {
                "name": group.name,
                "members": sorted(
                    ({"username": u.username, "email": u.email} for u in group.members.all()),
                    key=lambda m: m["username"],
                ),
                "product_access": {"approved": grants[0].approved} if grants else None,
            }

    def finish(self, *, entities: dict, attachment_count: int, missing: list[dict]) -> str:
        completed_at = timezone.now()
        status = Backup.Status.INCOMPLETE if missing else Backup.Status.COMPLETE
        manifest = archive.build_manifest(
            backup=self.backup,
            status=status,
            completed_at=completed_at,
            entities=entities,
            attachment_count=attachment_count,
            attachment_bytes=self.attachment_bytes,
            missing=missing,
        )
        # C5: where the content came from (an embedded product, or which connected site).
        describe = getattr(self.data, "source_description", None)
        manifest["source"] = describe() if describe else {"home": "embedded"}
        written = storage.write_chunks(
            self.prefix + archive.MANIFEST_NAME, [archive.manifest_bytes(manifest)]
        )
        counts = dict(entities)
        if "attachments" in counts:
            counts["attachments"] = {**counts["attachments"], "files_bytes": self.attachment_bytes}
        total = sum(e["bytes"] for e in entities.values()) + self.attachment_bytes + written.size
        done = self.progress
        # The status and its verification (A3) in one transaction: no page ever shows the
        # backup finished and not yet "Verifying…".
        with transaction.atomic():
            changed = finish(
                BACKUP,
                self.backup.pk,
                status,
                completed_at=completed_at,
                heartbeat_at=completed_at,
                counts=counts,
                total_bytes=total,
                missing=missing,
                # The totals were estimates made before options and failures were known.
                items_done=done.items,
                items_total=done.items,
                bytes_done=done.bytes,
                bytes_total=done.bytes,
            )
            if not changed:
                raise JobEnded()
            self.backup.refresh_from_db()
            verification_after_backup(self.backup)  # read back and trial-restored, on its queue
        if hasattr(self.data, "finish_backup"):
            self.data.finish_backup(completed=True)
        record_event(
            action="backup.completed" if status == Backup.Status.COMPLETE else "backup.incomplete",
            organization=self.product.organization,
            target=self.backup,
            details={"total_bytes": total, "missing": len(missing)},
        )
        notify_backup_finished(self.backup)
        return status

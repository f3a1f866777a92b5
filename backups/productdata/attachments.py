"""Attachments in the product data layer: where a file goes inside a backup, the export and
import both product kinds share, and the copy that checks every byte against the backup's
SHA-256 on the way (R8: a file that does not match stops the import).

Split out of base.py, which keeps the options, reports and row plumbing. An import writes its
files on a small pool, from while its rows go in (files_ahead.FilesAhead, #16).
"""

import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

from backups import storage

from .base import (
    AttachmentFile,
    AttachmentIntegrityError,
    ImportOptions,
    ImportReport,
    RowSource,
    batched,
    export_paged,
    parse_dt,
)


def safe_filename(name: str) -> str:
    """A file name with no folder part and no leading dot: safe as a path segment anywhere."""
    return name.replace("/", "_").replace("\\", "_").lstrip(".")[:200] or "file"


def backup_path(source_id: int, name: str) -> str:
    """The path of an attachment inside a backup (and a backup file's ZIP entry)."""
    return f"attachments/{source_id}/{safe_filename(name)}"


def export_attachments(
    qs, *, owners: dict[str, str], reported: str
) -> Iterator[tuple[dict, AttachmentFile]]:
    """Each attachment of `qs` as a backup row, with the file to copy; both kinds share it.

    `owners` maps the row's owner fields to their lookups ({"issue": "issue__key"}), which the
    row carries first; `reported` names the one a report shows (an issue or a space key).
    """
    fields = ("name", "size", "sha256", "file", "created")
    for pk, *found, name, size, sha256, storage_name, created in export_paged(
        qs, "id", *owners.values(), *fields
    ):
        row = dict(zip(owners, found, strict=True))
        path = backup_path(pk, name)
        row.update(name=name, size=size, sha256=sha256, path=path, created=created)
        yield row, AttachmentFile(path, storage_name, size, sha256, row[reported], name)


class _HashingReader:
    """Reads a file object through, counting bytes and hashing them on the way."""

    def __init__(self, fileobj: BinaryIO):
        self._f = fileobj
        self.sha256 = hashlib.sha256()
        self.size = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        # Storages rewind before they copy; only "rewind before the first read" is possible.
        if offset == 0 and whence == 0 and self.size == 0:
            return 0
        raise io.UnsupportedOperation("a streamed attachment cannot seek")

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._f.closed

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data


def attachment_folder(options: ImportOptions, product) -> str:
    """Where an import writes its attachment files (a restore gives each run its own)."""
    return options.file_folder or f"attachments/{product.id}"


def write_checked(
    *,
    folder: str,
    name: str,
    fileobj: BinaryIO,
    expected_sha256: str,
    expected_size: int,
    report: ImportReport,
) -> tuple[str, int]:
    """Copy one attachment from an open file object into STORAGES["default"] in chunks,
    checking its bytes on the way; the file object is left open. Safe on a pool thread (it
    touches storage only; report.written_files is only appended to).

    Returns the stored name and its size. A mismatch deletes the copy and raises
    AttachmentIntegrityError.
    """
    target = f"{folder.rstrip('/')}/{uuid.uuid4().hex}/{safe_filename(name)}"
    reader = _HashingReader(fileobj)
    stored = storage.attachment_save(target, reader)
    report.written_files.append(stored)
    if reader.sha256.hexdigest() != expected_sha256 or reader.size != expected_size:
        # Deleted now: a row that is not kept (files_ahead's `discard`) does not fail the
        # import, and its file must not stay; a failed import deletes it again (no error).
        storage.attachment_delete(stored)
        raise AttachmentIntegrityError(
            f"Attachment {name!r} does not match its checksum "
            f"(expected {expected_size} bytes, SHA-256 {expected_sha256[:12]}…; "
            f"read {reader.size} bytes, SHA-256 {reader.sha256.hexdigest()[:12]}…)."
        )
    return stored, reader.size


def store_attachment(
    *,
    folder: str,
    name: str,
    source: Callable[[], BinaryIO],
    expected_sha256: str,
    expected_size: int,
    report: ImportReport,
) -> str:
    """Copy one attachment into STORAGES["default"] in chunks, checking its bytes on the way
    (write_checked), on this thread. Returns the stored name."""
    with source() as fileobj:
        stored, size = write_checked(
            folder=folder,
            name=name,
            fileobj=fileobj,
            expected_sha256=expected_sha256,
            expected_size=expected_size,
            report=report,
        )
    report.attachment_bytes += size
    return stored


def import_attachments(
    source: RowSource,
    options: ImportOptions,
    report: ImportReport,
    *,
    product,
    model,
    owner: str,
    owner_ids: Callable[[list[dict]], dict],
    keep: Callable[[dict], bool] = lambda row: True,
) -> None:
    """Write the source's attachment rows into `model` a batch at a time: each file copied
    and checked (write_checked), then one bulk_create per batch. Both kinds share it.

    The files are written two at once (files_ahead.FilesAhead); ProductData.import_content
    passes a source that started them while the rows went in, any other source gets its
    own pool here. Each row takes its file's stored name in order, so the first file that
    does not match stops the import with its AttachmentIntegrityError, as before.

    `owner` names both the row's field ("issue": a key, "page": a source id) and the model's
    foreign key; `owner_ids(rows)` maps a batch's owners to their new ids. A row `keep` turns
    down (a page of a skipped space, R6) is counted skipped, and its file, if it was written
    already, deleted; so is every row when attachments are left out; a count of 0 is not
    reported.
    """
    from .files_ahead import FilesAhead  # it builds on this module

    if isinstance(source, FilesAhead):
        _import_rows(source, options, report, product, model, owner, owner_ids, keep)
        return
    with FilesAhead(source, options, report, folder=attachment_folder(options, product)) as files:
        _import_rows(files, options, report, product, model, owner, owner_ids, keep)


def _import_rows(files, options, report, product, model, owner, owner_ids, keep) -> None:
    for batch in batched(files.attachments()):
        rows = []
        for r, slot in batch:
            if options.include_attachments and keep(r):
                rows.append((r, slot))
            else:
                files.discard(slot)
        if len(rows) < len(batch):
            report.add(report.skipped, "attachments", len(batch) - len(rows))
        if not rows:
            continue
        ids = owner_ids([r for r, _ in rows])
        objs = [
            model(
                product=product,
                **{f"{owner}_id": ids[r[owner]]},
                name=r["name"],
                size=r["size"],
                sha256=r["sha256"],
                file=files.stored(slot),
                created=parse_dt(r["created"]),
            )
            for r, slot in rows
        ]
        model.objects.bulk_create(objs)
        report.add(report.restored, "attachments", len(objs))

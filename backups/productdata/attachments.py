"""Attachments in the product data layer: where a file goes inside a backup, the export and
import both product kinds share, and the copy that checks every byte against the backup's
SHA-256 on the way (R8: a file that does not match stops the import).

Split out of base.py, which keeps the options, reports and row plumbing.
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


def store_attachment(
    *,
    folder: str,
    name: str,
    source: Callable[[], BinaryIO],
    expected_sha256: str,
    expected_size: int,
    report: ImportReport,
) -> str:
    """Copy one attachment into STORAGES["default"] in chunks, checking its bytes on the way.

    Returns the stored name. A mismatch deletes the copy and raises AttachmentIntegrityError.
    """
    target = f"{folder.rstrip('/')}/{uuid.uuid4().hex}/{safe_filename(name)}"
    with source() as fileobj:
        reader = _HashingReader(fileobj)
        stored = storage.attachment_save(target, reader)
    report.written_files.append(stored)
    if reader.sha256.hexdigest() != expected_sha256 or reader.size != expected_size:
        raise AttachmentIntegrityError(
            f"Attachment {name!r} does not match its checksum "
            f"(expected {expected_size} bytes, SHA-256 {expected_sha256[:12]}…; "
            f"read {reader.size} bytes, SHA-256 {reader.sha256.hexdigest()[:12]}…)."
        )
    report.attachment_bytes += reader.size
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
    and checked (store_attachment), then one bulk_create per batch. Both kinds share it.

    `owner` names both the row's field ("issue": a key, "page": a source id) and the model's
    foreign key; `owner_ids(rows)` maps a batch's owners to their new ids. A row `keep` turns
    down (a page of a skipped space, R6) is counted skipped, as is every row when attachments
    are left out; a count of 0 is not reported.
    """
    folder = options.file_folder or f"attachments/{product.id}"
    for batch in batched(source.rows("attachments")):
        rows = [r for r in batch if keep(r)] if options.include_attachments else []
        if len(rows) < len(batch):
            report.add(report.skipped, "attachments", len(batch) - len(rows))
        if not rows:
            continue
        ids = owner_ids(rows)
        objs = [
            model(
                product=product,
                **{f"{owner}_id": ids[r[owner]]},
                name=r["name"],
                size=r["size"],
                sha256=r["sha256"],
                file=store_attachment(
                    folder=folder,
                    name=r["name"],
                    source=lambda path=r["path"]: source.open_attachment(path),
                    expected_sha256=r["sha256"],
                    expected_size=r["size"],
                    report=report,
                ),
                created=parse_dt(r["created"]),
            )
            for r in rows
        ]
        model.objects.bulk_create(objs)
        report.add(report.restored, "attachments", len(objs))

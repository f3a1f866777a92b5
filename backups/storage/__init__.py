"""The one place that touches storages["backups"]: key naming, streaming writes, copies, deletes.

Everything streams: a write takes an iterator of byte chunks, a read hands out a stream, so no
backup object is ever held whole in memory. Two backends, the same behaviour, one API here:

- a folder (FileSystemStorage), the embedded default: filesystem.FilesystemBackend;
- an S3 bucket (django-storages' S3Storage over boto3): s3.S3Backend, which streams writes as
  multipart uploads and reads as GET responses, pages listings and deletes, and signs URLs.

backend(storage) picks the backend once per Django storage; the functions below only say which
storage (backups or product attachments) and never ask which kind it is.

When the product attachments (STORAGES["default"]) and the backups are buckets on the same S3
endpoint, an attachment is copied into a backup server-side (CopyObject): no bytes pass through
the worker. The copy's size is checked against the recorded size; its SHA-256 cannot be computed
server-side, so it is checked where the bytes are read anyway: when a backup file is verified
(archive.verify) and when a restore writes the attachment back (store_attachment).

Every failure of a storage is raised as StorageError, whose message names the storage (folder,
or bucket and endpoint), so a FAILED backup tells the admin which storage failed.
"""

import re
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta

from django.core.files import File
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage

from .base import CHUNK_SIZE, MiB, StorageError, StoredObject, Written
from .filesystem import FilesystemBackend
from .s3 import COPY_OBJECT_LIMIT, COPY_PART_SIZE, PART_SIZE, S3Backend

__all__ = [
    "CHUNK_SIZE",
    "COPY_OBJECT_LIMIT",
    "COPY_PART_SIZE",
    "PAGE_SIZE",
    "PART_SIZE",
    "UPLOAD_CHUNK",
    "FilesystemBackend",
    "MiB",
    "S3Backend",
    "StorageError",
    "StoredObject",
    "Written",
    "attachment_delete",
    "attachment_list",
    "attachment_save",
    "attachment_storage",
    "backend",
    "backup_prefix",
    "backup_storage",
    "copy_attachment",
    "delete_object",
    "delete_prefix",
    "exists",
    "is_s3",
    "list_objects",
    "list_prefix",
    "local_file",
    "object_opener",
    "object_size",
    "open_attachment",
    "open_object",
    "presigned_url",
    "resolve",
    "server_side_copy_available",
    "storage_label",
    "upload_discard",
    "upload_finish",
    "upload_write",
    "write_chunks",
]

# Keys per list_objects_v2 page and per delete_objects request (S3 allows at most 1000). It
# lives here, not in s3.py, and is passed to the backend at each call: tests set it on this
# module to make several pages.
PAGE_SIZE = 1000

# Every chunk the browser sends is this size but the last: on S3 each chunk is one part of a
# multipart upload (S3 wants parts of at least 5 MiB), so its part number is offset / size.
# The upload views and services read it here, and tests set it here (smaller chunks).
UPLOAD_CHUNK = 8 * MiB


def backup_storage():
    return storages["backups"]


def attachment_storage():
    return storages["default"]


# One backend per Django storage object. Weak keys: tests swap STORAGES, and Django then makes
# new storage objects; the old ones and their backends go away together.
_backends: "weakref.WeakKeyDictionary[object, FilesystemBackend | S3Backend]" = (
    weakref.WeakKeyDictionary()
)


def backend(storage) -> FilesystemBackend | S3Backend:
    """The backend of a Django storage: S3 for an S3Storage, a folder for anything else."""
    found = _backends.get(storage)
    if found is None:
        found = S3Backend(storage) if isinstance(storage, S3Storage) else FilesystemBackend(storage)
        _backends[storage] = found
    return found


def is_s3(storage) -> bool:
    """For the few callers that need a figure only one kind has (a folder's free bytes)."""
    return isinstance(backend(storage), S3Backend)


def storage_label(storage=None) -> str:
    return backend(storage or backup_storage()).label("backup storage")


def backup_prefix(*, organization_id: int, product_id: int, backup_id: int) -> str:
    return f"backups/{organization_id}/{product_id}/{backup_id}/"


# --- writes ---------------------------------------------------------------------------------


def write_chunks(name: str, chunks: Iterable[bytes]) -> Written:
    """Write an object from an iterator of byte chunks; return its size and SHA-256.

    The name is used exactly; an object that already has it is never replaced (StorageError).
    If the iterator raises, its exception propagates and no object is left under the name.
    A chunk may be a view of a buffer the iterator reuses (the engine's attachment copy):
    each is written (or copied) and hashed before the next is asked for, never kept.
    """
    return backend(backup_storage()).write(resolve(name), chunks)


def server_side_copy_available() -> bool:
    """True when attachments and backups are buckets on one S3 endpoint with one identity."""
    return backend(backup_storage()).can_copy_from(backend(attachment_storage()))


def copy_attachment(source_name: str, name: str, *, size: int) -> int:
    """Copy an attachment from STORAGES["default"] into the backup storage, server-side.

    `size` is the attachment's recorded size (it chooses CopyObject or a multipart copy).
    Returns the size of the copy, read back with HeadObject. Raises FileNotFoundError when the
    source object is missing, StorageError when a storage fails or the name is taken. Only
    when server_side_copy_available().
    """
    source = backend(attachment_storage())
    return backend(backup_storage()).copy_from(source, source_name, name, size=size)


# --- reads ----------------------------------------------------------------------------------

# A backup's attachment or entities file, as every reader names it: the backup's prefix, then
# the path its attachments row gives (backup_prefix above, productdata.attachments.backup_path)
# or the manifest names (archive.entities_file).
_BACKUP_ATTACHMENT = re.compile(r"backups/\d+/\d+/(\d+)/((?:attachments|entities)/.+)")


def resolve(name: str) -> str:
    """The object that holds a backup object's bytes.

    A backup's `attachments/<id>/<name>` and `entities/<type>.jsonl` are references
    (BackupBlob) to the organization's one copy of those bytes (#16 item 2; entities files
    since #16's second pass); every reader (the backup file, verification, restores) opens
    them through here, so the backup file (SPEC §7) and restores read the same bytes as
    before. A backup with no reference at that path is read at the name itself: backups taken
    before the attachment store (a connected site's files too, before #16 item 2 reached
    them; entities files before the second pass) — so no data migration is needed for old
    backups.

    Reading and writing one object resolve its name (open, size, exists, write), so a name
    means one object whoever reads it; deleting does not (delete_object), nor does a prefix
    (list_prefix, delete_prefix): they touch the backup's own objects only, which is why expiry
    lets go of the shared copies separately (services/blobs.blobs_release).
    """
    found = _BACKUP_ATTACHMENT.fullmatch(name)
    if found is None:
        return name
    from backups.models import BackupBlob  # here: the models never need the storage's import

    held = (
        BackupBlob.objects.filter(backup_id=int(found[1]), path=found[2])
        .values_list("blob__storage_name", flat=True)
        .first()
    )
    return held or name


# A backup's references read by one query of a resolver (below): the rows after the one asked
# for, in the order they were written, which is the order every reader asks for them.
RESOLVE_PAGE = 1000


class _Resolver:
    """resolve() for the objects of finished backups read one after the other: the backup
    file, a verification, a restore. resolve() asks the database once per name (~2 ms; a
    quarter of the backup file's time with 4 MB attachments, #16); this asks it twice per
    RESOLVE_PAGE names when they are read in the order the backup wrote their references —
    the order of its attachments file, which every reader follows. Asked out of that order
    it answers the same, with more queries.

    A name is answered from a page only if the page holds its row: a name without one asks
    the database, as resolve() does, and is read at the name itself. A page is a fact about a
    finished backup — its references are written while it runs and go only with it (E1) — so
    pages are kept for the resolver's life (one reading of a backup), two at most: the rows of
    one batch of the engine are written a few out of order (held ones, then new copies).
    """

    def __init__(self):
        self._pages: tuple[dict, dict] = ({}, {})

    def __call__(self, name: str) -> str:
        found = _BACKUP_ATTACHMENT.fullmatch(name)
        if found is None:
            return name
        key = (int(found[1]), found[2])
        page, before = self._pages  # one read: a second thread may swap them meanwhile
        held = page.get(key) or before.get(key)
        if held is not None:
            return held
        from backups.models import BackupBlob

        row = (
            BackupBlob.objects.filter(backup_id=key[0], path=key[1])
            .values_list("pk", "blob__storage_name")
            .first()
        )
        if row is None:
            return name
        pk, held = row
        # By id range, not LIMIT: the primary key's index bounds the scan, however many rows
        # the backup has or other backups wrote in between.
        rows = BackupBlob.objects.filter(
            backup_id=key[0], pk__gt=pk, pk__lte=pk + RESOLVE_PAGE
        ).values_list("path", "blob__storage_name")
        self._pages = ({(key[0], path): storage_name for path, storage_name in rows}, page)
        return held


def object_opener() -> Callable[[str], object]:
    """open_object for a reader of many objects of finished backups in a row (_Resolver):
    the same objects, streams and errors, a page of names per query."""
    resolver = _Resolver()
    return lambda name: backend(backup_storage()).open(resolver(name), "rb")


def open_attachment(storage_name: str):
    """Open a product attachment in STORAGES["default"] for reading, as a stream."""
    return backend(attachment_storage()).open(storage_name, "rb", role="attachment storage")


def presigned_url(name: str, *, filename: str, expires: timedelta) -> str | None:
    """A short-lived URL straight to the object (S3), or None where the service must serve it."""
    return backend(backup_storage()).url(name, filename=filename, expires=expires)


def object_size(name: str) -> int:
    return backend(backup_storage()).size(resolve(name))


def open_object(name: str, mode: str = "rb"):
    """Open a backup object for reading, as a stream (iterating it gives lines)."""
    return backend(backup_storage()).open(resolve(name), mode)


def free_bytes() -> int | None:
    """Free bytes where backups and uploads are written; None on S3 (no such figure)."""
    return backend(backup_storage()).free_bytes()


def exists(name: str) -> bool:
    return backend(backup_storage()).exists(resolve(name))


def local_file(name: str):
    """A seekable local file of a backup object (zipfile needs to seek), as a context manager:
    the file itself on a folder; on S3 a temporary copy, streamed down, deleted afterwards."""
    return backend(backup_storage()).local_file(resolve(name))


# --- product attachments (STORAGES["default"]): what a restore writes back --------------------


def attachment_save(name: str, fileobj) -> str:
    """Write a product attachment from a file object, streaming; return the name it got.

    Django's own save, as the product's attachments were always written: it picks a free name
    if `name` is taken, and the S3 storage streams the file object up in parts.
    """
    return attachment_storage().save(name, File(fileobj, name=name))


def attachment_delete(name: str) -> None:
    """Delete one product attachment; deleting a missing one is not an error."""
    backend(attachment_storage()).delete(name)


def attachment_list(prefix: str) -> list[str]:
    """Every product attachment name under a prefix (a restore's folder)."""
    return backend(attachment_storage()).list(prefix, page_size=PAGE_SIZE)


# --- deletes and listings -------------------------------------------------------------------


def delete_object(name: str) -> None:
    """Delete one object; deleting a missing object is not an error.

    Never resolved (unlike reads): a backup's `attachments/<id>/<name>` deletes only an object
    the backup holds itself (a connected site's download). A shared copy may be held by other
    backups too; it goes only when its last reference does (services/blobs.blob_collect)."""
    backend(backup_storage()).delete(name)


def list_prefix(prefix: str) -> list[str]:
    """Every object name under a prefix (for tests, cleanup and checks)."""
    return backend(backup_storage()).list(prefix, page_size=PAGE_SIZE)


def list_objects(prefix: str) -> Iterator[StoredObject]:
    """Every object under a folder prefix with its size and last-modified time, streamed (a
    folder, or a page of S3's listing, at a time): for a sweep over more objects than memory
    should hold (services/blob_sweep). Never resolved, like list_prefix."""
    return backend(backup_storage()).objects(prefix, page_size=PAGE_SIZE)


def delete_prefix(prefix: str) -> int:
    """Delete everything under a prefix; return how many objects were removed. Idempotent."""
    if not prefix or not prefix.endswith("/"):
        raise ValueError(f"refusing to delete {prefix!r}: not a folder prefix")
    return backend(backup_storage()).delete_prefix(prefix, page_size=PAGE_SIZE)


# --- uploads: a backup file received in chunks (R4) ------------------------------------------


def upload_write(name: str, *, offset: int, data: bytes, multipart_id: str) -> str:
    """Write one chunk at `offset` (the caller checked it is the next one). Returns the S3
    multipart upload id ("" on a folder). A chunk written twice (a retry) overwrites itself."""
    return backend(backup_storage()).upload_write(
        name,
        offset=offset,
        part_number=offset // UPLOAD_CHUNK + 1,
        data=data,
        multipart_id=multipart_id,
    )


def upload_finish(name: str, *, multipart_id: str) -> None:
    """Make the received chunks one object (S3: complete the multipart upload)."""
    backend(backup_storage()).upload_finish(name, multipart_id=multipart_id)


def upload_discard(name: str, *, multipart_id: str) -> None:
    """Remove an upload, finished or not."""
    backend(backup_storage()).upload_discard(name, multipart_id=multipart_id)

"""The backup engine's attachment copy (#16 item 1), one batch at a time: `hold_batch` runs on
the engine's thread and does the bookkeeping (services/blobs: what the organization already
holds is referred to, the new copies made live, two transactions a batch); the copies run on
the engine's pool of COPY_THREADS and touch storage only, never the database: each file's
bytes from the product's storage into the attachment store, checked against the recorded
SHA-256 and size, nothing left at the name when it fails."""

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from backups import storage
from backups.productdata import AttachmentFile

from .blobs import Copied, Want, blob_name, blobs_refer, blobs_store

log = logging.getLogger(__name__)

# Files copied at once: a checked copy is bound by its SHA-256 (one core), and hashlib and
# file and socket I/O release the GIL, so two files at once use both cores of a small worker.
# (Two copies a file at a time, copy_file_range then a hash of the copy, measured slower on
# tmpfs here, load 3.5, than this read/write/hash loop on two threads: 370-470 vs 560-580
# MB/s: the same two memory copies and one hash per byte, and one more pass over the bytes.)
COPY_THREADS = 2


class AttachmentUnreadable(Exception):
    """A product attachment could not be read: the backup goes on without it (INCOMPLETE)."""


def hold_batch(
    *, backup, batch: list[AttachmentFile], pool: ThreadPoolExecutor
) -> tuple[dict[str, AttachmentUnreadable], int]:
    """The backup holds every file of the batch it can (services/blobs): by reference to
    the organization's copy of its bytes, or a new copy of them. Returns the files that
    could not be read, by path, with why, and the bytes the batch stored.

    The recorded SHA-256 names the bytes before they are read: a backup of an unchanged
    product reads and writes no attachment at all (B2 holds: the backup still has every
    file, by reference). The manifest and B6 count the attachment's size either way.
    """
    wants = [f for f in batch if not f.stored]  # a connected site's: held as it was read
    held = blobs_refer(backup=backup, wants=[Want(f.path, f.sha256, f.size) for f in wants])
    # The rest is copied, once per content (the same bytes twice in a batch are stored
    # once), in the pool's threads: they read and write storage only, never the database.
    by_content: dict[tuple[str, int], list[AttachmentFile]] = {}
    for f in wants:
        if f.path not in held:
            by_content.setdefault((f.sha256, f.size), []).append(f)
    organization_id = backup.product.organization_id
    tasks = [
        pool.submit(copy_first_readable, files, organization_id) for files in by_content.values()
    ]
    results, errors = [], []
    for task in tasks:  # every copy ends before the batch goes on, or fails
        try:
            results.append(task.result())
        except BaseException as exc:
            errors.append(exc)
    if errors:
        # The backup fails with the first error. The batch's other copies are named by no
        # row yet: deleted now if the storage lets us, else the sweeper collects them.
        for copied, _ in results:
            if copied is not None:
                try:
                    storage.delete_object(copied.name)
                except storage.StorageError:
                    log.warning("Left %s for the blob sweeper", copied.name)
        raise errors[0]
    unreadable: dict[str, AttachmentUnreadable] = {}
    copies = []
    for copied, problems in results:
        unreadable.update(problems)
        if copied is not None:
            copies.append(copied)
    held.update(blobs_store(backup=backup, copies=copies))
    return unreadable, sum(h.written for h in held.values())


def copy_first_readable(
    files: list[AttachmentFile], organization_id: int
) -> tuple[Copied | None, dict[str, AttachmentUnreadable]]:
    """Copy the bytes of `files` (the same SHA-256 and size) from the first of them that
    reads as recorded; every file before it is unreadable, every file from it on holds
    the copy (as when they were copied one at a time). In a pool thread: no database."""
    problems: dict[str, AttachmentUnreadable] = {}
    for i, f in enumerate(files):
        name = blob_name(organization_id=organization_id, sha256=f.sha256)
        try:
            copy_bytes(f, name)
        except AttachmentUnreadable as exc:
            problems[f.path] = exc
            continue
        return Copied(name, f.sha256, f.size, tuple(g.path for g in files[i:])), problems
    return None, problems


def copy_bytes(f: AttachmentFile, name: str) -> None:
    """Write the attachment's bytes to `name`, checked; nothing is left there if it fails."""
    if storage.server_side_copy_available():
        copy_server_side(f, name)
        return
    try:
        src = _open_attachment(f)
    except OSError as exc:
        raise AttachmentUnreadable(_why(exc))
    with src:
        try:
            written = storage.write_chunks(name, _read_attachment(src))
        except AttachmentUnreadable:
            storage.delete_object(name)  # a partial copy may be there
            raise
    if written.sha256 != f.sha256 or written.size != f.size:
        storage.delete_object(name)
        raise AttachmentUnreadable(_mismatch(f, written.size))


def copy_server_side(f: AttachmentFile, name: str) -> None:
    """Both storages are buckets on one S3 endpoint: CopyObject, no bytes through here.

    The copy's size is checked now. Its SHA-256 is the recorded one, not recomputed (S3
    cannot hash server-side): the bytes are checked against it where they are read anyway,
    when a backup file is verified and when a restore writes the attachment back.
    """
    try:
        size = storage.copy_attachment(f.storage_name, name, size=f.size)
    except FileNotFoundError as exc:
        raise AttachmentUnreadable(_why(exc))
    if size != f.size:
        storage.delete_object(name)
        raise AttachmentUnreadable(_mismatch(f, size))


def _open_attachment(f: AttachmentFile):
    return storage.open_attachment(f.storage_name)


# 64 KiB read into one reused buffer (#16): 1 MiB reads, each a new bytes object, measured
# slower than `tar cf`, the bytes leaving the CPU's cache between the read, the write and the
# hash; this way they measured 1.32x tar. Each chunk is a view of that buffer, valid until the
# next one is asked for: storage.write_chunks writes and hashes it (or copies it into an S3
# part) before that, and keeps no reference to it.
READ_INTO = 64 * 1024


def _read_attachment(src) -> Iterator[memoryview]:
    buffer = memoryview(bytearray(READ_INTO))
    while True:
        try:
            n = src.readinto(buffer)
        except OSError as exc:
            raise AttachmentUnreadable(_why(exc))
        if not n:
            return
        yield buffer[:n]


def _mismatch(f: AttachmentFile, size: int) -> str:
    return (
        f"its content does not match its recorded SHA-256 and size "
        f"({f.size} bytes expected, {size} read)"
    )


def _why(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "the file is missing from the product's storage"
    return f"the file could not be read ({exc.strerror or exc})"

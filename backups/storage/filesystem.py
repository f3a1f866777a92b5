"""A folder as a backup storage (Django's FileSystemStorage): the embedded default.

Objects are files under the storage's location; a name's "/" are folders. The methods are
those of S3Backend (backups/storage/s3.py), with the same results and the same refusals.
"""

import hashlib
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .base import StorageError, StoredObject, Written, taken

# A large object's blocks are allocated ahead of its writes, PREALLOCATE_STEP at a time once
# PREALLOCATE_FROM bytes are written (and what is left past its end let go at the end): ext4
# then maps each written block into an allocated extent instead of reserving it for delayed
# allocation one block at a time, a third less kernel time per byte written (0.185 -> 0.11
# CPU-s per GB in 1 MiB writes) on the thread that also hashes the backup file (#16). Small
# objects (manifests, most entities and attachments) are written as before.
PREALLOCATE_FROM = 16 * 1024 * 1024
PREALLOCATE_STEP = 64 * 1024 * 1024


class FilesystemBackend:
    """One FileSystemStorage; every storage that is not S3 is treated as one (settings allow
    only these two)."""

    kind = "filesystem"

    def __init__(self, storage):
        self.storage = storage

    def label(self, role: str = "backup storage") -> str:
        return f"{role} (folder {self.storage.location})"

    def free_bytes(self) -> int:
        """Free bytes of the filesystem the folder is on (the folder is made by the first
        write: until then, its nearest existing parent's)."""
        folder = Path(self.storage.location).resolve()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return shutil.disk_usage(folder).free

    # --- writes -------------------------------------------------------------------------------

    def write(self, name: str, chunks: Iterable[bytes]) -> Written:
        # Straight to the file, chunk by chunk: Storage.save would re-slice every chunk into
        # 64 KiB pieces, which costs more than the copy itself on large attachments.
        path = Path(self.storage.path(name))
        digest = hashlib.sha256()
        size = 0
        allocated = 0  # bytes of the file preallocated (its size, until the last truncate)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            out = open(path, "xb")  # noqa: SIM115 - closed below. "x": never overwrite an object
        except FileExistsError as exc:
            if path.exists() and path.is_file():
                raise taken(self.label(), name) from exc
            raise StorageError(f"The {self.label()} failed to write {name}: {exc}") from exc
        except OSError as exc:
            raise StorageError(f"The {self.label()} failed to write {name}: {exc}") from exc
        try:
            with out:
                for chunk in chunks:
                    # Written, then hashed, here: both are done before the next chunk is asked
                    # for (write_chunks). Not on a thread of its own (#16): a backup file's
                    # attachments are read and hashed on one already, and on 2 cores a third
                    # busy thread made the hash wait for a core while this one wrote.
                    try:
                        if size >= PREALLOCATE_FROM and size + len(chunk) > allocated >= 0:
                            allocated = _preallocate(out.fileno(), max(size, allocated))
                        out.write(chunk)
                    except OSError as exc:
                        raise StorageError(
                            f"The {self.label()} failed to write {name}: {exc}"
                        ) from exc
                    digest.update(chunk)
                    size += len(chunk)
                if allocated:  # the blocks past the last byte let go
                    try:
                        out.flush()
                        os.ftruncate(out.fileno(), size)
                    except OSError as exc:
                        raise StorageError(
                            f"The {self.label()} failed to write {name}: {exc}"
                        ) from exc
        except BaseException:
            # As on S3: a write that did not finish leaves no object under the name.
            path.unlink(missing_ok=True)
            raise
        return Written(name, size, digest.hexdigest())

    def can_copy_from(self, source) -> bool:
        return False  # a folder has no server to copy for us: the engine streams the bytes

    def copy_from(self, source, source_name: str, name: str, *, size: int) -> int:
        raise NotImplementedError(
            f"The {self.label()} cannot copy server-side; check server_side_copy_available()."
        )

    # --- reads --------------------------------------------------------------------------------

    def open(self, name: str, mode: str = "rb", *, role: str = "backup storage"):
        return self.storage.open(name, mode)

    def size(self, name: str) -> int:
        return self.storage.size(name)

    def exists(self, name: str) -> bool:
        return self.storage.exists(name)

    def url(self, name: str, *, filename: str, expires: timedelta) -> str | None:
        return None  # no URL outside the service: it serves the file itself

    @contextmanager
    def local_file(self, name: str):
        with open(self.storage.path(name), "rb") as f:
            yield f

    # --- deletes and listings -----------------------------------------------------------------

    def delete(self, name: str) -> None:
        self.storage.delete(name)

    def list(self, prefix: str, *, page_size: int) -> list[str]:
        # page_size is S3's; a folder is listed one directory at a time anyway.
        names: list[str] = []

        def walk(folder: str) -> None:
            try:
                dirs, files = self.storage.listdir(folder)
            except FileNotFoundError:
                return
            names.extend(f"{folder}{f}" for f in files)
            for d in dirs:
                walk(f"{folder}{d}/")

        walk(prefix)
        return sorted(names)

    def objects(self, prefix: str, *, page_size: int) -> Iterator[StoredObject]:
        """Every object under a prefix with its size and mtime, one folder at a time (in name
        order within a folder): memory is one folder's entries, whatever the total. A file
        deleted between its folder's listing and its stat is skipped, as S3 would not list it."""
        if not prefix.endswith("/"):
            raise ValueError(f"refusing to list {prefix!r}: not a folder prefix")
        try:
            yield from self._walk(prefix, self.storage.path(prefix))
        except OSError as exc:
            raise StorageError(f"The {self.label()} failed to list {prefix}: {exc}") from exc

    def _walk(self, prefix: str, folder: str) -> Iterator[StoredObject]:
        # Names are built as strings: pathlib per file costs more than the stat (100k files).
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    yield from self._walk(f"{prefix}{entry.name}/", entry.path)
                    continue
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            yield StoredObject(
                name=prefix + entry.name,
                size=stat.st_size,
                modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            )

    def delete_prefix(self, prefix: str, *, page_size: int) -> int:
        names = self.list(prefix, page_size=page_size)
        shutil.rmtree(Path(self.storage.path(prefix)), ignore_errors=True)
        return len(names)

    # --- uploads: a backup file received in chunks (R4) ---------------------------------------

    def upload_write(
        self, name: str, *, offset: int, part_number: int, data: bytes, multipart_id: str
    ) -> str:
        # One file written in place at each chunk's offset: there is no upload id ("").
        path = Path(self.storage.path(name))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "r+b" if path.exists() else "wb") as f:
                f.seek(offset)
                f.write(data)
                f.truncate()  # bytes past a chunk a crash left half-written are not kept
        except OSError as exc:
            raise StorageError(f"The {self.label()} failed to write {name}: {exc}")
        return ""

    def upload_finish(self, name: str, *, multipart_id: str) -> None:
        return  # the chunks were written into the file itself: it is complete as it is

    def upload_discard(self, name: str, *, multipart_id: str) -> None:
        self.delete(name)


def _preallocate(fd: int, start: int) -> int:
    """The file's blocks allocated up to start + PREALLOCATE_STEP (its size becomes that
    until the write's truncate): returns the new end, or -1 where the filesystem cannot
    allocate ahead or has no room for it (the write goes on without; a full disk fails the
    write itself, as before)."""
    try:
        os.posix_fallocate(fd, start, PREALLOCATE_STEP)
    except OSError:
        return -1
    return start + PREALLOCATE_STEP

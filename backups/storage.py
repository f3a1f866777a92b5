"""The one place that touches storages["backups"]: key naming, streaming writes, copies, deletes.

Everything streams: a write takes an iterator of byte chunks, a copy reads and writes in chunks,
so no backup object is ever held whole in memory.
"""

import hashlib
import io
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages
from django.core.files.storage.filesystem import FileSystemStorage

CHUNK_SIZE = 1024 * 1024


class StorageError(Exception):
    """The backup storage failed; the message names the storage and the object."""


def backup_storage():
    return storages["backups"]


def storage_label(storage=None) -> str:
    storage = storage or backup_storage()
    if isinstance(storage, FileSystemStorage):
        return f"backup storage (folder {storage.location})"
    bucket = getattr(storage, "bucket_name", "?")
    return f"backup storage (bucket {bucket})"


def backup_prefix(*, organization_id: int, product_id: int, backup_id: int) -> str:
    return f"backups/{organization_id}/{product_id}/{backup_id}/"


@dataclass(frozen=True)
class Written:
    name: str
    size: int
    sha256: str


class _ChunkReader(io.RawIOBase):
    """A read()-able file over an iterator of byte chunks, hashing and counting as it reads."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = bytearray()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if n < 0 or n >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), bytearray()
        else:
            data = bytes(self._buffer[:n])
            del self._buffer[:n]
        self.sha256.update(data)
        self.size += len(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def _save(storage, name: str, reader) -> None:
    stored = storage.save(name, File(reader, name=name))
    if stored != name:
        # Keys under a backup's prefix are fresh; another name means something else wrote there.
        storage.delete(stored)
        raise StorageError(f"{storage_label(storage)} refused to write {name}: the name is taken.")


def write_chunks(name: str, chunks: Iterable[bytes]) -> Written:
    """Write an object from an iterator of byte chunks; return its size and SHA-256."""
    storage = backup_storage()
    if isinstance(storage, FileSystemStorage):
        return _write_file(storage, name, chunks)
    reader = _ChunkReader(chunks)
    _save(storage, name, reader)
    return Written(name, reader.size, reader.sha256.hexdigest())


def _write_file(storage: FileSystemStorage, name: str, chunks: Iterable[bytes]) -> Written:
    # Straight to the file, chunk by chunk: Storage.save would re-slice every chunk into
    # 64 KiB pieces, which costs more than the copy itself on large attachments.
    path = Path(storage.path(name))
    digest = hashlib.sha256()
    size = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = open(path, "xb")  # noqa: SIM115 - closed below. "x": never overwrite an object
    except FileExistsError as exc:
        if path.exists() and path.is_file():
            raise StorageError(
                f"{storage_label(storage)} refused to write {name}: the name is taken."
            ) from exc
        raise StorageError(f"The {storage_label(storage)} failed to write {name}: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"The {storage_label(storage)} failed to write {name}: {exc}") from exc
    with out:
        for chunk in chunks:
            try:
                out.write(chunk)
            except OSError as exc:
                raise StorageError(
                    f"The {storage_label(storage)} failed to write {name}: {exc}"
                ) from exc
            digest.update(chunk)
            size += len(chunk)
    return Written(name, size, digest.hexdigest())


def presigned_url(name: str, *, filename: str, expires: timedelta) -> str | None:
    """A short-lived URL straight to the object (S3), or None where the service must serve it."""
    storage = backup_storage()
    if isinstance(storage, FileSystemStorage):
        return None
    return storage.url(
        name,
        parameters={"ResponseContentDisposition": f'attachment; filename="{filename}"'},
        expire=int(expires.total_seconds()),
    )


def object_size(name: str) -> int:
    return backup_storage().size(name)


def open_object(name: str, mode: str = "rb"):
    return backup_storage().open(name, mode)


def exists(name: str) -> bool:
    return backup_storage().exists(name)


def delete_object(name: str) -> None:
    backup_storage().delete(name)


def list_prefix(prefix: str) -> list[str]:
    """Every object name under a prefix (for tests, cleanup and checks)."""
    storage = backup_storage()
    names: list[str] = []

    def walk(folder: str) -> None:
        try:
            dirs, files = storage.listdir(folder)
        except FileNotFoundError:
            return
        names.extend(f"{folder}{f}" for f in files)
        for d in dirs:
            walk(f"{folder}{d}/")

    walk(prefix)
    return sorted(names)


def delete_prefix(prefix: str) -> int:
    """Delete everything under a prefix; return how many objects were removed. Idempotent."""
    if not prefix or not prefix.endswith("/"):
        raise ValueError(f"refusing to delete {prefix!r}: not a folder prefix")
    storage = backup_storage()
    names = list_prefix(prefix)
    if isinstance(storage, FileSystemStorage):
        shutil.rmtree(Path(storage.path(prefix)), ignore_errors=True)
    else:
        for name in names:
            storage.delete(name)
    return len(names)

"""What every storage backend shares: the error, the result of a write, a listed object, the
read size."""

from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from backups.pools import LazyPool

MiB = 1024 * 1024
# The size of one read from a stored object (and of an S3 stream's buffer): large enough that
# the per-call cost vanishes, small enough to keep memory flat (issue #16 measures it).
CHUNK_SIZE = MiB


class StorageError(Exception):
    """A storage failed; the message names the storage and the object."""


@dataclass(frozen=True)
class Written:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class StoredObject:
    """An object as a listing shows it: its name, its size, and when it was last written (an
    aware UTC datetime: a file's mtime, an S3 object's LastModified)."""

    name: str
    size: int
    modified: datetime


def taken(label: str, name: str) -> StorageError:
    """The refusal for a write to a name that already has an object: both backends say it."""
    return StorageError(f"The {label} refused to write {name}: the name is taken.")


# A write's own SHA-256 of a large chunk is computed on a thread of these while the chunk is
# written (#16): hashlib and file writes release the GIL, so on two cores the hash and the
# copy into the page cache overlap instead of following each other. Two threads: two writes
# may run at once (the engine's copies, two backup files). Small chunks (the engine's 64 KiB
# reads) are hashed inline: handing them over costs more than it saves.
OVERLAP_AT = 256 * 1024
_hashing_threads = LazyPool(2, "write-sha256")


def overlapped_sha256() -> Callable[..., AbstractContextManager]:
    """`with hashing(digest, chunk): write(chunk)`: the chunk is hashed into `digest` while
    the block runs, and the hash has ended when the block has (whether it raised or not), so
    the caller may let go of the chunk right after it."""

    @contextmanager
    def overlapped(digest, chunk):
        done = _hashing_threads().submit(digest.update, chunk)
        try:
            yield
        finally:
            done.result()

    def hashing(digest, chunk) -> AbstractContextManager:
        if len(chunk) < OVERLAP_AT:
            digest.update(chunk)
            return nullcontext()
        return overlapped(digest, chunk)

    return hashing

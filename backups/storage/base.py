"""What every storage backend shares: the error, the result of a write, a listed object, the
read size."""

from dataclasses import dataclass
from datetime import datetime

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

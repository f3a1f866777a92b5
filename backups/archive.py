"""Backup file format version 1 (SPEC §7): manifest, signature, streaming ZIP writer.

A backup file is a ZIP (ZIP64 where needed) holding, in this order:
  manifest.json          the stored backup's manifest, unchanged
  manifest.sig           HMAC-SHA256 of manifest.json, hex, keyed by a key derived from the
                         service's secret key for this purpose only
  entities/<type>.jsonl  as stored; each file's SHA-256 and row count are in the manifest
  attachments/<id>/<name>  each listed with its SHA-256 and size in entities/attachments.jsonl

So the signature vouches for the manifest, the manifest for every entities file, and the
attachments entities file for every attachment: one chain, checkable without a database.
The standard library's zipfile writes to an unseekable stream (data descriptors) and reads
with streaming decompression; no third-party ZIP library is needed.

This module needs no database and no configured Django: `verify_file(path, secret_key)` is
what `manage.py verify_backup_file` runs, and what anyone can run on their own machine.
The reader and its checks (`verify`, `verify_file`, `Verification`, `CHECK_TITLES`) live in
backups/archive_reader.py; they are re-exported here, so `archive.verify` still works.
"""

import hashlib
import hmac
import json
import stat
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

FORMAT_NAME = "backupsite-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
SIGNING_SALT = "backupsite.archive.manifest-signature.v1"
CHUNK = 1024 * 1024

REQUIRED_MANIFEST_FIELDS = (
    "format",
    "version",
    "backup_id",
    "organization",
    "product",
    "taken_at",
    "completed_at",
    "status",
    "options",
    "entities",
    "attachments",
    "missing",
)


def entities_file(content_type: str) -> str:
    return f"entities/{content_type}.jsonl"


# --- manifest and signature -----------------------------------------------------------------


def build_manifest(
    *,
    backup,
    status: str,
    completed_at,
    entities: dict[str, dict],
    attachment_count: int,
    attachment_bytes: int,
    missing: list[dict],
) -> dict:
    product = backup.product
    org = product.organization
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "backup_id": backup.id,
        "organization": {"id": org.id, "name": org.name},
        "product": {"id": product.id, "kind": product.kind, "name": product.name},
        "taken_at": backup.started_at.astimezone(UTC).isoformat(),
        "completed_at": completed_at.astimezone(UTC).isoformat(),
        "status": status,
        "options": backup.options,
        "entities": entities,
        "attachments": {"count": attachment_count, "bytes": attachment_bytes},
        "missing": missing,
    }


def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"


def signing_key(secret_key: str | bytes) -> bytes:
    """A key for signing manifests only, derived from the secret key (never the key itself)."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(secret, SIGNING_SALT.encode(), hashlib.sha256).digest()


def sign(data: bytes, secret_key: str | bytes) -> str:
    return hmac.new(signing_key(secret_key), data, hashlib.sha256).hexdigest()


def signature_valid(data: bytes, signature: str, secret_key: str | bytes) -> bool:
    return hmac.compare_digest(sign(data, secret_key), signature.strip())


# --- writer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One file to put in the archive: its name, its size, and how to read its bytes."""

    name: str
    size: int
    chunks: Callable[[], Iterable[bytes]]
    compress: bool = False


class _Sink:
    """Where zipfile writes; the generator drains it, so nothing accumulates.

    A part is kept as zipfile wrote it, not copied: an attachment's data is a view of the
    reader's buffer (_attachment_chunks), handed on as it is (#16: a copy of every byte was
    the one thing `tar` does not also do). Headers are small bytes, joined when several wait.
    """

    def __init__(self):
        self._parts: list = []

    def write(self, data) -> int:
        self._parts.append(data)
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> Iterator:
        parts = self._parts
        if len(parts) == 1:
            self._parts = []
            yield parts[0]
        elif parts:
            self._parts = []
            yield b"".join(parts)


# A fixed time for every entry: the same backup always makes the same bytes.
ENTRY_TIME = (2020, 1, 1, 0, 0, 0)


def zip_chunks(entries: Iterable[Entry]) -> Iterator[bytes | memoryview]:
    """Stream a ZIP of `entries` as byte chunks, never holding an entry whole in memory.

    An attachment's chunks are views of a buffer its reader reuses: each is valid until the
    chunk after the next one is asked for, so the caller writes (and hashes) a chunk before
    going on and keeps no reference to it (storage.write_chunks does exactly that); to keep
    the bytes, copy them (`bytes(chunk)`).
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=ENTRY_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if entry.compress else zipfile.ZIP_STORED
            info.file_size = entry.size  # lets zipfile choose ZIP64 for a large entry
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            with zf.open(info, "w") as out:
                yield from sink.drain()  # the local header alone: a chunk after it is not joined
                for chunk in entry.chunks():
                    out.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


def read_chunks(fileobj: BinaryIO) -> Iterator[bytes]:
    with fileobj:
        while chunk := fileobj.read(CHUNK):
            yield chunk


# An attachment is read into two buffers of this size in turn (#16). Each byte is then touched
# while it is still in the CPU's cache by its SHA-256 (on the hashing thread), zipfile's CRC-32,
# the write and the file's own SHA-256; 1 MiB of new bytes per read left the cache between
# them. Two buffers because the chunk just yielded may still be hashed while the next is read.
ATTACHMENT_CHUNK = 1024 * 1024


def _attachment_chunks(fileobj: BinaryIO) -> Iterator[memoryview]:
    buffers = (
        memoryview(bytearray(ATTACHMENT_CHUNK)),
        memoryview(bytearray(ATTACHMENT_CHUNK)),
    )
    turn = 0
    with fileobj:
        while n := fileobj.readinto(buffers[turn]):
            yield buffers[turn][:n]
            turn ^= 1


def archive_entries(
    *,
    manifest_data: bytes,
    secret_key: str | bytes,
    open_object: Callable[[str], BinaryIO],
) -> Iterator[Entry]:
    """The entries of a backup file, read from a stored backup through `open_object(path)`."""
    manifest = json.loads(manifest_data)
    signature = sign(manifest_data, secret_key).encode()
    yield Entry(MANIFEST_NAME, len(manifest_data), lambda: [manifest_data])
    yield Entry(SIGNATURE_NAME, len(signature), lambda: [signature])
    for info in manifest["entities"].values():
        path = info["file"]
        yield Entry(
            path, info["bytes"], lambda path=path: read_chunks(open_object(path)), compress=True
        )
    if "attachments" in manifest["entities"]:
        with open_object(manifest["entities"]["attachments"]["file"]) as rows:
            for line in rows:
                row = json.loads(line)
                path, sha, size = row["path"], row["sha256"], row["size"]
                yield Entry(
                    path,
                    size,
                    lambda path=path, sha=sha, size=size: _verified(
                        _attachment_chunks(open_object(path)), path, sha, size
                    ),
                )


class ChecksumMismatch(Exception):
    """A stored object is not what its row says: the file must not be made."""


# The attachment's own SHA-256 is computed on this thread while the caller writes the chunk
# (and hashes the file it makes): hashlib releases the GIL, so the two hashes of every byte
# run on two cores instead of one after the other, which was half the file's time (#16).
_hasher: ThreadPoolExecutor | None = None
_hasher_lock = threading.Lock()


def _hashing_thread() -> ThreadPoolExecutor:
    global _hasher
    with _hasher_lock:
        if _hasher is None:
            _hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-sha256")
        return _hasher


def _verified(chunks: Iterable, path: str, sha256: str, size: int) -> Iterator:
    # On S3 attachments are copied server-side, unhashed; the file is where they are proven.
    # A chunk is hashed there while the caller writes it here; it is a view of one of two
    # buffers (_attachment_chunks), and its hash is waited for before the next chunk is handed
    # on, so the buffer is never refilled under the hash (nor under the caller: see zip_chunks).
    digest = hashlib.sha256()
    n = 0
    pending: Future | None = None
    hasher = _hashing_thread()
    try:
        for chunk in chunks:
            if pending is not None:
                pending.result()  # one chunk in flight: memory stays flat
            pending = hasher.submit(digest.update, chunk)
            n += len(chunk)
            yield chunk
    finally:
        if pending is not None:
            pending.result()
    if digest.hexdigest() != sha256 or n != size:
        raise ChecksumMismatch(
            f"{path} in the stored backup does not match its SHA-256 and size "
            f"({size} bytes expected, {n} read): the backup is damaged."
        )


def taken_at(manifest: dict) -> datetime:
    return datetime.fromisoformat(manifest["taken_at"])


# The reader, in its own module (backups/archive_reader.py), which imports from this one: its
# public names are resolved on first use, not imported here, so that importing either module
# first never meets the other half-initialised.
_READER_NAMES = frozenset({"Check", "CHECK_TITLES", "Verification", "verify", "verify_file"})


def __getattr__(name: str):
    if name in _READER_NAMES:
        from backups import archive_reader

        return getattr(archive_reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

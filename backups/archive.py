"""Backup file format version 1 (SPEC §7): manifest, signature, streaming ZIP writer.

A backup file is a ZIP (ZIP64 where needed) holding, in this order:
  manifest.json          the stored backup's manifest, unchanged
  manifest.sig           HMAC-SHA256 of manifest.json, hex, keyed by a key derived from the
                         service's secret key for this purpose only
  entities/<type>.jsonl  as stored; each file's SHA-256 and row count are in the manifest
  attachments/<id>/<name>  each listed with its SHA-256 and size in entities/attachments.jsonl

So the signature vouches for the manifest, the manifest for every entities file, and the
attachments entities file for every attachment: one chain, checkable without a database.
The file is a stream (a data descriptor after each entry), its records written by
archive_zip.ZipStream as the standard library's zipfile wrote them, CRC-32s by ISA-L (#16);
the reader is zipfile's, with streaming decompression.

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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from backups.archive_zip import CHUNK, ZipStream, crc32, deflater

FORMAT_NAME = "backupsite-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
SIGNING_SALT = "backupsite.archive.manifest-signature.v1"

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


# A fixed time for every entry: the same backup always makes the same bytes.
ENTRY_TIME = (2020, 1, 1, 0, 0, 0)
ENTRY_MODE = stat.S_IFREG | 0o644


def zip_chunks(entries: Iterable[Entry]) -> Iterator[bytes | memoryview]:
    """Stream a ZIP of `entries` as byte chunks, never holding an entry whole in memory.

    An attachment's chunks are views of buffers its reader reuses (_Read): each is valid
    until the chunk after the next one is asked for, so the caller writes (and hashes) a chunk
    before going on and keeps no reference to it (storage.write_chunks does exactly that); to
    keep the bytes, copy them (`bytes(chunk)`). A chunk is handed on as it came, never copied
    or joined (#16); only the small records between entries are joined.
    """
    stream = ZipStream()
    records = b""  # the last entry's data descriptor, then the next one's local header
    for entry in entries:
        records += stream.begin(
            entry.name,
            size=entry.size,
            deflated=entry.compress,
            mode=ENTRY_MODE,
            date_time=ENTRY_TIME,
        )
        yield records
        crc = size = stored = 0
        deflate = deflater()  # ISA-L's: zlib's default level was 36-60 MB/s (#16)
        chunks = entry.chunks()
        counted = isinstance(chunks, _Chunks)  # an attachment: its reader computes its CRC-32
        for chunk in chunks:
            if not counted:
                crc = crc32(chunk, crc)
            size += len(chunk)
            if entry.compress:
                chunk = deflate.compress(chunk)
            if chunk:
                stored += len(chunk)
                yield chunk
        if entry.compress and (rest := deflate.flush()):
            stored += len(rest)
            yield rest
        records = stream.end(chunks.crc32 if counted else crc, stored, size)
    yield records + stream.finish()


def read_chunks(fileobj: BinaryIO) -> Iterator[bytes]:
    with fileobj:
        while chunk := fileobj.read(CHUNK):
            yield chunk


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
        reader = _AttachmentReader(open_object)
        try:
            with open_object(manifest["entities"]["attachments"]["file"]) as lines:
                rows = (json.loads(line) for line in lines)
                row = next(rows, None)
                while row is not None:
                    after = next(rows, None)  # read ahead of this one: see _AttachmentReader
                    reader.upcoming = _row(after) if after is not None else None
                    path, sha, size = _row(row)
                    yield Entry(
                        path,
                        size,
                        lambda path=path, sha=sha, size=size: reader.chunks(path, sha, size),
                    )
                    row = after
        finally:
            reader.close()


def _row(row: dict) -> tuple[str, str, int]:
    return row["path"], row["sha256"], row["size"]


class ChecksumMismatch(Exception):
    """A stored object is not what its row says: the file must not be made."""


# Attachments are read, and their own SHA-256s computed, on this thread, one buffer ahead of
# the caller, who meanwhile computes the CRC-32, writes the bytes and hashes the file it makes
# (#16): hashlib and the reads release the GIL, so the two hashes of every byte run on two
# cores instead of one after the other. One thread, whose tasks run in the order given: an
# attachment's reads stay in order, and no task ever waits for another (so a file given up
# halfway never holds the thread up for the next one).
_hasher: ThreadPoolExecutor | None = None
_hasher_lock = threading.Lock()


def _hashing_thread() -> ThreadPoolExecutor:
    global _hasher
    with _hasher_lock:
        if _hasher is None:
            _hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-sha256")
        return _hasher


# An attachment's buffers. Three: the chunk the caller has, the one before it (still valid,
# see zip_chunks) and the one being read. 1 MiB, the size tar reads; smaller ones cost more
# hand-offs between the threads than they save in cache misses (measured, see the commit).
ATTACHMENT_CHUNK = 1024 * 1024
ATTACHMENT_BUFFERS = 3
# Below this an attachment is read and hashed on the caller's thread: handing it over costs
# more than the work.
ATTACHMENT_INLINE = 64 * 1024


class _Buffers:
    """Sets of buffers, reused from one attachment to the next: a new 1 MiB buffer costs its
    page faults again, which at 4 MB an attachment was measurable (#16)."""

    KEPT = 4  # two attachments in flight (one read ahead), for each of two files made at once

    def __init__(self):
        self._free: list[list[memoryview]] = []
        self._lock = threading.Lock()

    def take(self) -> list[memoryview]:
        with self._lock:
            if self._free:
                return self._free.pop()
        return [memoryview(bytearray(ATTACHMENT_CHUNK)) for _ in range(ATTACHMENT_BUFFERS)]

    def give_back(self, buffers: list[memoryview]) -> None:
        with self._lock:
            if len(self._free) < self.KEPT:
                self._free.append(buffers)


_buffers = _Buffers()


class _Read:
    """One attachment being read and hashed, on the hashing thread or (small) on the caller's."""

    def __init__(self, fileobj: BinaryIO, path: str, sha256: str, size: int):
        self.fileobj, self.path, self.sha256, self.size = fileobj, path, sha256, size
        self.digest = hashlib.sha256()
        self.crc = 0
        self.buffers = _buffers.take()
        self.turn = 0
        self.fills = 0
        self.pending: deque[tuple[memoryview, Future]] = deque()
        self.thread = _hashing_thread() if size > ATTACHMENT_INLINE else None
        # Reads until the end shows, if the attachment is the size its row says: the last
        # one reads nothing.
        self.needed = -(-size // ATTACHMENT_CHUNK) + 1

    def _fill(self, buffer: memoryview) -> int:
        n = self.fileobj.readinto(buffer)
        self.digest.update(buffer[:n])
        # Here too, while the bytes are in this core's cache: the writer's core would fetch
        # them again for it (#16, measured: see the commit).
        self.crc = crc32(buffer[:n], self.crc)
        return n

    def submit(self) -> None:
        """Read (and hash) into the next buffer of the ring, on the thread or here and now."""
        buffer = self.buffers[self.turn]
        self.turn = (self.turn + 1) % len(self.buffers)
        self.fills += 1
        if self.thread is None:
            done: Future = Future()
            done.set_result(self._fill(buffer))
        else:
            done = self.thread.submit(self._fill, buffer)
        self.pending.append((buffer, done))

    @property
    def all_submitted(self) -> bool:
        return self.fills >= self.needed

    def close(self) -> None:
        """However it ends, no read or hash outlives the file or touches a buffer given back."""
        try:
            for _, done in self.pending:
                done.exception()
            self.pending.clear()
            self.fileobj.close()
        finally:
            _buffers.give_back(self.buffers)


class _Chunks:
    """An attachment's chunks, and their CRC-32 once they are all out: computed where they
    were read, so zip_chunks need not (it looks for this class)."""

    def __init__(self, read: _Read, chunks: Iterator[memoryview]):
        self._read, self._chunks = read, chunks

    def __iter__(self) -> Iterator[memoryview]:
        return self._chunks

    @property
    def crc32(self) -> int:
        return self._read.crc


class _AttachmentReader:
    """The attachments of one backup file, in the order of their rows, each proven against its
    SHA-256 and size (ChecksumMismatch). On S3 attachments are copied server-side, unhashed;
    the file is where they are proven.

    archive_entries tells it the attachment after the one being read (`upcoming`): once the
    last read of one is on the thread, the next one is opened (here, on the caller's thread:
    opening may ask the database, storage.resolve) and its first reads follow it there, so
    the thread is not idle while the caller writes the last chunk of one and the first
    header of the next — with 4 MB attachments, a quarter of its time (#16).
    """

    def __init__(self, open_object: Callable[[str], BinaryIO]):
        self.open_object = open_object
        self.upcoming: tuple[str, str, int] | None = None
        self._tried: tuple[str, str, int] | None = None  # read ahead once, even if it failed
        self._ahead: _Read | None = None

    def chunks(self, path: str, sha256: str, size: int) -> "_Chunks":
        read, self._ahead = self._ahead, None
        if read is not None and read.path != path:
            read.close()  # not asked for in order: read again below
            read = None
        if read is None:
            read = self._start(path, sha256, size)
        return _Chunks(read, self._stream(read))

    def _start(self, path: str, sha256: str, size: int) -> _Read:
        read = _Read(self.open_object(path), path, sha256, size)
        try:
            for _ in range(len(read.buffers) - 1 if read.thread else 1):
                read.submit()
        except BaseException:
            read.close()
            raise
        return read

    def _stream(self, read: _Read) -> Iterator[memoryview]:
        got = 0
        try:
            while True:
                buffer, done = read.pending.popleft()
                if not (n := done.result()):
                    break
                got += n
                yield buffer[:n]
                # Asked for the next chunk: the buffer of the one before the last is free.
                read.submit()
                if read.all_submitted and self.upcoming not in (None, self._tried):
                    self._read_ahead()
        finally:
            read.close()
        if read.digest.hexdigest() != read.sha256 or got != read.size:
            raise ChecksumMismatch(
                f"{read.path} in the stored backup does not match its SHA-256 and size "
                f"({read.size} bytes expected, {got} read): the backup is damaged."
            )

    def _read_ahead(self) -> None:
        self._tried = upcoming = self.upcoming
        try:
            self._ahead = self._start(*upcoming)
        except Exception:  # noqa: BLE001 - opened again in its turn, failing there by its name
            self._ahead = None

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None


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

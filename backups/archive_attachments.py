"""A backup file's attachments, read and proven (SPEC §7, D1): each one's bytes handed to the
writer (archive.zip_chunks) or to the verification (services/verification.py) as views of
reused buffers, its SHA-256 and size checked against its row when the last one is out.

Split out of archive.py (#16): the reading ahead on a second thread is most of its lines.
"""

import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import BinaryIO

from backups.archive_zip import crc32
from backups.pools import LazyPool


class ChecksumMismatch(Exception):
    """A stored object is not what its row says: the file must not be made."""


# Attachments are read, and their own SHA-256s and CRC-32s computed, on this thread, one
# buffer ahead of the caller, who meanwhile writes the bytes and hashes the file it makes, on
# its own thread (storage's write, #16): hashlib and the reads release the GIL, so the two
# hashes of every byte run on two cores instead of one after the other. One thread, whose
# tasks run in the order given: an attachment's reads stay in order, and no task ever waits
# for another (so a file given up halfway never holds the thread up for the next one).
_hashing_thread = LazyPool(1, "archive-sha256")


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
                if not read.pending:  # longer than its row says: read on to its end
                    read.submit()
                buffer, done = read.pending.popleft()
                if not (n := done.result()):
                    break
                got += n
                yield buffer[:n]
                # Asked for the next chunk: the buffer of the one before the last is free.
                # No read past the one that should find the end: queued behind the next
                # attachment's first reads, it held up the close of this one, 0.8 ms each
                # (a fifth of the file's time with 4 MB attachments, #16).
                if not read.all_submitted:
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

"""An import's attachment files written on a small pool while its rows go in (#16).

A restore used to write every attachment after the rows, one file at a time: at 1M issues and
21.5 GB of attachments, 159 s on one core. The files need no database (each goes to
`<folder>/<uuid>/<name>`); only their rows need the owners' new ids. So the files start as
soon as the import reads its items, two at once, and the attachment rows, still written last,
take each file's stored name in order.
"""

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice

from backups import storage

from .attachments import write_checked
from .base import ImportOptions, ImportReport, RowSource

# Files written at once: a checked write is bound by its SHA-256 (one core) and the disk, and
# hashlib and file and socket I/O release the GIL, so two files at once use both cores of a
# small worker, as the backup's copy does (services/attachment_copy.COPY_THREADS).
WRITE_THREADS = 2
# Files handed to the pool and not yet finished, at most, and their bytes: queued work for
# the two threads while the calling thread is in the database and reads no row (a COPY of
# 10,000 rows, ~0.2 s). Each is an open file (or an S3 GET) until it is written.
OPEN_FILES = 32
OPEN_BYTES = 128 * 1024 * 1024
# Attachment rows read ahead of the import while its rows go in, at most: ~1 KB each (the
# row and its slot), so ~10 MB however many attachments there are. Past it, the rest of the
# files wait for the attachment rows' turn.
READ_AHEAD = 10_000
# The import's rows are passed on this many at a time, the pool topped up between them.
PUMP_EVERY = 64

WAITING, SKIPPED, WRITING, DONE = range(4)


class Slot:
    """One attachment row on its way: whether and how its file is written."""

    __slots__ = ("row", "state", "future", "stream", "written", "error", "taken")

    def __init__(self, row: dict, state: int):
        self.row = row
        self.state = state
        self.future: Future | None = None  # while it is written; then `written` or `error`
        self.stream = None
        self.written: tuple[str, int] | None = None  # its stored name and size
        self.error: BaseException | None = None
        self.taken = False


class FilesAhead:
    """A RowSource that writes its attachment files while the import reads its rows.

    From the content type `start` on (the items: by then the containers are in, and a
    Confluence import knows the spaces it skips, R6), reading rows through `rows` tops up a
    pool of WRITE_THREADS that writes the next attachment files, checked (write_checked),
    into `folder`. import_attachments reads the attachment rows through `attachments` and
    takes each kept row's stored name with `stored`, in order, or lets a row go (`discard`).

    What may touch the database runs on the calling thread: a backup's file is found by a
    query (storage.resolve, in the source's open_attachment), Django's connections are per
    thread and SQLite has one writer. So every file is opened and closed here and only read,
    hashed and written on the pool; a ZIP's entries (an uploaded backup file) are then only
    read on the pool, which zipfile serializes with its own lock, and its count of open
    entries is only changed on this thread.

    A file's error is raised by `stored`, in the rows' order, as when the files were written
    one at a time: the first kept file that does not match stops the import with its
    AttachmentIntegrityError. After an error no new file starts until that row is let go.
    Closing waits for every write that started, so report.written_files names every file
    written before a failed import deletes them (R8), and deletes the files no row took.
    """

    def __init__(
        self,
        source: RowSource,
        options: ImportOptions,
        report: ImportReport,
        *,
        folder: str,
        start: str | None = None,
    ):
        self._source = source
        self._report = report
        self._folder = folder
        self._write_files = options.include_attachments
        self._start = start
        self._pool: ThreadPoolExecutor | None = None
        self._rows = None  # the attachment rows, read once, from the first that is needed
        self._skip_spaces: frozenset = frozenset()
        self._ahead: deque[Slot] = deque()  # read, not yet handed to the import
        self._waiting: deque[Slot] = deque()  # to write, in the rows' order
        self._open: deque[Slot] = deque()  # handed to the pool, stream not closed yet
        self._open_bytes = 0
        self._failures = 0

    # --- RowSource --------------------------------------------------------------------------

    def rows(self, content_type: str):
        rows = self._source.rows(content_type)
        if content_type == self._start:
            self._begin()
        if self._pool is None or content_type == "attachments":
            return rows
        return self._pumped(iter(rows))

    @property
    def entities_file(self):
        """The source's `entities_file` (productdata/parsed_rows.py), the pool begun as `rows`
        begins it; None when the source has none. A reader of it calls `pump` between
        batches, as `rows` does between its rows."""
        opener = getattr(self._source, "entities_file", None)
        if opener is None:
            return None

        def opened(content_type: str):
            if content_type == self._start:
                self._begin()
            return opener(content_type)

        return opened

    def pump(self) -> None:
        if self._pool is not None:
            self._pump()

    def open_attachment(self, path: str):
        return self._source.open_attachment(path)

    def _pumped(self, rows):
        while batch := list(islice(rows, PUMP_EVERY)):
            self._pump()
            yield from batch

    # --- the attachment rows ----------------------------------------------------------------

    def attachments(self):
        """Every attachment row of the source, in order, with its slot."""
        self._begin()
        while self._ahead or self._read() is not None:
            slot = self._ahead.popleft()
            self._pump()
            yield slot.row, slot

    def stored(self, slot: Slot) -> str:
        """The stored name of a kept row's file, once written and checked; its error, if it
        failed (an AttachmentIntegrityError for a file that does not match)."""
        if slot.state == SKIPPED:  # a row that was not to be written is kept after all
            slot.state = WAITING
            self._waiting.appendleft(slot)  # every row before it is settled: it is next
        while slot.state == WAITING:
            if self._open and self._full():
                self._finish(self._open.popleft())
            else:
                self._start_next()
        while slot.state != DONE:
            self._finish(self._open.popleft())
        self._pump()
        if slot.error is not None:
            raise slot.error  # the pool thread's error, raised on the calling thread
        name, size = slot.written
        slot.taken = True
        self._report.attachment_bytes += size
        return name

    def discard(self, slot: Slot) -> None:
        """A row the import does not keep: its file is not written, or deleted."""
        if slot.state in (WAITING, SKIPPED):
            slot.state = SKIPPED  # left in `_waiting`, passed over
            return
        while slot.state != DONE:
            self._finish(self._open.popleft())
        if slot.error is not None:
            self._failures -= 1  # a mismatching copy deleted itself; the import goes on
        elif slot.written is not None:
            storage.attachment_delete(slot.written[0])

    # --- the pool ---------------------------------------------------------------------------

    def _begin(self) -> None:
        if self._rows is None:
            self._rows = iter(self._source.rows("attachments"))
            # R6: the files of a skipped space's pages are never written.
            self._skip_spaces = frozenset(self._report.skipped_space_keys)
        if self._pool is None and self._write_files:
            self._pool = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="import-files")

    def _read(self) -> Slot | None:
        row = next(self._rows, None)
        if row is None:
            return None
        wanted = self._write_files and row.get("space") not in self._skip_spaces
        slot = Slot(row, WAITING if wanted else SKIPPED)
        self._ahead.append(slot)
        if wanted:
            self._waiting.append(slot)
        return slot

    def _full(self) -> bool:
        return len(self._open) >= OPEN_FILES or self._open_bytes >= OPEN_BYTES

    def _pump(self) -> None:
        """Close the streams of finished writes; start more while there is room."""
        opened = self._open
        while opened and opened[0].future.done():
            self._finish(opened.popleft())
        while self._pool is not None and not self._failures and not self._full():
            if not self._start_next(read_ahead=True):
                return

    def _start_next(self, *, read_ahead: bool = False) -> bool:
        """Open the next file to write and hand it to the pool; False if there is none (or,
        with `read_ahead`, none without reading more than READ_AHEAD rows ahead)."""
        while True:
            while self._waiting and self._waiting[0].state != WAITING:
                self._waiting.popleft()
            if self._waiting:
                break
            if read_ahead and len(self._ahead) >= READ_AHEAD:
                return False
            if self._read() is None:
                return False
        slot = self._waiting.popleft()
        slot.state = WRITING
        row = slot.row
        try:
            slot.stream = self._source.open_attachment(row["path"])
        except Exception as exc:  # raised where its row is taken, as before
            slot.error = exc
            slot.state = DONE
            self._failures += 1
            return True
        slot.future = self._pool.submit(
            write_checked,
            folder=self._folder,
            name=row["name"],
            fileobj=slot.stream,
            expected_sha256=row["sha256"],
            expected_size=row["size"],
            report=self._report,
        )
        self._open.append(slot)
        self._open_bytes += row["size"]
        return True

    def _finish(self, slot: Slot) -> None:
        """Wait for a write, close its stream (on this thread), keep its outcome."""
        future, slot.future = slot.future, None
        try:
            if not future.cancelled():  # cancelled: never started, nothing written
                slot.error = future.exception()
                slot.written = None if slot.error else future.result()
        finally:
            slot.stream.close()
            slot.stream = None
            self._open_bytes -= slot.row["size"]
            slot.state = DONE
        self._failures += slot.error is not None

    # --- the end ----------------------------------------------------------------------------

    def close(self) -> None:
        """Wait for the writes that started (the rest never start); delete the files that no
        row took; close the attachment rows. Safe to call again."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        while self._open:
            self._finish(self._open.popleft())
        for slot in self._ahead:  # written ahead for rows the import never read
            if slot.written is not None and not slot.taken:
                storage.attachment_delete(slot.written[0])
        self._ahead.clear()
        self._waiting.clear()
        if self._rows is not None and hasattr(self._rows, "close"):
            self._rows.close()

    def __enter__(self) -> "FilesAhead":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""An import's rows built by a process of their own (#16; backups/row_process.py is the
child's side).

`built_rows(source, content_type, builder, report, summed, **context)` gives the database rows
of one entities file, built by `row_process.BUILDERS[builder]` and counted into `report` a
batch at a time (`row_process.built_batch`: rows a builder leaves out are counted skipped).
When the source can hand over the file's bytes (`entities_file`), a child process parses and
builds them while this one inserts; otherwise (a live product's rows, a database in another
zone than UTC), or when no child can start, they are built here, by the
same builder, into the same rows.

The child is fed by a thread of this process (its reads and pipe writes let go of the GIL),
so neither side waits on a full pipe for the other. Once the rows are read to their end, or
the generator is closed, the child has exited and the thread has ended: a caller that may
stop reading early closes it (`contextlib.closing`) rather than leave that to the garbage
collector, which may hold a failed import's traceback, and with it the child, for long.
"""

import contextlib
import logging
import pickle
import select
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: the pipes keep their size
    fcntl = None

from django.db import connection

from backups import row_process
from backups.archive import EntitiesFileDamaged

from .writes import BATCH_SIZE, batched, datetime_adapter, json_adapter, text_length

log = logging.getLogger(__name__)

# Off: every row is built in this process (the tests compare both ways).
USE_PROCESS = True
# The bytes handed to the child per write: the size a stored object is read in.
FEED_CHUNK = 1024 * 1024
# How long a child may take to say it is ready (~30 ms) before the rows are parsed here.
READY_SECONDS = 30
# Each pipe's buffer: ~15 batches of rows the child may build ahead while this process is in
# SQLite. 1 MiB is Linux's default pipe-max-size.
PIPE_BYTES = 1024 * 1024

_CODE_ROOT = str(Path(row_process.__file__).resolve().parents[1])
# -I: no PYTHON* variable, user site or working folder decides which code the child runs; the
# folder this code came from is put first instead.
_COMMAND = [
    sys.executable,
    "-I",
    "-c",
    f"import sys; sys.path.insert(0, {_CODE_ROOT!r}); from backups.row_process import main; main()",
]


def _count(report, content_type: str, n: int, chars: int, left_out: int) -> None:
    report.add(report.restored, content_type, n)
    report.data_bytes += chars
    if left_out:
        report.add(report.skipped, content_type, left_out)


class RowProcessFailed(Exception):
    """The child that parsed the rows ended without finishing: the import stops (R8)."""


def built_rows(
    source,
    content_type: str,
    builder: str,
    report,
    summed: tuple[str, ...] = (),
    *,
    started: "dict[str, _Child] | None" = None,
    **context,
) -> Iterator[tuple]:
    """The database rows of `content_type`'s entities file, counted into `report` a batch at
    a time, each batch's `summed` texts added to report.data_bytes (row_process.built_batch).
    `started`: processes started ahead (`parsers_started`); one is started here otherwise."""
    child = None
    if _may_use(source):
        ahead = started.pop(content_type, None) if started else None
        child = _ready(ahead) if ahead is not None else _ready(_spawn())
    if child is None:
        dt, js = datetime_adapter(), json_adapter()
        build = row_process.BUILDERS[builder](dt, js, **context)
        getters = [itemgetter(name) for name in summed]
        for batch in batched(source.rows(content_type), BATCH_SIZE):
            rows, *counts = row_process.built_batch(build, batch, getters, text_length)
            yield from rows  # a batch's rows handed on, then counted, as the child's
            _count(report, content_type, *counts)
        return
    job = {"builder": builder, "context": context, "summed": summed, "database": connection.vendor}
    try:
        with source.entities_file(content_type) as opened:
            if opened is None:  # the backup has no such file: no rows
                return
            pump = getattr(source, "pump", None)
            try:
                yield from child.rows(job, *opened, report, content_type, pump)
            finally:
                child.close()  # stopped (and its feeder with it) before the file is closed
    finally:
        child.close()  # also when the file could not be opened


@contextmanager
def parsers_started(source, content_types: tuple[str, ...]) -> "Iterator[dict[str, _Child]]":
    """A parsing process for each of these content types, started now for `built_rows` to
    take: each takes ~30 ms to start, which then passes while this process writes what comes
    before (#16). Whatever is not taken is stopped at the end."""
    started: dict[str, _Child] = {}
    try:
        if _may_use(source):
            for content_type in content_types:
                if (child := _spawn()) is None:
                    break
                started[content_type] = child
        yield started
    finally:
        for child in started.values():
            child.close()


def _may_use(source) -> bool:
    """Whether this import's rows may be parsed by a process: from a source with files, on a
    database whose adapters the child has (row_process.ADAPTERS: SQLite's or PostgreSQL's,
    in UTC, the zone the child's timestamps are in)."""
    adapters = row_process.ADAPTERS.get(connection.vendor)
    return (
        USE_PROCESS
        and getattr(source, "entities_file", None) is not None
        and adapters is not None
        and datetime_adapter() is adapters[0]
        and json_adapter() is adapters[1]
    )


def _spawn() -> "_Child | None":
    """A child process started, not waited for; None (logged) when none can start here."""
    errors = None
    try:
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _Child, or below
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            _COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        )
    except OSError as exc:  # no process, or no file for its words (EMFILE, say)
        if errors is not None:
            errors.close()
        log.warning("Rows are parsed in this process: no process could start (%s).", exc)
        return None
    for pipe in (process.stdin, process.stdout):
        _widen(pipe)
    return _Child(process, errors)


def _ready(child: "_Child | None") -> "_Child | None":
    """The child once it has said it is ready; None (stopped, logged) if it cannot: this
    process builds the rows instead, a little slower."""
    if child is None:
        return None
    ready = None
    stdout = child.process.stdout
    try:
        # A child that neither speaks nor dies (it never has) must not hold the restore up.
        if select.select([stdout], [], [], READY_SECONDS)[0]:
            ready = pickle.load(stdout)  # noqa: S301 - our own child, on our own pipe
    except Exception:  # noqa: BLE001, S110 - whatever it printed is in the log
        pass
    if ready != ("ready",):
        child.close()  # its words are read after it has ended
        log.warning("Rows are parsed in this process: its parser failed (%s).", child.said())
        return None
    log.debug("Rows parsed by process %d.", child.process.pid)
    return child


def _widen(pipe) -> None:
    """A pipe of PIPE_BYTES, where Linux allows: with its default 64 KiB the child could be
    less than one batch ahead, and it waited while this process was in SQLite (#16)."""
    if fcntl is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: the default
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class _Child:
    """One child process parsing one entities file, and the thread feeding it."""

    def __init__(self, process: subprocess.Popen, errors):
        self.process = process
        self.errors = errors
        self.feeder: threading.Thread | None = None
        self.feed_failure: BaseException | None = None
        self.words: str | None = None

    def rows(
        self,
        job: dict,
        fileobj,
        info: dict,
        report,
        content_type: str,
        pump: Callable[[], None] | None,
    ) -> Iterator[tuple]:
        self.feeder = threading.Thread(
            target=self._feed, args=(job, fileobj), name="row-process-feed", daemon=True
        )
        self.feeder.start()
        while True:
            message = self._receive()
            kind = message[0]
            if kind == "rows":
                _, rows, *counts = message
                yield from rows
                _count(report, content_type, *counts)
                if pump is not None:
                    pump()
            elif kind == "end":
                self._fed()
                EntitiesFileDamaged.if_digest_differs(info, message[1])
                return
            elif kind == "damaged":
                self._fed()
                raise EntitiesFileDamaged.at_line(info["file"], message[1])
            else:  # "error": a row its builder refused, as the import here would have
                self._fed()
                raise message[1]

    def _receive(self) -> tuple:
        try:
            return pickle.load(self.process.stdout)  # noqa: S301 - our own child's
        except (EOFError, pickle.UnpicklingError):
            # Its output ends, or ends in the middle of a batch (killed while it waited for
            # this process to read): the child is gone either way.
            self._fed()  # a read of the source that failed is the reason, if there was one
            code = self.process.wait()
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            said = self.said()
            raise RowProcessFailed(
                f"The process parsing the backup's rows ended early ({how}"
                f"{': ' + said if said else ''})."
            ) from None

    def _feed(self, job: dict, fileobj) -> None:
        """The job, then the file's bytes, to the child's stdin, closed at the end however
        the feeding ends (the child then sees its input end). A failure to read the source
        is the import's (`_fed`); a pipe the child no longer reads is not: the reading side
        says why it stopped."""
        stdin = self.process.stdin
        try:
            pickle.dump(job, stdin, row_process.PROTOCOL)
            while True:
                try:
                    chunk = fileobj.read(FEED_CHUNK)
                except BaseException as exc:  # noqa: BLE001 - raised in the import's thread
                    self.feed_failure = exc
                    return
                if not chunk:
                    return
                stdin.write(chunk)
        except BrokenPipeError:
            pass  # the child is gone (or was stopped)
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _fed(self) -> None:
        """The feeding is over; a failure to read the source is the import's failure."""
        if self.feeder is not None:
            self.feeder.join()
        if self.feed_failure is not None:
            raise self.feed_failure

    def said(self) -> str:
        """The last line the child wrote to its stderr (kept until `close`)."""
        if self.words is None:
            self.errors.seek(0)
            text = self.errors.read().decode(errors="replace").strip()
            self.words = text.splitlines()[-1] if text else ""
        return self.words

    def close(self) -> None:
        """Whatever happened, the child is stopped and waited for, the thread has ended and
        the pipes are closed. Twice is once."""
        process = self.process
        if process.poll() is None:
            process.kill()
        process.wait()
        if self.feeder is not None:
            self.feeder.join()  # its next write fails now, if it was writing
        for pipe in (process.stdout, process.stdin):
            with contextlib.suppress(OSError):
                pipe.close()
        if not self.errors.closed:
            self.said()  # kept for a refusal or a warning that names it
            self.errors.close()

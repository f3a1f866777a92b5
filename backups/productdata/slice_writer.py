"""A staged restore's slices written on a connection of their own, while the next slice is
read (#16).

A restore alternated: Python read and built a slice of rows (the server idle), then the
server took it in (Python waiting): on PostgreSQL 0.94 s of Python and 1.02 s of the server's
CPU made a 2.0 s restore of 100k issues + 100k comments. Here each slice's transaction (its
COPY, its foreign key locks, a comment slice's issue lookup) runs on a thread with its own
connection while the caller reads the next one: the server works while Python does.

Only for a staged import on PostgreSQL (no transaction open: each slice is its own
transaction anyway, and nobody sees the staging product until the publish). On SQLite a
second connection would wait for the one write lock, and inside a transaction (an atomic
import, a test's) another connection could not see its rows: both write on the caller's
connection, one slice after the other, as before.

The thread spends its time waiting for the server (psycopg waits without the GIL); the
Python it runs (a COPY's formatting, done in C) is small. One slice waits while one is
written: memory holds at most three slices (reading, waiting, being written).

With the rows parsed by processes of their own (parsed_rows), the one writer became the bound
(busy 97% of a restore of 100k issues + comments). A Jira restore now writes its issues and
its comments at once, one writer each (`written_alongside`): at most three slices of each.
"""

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from django.db import DatabaseError, connection

log = logging.getLogger(__name__)

_STOP = object()


def can_write_aside() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class WriterStopped(Exception):
    """The writer another one waits for (`wait_past`) failed or was abandoned."""


class SliceWriter:
    """Run jobs (callables) in order on a thread with its own database connection. The
    first failure is raised to the caller at its next `submit` or at `finish`; the jobs
    after it are not run.

    Another thread may wait for its progress (`progress`, `wait_past`): a restore's comments,
    written by a writer of their own, wait for their issues' slices to be committed."""

    def __init__(self, name: str = "restore-slices"):
        self._jobs: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._abandoned = False
        self._connected = threading.Event()
        self.available = False  # whether its connection opened
        self.submitted = 0  # jobs handed over (by the one thread that submits)
        self._done = 0  # jobs run or passed over
        self._ended = False  # the thread has stopped: nothing more will be committed
        self._closed = False  # no more jobs: _STOP is queued
        self._progress = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._connected.wait()

    def _run(self) -> None:
        try:
            try:
                connection.ensure_connection()
                self.available = True
            except DatabaseError:
                return  # no connection to spare: the caller writes on its own (slices_written)
            finally:
                self._connected.set()
            while (job := self._jobs.get()) is not _STOP:
                if self._error is None and not self._abandoned:
                    try:
                        job()
                    except BaseException as error:  # handed to the caller
                        self._error = error
                with self._progress:
                    self._done += 1
                    self._progress.notify_all()
        finally:
            try:
                connection.close()  # this thread's own (Django's connections are per thread)
            finally:
                with self._progress:  # also when closing failed: nobody waits for it forever
                    self._ended = True
                    self._progress.notify_all()

    def submit(self, job: Callable[[], None]) -> None:
        if self._error is not None:
            raise self._error
        self.submitted += 1
        self._jobs.put(job)

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet run: put more only below 2 and `submit` returns at once."""
        return self.submitted - self._done

    def progress(self) -> int | None:
        """How many jobs have run (each one committed), or None once the writer has stopped."""
        with self._progress:
            return None if self._ended else self._done

    def wait_past(self, seen: int = -1, at_least: int = 0) -> int | None:
        """Wait until more than `seen` jobs (and at least `at_least`) have run, or the writer
        has stopped; return `progress()`. A failed or abandoned writer raises WriterStopped:
        what waits for it has nothing more to wait for."""
        with self._progress:
            self._progress.wait_for(
                lambda: (
                    self._ended
                    or self._error is not None
                    or self._abandoned
                    or (self._done > seen and self._done >= at_least)
                )
            )
            if self._error is not None or self._abandoned:
                raise WriterStopped("The restore's other writer stopped.")
            return None if self._ended else self._done

    def close(self) -> None:
        """No more jobs: the thread stops after the last one (see `finish`)."""
        if not self._closed:
            self._closed = True
            self._jobs.put(_STOP)

    def finish(self, *, abandon: bool = False) -> None:
        """Wait for the jobs submitted (`abandon`: only the one running) and stop the
        thread; raise the first failure unless abandoning."""
        with self._progress:
            self._abandoned = self._abandoned or abandon
            self._progress.notify_all()  # a job waiting for this writer stops waiting
        if self._thread.is_alive():
            self.close()
        self._thread.join()
        if self._error is not None and not abandon:
            raise self._error


@contextmanager
def slices_written():
    """`with slices_written() as write: write(job)`: each job (a slice's whole transaction)
    runs on the writer's connection where that is allowed (`can_write_aside`), or here at
    once (also when the server has no connection to spare). Leaving the block waits for
    every job and raises the first one's failure; a failure in the block stops the writer
    after the job it is running, and goes on."""
    if not can_write_aside():
        yield lambda job: job()
        return
    writer = SliceWriter()
    if not writer.available:
        log.warning("No database connection to spare for a restore's writes: written here")
        yield lambda job: job()
        return
    try:
        yield writer.submit
    except BaseException:
        writer.finish(abandon=True)
        raise
    writer.finish()


def written_alongside(
    leading: Iterator[list],
    write_leading: Callable[[list], None],
    following: Iterator[list],
    write_following: Callable[[list, SliceWriter, int], None],
) -> bool:
    """Write two tables' slices at once, each table's in order on a writer of its own, the
    `following` rows pointing at the `leading` ones (a restore's comments at its issues).

    One writer for both was the bound of a restore on PostgreSQL (#16): the server took
    0.8-0.9 s of CPU per 200k rows on one backend while the other core waited. Two writers
    taking any slice each scrambled the rows' order (the ids of two concurrent COPYs
    interleave); one writer per table keeps each table's ids in its rows' order.

    The slices of the two streams are read here, on the caller's thread, in turns: a
    following slice first, while its writer has fewer than two to do, then a leading one.
    `write_following(slice, leading_writer, after)` runs on the second writer: `after` is
    how many leading slices had been read with it, the ones its rows most likely point at;
    it waits for those (`SliceWriter.wait_past`) and for more while a row's target is not
    there yet, until the leading writer has stopped. The caller never waits on the second
    writer while leading slices remain to read, so neither writer waits for the other
    forever. The first failure is raised (the leading writer's first), after both writers
    have stopped.

    Returns False, having written nothing, where two writers are not allowed or no
    connections can be had (`can_write_aside`): the caller writes as before."""
    if not can_write_aside():
        return False
    lead = SliceWriter("restore-slices")
    follow = None
    try:
        follow = SliceWriter("restore-slices-2") if lead.available else None
        if follow is None or not follow.available:
            log.warning("No database connections to spare for a restore's two writers")
            return False
        for chunk in leading:
            if follow.pending < 2 and (batch := next(following, None)) is not None:
                follow.submit(partial(write_following, batch, lead, lead.submitted + 1))
            lead.submit(partial(write_leading, chunk))
        lead.close()
        for batch in following:
            follow.submit(partial(write_following, batch, lead, lead.submitted))
        lead.finish()
        follow.finish()
        return True
    except WriterStopped:
        if lead._error is not None:  # why the comments' writer stopped
            raise lead._error from None
        raise
    finally:
        # However this ends (an interrupt included), both threads have stopped and closed
        # their connections: the leading writer first, which a following job may wait for.
        # After a `finish` that returned, these do nothing.
        try:
            lead.finish(abandon=True)
        finally:
            if follow is not None:
                follow.finish(abandon=True)

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
"""

import logging
import queue
import threading
from collections.abc import Callable
from contextlib import contextmanager

from django.db import DatabaseError, connection

log = logging.getLogger(__name__)

_STOP = object()


def can_write_aside() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class SliceWriter:
    """Run jobs (callables) in order on a thread with its own database connection. The
    first failure is raised to the caller at its next `submit` or at `finish`; the jobs
    after it are not run."""

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._abandoned = False
        self._connected = threading.Event()
        self.available = False  # whether its connection opened
        self._thread = threading.Thread(target=self._run, name="restore-slices", daemon=True)
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
        finally:
            connection.close()  # this thread's own (Django's connections are per thread)

    def submit(self, job: Callable[[], None]) -> None:
        if self._error is not None:
            raise self._error
        self._jobs.put(job)

    def finish(self, *, abandon: bool = False) -> None:
        """Wait for the jobs submitted (`abandon`: only the one running) and stop the
        thread; raise the first failure unless abandoning."""
        self._abandoned = abandon
        self._jobs.put(_STOP)
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

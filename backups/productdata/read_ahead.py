"""Items of an iterator made on one background thread, a few chunks ahead of their reader (#16).

A restore read each slice of an entities file in full (readline, SHA-256, orjson: ~55 ms per
10,000 rows) while the database idled, then wrote it (COPY, ~60 ms) while Python waited. The
reading needs no database, and the database's work (the server's backend on PostgreSQL,
sqlite3_step on SQLite) runs without the GIL, so the next rows are read and parsed on a thread
while the calling thread writes the ones before them.

`read_ahead(items)` is an ordinary iterator over the same items, in the same order. Rules
for what it is given:
  - `items` must never touch the database: Django's connections are per thread, and on SQLite
    a second connection would take the write lock. Open files (object_opener looks names up
    in the database) on the calling thread, and hand the thread only reading and parsing.
  - Whatever `items` raises (a damaged line, a checksum that does not match, OSError or a
    StorageError) is raised to the reader where the items stop: the same exception object,
    after the items before it (D1: a damaged file still fails with the same words).
  - Memory stays flat: at most IN_FLIGHT chunks of CHUNK items wait, plus the one being made.
  - If the reader stops early (an import fails, the generator is closed or collected), the
    thread stops before the generator's `finally` ends: no thread outlives it, and a file the
    caller closes after it is no longer read.
"""

import queue
import threading
from collections.abc import Iterable, Iterator
from itertools import islice

# Items per hand-over: one queue put and get per CHUNK items, not per item.
CHUNK = 500
# Chunks made and not yet read, at most. The rows ahead are what the thread parses while the
# caller waits for the database; each costs memory (an issue row ~1.5 KB parsed). 500 x 4
# (2,000 rows) measured as fast as 1,000 x 10 on PostgreSQL, with the benchmark's peak RSS
# +2 MB instead of +11 MB (restore_throughput, 100k issues + 100k comments).
IN_FLIGHT = 4

_END = object()  # after the last chunk


class _Failed:
    """What the thread's iterator raised, handed over after the chunks before it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException):
        self.error = error


def read_ahead(
    items: Iterable, *, chunk: int = CHUNK, in_flight: int = IN_FLIGHT, name: str = "read-ahead"
) -> Iterator:
    """The items of `items`, read on a thread at most `in_flight` chunks ahead of the caller.
    The thread starts with the first item asked for (a generator never read starts nothing)."""
    handed: queue.Queue = queue.Queue(maxsize=in_flight)
    stop = threading.Event()

    def work() -> None:
        it = iter(items)
        batch: list = []
        try:
            while not stop.is_set():
                batch = []
                # extend, not list(): what was read before an exception stays in the batch
                batch.extend(islice(it, chunk))
                if not batch:
                    handed.put(_END)
                    return
                handed.put(batch)
        except BaseException as error:  # noqa: BLE001 - handed to the reader, raised there
            if not stop.is_set():
                if batch:  # the items read before it, first
                    handed.put(batch)
                handed.put(_Failed(error))
        finally:
            close = getattr(it, "close", None)  # a generator's own `finally`, on this thread
            if close is not None:
                close()

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            got = handed.get()
            if got is _END:
                return
            if isinstance(got, _Failed):
                raise got.error
            yield from got
    finally:
        # Stopped early, or ended: `stop` tells the thread to make no more chunks, and emptying
        # the queue frees a put it may be blocked in; again until it has ended. Joined: nothing
        # reads `items` once this generator is done, so the caller may close what it reads.
        stop.set()
        while thread.is_alive():
            try:
                while True:
                    handed.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)

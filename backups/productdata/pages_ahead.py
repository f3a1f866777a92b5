"""A PostgreSQL export's next pages read on a thread with its own connection, while the caller
turns the pages before them into a backup's text (#16).

An export alternated: the backend made a page (0.9 s of 400k issues and comments) while
Python waited, then Python serialized it (1.1 s) while the backend idled. Read ahead, the two
overlap: the thread waits on its socket without the GIL.

Only where the thread sees what the caller would: the caller's connection is not inside a
transaction (its uncommitted rows, or a test's, are invisible to another connection), and
the thread's session writes a timestamp as the caller's does (the page's SQL was made for its
DateStyle, `export_text.TimestampText`). A page is still its own short statement, as `paged` says.
Whatever the thread raises is raised to the caller, after the pages before it; a caller that
stops early (an error, a closed generator) stops the thread, which closes its connection.
"""

import contextlib
import queue
import threading
from collections.abc import Iterator

from django.db import connections

IN_FLIGHT = 2  # pages read and not yet taken, at most: the next one is ready when asked for
_END = object()


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException):
        self.error = error


def can_read_ahead(alias: str) -> bool:
    connection = connections[alias]
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def pages_ahead(pages: Iterator[list], alias: str) -> Iterator[list]:
    """The items of `pages` (a generator whose reads use `connections[alias]`), in order,
    made on a thread on a connection of its own (see the module's docstring)."""
    caller = connections[alias]
    caller.ensure_connection()
    style = caller.connection.info.parameter_status("DateStyle")
    ready: queue.Queue = queue.Queue(maxsize=IN_FLIGHT)
    stop = threading.Event()

    def run() -> None:
        try:
            own = connections[alias]
            own.ensure_connection()
            if own.connection.info.parameter_status("DateStyle") != style:
                with own.cursor() as cursor:
                    cursor.execute("SELECT set_config('DateStyle', %s, false)", [style])
            for page in pages:
                ready.put(page)
                if stop.is_set():
                    return
            ready.put(_END)
        except BaseException as error:  # handed to the caller, who raises it
            ready.put(_Failed(error))
        finally:
            connections[alias].close()

    thread = threading.Thread(target=run, name="export-pages-ahead", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # make room for a page being put, until the thread ends
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)
        thread.join()

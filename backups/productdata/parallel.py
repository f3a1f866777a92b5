"""Calls to a connected site side by side, with order kept where it matters.

Used by backups (attachment downloads) and restores (issues' statuses and links, comments,
attachments) of connected sites.
"""

import queue
import threading
import zlib

WORKERS = 16  # calls to the site at once (SiteHTTP bounds them too: site_client gives 16)


def in_parallel(items, *, key=None, work, workers: int = WORKERS) -> None:
    """Run `work(item)` for every item on `workers` threads; items with the same `key` go to
    the same thread, in their order (without a key, each item goes to the next free thread).
    Memory stays flat (bounded queues); the first error stops the rest and is raised here."""
    if key is None:  # one queue that every thread takes from: no thread idles while others work
        shared = queue.Queue(maxsize=64)
        queues = [shared] * workers
    else:
        queues = [queue.Queue(maxsize=64) for _ in range(workers)]
    failures: list[BaseException] = []
    stop = threading.Event()

    def run(q: queue.Queue) -> None:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if stop.is_set():
                continue
            try:
                work(item)
            except BaseException as exc:
                failures.append(exc)
                stop.set()

    threads = [threading.Thread(target=run, args=(q,), daemon=True) for q in queues]
    for t in threads:
        t.start()
    try:
        for item in items:
            if stop.is_set():
                break
            index = 0 if key is None else zlib.crc32(str(key(item)).encode()) % workers
            queues[index].put(item)
    finally:
        for q in queues:  # one end mark per thread (the shared queue gets `workers` of them)
            q.put(_DONE)
        for t in threads:
            t.join()
    if failures:
        raise failures[0]


_DONE = object()

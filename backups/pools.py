"""Thread pools made when first needed and kept for the process's life (#16: a backup file's
attachments read and hashed beside its writes). Made lazily, so that a process that forks
before its first use (django-q2's workers fork from a sentinel that never hashes) starts
without threads it cannot have."""

import threading
from concurrent.futures import ThreadPoolExecutor


class LazyPool:
    """Call it for the pool: the same one every time, made by the first call."""

    def __init__(self, workers: int, name: str):
        self._workers = workers
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __call__(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=self._name)
            return self._pool

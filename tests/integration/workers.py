"""Real `manage.py qcluster` processes for the integration tests, and a bounded wait.

A worker is configured only by environment variables, as in production: the test's PostgreSQL
database (pytest-django's test database, where the test's committed rows are), the test's
Redis database as broker and cache, and the test's storage folders.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import redis
from django.conf import settings
from django.db import connection
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat

ROOT = Path(__file__).resolve().parent.parent.parent
STOP_GRACE_SECONDS = 15


def wait_for(condition, *, timeout: float, what: str, every: float = 0.05, explain=None):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds.

    `explain()` adds what to look at (the workers' logs) to the failure message.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            message = f"gave up after {timeout:g} s waiting for {what}"
            if explain is not None:
                message += "\n" + explain()
            raise AssertionError(message)
        time.sleep(every)


def worker_database_url() -> str:
    """The URL of the database this test writes to (test_<name>, not the real one)."""
    db = connection.settings_dict
    assert connection.vendor == "postgresql", "the workers need PostgreSQL"
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def filesystem_location(alias: str) -> str:
    """The folder of STORAGES[alias] in the test (tests/conftest.py's isolated_storage)."""
    conf = settings.STORAGES[alias]
    assert conf["BACKEND"] == "django.core.files.storage.FileSystemStorage", conf
    return conf["OPTIONS"]["location"]


def worker_env(*, redis_url: str, var_dir: Path, workers: int = 2) -> dict[str, str]:
    """The environment of a worker that shares the test's database, broker and storage."""
    # Nothing of the test run's own configuration leaks in (a DATABASE_URL naming the real
    # database, S3 settings, a Q_CLUSTER_NAME).
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "BACKUPSITE_", "DATABASE_", "S3_", "Q_"))
        and k != "REDIS_URL"
    }
    return {
        **base,
        "DJANGO_DEBUG": "1",
        # The manifest is signed with it: the test verifies the worker's backup file.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": redis_url,
        "BACKUPSITE_STORAGE": "filesystem",
        "DJANGO_MEDIA_ROOT": filesystem_location("default"),
        "BACKUPSITE_BACKUPS_ROOT": filesystem_location("backups"),
        "BACKUPSITE_VAR_DIR": str(var_dir),
        "Q_WORKERS": str(workers),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DJANGO_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


class QCluster:
    """One `python manage.py qcluster`, leading its own process group, logging to a file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.name = name
        self.env = env
        self.log_path = log_dir / f"qcluster-{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "QCluster":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        tail = "\n".join(self.log().splitlines()[-lines:])
        return f"--- qcluster {self.name} (pid {self.process and self.pid}) log tail ---\n{tail}"

    def kill(self, timeout: float = 10) -> None:
        """SIGKILL the whole group (the cluster, its sentinel, pusher, monitor and workers)."""
        self.signal_group(signal.SIGKILL)
        self.process.wait(timeout=timeout)
        wait_for(
            lambda: not self._group_alive(),
            timeout=timeout,
            what=f"every process of qcluster {self.name} to be gone after SIGKILL",
        )

    def stop(self) -> None:
        """SIGTERM to the cluster (it stops its own processes in order), SIGKILL what is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_GRACE_SECONDS)
        self.signal_group(signal.SIGKILL)  # hung, or orphaned by the leader's exit
        self.process.wait(timeout=STOP_GRACE_SECONDS)

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.pid, signum)

    def _group_alive(self) -> bool:
        return bool(group_members(self.pid))


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (zombies, dead but not yet reaped, do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended while we looked
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(text.split(" ", 1)[0]))
    return members


def wait_ready(cluster: QCluster, timeout: float = 60) -> None:
    """Until the cluster reports itself Idle or Working in Redis (its sentinel's Stat)."""

    def reported() -> bool:
        assert cluster.running, f"qcluster {cluster.name} exited\n{cluster.log_tail()}"
        return any(
            s.pid == cluster.pid and str(s.status) in (str(Conf.IDLE), str(Conf.WORKING))
            for s in Stat.get_all(broker=get_broker())
        )

    wait_for(
        reported,
        timeout=timeout,
        every=0.2,
        what=f"qcluster {cluster.name} to report itself running",
        explain=cluster.log_tail,
    )


def wait_pushers_listening(redis_url: str, count: int, timeout: float = 30) -> None:
    """Until `count` clusters' pushers wait on the queue (a blocked BLPOP each), so that tasks
    enqueued now are shared among them, not all taken by whichever started first."""
    client = redis.Redis.from_url(redis_url)
    db = client.connection_pool.connection_kwargs.get("db", 0)

    def listening() -> bool:
        blocked = [
            c for c in client.client_list() if c.get("cmd") == "blpop" and int(c["db"]) == db
        ]
        return len(blocked) >= count

    try:
        wait_for(listening, timeout=timeout, what=f"{count} qcluster pushers to wait on Redis")
    finally:
        client.close()


# How long an end-to-end test waits for one job through a qcluster.
JOB_TIMEOUT = 120


def wait_status(obj, statuses, *, what: str, logs):
    def done():
        obj.refresh_from_db()
        return obj.status in statuses

    started = time.monotonic()
    wait_for(done, timeout=JOB_TIMEOUT, every=0.1, what=what, explain=logs)
    return time.monotonic() - started

"""Admins at work while a big backup and its restore run, on the embedded default (issue #10).

    .venv/bin/python benchmarks/sqlite_load.py --issues 100000 --attachment-mb 2000

The service as `make run` has it: one SQLite file (WAL), runserver and a qcluster worker on
django-q2's ORM broker, files on the local disk. A product of ISSUES issues (a comment each)
and ATTACHMENT_MB of attachment files is backed up through the web (Run backup), then
restored into an empty product by the worker. Meanwhile, over real HTTP:
  - READERS admins (default 10) load the org page, the backup's page and the policies table;
  - WRITERS admins (default 2) log in again, save the policy, ask for a backup file, and run
    a backup of the restore's destination (which must be refused, not fail).
Each admin waits THINK seconds (default 1) between requests, as a person or a polling page
does. A baseline phase runs the same load with no job, so what the jobs add can be told from
what the machine (2 cores, one runserver process) costs anyway. The web server waits at most
LOCK_WAIT seconds (default 2) for the database's write lock: a longer wait is an error ("database
is locked", HTTP 500), so "errors 0" proves no request waited longer for a lock. It prints, for
each phase: the job's status and time, requests made, errors (5xx, timeouts, dropped
connections), and the latency of reads and writes (median, p95, max). The figure that
matters is "errors 0" with every write answered in about a second. Figures, not pass/fail.
"""

import argparse
import http.cookiejar
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))

from common import make_product, setup_django  # noqa: E402

PASSWORD = "load-benchmark-password"  # noqa: S105 - a throwaway local site


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Admin:
    """One browser: a cookie jar, a CSRF token, timed requests."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.username = username
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def request(self, path: str, data: dict | None = None) -> tuple[int, float, str]:
        body = None
        headers = {"Referer": self.base + path}
        if data is not None:
            data = {**data, "csrfmiddlewaretoken": self.csrf()}
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, data=body, headers=headers)
        start = time.perf_counter()
        try:
            with self.opener.open(req, timeout=60) as resp:
                text = resp.read().decode(errors="replace")
                status = resp.status
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            status = exc.code
        return status, time.perf_counter() - start, text

    def login(self) -> tuple[int, float, str]:
        self.jar.clear()
        self.request("/accounts/login/")
        return self.request(
            "/accounts/login/", {"username": self.username, "password": PASSWORD, "next": "/"}
        )


class Load:
    """Readers and writers in threads until stopped; every request's outcome recorded."""

    def __init__(self, base: str, ids: dict, readers: int, writers: int, think: float):
        self.base, self.ids, self.think = base, ids, think
        self.n_readers, self.n_writers = readers, writers
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.samples: list[tuple[str, str, int, float]] = []  # kind, what, status, seconds
        self.errors: list[str] = []

    def record(self, kind: str, what: str, fn) -> None:
        try:
            status, seconds, text = fn()
        except Exception as exc:  # a dropped connection or a timeout is an error
            with self.lock:
                self.errors.append(f"{what}: {exc.__class__.__name__}: {exc}")
            return
        with self.lock:
            self.samples.append((kind, what, status, seconds))
            if status >= 500:
                match = re.search(r"<title>(.*?)</title>", text, re.S)
                self.errors.append(f"{what}: HTTP {status} {match and match.group(1).strip()}")

    def reader(self, n: int) -> None:
        admin = Admin(self.base, "bench")
        admin.login()
        org = "/orgs/bench/backup-and-restore/"
        pages = [org, org + "backups/table/", f"{org}backups/{self.ids['backup_for_file']}/"]
        i = n
        while not self.stop.is_set():
            path = pages[i % len(pages)]
            self.record("read", path.split("/")[-2] or "org", lambda p=path: admin.request(p))
            i += 1
            self.stop.wait(self.think)  # a person reads the page, or htmx polls again

    def writer(self, n: int) -> None:
        admin = Admin(self.base, "bench")
        admin.login()
        org = "/orgs/bench/backup-and-restore/"
        policy = self.ids["policy"]
        actions = [
            ("login", admin.login),
            (
                "policy save",
                lambda: admin.request(
                    f"{org}policies/{policy}/edit/",
                    {"include_attachments": "on", "include_users_and_groups": "on"},
                ),
            ),
            (
                "file request",
                lambda: admin.request(f"{org}backups/{self.ids['backup_for_file']}/file/", {}),
            ),
            (
                "run backup of destination",
                lambda: admin.request(f"{org}products/{self.ids['destination']}/run-backup/", {}),
            ),
        ]
        i = n
        while not self.stop.is_set():
            what, fn = actions[i % len(actions)]
            self.record("write", what, fn)
            i += 1
            self.stop.wait(self.think)

    def run(self):
        threads = [
            threading.Thread(target=self.reader, args=(i,)) for i in range(self.n_readers)
        ] + [threading.Thread(target=self.writer, args=(i,)) for i in range(self.n_writers)]
        for t in threads:
            t.start()
        return threads


def job_status(db: Path, table: str, pk: int) -> tuple[str, str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute(
            f"SELECT status, failure_reason FROM {table} WHERE id = ?",  # noqa: S608
            (pk,),
        ).fetchone()
    return row if row else ("?", "")


def latest_id(db: Path, table: str, column: str, value: int) -> int | None:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute(
            f"SELECT max(id) FROM {table} WHERE {column} = ?",  # noqa: S608
            (value,),
        ).fetchone()
    return row[0]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def report(phase: str, load: Load, status: str, reason: str, seconds: float) -> None:
    print(f"\n{phase}: {status} in {seconds:.1f} s{(' — ' + reason) if reason else ''}")
    for kind in ("read", "write"):
        times = [s for k, _, _, s in load.samples if k == kind]
        if not times:
            print(f"  {kind}s: none")
            continue
        median = statistics.median(times) * 1000
        print(
            f"  {kind}s: {len(times):5d} requests, median {median:6.0f} ms,"
            f" p95 {percentile(times, 0.95) * 1000:6.0f} ms, max {max(times) * 1000:6.0f} ms"
        )
    by_what: dict[str, list[float]] = {}
    for _, what, _, s in load.samples:
        by_what.setdefault(what, []).append(s)
    for what, times in sorted(by_what.items()):
        print(f"    {what:28s} {len(times):5d}  max {max(times) * 1000:6.0f} ms")
    slow = sum(1 for k, _, _, s in load.samples if k == "write" and s > 1.0)
    print(f"  writes over 1 s: {slow}")
    print(f"  errors: {len(load.errors)}")
    for line in load.errors[:10]:
        print(f"    {line}")


def run_phase(name: str, base: str, ids: dict, args, start_job, db: Path, table: str):
    load = Load(base, ids, args.readers, args.writers, args.think)
    threads = load.run()
    time.sleep(2)  # the admins are at work before the job starts
    started = time.perf_counter()
    if start_job is None:  # the baseline: the same load, no job
        time.sleep(args.baseline)
        load.stop.set()
        for t in threads:
            t.join()
        report(name, load, "no job", "", time.perf_counter() - started)
        return None, "none"
    pk = start_job()
    deadline = time.monotonic() + args.timeout
    status, reason = "IN_PROGRESS", ""
    while status == "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.5)
        status, reason = job_status(db, table, pk)
    seconds = time.perf_counter() - started
    time.sleep(2)  # and go on for a moment after it ends
    load.stop.set()
    for t in threads:
        t.join()
    report(name, load, status, reason, seconds)
    return pk, status


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--attachment-mb", type=int, default=2000)
    parser.add_argument("--file-mb", type=int, default=4)
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument(
        "--think", type=float, default=1.0, help="seconds each admin waits between requests"
    )
    parser.add_argument(
        "--lock-wait", type=int, default=2, help="the web server's SQLite busy timeout (s)"
    )
    parser.add_argument("--baseline", type=int, default=20, help="seconds of load with no job")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per job at most")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-load-", dir=os.environ.get("BENCH_TMP")) as t:
        var_dir = Path(t)
        setup_django(var_dir)
        from django.core.management import call_command

        from backups.models import Backup, BackupPolicy, Product
        from backups.services.backups import backup_request

        call_command("migrate", verbosity=0)
        print(
            f"Seeding {args.issues} issues + comments and {args.attachment_mb} MB of "
            f"attachments ({args.file_mb} MB files)…",
            flush=True,
        )
        product, user, _ = make_product(
            "Big Jira", issues=args.issues, attachment_mb=args.attachment_mb, file_mb=args.file_mb
        )
        user.set_password(PASSWORD)
        user.save()
        small, _, _ = make_product("Small Jira", issues=100, attachment_mb=1, file_mb=1)
        destination = Product.objects.create(
            organization=product.organization, kind="jira", name="Empty Jira"
        )
        BackupPolicy.objects.create(product=destination)
        # A finished backup of another product, for the writers' backup-file requests.
        from backups.services.backup_engine import backup_execute

        small_backup = backup_request(product=small, actor=user)
        backup_execute(backup_id=small_backup.pk)
        ids = {
            "policy": BackupPolicy.objects.get(product=product).pk,
            "destination": destination.pk,
            "backup_for_file": small_backup.pk,
        }

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
            "BACKUPSITE_VAR_DIR": str(var_dir),
            "DJANGO_DEBUG": "1",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        log = open(var_dir / "service.log", "w")  # noqa: SIM115 - open for the whole run
        procs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env={**env, "BACKUPSITE_SQLITE_TIMEOUT": str(args.lock_wait)},
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
        ]
        db = var_dir / "db.sqlite3"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(base + "/accounts/login/", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            print(
                f"Service on {base}: {args.readers} readers, {args.writers} writers, "
                f"{args.think:g} s between requests, web server's lock wait {args.lock_wait} s"
            )

            def start_backup() -> int:
                admin = Admin(base, "bench")
                admin.login()
                org = "/orgs/bench/backup-and-restore/"
                status, _, _ = admin.request(f"{org}products/{product.pk}/run-backup/", {})
                assert status < 400, status
                return latest_id(db, "backups_backup", "product_id", product.pk)

            run_phase("Baseline (no job)", base, ids, args, None, db, "")
            backup_id, status = run_phase(
                "Backup", base, ids, args, start_backup, db, "backups_backup"
            )

            def start_restore() -> int:
                from backups.services.restores import restore_request

                restore = restore_request(
                    backup=Backup.objects.get(pk=backup_id),
                    destination=destination,
                    actor=user,
                )
                return restore.pk

            if status in ("COMPLETE", "INCOMPLETE"):
                run_phase("Restore", base, ids, args, start_restore, db, "backups_restore")
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
            log.close()
            errors = [
                line
                for line in (var_dir / "service.log").read_text().splitlines()
                if "locked" in line or "Traceback" in line
            ]
            print(f"\nservice log lines with 'locked' or a traceback: {len(errors)}")
            for line in errors[:10]:
                print(f"  {line}")


if __name__ == "__main__":
    main()

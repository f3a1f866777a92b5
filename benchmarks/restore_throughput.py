"""Restore throughput and peak memory, beside plain Django bulk_create (issues #5, #16).

    .venv/bin/python benchmarks/restore_throughput.py --issues 100000,1000000
    .venv/bin/python benchmarks/restore_throughput.py --issues 100000 --postgres --repeat 3
    .venv/bin/python benchmarks/restore_throughput.py --issues 100000 --compare-with /tmp/base

For each size it makes a Jira product with that many issues (one comment each, no
attachments), backs it up, then in the same run:
  1. bulk_create: inserts the backup's issue and comment rows into an empty product with
     plain `bulk_create(batch_size=1000)` (rows already parsed, in memory) — the baseline;
  2. restore_execute: restores the backup into another empty product, in a child process whose
     peak RSS (VmHWM) is read at the end.
It prints rows/s and MB/s (of the entities files) for both, the ratio, the peak memory, and
the CPU seconds the restore used in Python and, as "db", in the database server's backends
(PostgreSQL on this machine, every connection the restore uses) and in the processes that
parse its rows (#16; SQLite runs in Python): on a loaded machine they scatter far less than
rows/s. The peak RSS is the restoring process's; the parsing process's own is not in it
(`getrusage(RUSAGE_CHILDREN)` would report the restoring process's size at the fork).
--repeat N runs the pair N times back to back and prints medians (the machine is shared:
single runs scatter). --compare-with DIR (a checkout of the code before a change, e.g. `git
archive HEAD | tar -x -C DIR`) also restores with DIR's code in each pair, so before and after
are measured under the same load. --postgres runs on a scratch database (BENCH_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/bs_restore_bench; dropped and made again first).
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from backup_throughput import make_product, peak_rss_mb, setup_django  # noqa: E402
from row_export import count_other_backends  # noqa: E402

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bs_restore_bench")


def child(restore_id: int, var_dir: Path, code_root: str | None) -> None:
    if code_root:
        sys.path.insert(0, code_root)  # `backups` from the compared checkout
    setup_django(var_dir)
    from django.db import connection

    from backups.models import Restore
    from backups.services.restore_engine import restore_execute

    connection.ensure_connection()
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    server = server_process(connection)
    others: list[float] = []  # the backends of the connections the restore makes itself
    count_other_backends(others)  # (its slices are written on one of their own, #16)
    cpu = cpu_seconds(server)
    start = time.perf_counter()
    status = restore_execute(restore_id=restore_id)
    elapsed = time.perf_counter() - start
    cpu = [after - before for before, after in zip(cpu, cpu_seconds(server), strict=True)]
    cpu[1] += sum(others)
    if profiler:  # cumulative times, top 60 (pyinstrument is not a dependency)
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(60)
        Path(os.environ["BENCH_PROFILE"]).write_text(text.getvalue())
    restore = Restore.objects.get(pk=restore_id)
    print(
        json.dumps(
            {
                "status": status,
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "rows": sum(restore.report.get("restored", {}).values()),
                "peak_rss_mb": peak_rss_mb(),
                "reason": restore.failure_reason,
            }
        )
    )


def server_process(connection) -> int | None:
    """The pid of the PostgreSQL backend serving this connection, if it runs on this machine
    (its /proc entry is readable); None on SQLite, which runs in this process."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def cpu_seconds(server: int | None) -> list[float]:
    """CPU time (user + system) used so far by this process, and by the database server's
    backend (0 when unknown) and this process's children that ended (the processes that
    parse a restore's rows, productdata/parsed_rows.py). On a shared machine the wall
    time of a run scatters with the load; the CPU a restore costs scatters far less, so it
    shows smaller gains (#16)."""
    own = os.times()
    theirs = own.children_user + own.children_system  # a restore's parsing processes
    if server is not None:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()
            theirs += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return [own.user + own.system, theirs]


def baseline(backup, product) -> tuple[float, int]:
    """Plain bulk_create of the same issues and comments (parsed up front, not timed)."""
    from backups.models import JiraComment, JiraIssue, JiraProject
    from backups.services.restores import StoredBackupSource

    source = StoredBackupSource(backup)
    project = JiraProject.objects.create(product=product, key="BEN", name="Bench")
    issues = [
        JiraIssue(
            product=product,
            project=project,
            key=r["key"],
            summary=r["summary"],
            description=r["description"],
            status=r["status"],
            fields=r["fields"],
            created=r["created"],
            updated=r["updated"],
        )
        for r in source.rows("issues")
    ]
    comments = list(source.rows("comments"))
    start = time.perf_counter()
    JiraIssue.objects.bulk_create(issues, batch_size=1000)
    ids = dict(JiraIssue.objects.filter(product=product).values_list("key", "id"))
    JiraComment.objects.bulk_create(
        (
            JiraComment(
                issue_id=ids[c["issue"]], author=c["author"], body=c["body"], created=c["created"]
            )
            for c in comments
        ),
        batch_size=1000,
    )
    return time.perf_counter() - start, len(issues) + len(comments)


def restore_of(backup, target, user, first: dict | None) -> tuple:
    """A restore of `backup` into `target`, ready to run, and the request to repeat (`first`:
    None the first time). Before it, untimed: on PostgreSQL an ANALYZE, as autovacuum would
    in time (without statistics the code before #16 pass 2 joined comments to issues by a
    plan that scanned its staging table once per issue: a run did not end in 9 min); on
    SQLite the WAL the previous writes left is copied back into the database now, not by
    the next run's first commits."""
    from django.db import connection

    from backups.models import Restore
    from backups.services.restores import restore_request

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if first is None:
        restore = restore_request(backup=backup, destination=target, actor=user)
        first = {
            f.attname: getattr(restore, f.attname)
            for f in Restore._meta.concrete_fields
            if f.attname not in ("id", "destination_id")
        }
        return restore, first
    # R5 allows one restore of a backup a week: the same request again.
    return Restore.objects.create(**first, destination=target), first


def run_child(restore_id: int, var_dir: Path, root: str | None, postgres: bool) -> dict:
    command = [sys.executable, __file__, "--child", str(restore_id), "--var-dir", str(var_dir)]
    command += ["--code-root", root] if root else []
    command += ["--postgres"] if postgres else []
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["status"] != "COMPLETE":
        raise SystemExit(f"restore failed: {result['reason']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--issues", default="100000", help="issue counts, comma-separated")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare-with", help="a checkout of the code before a change")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.postgres:
        os.environ["DATABASE_URL"] = PG_URL
    if args.child:
        child(args.child, Path(args.var_dir), args.code_root)
        return
    if args.postgres:
        name = PG_URL.rsplit("/", 1)[1]
        for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql],
                check=True,
                capture_output=True,
            )
    roots: list[tuple[str, str | None]] = [("now", None)]
    if args.compare_with:
        roots.insert(0, ("before", str(Path(args.compare_with).resolve())))
    figures = []
    results_now: list[dict] = []  # one machine-readable line each, printed last

    with tempfile.TemporaryDirectory(
        prefix="bench-restore-", dir=os.environ.get("BENCH_TMP")
    ) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.core.management import call_command
        from django.db import connection

        from backups.models import JiraAttachment, Product
        from backups.services.backup_engine import backup_execute
        from backups.services.backups import backup_request

        call_command("migrate", verbosity=0)
        print(
            f"Restore benchmark on {connection.vendor}: medians of {args.repeat} paired run(s), "
            f"load average {os.getloadavg()[0]:.2f} at the start"
        )
        header = ["issues", "code", "bulk rows/s", "restore rows/s", "ratio", "restore MB/s"]
        header += ["peak RSS", "CPU s (py+db)"]  # db: the server's backends, or SQLite's parser
        print("  ".join(f"{h:>14}" for h in header))
        for n in (int(s) for s in args.issues.split(",")):
            product, user, _ = make_product(f"Bench {n}", issues=n, attachment_mb=0, file_mb=1)
            # Rows only: the one file make_product adds would tie the compared checkout to
            # this one's attachment storage.
            JiraAttachment.objects.filter(product=product).delete()
            backup = backup_request(product=product, actor=user)
            backup_execute(backup_id=backup.id)
            backup.refresh_from_db()
            data_mb = sum(e["bytes"] for e in backup.counts.values()) / 1e6
            first: dict | None = None
            bulk_rates: list[float] = []
            runs: dict[str, list[dict]] = {label: [] for label, _ in roots}
            for k in range(args.repeat):
                plain = Product.objects.create(
                    organization=product.organization, kind="jira", name=f"Plain {n}/{k}"
                )
                bulk_seconds, bulk_rows = baseline(backup, plain)
                bulk_rates.append(bulk_rows / bulk_seconds)
                # The pair's order alternates: on SQLite the second of a pair ran 17% slower
                # than the first with the same code in both (3 pairs, 100k issues).
                for label, root in roots if k % 2 == 0 else roots[::-1]:
                    target = Product.objects.create(
                        organization=product.organization, kind="jira", name=f"{label} {n}/{k}"
                    )
                    restore, first = restore_of(backup, target, user, first)
                    runs[label].append(run_child(restore.pk, var_dir, root, args.postgres))
            bulk_rate = statistics.median(bulk_rates)
            for label, results in runs.items():
                rate = statistics.median(r["rows"] / r["seconds"] for r in results)
                mb_rate = statistics.median(data_mb / r["seconds"] for r in results)
                cells = [
                    f"{n}",
                    label,
                    f"{bulk_rate:.0f}",
                    f"{rate:.0f}",
                    f"{rate / bulk_rate:.2f}x",
                    f"{mb_rate:.1f}",
                    f"{max(r['peak_rss_mb'] for r in results):.0f} MB",
                    "{:.2f}+{:.2f}".format(
                        *(statistics.median(r["cpu_seconds"][i] for r in results) for i in (0, 1))
                    ),
                ]
                print("  ".join(f"{c:>14}" for c in cells))
                if label == "now":
                    figures.append((n, rate / bulk_rate))
                    results_now.append(
                        {
                            "figure": "restore_vs_bulk_create",
                            "database": connection.vendor,
                            "issues": n,
                            "ratio": round(rate / bulk_rate, 3),
                            "rows_per_s": round(rate),
                            "bulk_rows_per_s": round(bulk_rate),
                            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results), 1),
                        }
                    )
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
        print()
        print("| figure | now | target |")
        print("|---|---|---|")
        for n, ratio in figures:
            print(
                f"| restore on {'PostgreSQL' if connection.vendor == 'postgresql' else 'SQLite'} "
                f"vs bulk_create, {n} issues | {ratio:.2f}x | >= 6x |"
            )
        print()
        for result in results_now:  # parsed by benchmarks/table.py
            print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()

"""Rows exported per second: the product data layer's export alone, as the backup engine
serializes it (issue #16: target >= 250k rows/s).

    .venv/bin/python benchmarks/row_export.py --issues 200000 --repeat 5
    .venv/bin/python benchmarks/row_export.py --issues 200000 --postgres
    .venv/bin/python benchmarks/row_export.py --issues 200000 --compare-with /tmp/base

It makes a Jira product with that many issues and a comment each (make_product), then reads
every issue and comment row through JiraData.rows and serializes it with orjson, as
backup_engine.write_entities does (no storage write: that is the backup benchmark's). With
--compare-with DIR (a checkout of the code before a change, e.g. `git archive HEAD | tar -x
-C DIR`) each repeat runs DIR's export and this checkout's back to back in child processes on
the same rows, and the medians of both are printed with the SHA-256 of their output: the
bytes must be the same. Beside the wall time it prints the median CPU seconds of the export
(its process) and of its PostgreSQL backend (when the server is on this machine): on a busy
machine those move far less than the wall time; the backend's are those of every connection
the export uses (it reads pages ahead on a connection of its own). --postgres uses the
database named by BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bs_perf_bench;
dropped and made again first).
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bs_perf_bench")


def server_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend so far, when the server runs on this
    machine (its /proc entry): with the export's own CPU time, a figure the other work on a
    busy machine barely moves, unlike the wall time."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    return backend_cpu_seconds(connection.connection.info.backend_pid)


def backend_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_other_backends(spent: list[float]) -> None:
    """Add to `spent` the CPU time of each PostgreSQL backend of a connection the export makes
    (it reads pages ahead on one of its own, #16), read as the connection closes."""
    from django.db.backends.signals import connection_created

    def made(sender, connection, **kwargs):
        if connection.vendor != "postgresql":
            return
        pid, close = connection.connection.info.backend_pid, connection.close

        def closing():
            spent.append(backend_cpu_seconds(pid) or 0.0)
            close()

        connection.close = closing

    connection_created.connect(made, weak=False)


def child(product_id: int, var_dir: Path, code_root: Path) -> None:
    sys.path.insert(0, str(HERE))
    from backup_throughput import setup_django  # puts ROOT first on sys.path: code_root goes

    sys.path.insert(0, str(code_root))  # before it, so `backups` is the compared checkout's
    setup_django(var_dir)
    import orjson

    from backups.models import Product
    from backups.productdata import ExportOptions, for_product

    data = for_product(Product.objects.get(pk=product_id))
    digest = hashlib.sha256()
    rows = 0
    server_before = server_cpu_seconds()
    others: list[float] = []
    count_other_backends(others)
    cpu_before = time.process_time()
    start = time.perf_counter()
    for content_type in ("issues", "comments"):
        for row in data.rows(content_type, ExportOptions()):
            digest.update(orjson.dumps(row) + b"\n")
            rows += 1
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_before
    server = None if server_before is None else server_cpu_seconds() - server_before + sum(others)
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "cpu": cpu,
                "server_cpu": server,
                "sha256": digest.hexdigest(),
            }
        )
    )


def run_child(product_id: int, var_dir: Path, code_root: Path, postgres: bool) -> dict:
    env = dict(os.environ)
    if postgres:
        env["DATABASE_URL"] = PG_URL
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(product_id), "--var-dir", str(var_dir)]
        + ["--code-root", str(code_root)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE the tables first (as autovacuum would in time); else no statistics",
    )
    parser.add_argument("--compare-with", help="a checkout of the code before the change")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.var_dir), Path(args.code_root))
        return
    if args.postgres:
        os.environ["DATABASE_URL"] = PG_URL
        name = PG_URL.rsplit("/", 1)[1]
        for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql],
                check=True,
                capture_output=True,
            )
    sys.path.insert(0, str(HERE))
    from backup_throughput import make_product, setup_django

    with tempfile.TemporaryDirectory(prefix="bench-rows-", dir=os.environ.get("BENCH_TMP")) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        product, _, _ = make_product("Bench rows", issues=args.issues, attachment_mb=0, file_mb=1)
        if args.analyze and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE backups_jiraissue, backups_jiracomment")
        elif connection.vendor == "postgresql":
            # Autovacuum may analyze a freshly loaded table at any moment: keep it off
            # these tables, so "no statistics" stays that for every run.
            with connection.cursor() as cursor:
                for table in ("backups_jiraissue", "backups_jiracomment"):
                    cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        connection.close()
        roots = [("now", ROOT)]
        if args.compare_with:
            roots.insert(0, ("before", Path(args.compare_with).resolve()))
        results: dict[str, list[dict]] = {label: [] for label, _ in roots}
        for _ in range(args.repeat):
            for label, root in roots:
                results[label].append(run_child(product.id, var_dir, root, args.postgres))
        stats = ""
        if connection.vendor == "postgresql":
            stats = ", with statistics" if args.analyze else ", without statistics"
        print(
            f"Row export on {connection.vendor}{stats}: {args.issues} issues + {args.issues} "
            f"comments, median of {args.repeat} paired runs"
        )
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"{'code':>8}  {'rows/s':>10}  {'seconds':>8}  {'cpu s':>6}  {'db cpu s':>8}"
            "  sha256 of the rows"
        )
        for label, runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            rate = runs[0]["rows"] / seconds
            cpu = statistics.median(r.get("cpu", 0.0) for r in runs)
            server = [r["server_cpu"] for r in runs if r.get("server_cpu") is not None]
            db = f"{statistics.median(server):>8.2f}" if server else f"{'-':>8}"
            shas = {r["sha256"] for r in runs}
            print(
                f"{label:>8}  {rate:>10.0f}  {seconds:>8.2f}  {cpu:>6.2f}  {db}"
                f"  {', '.join(sorted(shas))[:16]}"
            )
        shas = {r["sha256"] for runs in results.values() for r in runs}
        print("same bytes" if len(shas) == 1 else "DIFFERENT BYTES")
        now = statistics.median(r["seconds"] for r in results["now"])
        print()
        print("| figure | now | target |")
        print("|---|---|---|")
        print(
            f"| rows exported per second ({connection.vendor}, {args.issues} issues + comments) "
            f"| {results['now'][0]['rows'] / now / 1000:.0f}k | >= 250k |"
        )
        print()
        result = {
            "figure": "rows_exported",
            "database": connection.vendor,
            "rows": results["now"][0]["rows"],
            "rows_per_s": round(results["now"][0]["rows"] / now),
        }
        print("BENCH_RESULT " + json.dumps(result))  # parsed by benchmarks/table.py


if __name__ == "__main__":
    main()

"""Restore throughput and peak memory, beside plain Django bulk_create (issue #5).

    .venv/bin/python benchmarks/restore_throughput.py --issues 100000,1000000
    .venv/bin/python benchmarks/restore_throughput.py --issues 100000 --postgres

For each size it makes a Jira product with that many issues (one comment each, no
attachments), backs it up, then in the same run:
  1. bulk_create: inserts the backup's issue and comment rows into an empty product with
     plain `bulk_create(batch_size=1000)` (rows already parsed, in memory) — the baseline;
  2. restore_execute: restores the backup into another empty product, in a child process whose
     peak RSS (VmHWM) is read at the end.
It prints rows/s and MB/s (of the entities files) for both, the ratio, and the peak memory.
--postgres runs on a scratch database `backupsite_bench` at 127.0.0.1:5432 (dropped first).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backup_throughput import make_product, peak_rss_mb, setup_django  # noqa: E402

PG_URL = "postgres://postgres@127.0.0.1:5432/backupsite_bench"


def child(restore_id: int, var_dir: Path) -> None:
    setup_django(var_dir)
    from backups.models import Restore
    from backups.services.restore_engine import restore_execute

    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    start = time.perf_counter()
    status = restore_execute(restore_id=restore_id)
    elapsed = time.perf_counter() - start
    if profiler:
        profiler.stop()
        Path(os.environ["BENCH_PROFILE"]).write_text(profiler.output_text(color=False))
    restore = Restore.objects.get(pk=restore_id)
    print(
        json.dumps(
            {
                "status": status,
                "seconds": elapsed,
                "rows": sum(restore.report.get("restored", {}).values()),
                "peak_rss_mb": peak_rss_mb(),
                "reason": restore.failure_reason,
            }
        )
    )


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--issues", default="100000", help="issue counts, comma-separated")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.postgres:
        os.environ["DATABASE_URL"] = PG_URL
    if args.child:
        child(args.child, Path(args.var_dir))
        return
    if args.postgres:
        for sql in ("DROP DATABASE IF EXISTS backupsite_bench", "CREATE DATABASE backupsite_bench"):
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql],
                check=True,
                capture_output=True,
            )

    with tempfile.TemporaryDirectory(
        prefix="bench-restore-", dir=os.environ.get("BENCH_TMP")
    ) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.core.management import call_command
        from django.db import connection

        from backups.models import Product
        from backups.services.backup_engine import backup_execute
        from backups.services.backups import backup_request
        from backups.services.restores import restore_request

        call_command("migrate", verbosity=0)
        print(f"Restore benchmark on {connection.vendor}")
        header = ["issues", "bulk rows/s", "restore rows/s", "ratio", "restore MB/s", "peak RSS"]
        print("  ".join(f"{h:>14}" for h in header))
        for n in (int(s) for s in args.issues.split(",")):
            product, user, _ = make_product(f"Bench {n}", issues=n, attachment_mb=0, file_mb=1)
            backup = backup_request(product=product, actor=user)
            backup_execute(backup_id=backup.id)
            backup.refresh_from_db()
            data_mb = sum(e["bytes"] for e in backup.counts.values()) / 1e6

            plain = Product.objects.create(
                organization=product.organization, kind="jira", name=f"Plain {n}"
            )
            bulk_seconds, bulk_rows = baseline(backup, plain)

            target = Product.objects.create(
                organization=product.organization, kind="jira", name=f"Target {n}"
            )
            restore = restore_request(backup=backup, destination=target, actor=user)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(restore.pk), "--var-dir", str(var_dir)]
                + (["--postgres"] if args.postgres else []),
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            if result["status"] != "COMPLETE":
                raise SystemExit(f"restore failed: {result['reason']}")
            bulk_rate = bulk_rows / bulk_seconds
            rate = result["rows"] / result["seconds"]
            cells = [
                f"{n}",
                f"{bulk_rate:.0f}",
                f"{rate:.0f}",
                f"{rate / bulk_rate:.2f}x",
                f"{data_mb / result['seconds']:.1f}",
                f"{result['peak_rss_mb']:.0f} MB",
            ]
            print("  ".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()

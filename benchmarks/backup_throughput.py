"""Backup throughput and peak memory, beside `tar` of the same attachment files (issue #3).

    .venv/bin/python benchmarks/backup_throughput.py --sizes 200,2000 --issues 20000

For each size (MB of attachments) it makes a fresh Jira product with that many issues, a
comment per issue and random (incompressible) attachment files, then in the same run:
  1. `tar cf` of the product's attachment folder into a file on the same disk;
  2. the backup engine (backup_execute), in a child process whose peak RSS (VmHWM) is read at
     the end, so the figure is the worker's alone.
It prints MB/s for both, the ratio, rows/s and the peak memory. Figures, not a pass/fail.
Both read files just written, so both read from the page cache: the comparison is fair (same
files, same state), not a cold-disk figure. --repeat N runs tar and the backup N times back to
back and prints medians (the machine is shared: single runs scatter). --compare-with DIR (a
checkout of the code before a change, e.g. `git archive HEAD | tar -x -C DIR`) also backs up
with DIR's code in each pair, so before and after are measured under the same load.
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
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(var_dir: Path) -> None:
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ["BACKUPSITE_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "backupsite.settings"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_product(name: str, *, issues: int, attachment_mb: int, file_mb: int):
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from backups.models import (
        BackupPolicy,
        JiraAttachment,
        JiraComment,
        JiraIssue,
        JiraProject,
        Membership,
        Organization,
        Product,
    )

    user, _ = get_user_model().objects.get_or_create(username="bench", email="bench@example.com")
    org, _ = Organization.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "enrolled": True}
    )
    Membership.objects.get_or_create(user=user, organization=org, defaults={"role": "admin"})
    product = Product.objects.create(organization=org, kind="jira", name=name)
    BackupPolicy.objects.create(product=product, include_users_and_groups=False)
    project = JiraProject.objects.create(product=product, key="BEN", name="Bench")
    now = datetime.now(UTC)
    batch = 5000
    for start in range(0, issues, batch):
        JiraIssue.objects.bulk_create(
            JiraIssue(
                product=product,
                project=project,
                key=f"BEN-{i}",
                summary=f"Issue {i}: something is slow under load",
                description="Steps to reproduce: " + "lorem ipsum dolor sit amet " * 8,
                status="To Do",
                fields={"priority": "High", "labels": ["perf", "backend"], "points": i % 8},
                created=now,
                updated=now,
            )
            for i in range(start, min(issues, start + batch))
        )
    issue_ids = list(JiraIssue.objects.filter(product=product).values_list("id", flat=True))
    for start in range(0, len(issue_ids), batch):
        JiraComment.objects.bulk_create(
            JiraComment(issue_id=i, author="Bench", body="Looked into it, still slow.", created=now)
            for i in issue_ids[start : start + batch]
        )
    folder = Path(settings.MEDIA_ROOT) / "attachments" / str(product.id)
    folder.mkdir(parents=True, exist_ok=True)
    n_files = max(1, attachment_mb // file_mb)
    rows = []
    for k in range(n_files):
        data = os.urandom(file_mb * 1024 * 1024)
        rel = f"attachments/{product.id}/f{k:05d}.bin"
        (Path(settings.MEDIA_ROOT) / rel).write_bytes(data)
        rows.append(
            JiraAttachment(
                product=product,
                issue_id=issue_ids[k % len(issue_ids)],
                name=f"f{k:05d}.bin",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                file=rel,
                created=now,
            )
        )
    JiraAttachment.objects.bulk_create(rows)
    return product, user, folder


def run_child(backup_id: int, var_dir: Path, code_root: str | None = None) -> dict:
    command = [sys.executable, __file__, "--child", str(backup_id), "--var-dir", str(var_dir)]
    command += ["--code-root", code_root] if code_root else []
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(backup_id: int, var_dir: Path, code_root: str | None = None) -> None:
    if code_root:
        sys.path.insert(0, code_root)  # `backups` from the compared checkout
    setup_django(var_dir)
    from django.db import connection

    from backups.models import Backup
    from backups.services.backup_engine import backup_execute

    connection.ensure_connection()
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    start = time.perf_counter()
    status = backup_execute(backup_id=backup_id)
    elapsed = time.perf_counter() - start
    if profiler:
        profiler.stop()
        Path(os.environ["BENCH_PROFILE"]).write_text(profiler.output_text(color=False))
    backup = Backup.objects.get(pk=backup_id)
    rows = sum(e["rows"] for e in backup.counts.values())
    print(
        json.dumps(
            {
                "status": status,
                "seconds": elapsed,
                "bytes": backup.total_bytes,
                "rows": rows,
                "peak_rss_mb": peak_rss_mb(),
                "reason": getattr(backup, "failure_reason", ""),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="200,2000", help="MB of attachments, comma-separated")
    parser.add_argument("--issues", type=int, default=20000)
    parser.add_argument("--file-mb", type=int, default=4, help="size of each attachment file")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare-with", help="a checkout of the code before a change")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.var_dir), args.code_root)
        return
    roots: list[tuple[str, str | None]] = [("now", None)]
    if args.compare_with:
        roots.insert(0, ("before", str(Path(args.compare_with).resolve())))
    figures = []

    with tempfile.TemporaryDirectory(
        prefix="bench-backup-", dir=os.environ.get("BENCH_TMP")
    ) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.core.management import call_command

        from backups import storage
        from backups.models import Backup
        from backups.services.backups import backup_request

        call_command("migrate", verbosity=0)
        print(
            f"Backup benchmark: {args.issues} issues + comments per product; "
            f"attachment files of {args.file_mb} MB; medians of {args.repeat} paired run(s)"
        )
        header = ["attachments", "code", "tar MB/s", "backup MB/s", "ratio", "rows/s"]
        header += ["peak RSS", "status"]
        print("  ".join(f"{h:>11}" for h in header))
        for size in (int(s) for s in args.sizes.split(",")):
            product, user, folder = make_product(
                f"Bench {size} MB", issues=args.issues, attachment_mb=size, file_mb=args.file_mb
            )
            tar_rates: list[float] = []
            runs: dict[str, list[dict]] = {label: [] for label, _ in roots}
            first: dict | None = None
            for _ in range(args.repeat):
                tar_out = var_dir / f"tar-{size}.tar"
                start = time.perf_counter()
                subprocess.run(["tar", "cf", str(tar_out), "-C", str(folder), "."], check=True)
                tar_rates.append(tar_out.stat().st_size / 1e6 / (time.perf_counter() - start))
                tar_out.unlink()
                for label, root in roots:
                    if first is None:
                        backup = backup_request(product=product, actor=user)
                        first = {
                            f.attname: getattr(backup, f.attname)
                            for f in Backup._meta.concrete_fields
                            if not f.primary_key
                        }
                    else:  # B3 allows one backup a day: the same request again
                        backup = Backup.objects.create(**first)
                        backup.storage_prefix = storage.backup_prefix(
                            organization_id=product.organization_id,
                            product_id=product.id,
                            backup_id=backup.id,
                        )
                        backup.save(update_fields=["storage_prefix"])
                    result = run_child(backup.id, var_dir, root)
                    if result["status"] != "COMPLETE":
                        print(f"  {label}: {result['status']}: {result.get('reason')}")
                    runs[label].append(result)
            tar_rate = statistics.median(tar_rates)
            for label, results in runs.items():
                rate = statistics.median(r["bytes"] / 1e6 / r["seconds"] for r in results)
                rows = statistics.median(r["rows"] / r["seconds"] for r in results)
                cells = [
                    f"{size} MB",
                    label,
                    f"{tar_rate:.0f}",
                    f"{rate:.0f}",
                    f"{rate / tar_rate:.2f}x",
                    f"{rows:.0f}",
                    f"{max(r['peak_rss_mb'] for r in results):.0f} MB",
                    ",".join(sorted({r["status"] for r in results})),
                ]
                print("  ".join(f"{c:>11}" for c in cells))
                if label == "now":
                    figures.append((size, rate / tar_rate))
        print()
        print("| figure | now | target |")
        print("|---|---|---|")
        for size, ratio in figures:
            print(
                f"| backup engine vs `tar cf`, {size} MB of attachments | {ratio:.2f}x "
                f"| >= 1.2x at every size |"
            )


if __name__ == "__main__":
    main()

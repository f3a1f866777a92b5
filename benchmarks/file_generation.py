"""Backup file generation throughput and peak memory, beside `zip -0` and `tar cf` (issue #4).

    .venv/bin/python benchmarks/file_generation.py --sizes 200,2000

For each size (MB of attachments) it makes a Jira product (backup_throughput.make_product),
backs it up, then in the same run times:
  1. `zip -0 -r -q` and `tar cf` of the stored backup's folder (the same files);
  2. backup_file_generate in a child process, whose peak RSS (VmHWM) is read at the end.
It prints MB/s for each, the ratio to `zip -0`, and the peak memory. Figures, not pass/fail.
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


def child(file_id: int, var_dir: Path) -> None:
    setup_django(var_dir)
    from backups.models import BackupFile
    from backups.services.files import backup_file_generate

    start = time.perf_counter()
    status = backup_file_generate(file_id=file_id)
    elapsed = time.perf_counter() - start
    size = BackupFile.objects.get(pk=file_id).size
    print(
        json.dumps(
            {"status": status, "seconds": elapsed, "bytes": size, "peak_rss_mb": peak_rss_mb()}
        )
    )


def timed(cmd: list[str], out: Path, cwd: Path | None = None) -> float:
    """MB/s of a command that writes the archive `out` (removed afterwards)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd)
    seconds = time.perf_counter() - start
    rate = out.stat().st_size / 1e6 / seconds
    out.unlink()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="200,2000", help="MB of attachments, comma-separated")
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--file-mb", type=int, default=4)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.var_dir))
        return

    with tempfile.TemporaryDirectory(prefix="bench-file-", dir=os.environ.get("BENCH_TMP")) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.conf import settings
        from django.core.management import call_command

        from backups.services.backup_engine import backup_execute
        from backups.services.backups import backup_request
        from backups.services.files import backup_file_request

        call_command("migrate", verbosity=0)
        header = [
            "backup",
            "zip -0 MB/s",
            "tar MB/s",
            "file MB/s",
            "vs zip -0",
            "peak RSS",
            "status",
        ]
        print("  ".join(f"{h:>11}" for h in header))
        for size in (int(s) for s in args.sizes.split(",")):
            product, user, _ = make_product(
                f"Bench {size} MB", issues=args.issues, attachment_mb=size, file_mb=args.file_mb
            )
            backup = backup_request(product=product, actor=user)
            backup_execute(backup_id=backup.id)
            backup.refresh_from_db()
            folder = Path(settings.BACKUPS_ROOT) / backup.storage_prefix
            zip_rate = timed(
                ["zip", "-0", "-r", "-q", str(var_dir / "z.zip"), "."],
                var_dir / "z.zip",
                cwd=folder,
            )
            tar_rate = timed(
                ["tar", "cf", str(var_dir / "t.tar"), "-C", str(folder), "."], var_dir / "t.tar"
            )

            backup_file = backup_file_request(backup=backup, actor=user)
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(backup_file.pk),
                    "--var-dir",
                    str(var_dir),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            rate = result["bytes"] / 1e6 / result["seconds"]
            cells = [
                f"{backup.total_bytes / 1e6:.0f} MB",
                f"{zip_rate:.0f}",
                f"{tar_rate:.0f}",
                f"{rate:.0f}",
                f"{rate / zip_rate:.2f}x",
                f"{result['peak_rss_mb']:.0f} MB",
                result["status"],
            ]
            print("  ".join(f"{c:>11}" for c in cells))


if __name__ == "__main__":
    main()

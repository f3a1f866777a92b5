"""Backup file generation throughput and peak memory, beside `zip -0` and `tar cf` (issue #4).

    .venv/bin/python benchmarks/file_generation.py --sizes 200,2000

For each size (MB of attachments) it makes a Jira product (backup_throughput.make_product),
backs it up, then in the same run times:
  1. `zip -0 -r -q` and `tar cf` of the stored backup's folder (the same files);
  2. backup_file_generate in a child process, whose peak RSS (VmHWM) is read at the end.
It prints MB/s for each, the ratio to `zip -0` and to `tar cf`, and the peak memory. Figures,
not pass/fail. --repeat N times tar and the file N times, back to back, and prints medians (the
machine is shared: single runs scatter). --compare-with DIR (a checkout of the code before a
change, e.g. `git archive HEAD | tar -x -C DIR`) also makes each file with DIR's code, in the
same pairs, so before and after are measured under the same load.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backup_throughput import make_product, peak_rss_mb, setup_django  # noqa: E402
from engine_vs_tar import sha256_mb_s  # noqa: E402


def child(file_id: int, var_dir: Path, code_root: str | None) -> None:
    if code_root:
        sys.path.insert(0, code_root)  # `backups` from the compared checkout
    setup_django(var_dir)
    from backups.models import BackupFile
    from backups.services.files import backup_file_generate

    profiler = None
    if os.environ.get("BENCH_PROFILE"):  # a file to write cProfile's figures to
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    status = backup_file_generate(file_id=file_id)
    elapsed = time.perf_counter() - start
    if profiler:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
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
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare-with", help="a checkout of the code before a change")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.var_dir), args.code_root)
        return
    roots = [("now", None)]
    if args.compare_with:
        roots.insert(0, ("before", str(Path(args.compare_with).resolve())))
    figures = []

    with tempfile.TemporaryDirectory(prefix="bench-file-", dir=os.environ.get("BENCH_TMP")) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.conf import settings
        from django.core.management import call_command

        from backups.services.backup_engine import backup_execute
        from backups.services.backups import backup_request
        from backups.services.files import backup_file_request

        call_command("migrate", verbosity=0)
        from backups import storage
        from backups.models import BackupFile

        header = ["backup", "code", "zip -0 MB/s", "tar MB/s", "file MB/s", "vs zip -0"]
        header += ["vs tar", "peak RSS", "status"]
        print(f"Backup file benchmark: medians of {args.repeat} paired run(s)")
        # Every attachment byte is hashed twice (its own SHA-256, D1, and the file's): a file
        # made on one core cannot go faster than half this; `tar` hashes nothing.
        print(f"hashlib.sha256 alone, in memory: {sha256_mb_s():.0f} MB/s")
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)")
            print("  ".join(f"{h:>11}" for h in header))
            product, user, _ = make_product(
                f"Bench {size} MB", issues=args.issues, attachment_mb=size, file_mb=args.file_mb
            )
            backup = backup_request(product=product, actor=user)
            backup_execute(backup_id=backup.id)
            backup.refresh_from_db()
            folder = Path(settings.BACKUPS_ROOT) / backup.storage_prefix
            zip_rates, tar_rates = [], []
            runs: dict[str, list[dict]] = {label: [] for label, _ in roots}
            for _ in range(args.repeat):
                zip_rates.append(
                    timed(
                        ["zip", "-0", "-r", "-q", str(var_dir / "z.zip"), "."],
                        var_dir / "z.zip",
                        cwd=folder,
                    )
                )
                tar_rates.append(
                    timed(
                        ["tar", "cf", str(var_dir / "t.tar"), "-C", str(folder), "."],
                        var_dir / "t.tar",
                    )
                )
                for label, root in roots:
                    for old in BackupFile.objects.filter(backup=backup):
                        storage.delete_object(old.storage_name)
                        old.delete()
                    backup_file = backup_file_request(backup=backup, actor=user)
                    command = [sys.executable, __file__, "--child", str(backup_file.pk)]
                    command += ["--var-dir", str(var_dir)]
                    command += ["--code-root", root] if root else []
                    out = subprocess.run(command, check=True, capture_output=True, text=True)
                    runs[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
            zip_rate, tar_rate = statistics.median(zip_rates), statistics.median(tar_rates)
            for label, results in runs.items():
                rate = statistics.median(r["bytes"] / 1e6 / r["seconds"] for r in results)
                cells = [
                    f"{backup.total_bytes / 1e6:.0f} MB",
                    label,
                    f"{zip_rate:.0f}",
                    f"{tar_rate:.0f}",
                    f"{rate:.0f}",
                    f"{rate / zip_rate:.2f}x",
                    f"{rate / tar_rate:.2f}x",
                    f"{max(r['peak_rss_mb'] for r in results):.0f} MB",
                    ",".join(sorted({r["status"] for r in results})),
                ]
                print("  ".join(f"{c:>11}" for c in cells))
                if label == "now":
                    figures.append((backup.total_bytes / 1e6, rate / tar_rate, rate / zip_rate))
        print()
        print("| figure | now | target |")
        print("|---|---|---|")
        for mb, vs_tar, vs_zip in figures:
            print(
                f"| backup file vs `tar cf`, {mb:.0f} MB | {vs_tar:.2f}x "
                f"({vs_zip:.2f}x `zip -0`) | >= 0.9x tar |"
            )


if __name__ == "__main__":
    main()

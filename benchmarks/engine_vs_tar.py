"""The backup engine's first backup of a product beside `tar cf` of the same files (#16 item 1).

    .venv/bin/python benchmarks/engine_vs_tar.py --sizes 500,2000 --repeat 3

For each size (MB of attachments, random and incompressible, --file-mb each) it makes a Jira
product with few issues (--issues: the figure is the attachments'), then, --repeat times back
to back:
  1. `tar cf` of the product's attachment folder into a file on the same disk;
  2. the engine's *first* backup of the product (backup_execute in a child process): every
     attachment is new, so every byte is read, hashed (B2/D1: the recorded SHA-256 is checked)
     and written once under blobs/<org>/. Before each run the organization's stored copies
     are dropped, so each run is a first backup again.
After the runs, a second backup of the unchanged product (attachments stored once: it copies
no attachment byte) is timed once, with the bytes it stored.

It also prints `hashlib.sha256` alone (MB/s over a buffer in memory): a copy that must check
every byte cannot go faster than that, and `tar` hashes nothing. Both read files just
written, from the page cache. --compare-with DIR (`git archive <commit> | tar -x -C DIR`)
also runs DIR's engine in each pair. `uptime` is printed before each size: the machine is
shared. Figures, not a pass/fail.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from backup_throughput import make_product, peak_rss_mb, setup_django  # noqa: E402


def sha256_mb_s(mb: int = 512) -> float:
    buffer = memoryview(os.urandom(1024 * 1024))
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(mb):
        digest.update(buffer)
    return mb * 1.048576 / (time.perf_counter() - start)


def child(backup_id: int, var_dir: Path, code_root: str | None) -> None:
    if code_root:
        sys.path.insert(0, code_root)  # `backups` from the compared checkout
    setup_django(var_dir)
    import backups
    from backups.models import Backup
    from backups.services.backup_engine import backup_execute

    profiler = None
    if os.environ.get("BENCH_PROFILE"):  # a file to write cProfile's figures to
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    status = backup_execute(backup_id=backup_id)
    elapsed = time.perf_counter() - start
    if profiler:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
    backup = Backup.objects.get(pk=backup_id)
    files = (backup.counts.get("attachments") or {}).get("files_bytes", 0)
    print(
        json.dumps(
            {
                "status": status,
                "seconds": elapsed,
                "files_bytes": files,
                "peak_rss_mb": peak_rss_mb(),
                "code": str(Path(backups.__file__).parent.parent),
            }
        )
    )


def run_child(backup_id: int, var_dir: Path, code_root: str | None) -> dict:
    command = [sys.executable, __file__, "--child", str(backup_id), "--var-dir", str(var_dir)]
    command += ["--code-root", code_root] if code_root else []
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="500,2000", help="MB of attachments, comma-separated")
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--file-mb", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
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

    hash_rate = sha256_mb_s()
    print(f"hashlib.sha256 alone, in memory: {hash_rate:.0f} MB/s (the floor of a checked copy)")
    figures = []
    with tempfile.TemporaryDirectory(
        prefix="bench-engine-", dir=os.environ.get("BENCH_TMP")
    ) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.conf import settings
        from django.core.management import call_command

        from backups import storage
        from backups.models import AttachmentBlob, Backup, BackupBlob, BackupPolicy
        from backups.services.backups import backup_request

        call_command("migrate", verbosity=0)
        root = Path(settings.STORAGES["backups"]["OPTIONS"]["location"])
        header = ["attachments", "code", "tar MB/s", "engine MB/s", "vs tar", "vs sha256"]
        header += ["peak RSS", "status"]
        print(f"Engine's first backup vs tar cf: medians of {args.repeat} paired run(s)")
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)")
            print("  ".join(f"{h:>11}" for h in header))
            product, user, folder = make_product(
                f"Bench {size} MB", issues=args.issues, attachment_mb=size, file_mb=args.file_mb
            )
            BackupPolicy.objects.filter(product=product).update(verify=False)
            template: dict | None = None
            tar_rates: list[float] = []
            runs: dict[str, list[dict]] = {label: [] for label, _ in roots}

            def fresh_backup(product=product, user=user) -> Backup:
                nonlocal template
                if template is None:
                    backup = backup_request(product=product, actor=user)
                    template = {
                        f.attname: getattr(backup, f.attname)
                        for f in Backup._meta.concrete_fields
                        if not f.primary_key
                    }
                    return backup
                # B3 allows one a day: the same request again, under its own prefix.
                backup = Backup.objects.create(**template)
                backup.storage_prefix = storage.backup_prefix(
                    organization_id=product.organization_id,
                    product_id=product.pk,
                    backup_id=backup.pk,
                )
                backup.save(update_fields=["storage_prefix"])
                return backup

            for _ in range(args.repeat):
                tar_out = var_dir / "t.tar"
                start = time.perf_counter()
                subprocess.run(["tar", "cf", str(tar_out), "-C", str(folder), "."], check=True)
                tar_rates.append(tar_out.stat().st_size / 1e6 / (time.perf_counter() - start))
                tar_out.unlink()
                for label, code in roots:
                    # A first backup: the organization holds no copy of any attachment.
                    BackupBlob.objects.all().delete()
                    AttachmentBlob.objects.all().delete()
                    shutil.rmtree(root / "blobs", ignore_errors=True)
                    shutil.rmtree(root / "backups", ignore_errors=True)
                    runs[label].append(run_child(fresh_backup().pk, var_dir, code))
            tar_rate = statistics.median(tar_rates)
            for label, results in runs.items():
                rate = statistics.median(r["files_bytes"] / 1e6 / r["seconds"] for r in results)
                cells = [
                    f"{size} MB",
                    label,
                    f"{tar_rate:.0f}",
                    f"{rate:.0f}",
                    f"{rate / tar_rate:.2f}x",
                    f"{rate / hash_rate:.2f}x",
                    f"{max(r['peak_rss_mb'] for r in results):.0f} MB",
                    ",".join(sorted({r["status"] for r in results})),
                ]
                print("  ".join(f"{c:>11}" for c in cells))
                if label == "now":
                    figures.append((size, rate / tar_rate, rate, tar_rate))
            # The second backup of the unchanged product: it refers to the copies just made.
            before = tree_bytes(root)
            os.environ.pop("BENCH_PROFILE", None)  # the profile is the first backup's
            second = run_child(fresh_backup().pk, var_dir, None)
            new = tree_bytes(root) - before
            print(
                f"second backup, unchanged: {second['seconds']:.2f} s, {new:,} new bytes stored "
                f"({100 * new / max(1, second['files_bytes']):.2f}% of its "
                f"{second['files_bytes'] / 1e6:.0f} MB of attachments), {second['status']}"
            )
        print()
        print("| figure | now | target |")
        print("|---|---|---|")
        for size, ratio, rate, tar_rate in figures:
            print(
                f"| backup engine (first backup) vs `tar cf`, {size} MB | {ratio:.2f}x "
                f"({rate:.0f} vs {tar_rate:.0f} MB/s; sha256 alone {hash_rate:.0f} MB/s) "
                f"| >= 1.2x at every size |"
            )


if __name__ == "__main__":
    main()

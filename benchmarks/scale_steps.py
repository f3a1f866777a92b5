"""The scale benchmark's steps (benchmarks/scale.py): the page cache dropped, a child timed by
its own rusage, the table printed, and --restore-only's restores beside the code before."""

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import tree_bytes, uptime


def cached_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Cached:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drop_cache() -> str:
    """Sync and drop the page cache; say whether it worked (a container may refuse it)."""
    subprocess.run(["sync"], check=True)
    before = cached_mb()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        return f"cache NOT dropped ({exc.strerror}): files (partly) cached, {before:.0f} MB cached"
    return f"cache dropped ({before:.0f} -> {cached_mb():.0f} MB cached)"


def run_measured(command: list[str], out_path: Path) -> tuple[float, float, float]:
    """Run a command; return (seconds, its peak RSS in MB, its CPU seconds).

    The figures are the child's own rusage, read by /usr/bin/time: a child forked straight
    from this process would inherit this process's high-water mark through exec (Linux keeps
    the larger), so every step would show at least this parent's size.
    """
    usage = out_path.with_suffix(".rusage")
    timed = ["/usr/bin/time", "-f", "%M %U %S", "-o", str(usage), *command]
    with out_path.open("w") as out:
        start = time.perf_counter()
        process = subprocess.run(timed, stdout=out, check=False)
        seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{command[:4]} exited with {process.returncode}")
    max_kb, user, system = usage.read_text().split()[-3:]
    return seconds, int(max_kb) / 1024, float(user) + float(system)


def print_rows(args, files: int, source_bytes: int, rows: list, notes: list) -> None:
    from django.db import connection

    header = ["step", "seconds", "MB/s", "rows/s", "peak RSS", "CPU", "written", "load before"]
    print()
    print(
        f"{args.issues:,} issues + {args.issues:,} comments, {files:,} attachments of "
        f"{source_bytes / 1e9:.2f} GB, {connection.vendor}"
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    for note in notes:
        print(f"- {note}")
    print(f"after: {uptime()}")


def restores(args, me: list, backup, user, source_bytes: int, step, row) -> None:
    """--restore-only: the first backup restored --repeat times into a new empty product,
    with --compare-with's code too (pairs, their order alternating: the same load for
    both); each restore's product and files are deleted after it (disk space). Prints the
    median seconds of each code."""
    from django.conf import settings

    from backups.models import Product, Restore
    from backups.productdata import for_product
    from backups.services.restores import restore_request

    codes = [("now", me)]
    if args.compare_with:
        before = Path(args.compare_with).resolve() / "benchmarks" / "scale.py"
        codes.insert(0, ("before", [sys.executable, str(before), *me[2:]]))
    seconds: dict[str, list[float]] = {label: [] for label, _ in codes}
    for i in range(args.repeat):
        for label, command in codes if i % 2 == 0 else codes[::-1]:
            # R5 (one restore of a backup a week) and R6 (an empty destination): each restore
            # goes into a new product, the last restore's row deleted first.
            Restore.objects.filter(backup=backup).delete()
            target = Product.objects.create(
                organization=backup.product.organization, kind="jira", name=f"Restore {i} {label}"
            )
            restore = restore_request(backup=backup, destination=target, actor=user)
            result = step(
                f"restore ({label})",
                [*command, "--child", "restore", str(restore.pk)],
                source_bytes,
            )
            files = Path(settings.MEDIA_ROOT) / "attachments" / str(target.pk)
            label_i = f"restore ({label}, run {i + 1})"
            row(label_i, result, result["bytes"], result["rows"], tree_bytes(files))
            seconds[label].append(result["seconds"])
            Restore.objects.filter(pk=restore.pk).delete()
            shutil.rmtree(files)
            for_product(target).delete_content()
            target.delete()
    for label, values in seconds.items():
        print(f"restore ({label}): median {statistics.median(values):.1f} s of {values}")

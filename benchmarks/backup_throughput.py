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

import statistics
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - setup_django, peak_rss_mb, make_product: imported from here
    backup_again,
    child_command,
    child_main,
    code_roots,
    django_var_dir,
    make_product,
    paired_runs,
    peak_rss_mb,
    print_cells,
    print_issue_table,
    products_by_size,
    run_json_child,
    setup_django,
    sizes_parser,
    summary,
    tar_mb_s,
)

__all__ = ["make_product", "peak_rss_mb", "setup_django"]


def execute(backup_id: int) -> str:
    from backups.services.backup_engine import backup_execute

    return backup_execute(backup_id=backup_id)


def child_figures(backup_id: int) -> dict:
    from backups.models import Backup

    backup = Backup.objects.get(pk=backup_id)
    return {
        "bytes": backup.total_bytes,
        "rows": sum(e["rows"] for e in backup.counts.values()),
        "reason": getattr(backup, "failure_reason", ""),
    }


def main() -> None:
    parser = sizes_parser(__doc__, sizes="200,2000", issues=20000, repeat=1)
    args = parser.parse_args()
    if child_main(args, execute, child_figures):
        return
    roots = code_roots(args.compare_with)
    figures = []

    with django_var_dir("bench-backup-") as var_dir:
        print(
            f"Backup benchmark: {args.issues} issues + comments per product; "
            f"attachment files of {args.file_mb} MB; medians of {args.repeat} paired run(s)"
        )
        header = ["attachments", "code", "tar MB/s", "backup MB/s", "ratio", "rows/s"]
        header += ["peak RSS", "status"]
        print_cells(header, 11)
        for size, product, user, folder in products_by_size(args):
            first: dict | None = None

            def backup(code: str | None, product=product, user=user) -> dict:
                nonlocal first
                request, first = backup_again(first, product, user)
                result = run_json_child(child_command(__file__, request.id, var_dir, code))
                if result["status"] != "COMPLETE":
                    label = "before" if code else "now"
                    print(f"  {label}: {result['status']}: {result.get('reason')}")
                return result

            medians, runs = paired_runs(
                args.repeat, {"tar": partial(tar_mb_s, folder, var_dir / f"tar-{size}.tar")},
                roots, backup,
            )  # fmt: skip
            tar_rate = medians["tar"]
            for label, results in runs.items():
                rate, peak, statuses = summary(results, "bytes")
                rows = statistics.median(r["rows"] / r["seconds"] for r in results)
                cells = [f"{size} MB", label, f"{tar_rate:.0f}", f"{rate:.0f}"]
                cells += [f"{rate / tar_rate:.2f}x", f"{rows:.0f}", f"{peak:.0f} MB", statuses]
                print_cells(cells, 11)
                if label == "now":
                    figures.append((size, rate / tar_rate))
        print_issue_table(
            [
                f"| backup engine vs `tar cf`, {size} MB of attachments | {ratio:.2f}x "
                f"| >= 1.2x at every size |"
                for size, ratio in figures
            ]
        )


if __name__ == "__main__":
    main()

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
every byte cannot go faster than that, and `tar` hashes nothing; so, beside tar, each pair
also times `tar cf OUT DIR && openssl dgst -sha256 OUT` (tar that hashes every byte once, with
OpenSSL's SHA-256 as hashlib has it): the like-for-like baseline. All read files just
written, from the page cache. The last lines are `BENCH_RESULT {"figure": "engine_vs_tar",
...}`, one per size, for benchmarks/table.py. --compare-with DIR (`git archive <commit> |
tar -x -C DIR`) also runs DIR's engine in each pair. The load is printed before each size: the
machine is shared. Figures, not a pass/fail.
"""

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backup_throughput import execute  # noqa: E402 - the backup, timed in a child
from common import (  # noqa: E402
    HASHED_TAR,
    archive_baselines,
    backup_again,
    bench_result,
    child_command,
    child_main,
    code_roots,
    django_var_dir,
    paired_runs,
    print_cells,
    print_issue_table,
    products_by_size,
    run_json_child,
    sha256_mb_s,
    sizes_parser,
    summary,
    tree_bytes,
)


def child_figures(backup_id: int) -> dict:
    import backups
    from backups.models import Backup

    backup = Backup.objects.get(pk=backup_id)
    return {
        "files_bytes": (backup.counts.get("attachments") or {}).get("files_bytes", 0),
        "code": str(Path(backups.__file__).parent.parent),
    }


def main() -> None:
    parser = sizes_parser(__doc__, sizes="500,2000", issues=200, repeat=3)
    args = parser.parse_args()
    if child_main(args, execute, child_figures):
        return
    roots = code_roots(args.compare_with)

    hash_rate = sha256_mb_s()
    print(f"hashlib.sha256 alone, in memory: {hash_rate:.0f} MB/s (the floor of a checked copy)")
    figures = []
    with django_var_dir("bench-engine-") as var_dir:
        from django.conf import settings

        from backups.models import AttachmentBlob, BackupBlob, BackupPolicy

        root = Path(settings.STORAGES["backups"]["OPTIONS"]["location"])
        header = ["attachments", "code", "tar MB/s", "tar|sha MB/s", "engine MB/s", "vs tar"]
        header += ["vs tar|sha", "vs sha256", "peak RSS", "status"]
        print(
            f"Engine's first backup vs tar cf and vs `{HASHED_TAR}` (tar|sha: tar that hashes "
            f"every byte once): medians of {args.repeat} paired run(s)"
        )
        for size, product, user, folder in products_by_size(args, header):
            BackupPolicy.objects.filter(product=product).update(verify=False)
            template: dict | None = None

            def first_backup(code: str | None, product=product, user=user) -> dict:
                nonlocal template
                # A first backup: the organization holds no copy of any attachment.
                BackupBlob.objects.all().delete()
                AttachmentBlob.objects.all().delete()
                shutil.rmtree(root / "blobs", ignore_errors=True)
                shutil.rmtree(root / "backups", ignore_errors=True)
                backup, template = backup_again(template, product, user)
                return run_json_child(child_command(__file__, backup.pk, var_dir, code))

            baselines = archive_baselines(folder, var_dir)
            medians, runs = paired_runs(args.repeat, baselines, roots, first_backup)
            tar_rate, hashed_rate = medians["tar"], medians["hashed"]
            for label, results in runs.items():
                rate, peak, statuses = summary(results, "files_bytes")
                print_cells(
                    [
                        f"{size} MB",
                        label,
                        f"{tar_rate:.0f}",
                        f"{hashed_rate:.0f}",
                        f"{rate:.0f}",
                        f"{rate / tar_rate:.2f}x",
                        f"{rate / hashed_rate:.2f}x",
                        f"{rate / hash_rate:.2f}x",
                        f"{peak:.0f} MB",
                        statuses,
                    ]
                )
                if label == "now":
                    figures.append(
                        {
                            "mb": size,
                            "ratio": round(rate / tar_rate, 3),
                            "engine_mb_s": round(rate, 1),
                            "tar_mb_s": round(tar_rate, 1),
                            "sha256_mb_s": round(hash_rate, 1),
                            "hashed_tar_mb_s": round(hashed_rate, 1),
                            "ratio_hashed_tar": round(rate / hashed_rate, 3),
                            "peak_rss_mb": round(peak, 1),
                            "status": statuses,
                            "repeat": args.repeat,
                        }
                    )
            # The second backup of the unchanged product: it refers to the copies just made.
            before = tree_bytes(root)
            os.environ.pop("BENCH_PROFILE", None)  # the profile is the first backup's
            backup, template = backup_again(template, product, user)
            second = run_json_child(child_command(__file__, backup.pk, var_dir))
            new = tree_bytes(root) - before
            print(
                f"second backup, unchanged: {second['seconds']:.2f} s, {new:,} new bytes stored "
                f"({100 * new / max(1, second['files_bytes']):.2f}% of its "
                f"{second['files_bytes'] / 1e6:.0f} MB of attachments), {second['status']}"
            )
        print_issue_table(
            [
                f"| backup engine (first backup) vs `tar cf`, {f['mb']} MB | {f['ratio']:.2f}x "
                f"({f['engine_mb_s']:.0f} vs {f['tar_mb_s']:.0f} MB/s; sha256 alone "
                f"{hash_rate:.0f} MB/s; {f['ratio_hashed_tar']:.2f}x hashed tar) "
                f"| >= 1.2x at every size |"
                for f in figures
            ]
        )
        for f in figures:
            bench_result("engine_vs_tar", **f)


if __name__ == "__main__":
    main()

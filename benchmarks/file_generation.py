"""Backup file generation throughput and peak memory, beside `zip -0` and `tar cf` (issue #4).

    .venv/bin/python benchmarks/file_generation.py --sizes 200,2000

For each size (MB of attachments) it makes a Jira product (common.make_product),
backs it up, then in the same run times:
  1. `zip -0 -r -q` and `tar cf` of the bytes the backup holds: its entities and manifest, and
     its attachments, stored once under blobs/<org>/ (#16 item 2), hard-linked into one folder
     at the paths the backup names them (the same files, the same page cache);
  2. backup_file_generate in a child process, whose peak RSS (VmHWM) is read at the end.
It prints MB/s for each, the ratio to `zip -0`, to `tar cf` and to `tar cf && openssl dgst
-sha256` (tar that hashes every byte once), and the peak memory; last, one line
`BENCH_RESULT {"figure": "backup_file_vs_tar", ...}` per size for benchmarks/table.py. Figures,
not pass/fail. --repeat N times tar and the file N times, back to back, and prints medians (the
machine is shared: single runs scatter). --compare-with DIR (a checkout of the code before a
change, e.g. `git archive HEAD | tar -x -C DIR`) also makes each file with DIR's code, in the
same pairs, so before and after are measured under the same load.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    HASHED_TAR,
    archive_baselines,
    backup_as_folder,
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
)


def execute(file_id: int) -> str:
    from backups.services.files import backup_file_generate

    return backup_file_generate(file_id=file_id)


def child_figures(file_id: int) -> dict:
    from backups.models import BackupFile

    return {"bytes": BackupFile.objects.get(pk=file_id).size}


def main() -> None:
    parser = sizes_parser(__doc__, sizes="200,2000", issues=5000, repeat=1)
    args = parser.parse_args()
    if child_main(args, execute, child_figures):
        return
    roots = code_roots(args.compare_with)
    figures = []

    with django_var_dir("bench-file-") as var_dir:
        from backups import storage
        from backups.models import BackupFile
        from backups.services.backup_engine import backup_execute
        from backups.services.backups import backup_request
        from backups.services.files import backup_file_request

        header = ["backup", "code", "zip -0 MB/s", "tar MB/s", "tar|sha MB/s", "file MB/s"]
        header += ["vs zip -0", "vs tar", "vs tar|sha", "peak RSS", "status"]
        print(
            f"Backup file benchmark: medians of {args.repeat} paired run(s); tar|sha is "
            f"`{HASHED_TAR}`, tar that hashes every byte once"
        )
        # Every attachment byte is hashed twice (its own SHA-256, D1, and the file's): a file
        # made on one core cannot go faster than half this; `tar` hashes nothing.
        hash_rate, both_rate = sha256_mb_s(), sha256_mb_s(threads=2)
        print(
            f"hashlib.sha256 alone, in memory: {hash_rate:.0f} MB/s; on each of two threads "
            f"at once: {both_rate:.0f} MB/s"
        )
        for size, product, user, _ in products_by_size(args, header):
            backup = backup_request(product=product, actor=user)
            backup_execute(backup_id=backup.id)
            backup.refresh_from_db()
            # What the file holds: the prefix's entities and the attachments, stored once.
            folder = backup_as_folder(backup, var_dir / f"backup-{size}")

            def backup_file(code: str | None, backup=backup, user=user) -> dict:
                for old in BackupFile.objects.filter(backup=backup):
                    storage.delete_object(old.storage_name)
                    old.delete()
                made = backup_file_request(backup=backup, actor=user)
                return run_json_child(child_command(__file__, made.pk, var_dir, code))

            baselines = archive_baselines(folder, var_dir, zip0=True)
            medians, runs = paired_runs(args.repeat, baselines, roots, backup_file)
            zip_rate, tar_rate, hashed_rate = medians["zip"], medians["tar"], medians["hashed"]
            for label, results in runs.items():
                rate, peak, statuses = summary(results, "bytes")
                print_cells(
                    [
                        f"{backup.total_bytes / 1e6:.0f} MB",
                        label,
                        f"{zip_rate:.0f}",
                        f"{tar_rate:.0f}",
                        f"{hashed_rate:.0f}",
                        f"{rate:.0f}",
                        f"{rate / zip_rate:.2f}x",
                        f"{rate / tar_rate:.2f}x",
                        f"{rate / hashed_rate:.2f}x",
                        f"{peak:.0f} MB",
                        statuses,
                    ]
                )
                if label == "now":
                    figures.append(
                        {
                            "mb": round(backup.total_bytes / 1e6),
                            "ratio_tar": round(rate / tar_rate, 3),
                            "ratio_zip0": round(rate / zip_rate, 3),
                            "file_mb_s": round(rate, 1),
                            "tar_mb_s": round(tar_rate, 1),
                            "zip0_mb_s": round(zip_rate, 1),
                            "hashed_tar_mb_s": round(hashed_rate, 1),
                            "ratio_hashed_tar": round(rate / hashed_rate, 3),
                            "sha256_mb_s": round(hash_rate, 1),
                            "sha256_both_mb_s": round(both_rate, 1),
                            "peak_rss_mb": round(peak, 1),
                            "status": statuses,
                            "repeat": args.repeat,
                        }
                    )
        print_issue_table(
            [
                f"| backup file vs `tar cf`, {f['mb']:.0f} MB | {f['ratio_tar']:.2f}x "
                f"({f['ratio_zip0']:.2f}x `zip -0`; {f['ratio_hashed_tar']:.2f}x "
                f"hashed tar) | >= 0.9x tar |"
                for f in figures
            ]
        )
        for f in figures:
            bench_result("backup_file_vs_tar", **f)


if __name__ == "__main__":
    main()

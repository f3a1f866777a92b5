"""Scale benchmark (#16 item 3): 1M issues + 1M comments + 20 GB of attachments, on disk.

    .venv/bin/python benchmarks/scale.py --issues 1000000 --attachment-gb 20 --postgres

Measured 2026-11-30 09:16-09:31 UTC on this 2-core / 23 GB RAM VM (nothing else running, load
1.1-2.4), code at cbfbab0 (entities files held by content, b9fb8fb; restore files written two
at once while the rows go in, 00ef425; issues staged under their projects, f827700). The page
cache WAS dropped before each step (e.g. 17,634 -> 244 MB cached): every step read from disk.
1,000,000 issues + 1,000,000 comments, 5,120 attachments of 21.47 GB (20 GiB), PostgreSQL:
  step                           seconds  MB/s  rows/s   peak RSS  CPU   written   load before
  tar cf of the attachments      48.6     442   -        3 MB      40 s  21.48 GB  1.12/1.24/2.03
  backup                         44.8     494   44,746   89 MB     46 s  22.12 GB  1.38/1.29/2.00
  second backup, unchanged       18.7     1184  107,328  89 MB     9 s   0.00 GB   1.46/1.32/1.98
  backup file                    60.2     357   33,334   91 MB     70 s  21.49 GB  1.30/1.30/1.95
  restore into an empty product  73.0     303   27,476   122 MB    66 s  21.47 GB  1.73/1.44/1.96
SQLite, same sizes and code:
  tar cf of the attachments      48.0     447   -        3 MB      37 s  21.48 GB  1.18/1.41/1.83
  backup                         40.8     543   49,182   84 MB     46 s  22.12 GB  1.60/1.50/1.84
  second backup, unchanged       8.1      2723  246,856  82 MB     9 s   0.00 GB   1.77/1.57/1.85
  backup file                    58.1     370   34,523   82 MB     71 s  21.49 GB  1.65/1.55/1.84
  restore into an empty product  48.4     457   41,412   90 MB     63 s  21.47 GB  1.50/1.54/1.82
Again at dd97d02 (12:57-13:05 UTC, PostgreSQL, cache dropped, load 1.1-1.8): tar cf 50.8 s,
backup 38.4 s, second backup 7.3 s, backup file 59.5 s, restore 53.9 s (slices written on a
connection of their own while the next is read, productdata/slice_writer), peak RSS 123 MB.
Again at d76ad8b (2026-11-30 15:11-15:17 UTC, PostgreSQL, cache dropped, load 0.9-1.6): tar
cf 51.3 s, backup 33.7 s, second backup 6.0 s, backup file 43.2 s (faster than tar from disk:
two busy threads instead of three, blocks allocated ahead, no read past an attachment's end),
restore 49.8 s, peak RSS 123 MB.
Again at 67f362f on another, slower VM (2026-11-30 18:41-18:55 UTC, PostgreSQL, cache dropped,
load 1.2-1.9; its disk reads and writes at ~231 MB/s, the last one's ~420): tar cf 93.1 s,
backup 97.1 s, second backup 17.8 s, backup file 91.6 s, restore 109.4 s, peak RSS 135 MB.
Every step but the second backup is bound by that disk here: tar alone takes longer than 90 s.
Again at 2faa916 on that VM type in a faster state (2026-11-30 21:27-21:36 UTC, PostgreSQL,
cache dropped, load 0.8-2.8): tar cf 55.7 s, backup 45.3 s, second backup 9.3 s, backup file
59.7 s, restore 61.3 s, peak RSS 135 MB; every step under 90 s.
The second backup stored 1,377 new bytes (its manifest): its entities files are the first's,
held by reference (before b9fb8fb it wrote 0.64 GB of them again, 2.91%).
(At 6fe1f04, 06:52-07:13: backup 59.8 s PG / 50.2 s SQLite; backup file 84.9 / 95.2 s; restore
159.4 / 120.4 s; tar 56.6 / 61.5 s. At 8a1be06, one file at a time: backup 132.3 / 97.8 s.)
rows/s is the step's rows over its whole time, attachments included; the second backup copies
no attachment byte.
The same script at 50,000 issues + 1.07 GB (03:08, load 2.6-3.2): peak RSS 87 / 87 / 85 / 99 MB
for backup / second / file / restore: memory stays flat from 1 GB to 21 GB and 50k to 1M issues.

--restore-only times the restore alone (after an untimed first backup; the source files are
then deleted), --repeat times, beside --compare-with DIR's code in pairs whose order alternates,
each into a new empty product deleted after it:
    .venv/bin/python benchmarks/scale.py --issues 200000 --attachment-gb 4 --restore-only \
        --repeat 3 --compare-with /tmp/before [--postgres]
That command (200,000 issues + comments, 1,024 attachments of 4.29 GB, cache dropped before
each restore), before: each attachment written after the rows, one at a time; after: the files
written two at once while the rows go in (productdata/files_ahead.py, #16, 00ef425):
  08:54-09:00 UTC, --repeat 2, load 1.7-3.2 (013ea09 -> 00ef425):
    PostgreSQL: median 12.6 -> 9.1 s (before 12.8, 12.3; after 9.2, 9.0), 345-360 -> 478-493 MB/s
    SQLite:     median 10.6 -> 9.1 s (before 11.0, 10.3; after 8.3, 9.9)
  08:13-08:36 UTC, --repeat 3, load 5.6-7.5, no idle CPU (ef19b59 -> the same change):
    PostgreSQL: median 44.3 -> 34.4 s (before 29.9, 44.4, 44.3; after 34.4, 28.9, 35.0)
    SQLite:     median 35.3 -> 32.1 s (before 56.4, 35.3, 21.0; after 38.5, 32.1, 29.3)

It makes one Jira product (common.make_product: --issues issues, a comment each,
random incompressible attachment files of --file-mb each, written to disk), then times, each in
a child process whose peak RSS and CPU are its own rusage, read by /usr/bin/time:
  1. `tar cf` of the product's attachment folder (the baseline: reads and writes every byte,
     hashes nothing);
  2. the backup (backup_execute): every attachment read, hashed and written once under blobs/;
  3. a second backup of the unchanged product: it holds the same attachments by reference
     (#16 item 2) and writes only its rows again;
  4. the backup file of the first backup (backup_file_generate, SPEC §7);
  5. a restore of the first backup into an empty product (restore_execute).
Before each step it syncs and drops the page cache (`echo 3 > /proc/sys/vm/drop_caches`) and
says whether that worked; if not, the files were (partly) in the cache and RAM is printed
beside the size. The load average and `uptime` are printed with each figure: the machine is
shared. Each output is deleted as soon as it is measured, the source attachments once the two
backups are done (the later steps read the backup storage, not them), so the peak disk use is
about twice the attachments; the run refuses to start, and stops before a step, if it would
leave less than --keep-free-gb free. Everything lives under --dir (default /work/scale, made
and removed) and, with --postgres, in its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/bs_scale; dropped and made again first, dropped at the end).
The last line is `BENCH_RESULT {"figure": "scale", ...}` (seconds of each step, the highest
peak RSS, whether the cache was dropped before every step); --json-out FILE also writes it to
FILE, which `benchmarks/table.py --scale-json FILE` reads. Figures, not a pass/fail.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402
    backup_again,
    bench_result,
    make_product,
    peak_rss_mb,
    recreate_database,
    setup_django,
    tree_bytes,
    uptime,
)
from scale_steps import drop_cache, print_rows, restores, run_measured  # noqa: E402

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bs_scale")
GB = 1024**3


# --- the child: one step, its figures as a JSON line --------------------------------------------


def child(kind: str, pk: int, var_dir: Path) -> None:
    setup_django(var_dir)
    from backups.models import Backup, BackupFile, Restore
    from backups.services.backup_engine import backup_execute
    from backups.services.files import backup_file_generate
    from backups.services.restore_engine import restore_execute

    start = time.perf_counter()
    if kind == "backup":
        status = backup_execute(backup_id=pk)
        seconds = time.perf_counter() - start
        backup = Backup.objects.get(pk=pk)
        figures = {
            "bytes": backup.total_bytes,
            "rows": sum(e["rows"] for e in backup.counts.values()),
            "reason": backup.failure_reason,
        }
    elif kind == "file":
        status = backup_file_generate(file_id=pk)
        seconds = time.perf_counter() - start
        backup_file = BackupFile.objects.select_related("backup").get(pk=pk)
        counts = backup_file.backup.counts
        figures = {
            "bytes": backup_file.size,
            "rows": sum(e["rows"] for e in counts.values()),
            "reason": getattr(backup_file, "failure_reason", ""),
        }
    else:
        status = restore_execute(restore_id=pk)
        seconds = time.perf_counter() - start
        restore = Restore.objects.select_related("backup").get(pk=pk)
        figures = {
            "bytes": restore.backup.total_bytes,
            "rows": sum(restore.report.get("restored", {}).values()),
            "reason": restore.failure_reason,
        }
    print(json.dumps({"status": status, "seconds": seconds, "hwm_mb": peak_rss_mb(), **figures}))


# --- the parent -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--attachment-gb", type=float, default=20)
    parser.add_argument("--file-mb", type=int, default=4)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--dir", default="/work/scale")
    parser.add_argument("--keep-free-gb", type=float, default=15)
    parser.add_argument(
        "--json-out",
        help="also write the run's BENCH_RESULT figures to this file (benchmarks/table.py "
        "--scale-json reads it)",
    )
    parser.add_argument(
        "--restore-only",
        action="store_true",
        help="time only the restore (after an untimed first backup): no tar, second backup "
        "or backup file",
    )
    parser.add_argument(
        "--compare-with",
        help="a checkout of the code before a change: each restore is also run with its code, "
        "in pairs whose order alternates",
    )
    parser.add_argument("--repeat", type=int, default=1, help="restores (or pairs) to run")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.postgres:
        os.environ["DATABASE_URL"] = PG_URL
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)  # jobs go to this run's own database, not a shared queue
    if args.child:
        child(args.child[0], int(args.child[1]), Path(args.var_dir))
        return

    var_dir = Path(args.dir)
    if var_dir.exists():
        raise SystemExit(f"{var_dir} exists: remove it or pass another --dir")
    parent = var_dir.parent
    size_mb = int(args.attachment_gb * 1024)
    free = shutil.disk_usage(parent).free
    # Peak: the source files and one copy of them (tar's output, then the stored blobs with
    # the backup file or the restore's copies), plus the rows (~3 GB for 1M issues, twice).
    need = 2 * size_mb * 2**20 + 6 * GB * args.issues / 1e6
    if free - need < args.keep_free_gb * GB:
        fits = (free - args.keep_free_gb * GB - 6 * GB * args.issues / 1e6) / 2 / GB
        raise SystemExit(
            f"{args.attachment_gb} GB of attachments does not fit: {free / GB:.0f} GB free, "
            f"about {need / GB:.0f} GB needed at the peak and {args.keep_free_gb} GB kept free; "
            f"the largest that fits is about {fits:.0f} GB"
        )
    if args.postgres:
        recreate_database(PG_URL)
    var_dir.mkdir(parents=True)
    try:
        run(args, var_dir, size_mb)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
        if args.postgres:
            from django.db import connections

            connections.close_all()
            name = PG_URL.rsplit("/", 1)[1]
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE {name}"],
                check=False,
                capture_output=True,
            )


def run(args, var_dir: Path, size_mb: int) -> None:
    setup_django(var_dir)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from backups import storage
    from backups.models import BackupFile, BackupPolicy, Product
    from backups.services.files import backup_file_request
    from backups.services.restores import restore_request

    call_command("migrate", verbosity=0)
    connection.ensure_connection()
    ram = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()[1]
    print(f"scale benchmark, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {os.cpu_count()} cores; free -g: {' '.join(ram.split())}")
    print(f"database: {connection.vendor}; folder: {var_dir}")
    print(f"before: {uptime()}")

    start = time.perf_counter()
    product, user, folder = make_product(
        f"Scale {args.issues}", issues=args.issues, attachment_mb=size_mb, file_mb=args.file_mb
    )
    BackupPolicy.objects.filter(product=product).update(verify=False)  # no check queued after
    if connection.vendor == "postgresql":
        # Untimed, as autovacuum would do (it is off on this machine's server): without
        # statistics each keyset page of the export (product_id = ? AND id > ? ORDER BY id
        # LIMIT 2000) is planned as a BitmapAnd over the product's whole index, so the export
        # is quadratic (a first run was at issue 138,000 after 4 minutes).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    source_bytes = tree_bytes(folder)
    files = sum(1 for _ in folder.iterdir())
    print(
        f"made: {args.issues:,} issues + {args.issues:,} comments, {files:,} attachment files, "
        f"{source_bytes / 1e9:.2f} GB, in {time.perf_counter() - start:.0f} s "
        f"(disk free {shutil.disk_usage(var_dir).free / GB:.0f} GB)"
    )
    backups_root = Path(settings.BACKUPS_ROOT)
    media_root = Path(settings.MEDIA_ROOT)
    rows: list[list[str]] = []
    notes: list[str] = []
    figures: dict[str, float] = {}  # seconds of each step, for the BENCH_RESULT line
    peaks: list[float] = []
    dropped: list[bool] = []

    def guard(step: str, writes: int) -> None:
        free = shutil.disk_usage(var_dir).free
        if free - writes < args.keep_free_gb * GB:
            raise SystemExit(
                f"stopped before {step}: {free / GB:.1f} GB free, it writes up to "
                f"{writes / GB:.1f} GB and {args.keep_free_gb} GB are kept free"
            )

    def step(label: str, command: list[str], writes: int) -> dict:
        guard(label, writes)
        cache = drop_cache()
        dropped.append(cache.startswith("cache dropped"))
        load = "/".join(f"{x:.2f}" for x in os.getloadavg())
        out = var_dir / "child.json"
        seconds, rss, cpu = run_measured(command, out)
        lines = out.read_text().strip().splitlines()
        result = json.loads(lines[-1]) if lines else {}
        result.update(seconds_wall=seconds, rss=rss, cpu=cpu, load=load)
        hwm = f" (VmHWM {result['hwm_mb']:.0f} MB)" if "hwm_mb" in result else ""
        print(f"  {label}: {seconds:.1f} s, peak RSS {rss:.0f} MB{hwm}; {cache}; after: {uptime()}")
        if result.get("status") not in (None, "COMPLETE", "READY"):
            raise SystemExit(f"{label}: {result['status']}: {result.get('reason')}")
        return result

    def row(label: str, result: dict, nbytes: int, nrows: int | None, written: int) -> None:
        # The child's own clock when it has one (Django set-up is not the step's time).
        seconds = result.get("seconds", result["seconds_wall"])
        figures[label] = seconds
        peaks.append(result["rss"])
        rows.append(
            [
                label,
                f"{seconds:.1f}",
                f"{nbytes / 1e6 / seconds:.0f}",
                f"{nrows / seconds:,.0f}" if nrows is not None else "-",
                f"{result['rss']:.0f} MB",
                f"{result['cpu']:.0f} s",
                f"{written / 1e9:.2f} GB",
                result["load"],
            ]
        )

    me = [sys.executable, __file__, "--var-dir", str(var_dir)]
    me += ["--postgres"] if args.postgres else []

    if args.restore_only:
        backup, _ = backup_again(None, product, user)
        step("backup (untimed)", [*me, "--child", "backup", str(backup.pk)], source_bytes + GB)
        backup.refresh_from_db()
        shutil.rmtree(folder)
        restores(args, me, backup, user, source_bytes, step, row)
        print_rows(args, files, source_bytes, rows, notes)
        return

    # 1. tar cf of the attachments.
    tar_out = var_dir / "attachments.tar"
    result = step("tar cf", ["tar", "cf", str(tar_out), "-C", str(folder), "."], source_bytes)
    row("tar cf of the attachments", result, tar_out.stat().st_size, None, tar_out.stat().st_size)
    tar_out.unlink()

    # 2. The first backup: every attachment new.
    backup, template = backup_again(None, product, user)
    before = tree_bytes(backups_root)
    result = step("backup", [*me, "--child", "backup", str(backup.pk)], source_bytes + GB)
    row("backup", result, result["bytes"], result["rows"], tree_bytes(backups_root) - before)
    backup.refresh_from_db()

    # 3. The second backup of the unchanged product. B3 allows one a day: the same request
    # again, under its own prefix (common.backup_again).
    second, _ = backup_again(template, product, user)
    before = tree_bytes(backups_root)
    result = step("second backup", [*me, "--child", "backup", str(second.pk)], 2 * GB)
    new = tree_bytes(backups_root) - before
    row("second backup, unchanged", result, result["bytes"], result["rows"], new)
    notes.append(
        f"second backup of the unchanged product stored {new / 1e6:.1f} MB new "
        f"({100 * new / max(1, result['bytes']):.2f}% of its {result['bytes'] / 1e9:.2f} GB; "
        f"target < 1%); its MB/s is of the bytes it holds, by reference"
    )

    # The source files are not read again: free their space for the next steps.
    shutil.rmtree(folder)
    notes.append("the source attachments were deleted after the second backup (disk space)")

    # 4. The backup file of the first backup.
    backup_file = backup_file_request(backup=backup, actor=user)
    result = step("backup file", [*me, "--child", "file", str(backup_file.pk)], source_bytes + GB)
    backup_file.refresh_from_db()
    row("backup file", result, result["bytes"], result["rows"], result["bytes"])
    storage.delete_object(backup_file.storage_name)
    BackupFile.objects.filter(pk=backup_file.pk).delete()

    # 5. A restore of the first backup into an empty product.
    target = Product.objects.create(
        organization=product.organization, kind="jira", name="Scale restore"
    )
    restore = restore_request(backup=backup, destination=target, actor=user)
    before = tree_bytes(media_root)
    result = step("restore", [*me, "--child", "restore", str(restore.pk)], source_bytes + GB)
    row("restore into an empty product", result, result["bytes"], result["rows"], 0)
    rows[-1][6] = f"{(tree_bytes(media_root) - before) / 1e9:.2f} GB"

    print_rows(args, files, source_bytes, rows, notes)
    result = bench_result(
        "scale",
        database=connection.vendor,
        issues=args.issues,
        comments=args.issues,
        gb=round(source_bytes / 1e9, 2),
        backup_s=round(figures["backup"], 1),
        second_backup_s=round(figures["second backup, unchanged"], 1),
        second_backup_new_bytes=new,
        file_s=round(figures["backup file"], 1),
        restore_s=round(figures["restore into an empty product"], 1),
        tar_s=round(figures["tar cf of the attachments"], 1),
        peak_rss_mb=round(max(peaks), 1),
        cache_dropped=all(dropped),
        measured_at=f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

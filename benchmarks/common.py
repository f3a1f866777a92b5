"""What the benchmarks share, written once: Django set-up, the product they measure, the
baselines (`tar cf`, `tar cf | sha256sum`, sha256 alone), child processes and their JSON line,
the machine's load, and the BENCH_RESULT line benchmarks/table.py reads.

Not a benchmark: `import common` from a script in this folder (the folder is on sys.path when a
script here runs). backup_throughput re-exports setup_django, peak_rss_mb and make_product, which
other scripts and tests/integration import from it.
"""

import argparse
import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # `backups` from this checkout (a child may put another first)


# --- set-up -------------------------------------------------------------------------------------


def setup_django(var_dir: Path) -> None:
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ["BACKUPSITE_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "backupsite.settings"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()


@contextlib.contextmanager
def django_var_dir(prefix: str):
    """A fresh folder (under $BENCH_TMP if set) for the run's files and SQLite database, Django
    set up on it and migrated; removed at the end. Yields the folder."""
    with tempfile.TemporaryDirectory(prefix=prefix, dir=os.environ.get("BENCH_TMP")) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield var_dir


def recreate_database(url: str) -> None:
    """Drop and make again the PostgreSQL database a run has to itself (the URL's last part)."""
    name = url.rsplit("/", 1)[1]
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql],
            check=True,
            capture_output=True,
        )


def make_product(name: str, *, issues: int, attachment_mb: int, file_mb: int):
    """A Jira product with `issues` issues, a comment each, and random (incompressible)
    attachment files of `file_mb` MB making `attachment_mb` MB, written under MEDIA_ROOT.
    Returns (product, its org admin, the attachment folder)."""
    from django.contrib.auth import get_user_model

    from backups.demo.bulk import bulk_random_attachments
    from backups.models import (
        BackupPolicy,
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
    folder = bulk_random_attachments(
        product,
        issue_ids,
        files=max(1, attachment_mb // file_mb),
        size=file_mb * 1024 * 1024,
        created=now,
    )
    return product, user, folder


def products_by_size(args, header: list[str] | None = None):
    """For each of --sizes (MB of attachments): the load, the header of its figures, and a
    product (make_product with --issues and --file-mb). Yields (size, product, user, folder)."""
    for size in (int(s) for s in args.sizes.split(",")):
        if header:
            print(load_line())
            print_cells(header)
        product, user, folder = make_product(
            f"Bench {size} MB", issues=args.issues, attachment_mb=size, file_mb=args.file_mb
        )
        yield size, product, user, folder


def backup_again(template: dict | None, product, user):
    """A backup request for `product`, and the template to repeat it with.

    B3 allows one backup a day: the first call asks backup_request, later ones (pass the
    template back) create the same row again under its own storage prefix."""
    from backups import storage
    from backups.models import Backup
    from backups.services.backups import backup_request

    if template is None:
        backup = backup_request(product=product, actor=user)
        template = {
            f.attname: getattr(backup, f.attname)
            for f in Backup._meta.concrete_fields
            if not f.primary_key
        }
        return backup, template
    backup = Backup.objects.create(**template)
    backup.storage_prefix = storage.backup_prefix(
        organization_id=product.organization_id, product_id=product.pk, backup_id=backup.pk
    )
    backup.save(update_fields=["storage_prefix"])
    return backup, template


# --- figures of this process and this machine ---------------------------------------------------


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load: {one:.2f} {five:.2f} (1, 5 min)"


def sha256_mb_s(mb: int = 512, threads: int = 1) -> float:
    """hashlib.sha256 alone over a buffer in memory: the floor of a copy that checks each byte.
    With `threads`, each hashes `mb` at once (hashlib lets go of the GIL) and the rate of one
    is returned: what each core does while the other hashes too (on this VM two hashing at
    once are slower each than one alone, #16)."""
    buffer = memoryview(os.urandom(1024 * 1024))

    def run() -> None:
        digest = hashlib.sha256()
        for _ in range(mb):
            digest.update(buffer)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return mb * 1.048576 / (time.perf_counter() - start)


# --- archive baselines --------------------------------------------------------------------------


def timed_archive(command: list[str], out: Path, cwd: Path | None = None) -> float:
    """MB/s of a command that writes the archive `out` (removed afterwards)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=cwd)
    seconds = time.perf_counter() - start
    rate = out.stat().st_size / 1e6 / seconds
    out.unlink()
    return rate


def tar_mb_s(folder: Path, out: Path) -> float:
    """`tar cf` of a folder's files: reads and writes every byte, hashes none."""
    return timed_archive(["tar", "cf", str(out), "-C", str(folder), "."], out)


HASHED_TAR = "tar cf OUT DIR && openssl dgst -sha256 OUT"


def hashed_tar_mb_s(folder: Path, out: Path) -> float:
    """HASHED_TAR: tar that also hashes every byte once, the like-for-like baseline of a copy
    that checks SHA-256. OpenSSL's SHA-256, as hashlib's (coreutils' sha256sum 9.1 does not use
    the CPU's SHA instructions: 155 vs 262 MB/s here). The hash reads the archive back from the
    page cache after tar: on this 2-core VM that measured 565 MB/s where `tar cf - | tee OUT |
    openssl dgst -sha256` made 262 MB/s (pipe copies), so it is the stronger baseline."""
    script = 'tar cf "$2" -C "$1" . && openssl dgst -sha256 "$2" >/dev/null'
    return timed_archive(["bash", "-c", script, "hashed-tar", str(folder), str(out)], out)


def zip0_mb_s(folder: Path, out: Path) -> float:
    return timed_archive(["zip", "-0", "-r", "-q", str(out), "."], out, cwd=folder)


def backup_as_folder(backup, folder: Path) -> Path:
    """A folder holding, as hard links, the bytes a backup holds: its prefix's own files
    (entities, manifest) and its attachments at the paths the backup names them, though they are
    stored once under blobs/<org>/ (#16 item 2). What `tar cf`/`zip -0` of the backup must read:
    the same bytes the backup file (SPEC §7) holds, from the same inodes (the same page cache)."""
    from django.conf import settings

    from backups.models import BackupBlob

    root = Path(settings.BACKUPS_ROOT)
    prefix = root / backup.storage_prefix
    links = [(p, folder / p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file()]
    held = BackupBlob.objects.filter(backup=backup).values_list("path", "blob__storage_name")
    links += [(root / stored, folder / path) for path, stored in held]
    for source, link in links:
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():  # an older backup's own copy at that path: kept
            os.link(source, link)
    return folder


def archive_baselines(folder: Path, scratch: Path, *, zip0: bool = False) -> dict:
    """The baselines of paired_runs: `tar cf` and the hashed tar of a folder (and `zip -0`),
    each writing its archive into the scratch folder."""
    baselines = {"zip": partial(zip0_mb_s, folder, scratch / "z.zip")} if zip0 else {}
    baselines["tar"] = partial(tar_mb_s, folder, scratch / "t.tar")
    baselines["hashed"] = partial(hashed_tar_mb_s, folder, scratch / "t.tar")
    return baselines


# --- child processes ----------------------------------------------------------------------------


def code_roots(compare_with: str | None) -> list[tuple[str, str | None]]:
    """("before", DIR) then ("now", None) with --compare-with DIR; else ("now", None) alone."""
    roots: list[tuple[str, str | None]] = [("now", None)]
    if compare_with:
        roots.insert(0, ("before", str(Path(compare_with).resolve())))
    return roots


def use_code_root(code_root: str | None) -> None:
    """In a child: `backups` from the compared checkout, ahead of this one."""
    if code_root:
        sys.path.insert(0, code_root)


def run_json_child(command: list[str], env: dict | None = None) -> dict:
    """Run a child process; its last line of output is a JSON object: return it."""
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_command(script: str, pk: int, var_dir: Path, code_root: str | None = None) -> list:
    """The command that runs `script --child PK` (the parent's own script, in a child)."""
    command = [sys.executable, script, "--child", str(pk), "--var-dir", str(var_dir)]
    return command + (["--code-root", code_root] if code_root else [])


def add_child_arguments(parser) -> None:
    """The hidden options a script's child is started with."""
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)


def sizes_parser(doc: str, *, sizes: str, issues: int, repeat: int) -> argparse.ArgumentParser:
    """The options of a benchmark that measures products of several sizes of attachments,
    --repeat times, optionally beside a checkout of the code before a change."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", default=sizes, help="MB of attachments, comma-separated")
    parser.add_argument("--issues", type=int, default=issues)
    parser.add_argument("--file-mb", type=int, default=4, help="size of each attachment file")
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--compare-with", help="a checkout of the code before a change")
    add_child_arguments(parser)
    return parser


def child_main(args, execute, figures) -> bool:
    """If this process is a child (--child PK): with the compared checkout's code first, set
    Django up, time execute(PK) (profiled with BENCH_PROFILE) and print one JSON line: status,
    seconds, figures(PK)'s and the peak RSS. Returns whether it was a child."""
    if not args.child:
        return False
    use_code_root(args.code_root)
    setup_django(Path(args.var_dir))
    from django.db import connection

    connection.ensure_connection()  # not the job's time
    status, elapsed = profiled(lambda: execute(args.child))
    line = {"status": status, "seconds": elapsed, **figures(args.child)}
    print(json.dumps({**line, "peak_rss_mb": peak_rss_mb()}))
    return True


def paired_runs(repeat: int, baselines: dict, roots: list, run_one) -> tuple[dict, dict]:
    """--repeat times back to back: each baseline (a name -> a function returning MB/s), then
    run_one(code root) for each checkout, so that every checkout and baseline is measured under
    the same load. Returns the baselines' medians and each checkout's results (by label).
    Each starts after a sync (not timed): the gigabytes the step before wrote are on disk, not
    being flushed while this one runs (the tar rate scattered 622-1355 MB/s without it)."""
    rates: dict[str, list[float]] = {name: [] for name in baselines}
    runs: dict[str, list[dict]] = {label: [] for label, _ in roots}
    for _ in range(repeat):
        for name, measure in baselines.items():
            os.sync()
            rates[name].append(measure())
        for label, root in roots:
            os.sync()
            runs[label].append(run_one(root))
    return {name: statistics.median(r) for name, r in rates.items()}, runs


def summary(results: list[dict], bytes_key: str) -> tuple[float, float, str]:
    """Of a checkout's runs: the median MB/s (bytes_key over seconds), the highest peak RSS,
    and the statuses seen."""
    rate = statistics.median(r[bytes_key] / 1e6 / r["seconds"] for r in results)
    peak = max(r["peak_rss_mb"] for r in results)
    return rate, peak, ",".join(sorted({r["status"] for r in results}))


def print_cells(cells: list[str], width: int = 12) -> None:
    print("  ".join(f"{c:>{width}}" for c in cells))


def print_issue_table(rows: list[str]) -> None:
    """The figures as rows of issue #16's table (Markdown)."""
    print()
    print("| figure | now | target |")
    print("|---|---|---|")
    for row in rows:
        print(row)


def profiled(call):
    """call(), timed; with BENCH_PROFILE=<file> its cProfile figures are dumped there.
    Returns (its result, seconds)."""
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - start
    if profiler:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
    return result, elapsed


# --- results ------------------------------------------------------------------------------------


def bench_result(figure: str, **fields) -> dict:
    """Print one measured figure as a machine-readable line (benchmarks/table.py reads it)."""
    line = {"figure": figure, **fields}
    print("BENCH_RESULT " + json.dumps(line), flush=True)
    return line

"""A Confluence restore's rows per second, beside plain Django bulk_create (#16).

    .venv/bin/python benchmarks/confluence_restore.py --pages 50000 --repeat 3
    .venv/bin/python benchmarks/confluence_restore.py --pages 50000 --postgres
    .venv/bin/python benchmarks/confluence_restore.py --pages 50000 --compare-with /tmp/base

It makes a Confluence product with one space of that many pages (a tree: every tenth page at
the top, each other one under the page before it, and every hundredth under a page that comes
after it, as a page moved under a newer one) and a comment each, backs it up, then in each
repeat:
  1. bulk_create: the backup's pages and comments (rows parsed up front, not timed) inserted
     into an empty product with plain `bulk_create(batch_size=1000)`, the tree linked by
     `bulk_update` — the way the restore wrote pages before #16;
  2. restore_execute: the backup restored into another empty product, in a child process
     (restore_throughput's, which reads its peak RSS), with this checkout's code and, with
     --compare-with DIR (`git archive HEAD | tar -x -C DIR`), with DIR's in the same pair.
It prints the medians of rows/s (pages + comments), the ratio to bulk_create, the peak RSS and
the restoring process's CPU seconds. --postgres runs on a scratch database
(BENCH_DATABASE_URL, as restore_throughput; dropped and made again first). Figures, not a
pass/fail.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import code_roots, load_line, recreate_database, setup_django  # noqa: E402
from restore_throughput import PG_URL, restore_of, run_child  # noqa: E402


def make_confluence(org, user, pages: int):
    """A Confluence product: one space of `pages` pages in a tree, a comment each."""
    from backups.models import BackupPolicy, Page, PageComment, Product, Space

    product = Product.objects.create(organization=org, kind="confluence", name="Bench pages")
    BackupPolicy.objects.create(product=product, include_users_and_groups=False)
    space = Space.objects.create(product=product, key="BEN", name="Bench")
    now = datetime.now(UTC)
    made = Page.objects.bulk_create(
        (
            Page(
                space=space,
                title=f"Page {i}: how the service is run",
                body="lorem ipsum dolor sit amet " * 8,
                labels=["runbook", "ops"],
                created=now,
                updated=now,
            )
            for i in range(pages)
        ),
        batch_size=5000,
    )
    for i, page in enumerate(made):
        if i % 100 == 50 and i + 1 < pages:
            page.parent_id = made[i + 1].id  # a page moved under a newer one
        elif i % 10:
            page.parent_id = made[i - 1].id
    Page.objects.bulk_update(made, ["parent"], batch_size=5000)
    PageComment.objects.bulk_create(
        (
            PageComment(page=p, author="Bench", body="Reviewed, still right.", created=now)
            for p in made
        ),
        batch_size=5000,
    )
    return product


def baseline(backup, product) -> tuple[float, int]:
    """Plain bulk_create of the backup's pages and comments, the tree linked after."""
    from backups.models import Page, PageComment, Space
    from backups.services.restores import StoredBackupSource

    source = StoredBackupSource(backup)
    space = Space.objects.create(product=product, key="BEN", name="Bench")
    pages = list(source.rows("pages"))
    comments = list(source.rows("comments"))
    start = time.perf_counter()
    made = Page.objects.bulk_create(
        (
            Page(
                space=space,
                kind=r["kind"],
                title=r["title"],
                body=r["body"],
                version=r["version"],
                state=r["state"],
                labels=r["labels"],
                created=r["created"],
                updated=r["updated"],
            )
            for r in pages
        ),
        batch_size=1000,
    )
    ids = {r["id"]: p.id for r, p in zip(pages, made, strict=True)}
    linked = [Page(id=ids[r["id"]], parent_id=ids[r["parent"]]) for r in pages if r["parent"]]
    Page.objects.bulk_update(linked, ["parent"], batch_size=1000)
    PageComment.objects.bulk_create(
        (
            PageComment(
                page_id=ids[c["page"]], author=c["author"], body=c["body"], created=c["created"]
            )
            for c in comments
        ),
        batch_size=1000,
    )
    return time.perf_counter() - start, len(pages) + len(comments)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=50_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare-with", help="a checkout of the code before a change")
    args = parser.parse_args()
    if args.postgres:
        os.environ["DATABASE_URL"] = PG_URL
        recreate_database(PG_URL)
    roots = code_roots(args.compare_with)
    with tempfile.TemporaryDirectory(prefix="bench-conf-", dir=os.environ.get("BENCH_TMP")) as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection

        from backups.models import Membership, Organization, Product
        from backups.services.backup_engine import backup_execute
        from backups.services.backups import backup_request

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create(username="bench", email="bench@example.com")
        org = Organization.objects.create(slug="bench", name="Bench", enrolled=True)
        Membership.objects.create(user=user, organization=org, role="admin")
        product = make_confluence(org, user, args.pages)
        backup = backup_request(product=product, actor=user)
        backup_execute(backup_id=backup.id)
        print(
            f"Confluence restore on {connection.vendor}: {args.pages} pages + {args.pages} "
            f"comments, medians of {args.repeat} paired run(s); {load_line()}"
        )
        first = None
        bulk: list[float] = []
        runs: dict[str, list[dict]] = {label: [] for label, _ in roots}
        for k in range(args.repeat):
            plain = Product.objects.create(organization=org, kind="confluence", name=f"Plain {k}")
            seconds, rows = baseline(backup, plain)
            bulk.append(rows / seconds)
            for label, root in roots if k % 2 == 0 else roots[::-1]:  # the pair's order alternates
                target = Product.objects.create(
                    organization=org, kind="confluence", name=f"{label} {k}"
                )
                restore, first = restore_of(backup, target, user, first)
                runs[label].append(run_child(restore.pk, var_dir, root, args.postgres))
        bulk_rate = statistics.median(bulk)
        print(
            f"{'code':>8}  {'bulk rows/s':>12}  {'restore rows/s':>14}  {'ratio':>6}  "
            f"{'peak RSS':>9}  {'CPU s':>6}"
        )
        for label, results in runs.items():
            rate = statistics.median(r["rows"] / r["seconds"] for r in results)
            cpu = statistics.median(r["cpu_seconds"][0] for r in results)
            peak = max(r["peak_rss_mb"] for r in results)
            print(
                f"{label:>8}  {bulk_rate:>12.0f}  {rate:>14.0f}  {rate / bulk_rate:>5.2f}x  "
                f"{peak:>6.0f} MB  {cpu:>6.2f}"
            )
        print(load_line())


if __name__ == "__main__":
    main()

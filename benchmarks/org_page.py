"""The Backup and restore page and its polled fragments: queries and time (issue #13 item 11).

    .venv/bin/python benchmarks/org_page.py                       # 1M issues, 10,000 backups
    .venv/bin/python benchmarks/org_page.py --issues 100000 --backups 1000 --products 20

It makes one Jira product with --issues issues (one comment each; bulk inserts, as
backup_throughput.py does), --products small products each with a policy, --backups backups
spread over them (most complete or expired, one in progress so the tables poll) and a restore
per 10 backups, then asks each URL of the page through Django's test client as an org admin:
the page, each tab, an older page of backups, and each fragment the page polls while a job
runs. It prints the queries and the median time of --runs requests per URL (after one warm-up).
Figures, not a pass/fail. URLs the code does not have (an older version) are left out.
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import make_product, setup_django  # noqa: E402


def make_history(org, user, *, products: int, backups: int) -> None:
    """Small products with policies, and `backups` backups (and restores) spread over them."""
    from backups.models import Backup, BackupPolicy, Product, Restore

    for i in range(products):
        kind = "jira" if i % 2 else "confluence"
        product = Product.objects.create(organization=org, kind=kind, name=f"Small {i:03d}")
        BackupPolicy.objects.create(product=product)
    targets = list(Product.objects.filter(organization=org).order_by("id"))
    start = datetime.now(UTC) - timedelta(days=400)
    step = timedelta(days=400) / max(1, backups)
    rows = []
    for n in range(backups):
        product = targets[n % len(targets)]
        started = start + n * step
        status = Backup.Status.EXPIRED if n < backups - 60 else Backup.Status.COMPLETE
        rows.append(
            Backup(
                product=product,
                created_by=user,
                status=status,
                options={"include_attachments": True, "include_users_and_groups": True},
                started_at=started,
                completed_at=started + timedelta(minutes=5),
                counts={"issues": {"rows": 10, "bytes": 1000}},
                total_bytes=123_456,
            )
        )
    Backup.objects.bulk_create(rows, batch_size=2000)
    # One running backup: the backups table (and the policies riding with it) polls.
    Backup.objects.create(
        product=targets[0], created_by=user, started_at=datetime.now(UTC), bytes_total=10
    )
    done = list(Backup.objects.filter(product__organization=org).order_by("id")[::10])
    Restore.objects.bulk_create(
        [
            Restore(
                backup=b,
                source_backup_id=b.id,
                source_product_name=b.product.name,
                source_taken_at=b.started_at,
                destination=b.product,
                created_by=user,
                status=Restore.Status.COMPLETE,
                started_at=b.started_at + timedelta(hours=1),
                completed_at=b.started_at + timedelta(hours=2),
            )
            for b in done
        ],
        batch_size=2000,
    )


def urls(slug: str) -> list[tuple[str, str]]:
    """(label, URL) of the page, its tabs and its polled fragments, as this version has them."""
    from django.urls import NoReverseMatch, reverse

    org = reverse("org", args=[slug])
    found = [
        ("page (default tab)", org),
        ("tab=policies", org + "?tab=policies"),
        ("tab=backups", org + "?tab=backups"),
        ("tab=backups page=100", org + "?tab=backups&page=100"),
        ("tab=restores", org + "?tab=restores"),
        ("poll: backups + policies", org + "?tab=overview&fragment=backups"),
        ("poll: backups tab", org + "?tab=backups&fragment=backups"),
        ("poll: restores", org + "?tab=restores&fragment=restores"),
    ]
    # The fragment routes the page polled before #13 item 11 (their views are not the page's).
    old = (("poll: old backups_table", "backups_table"), ("poll: old restores", "restores_table"))
    for label, name in old:
        with contextlib.suppress(NoReverseMatch):
            found.append((label, reverse(name, args=[slug])))
    return found


def measure(client, url: str, runs: int) -> tuple[int, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: templates compiled, caches filled
    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
        queries = len(ctx.captured_queries)
    return queries, statistics.median(times) * 1000, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--backups", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=20, help="small products with policies")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-org-", dir=os.environ.get("BENCH_TMP")) as tmp:
        setup_django(Path(tmp))
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client

        settings.ALLOWED_HOSTS = ["*"]
        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        product, user, _ = make_product("Big Jira", issues=args.issues, attachment_mb=1, file_mb=1)
        make_history(product.organization, user, products=args.products, backups=args.backups)
        try:  # the stored summary of #13 item 11, where this version has one
            from backups.selectors import refresh_content_summary
        except ImportError:
            pass
        else:
            for p in product.organization.products.all():
                refresh_content_summary(p)
        print(
            f"Org page benchmark: 1 product with {args.issues:,} issues (+1 comment each), "
            f"{args.products} more products with policies, {args.backups:,} backups; "
            f"built in {time.perf_counter() - start:.0f} s. Median of {args.runs} requests."
        )
        client = Client()
        client.force_login(user)
        print(f"{'URL':<28} {'queries':>8} {'ms':>9}")
        for label, url in urls(product.organization.slug):
            queries, ms, status = measure(client, url, args.runs)
            note = "" if status == 200 else f"  (HTTP {status})"
            print(f"{label:<28} {queries:>8} {ms:>9.1f}{note}")


if __name__ == "__main__":
    main()

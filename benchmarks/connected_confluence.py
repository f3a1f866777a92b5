"""A connected Confluence Cloud site's backup and restore against the contract server (#12).

    .venv/bin/python benchmarks/connected_confluence.py --pages 2000 --latency-ms 50

Beside benchmarks/connected_jira.py. The contract server (backups/devsite/confluence_site.py)
plays the site on 127.0.0.1 and waits LATENCY_MS before answering every API call, as a site
across the internet would. The site has PAGES pages in SPACES spaces, nested up to 6 deep, a
comment on every tenth, and FILES attachments of FILE_KB. In child processes (so that peak RSS
is the worker's alone, and memory can be seen to stay flat as the site grows):
  1. a backup of the connected site (pages/s, MB/s of attachments, API calls, peak RSS);
  2. the site emptied, and that backup restored into it (pages/s, MB/s, API calls, peak RSS).
Figures, not pass/fail.
"""

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from backup_throughput import setup_django  # noqa: E402
from connected_jira import run_child  # noqa: E402 - the same child: a backup or a restore by id

EMAIL, TOKEN = "bench@example.com", "bench-token"


def seed(site, args) -> None:
    site.add_account(EMAIL, TOKEN, name="Bench Admin")
    rnd = random.Random(1)
    spaces = [site.add_space(f"B{s}", f"Bench space {s}") for s in range(args.spaces)]
    by_depth: dict[tuple[int, int], list] = {}
    pages = []
    for n in range(args.pages):
        s = n % args.spaces
        depth = n // args.spaces % 6
        parent = rnd.choice(by_depth[(s, depth - 1)]) if depth else None
        page = site.add_page(
            spaces[s], f"Page {n}", "<p>" + "Words of the page. " * 40 + "</p>", parent=parent
        )
        by_depth.setdefault((s, depth), []).append(page)
        pages.append(page)
        if n % 10 == 0:
            site.add_comment(page, "<p>A comment.</p>")
    for k in range(args.files):
        site.add_attachment(pages[k % len(pages)], f"f{k}.bin", os.urandom(args.file_kb * 1024))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--spaces", type=int, default=4)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--file-kb", type=int, default=256)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-confluence-") as tmp:
        var_dir = Path(tmp)
        setup_django(var_dir)
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from backups.devsite.confluence_site import ConfluenceSite
        from backups.models import Membership, Organization
        from backups.services.backups import backup_request
        from backups.services.connections import SiteDetails, connection_create

        call_command("migrate", verbosity=0)
        site = ConfluenceSite().start()
        seed(site, args)
        site.latency = args.latency_ms / 1000
        user = get_user_model().objects.create_user("bench-admin")
        org = Organization.objects.create(name="Bench", slug="bench", enrolled=True)
        Membership.objects.create(user=user, organization=org, role="admin")
        connection = connection_create(
            organization=org,
            actor=user,
            details=SiteDetails("confluence", "Bench wiki", site.wiki_url, EMAIL, TOKEN),
        )
        assert connection.check_ok, connection.check_message
        mb = args.files * args.file_kb / 1024
        print(
            f"Connected Confluence: {args.pages} pages in {args.spaces} spaces (6 deep), a "
            f"comment on every tenth, {args.files} attachments ({mb:.0f} MB); "
            f"{args.latency_ms:g} ms per API call"
        )
        calls = len(site.requests)
        backup = backup_request(product=connection.product, actor=user)
        b = run_child(var_dir, "backup", backup.pk)
        print(
            f"  backup : {b['status']:9s} {b['seconds']:7.1f} s  "
            f"{args.pages / b['seconds']:7.0f} pages/s  {mb / b['seconds']:6.1f} MB/s  "
            f"{len(site.requests) - calls} API calls  peak RSS {b['peak_rss_mb']:.0f} MB "
            f"{b['reason']}"
        )
        site.wipe()
        calls = len(site.requests)
        r = run_child(var_dir, "restore", backup.pk, connection.product.pk)
        print(
            f"  restore: {r['status']:9s} {r['seconds']:7.1f} s  "
            f"{args.pages / r['seconds']:7.0f} pages/s  {mb / r['seconds']:6.1f} MB/s  "
            f"{len(site.requests) - calls} API calls  peak RSS {r['peak_rss_mb']:.0f} MB "
            f"{r['reason']}"
        )
        site.stop()


if __name__ == "__main__":
    main()

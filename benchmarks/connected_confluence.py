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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from connected_jira import EMAIL, TOKEN, connect, round_trip, running_site  # noqa: E402


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

    with running_site("bench-confluence-", "confluence") as (var_dir, site):
        seed(site, args)
        site.latency = args.latency_ms / 1000
        user, connection = connect("confluence", "Bench wiki", site.wiki_url)
        mb = args.files * args.file_kb / 1024
        print(
            f"Connected Confluence: {args.pages} pages in {args.spaces} spaces (6 deep), a "
            f"comment on every tenth, {args.files} attachments ({mb:.0f} MB); "
            f"{args.latency_ms:g} ms per API call"
        )
        round_trip(var_dir, site, connection, user, items=args.pages, unit="pages", mb=mb)


if __name__ == "__main__":
    main()

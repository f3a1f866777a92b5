"""A Confluence Cloud site of 2,000 pages nested 6 deep with 1,000 attachments round-trips
through a backup and a restore into the emptied site: the same tree, bodies, statuses and
file bytes (#12, C4, C6)."""

import random

import pytest

from backups.models import Backup
from tests.components import sqlite_pass_only
from tests.services.helpers import read_rows, run_backup_of

from .confluence_helpers import connected, restore_into  # noqa: F401 - the fixture

# The site's side is all HTTP; the database holds one backup row. Once is enough.
pytestmark = [pytest.mark.django_db, sqlite_pass_only]

PAGES = 2_000
FILES = 1_000
DEPTH = 6


def seed_large_site(site) -> None:
    rnd = random.Random(12)
    spaces = [site.add_space(f"S{n}", f"Space {n}") for n in range(4)]
    levels: dict[int, list] = {}  # depth -> the pages at that depth
    pages = []
    for n in range(PAGES):
        s = n % len(spaces)
        space = spaces[s]
        depth = n // len(spaces) % DEPTH  # every depth 0..5 in every space
        parents = [p for p in levels.get(depth - 1, []) if p.space_id == space.id]
        parent = rnd.choice(parents) if depth else None
        status = "trashed" if n % 97 == 0 else "archived" if n % 89 == 0 else "current"
        page = site.add_page(
            space, f"Page {n}", f"<p>Body of page {n}</p>" * 3, parent=parent, status=status
        )
        levels.setdefault(depth, []).append(page)
        pages.append(page)
        if n % 20 == 0:
            site.add_comment(page, f"<p>comment on {n}</p>")
    for k in range(FILES):
        site.add_attachment(pages[k * 2], f"file-{k}.bin", rnd.randbytes(512 + k % 2048))


def test_two_thousand_pages_six_deep_with_a_thousand_files_round_trip(confluence_site, connected):  # noqa: F811
    connection, admin = connected
    seed_large_site(confluence_site)
    before = confluence_site.snapshot()
    deepest = max(c["path"].count("/") for s in before["spaces"].values() for c in s["content"])
    assert deepest == DEPTH - 1  # six levels: 0..5 slashes
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.COMPLETE, backup.missing
    assert len(read_rows(backup, "attachments")) == FILES
    confluence_site.wipe()

    status, restore = restore_into(connection.product, backup, admin)
    assert status == "COMPLETE", restore.failure_reason
    assert confluence_site.snapshot() == before
    assert restore.report["restored"]["attachments"] == FILES
    assert restore.report["restored"]["pages"] == PAGES + 4  # and the four home pages

"""The Backup and restore page at 1280 and 390 px: every table fits its column, no page scrolls
sideways; its tabs are URLs; the Backups tab pages back to older backups (#13 items 1, 2)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from backups.models import Backup, BackupPolicy, Restore

from .conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.browser

BACKUPS = 62  # more than one page of 50
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def history(demo):
    """A long history: BACKUPS finished backups, one running; restores, one running."""
    for product in (demo.jira, demo.confluence):
        BackupPolicy.objects.create(product=product)
    Backup.objects.bulk_create(
        Backup(
            product=demo.jira if n % 2 else demo.confluence,
            created_by=demo.alice,
            status=Backup.Status.COMPLETE if n > BACKUPS - 10 else Backup.Status.EXPIRED,
            started_at=T0 + timedelta(hours=n),
            completed_at=T0 + timedelta(hours=n, minutes=7),
            total_bytes=45_000_000 + n,
        )
        for n in range(BACKUPS)
    )
    Backup.objects.create(
        product=demo.confluence,
        created_by=demo.alice,
        started_at=datetime.now(UTC),
        items_total=400,
        items_done=100,
    )
    newest = Backup.objects.filter(status=Backup.Status.COMPLETE).order_by("-started_at")
    for n, backup in enumerate(newest[:6]):
        Restore.objects.create(
            backup=backup,
            source_backup_id=backup.id,
            source_product_name=backup.product.name,
            source_taken_at=backup.started_at,
            destination=demo.confluence_sandbox if n else demo.jira_sandbox,
            created_by=demo.alice,
            status=Restore.Status.IN_PROGRESS if n == 0 else Restore.Status.COMPLETE,
            started_at=backup.started_at + timedelta(hours=1),
            completed_at=None if n == 0 else backup.started_at + timedelta(hours=2),
            items_total=500,
        )
    return demo


OVERFLOW = """() => {
  const wide = (el) => el.scrollWidth > el.clientWidth;
  const out = [];
  const doc = document.documentElement;
  if (wide(doc)) out.push(`document ${doc.scrollWidth} > ${doc.clientWidth}`);
  for (const box of document.querySelectorAll(".table-scroll")) {
    const name = box.querySelector("table").className;
    if (wide(box)) out.push(`${name}: ${box.scrollWidth} > ${box.clientWidth}`);
  }
  return out;
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_every_table_fits_and_no_page_scrolls_sideways(page, live_server, history, viewport):
    page.set_viewport_size(viewport)
    login(page, live_server, "alice")
    org = f"{live_server.url}/orgs/acme/backup-and-restore/"
    for query, tables in (
        ("", 4),  # overview: products, policies, the latest backups, the latest restores
        ("?tab=backups", 1),
        ("?tab=backups&page=2", 1),
        ("?tab=restores", 1),
    ):
        page.goto(org + query)
        expect(page.locator(".table-scroll")).to_have_count(tables)
        assert page.evaluate(OVERFLOW) == [], f"{query or 'overview'} at {viewport['width']} px"


def test_the_tabs_are_urls_and_the_backups_tab_pages_to_older_backups(page, live_server, history):
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/")
    tabs = page.get_by_role("navigation", name="Backup and restore sections")
    expect(tabs.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    expect(page.locator("#backups")).to_contain_text(
        f"The latest 5 of {BACKUPS + 1} backups. All backups"
    )

    tabs.get_by_role("link", name="Backups").click()
    page.wait_for_url(re.compile(r".*/backup-and-restore/\?tab=backups$"))
    expect(tabs.get_by_role("link", name="Backups")).to_have_attribute("aria-current", "page")
    expect(tabs.get_by_role("link", name="Overview")).not_to_have_attribute("aria-current", "page")
    rows = page.locator("#backups-table tbody tr")
    expect(rows).to_have_count(50)
    pages = page.get_by_role("navigation", name="Pages of backups")
    expect(pages).to_contain_text(f"Backups 1–50 of {BACKUPS + 1}")
    last_on_first = rows.nth(49).get_attribute("id")

    pages.get_by_role("link", name="Older").click()
    page.wait_for_url(re.compile(r".*\?tab=backups&page=2$"))
    expect(pages).to_contain_text(f"Backups 51–{BACKUPS + 1} of {BACKUPS + 1}")
    expect(pages.get_by_role("link", name="2")).to_have_attribute("aria-current", "page")
    expect(rows).to_have_count(BACKUPS + 1 - 50)
    # Older: every backup here started before the last one of the first page.
    oldest_first_page = Backup.objects.get(pk=int(last_on_first.split("-")[1])).started_at
    ids = [int(i.split("-")[1]) for i in rows.evaluate_all("rows => rows.map(r => r.id)")]
    assert all(b.started_at < oldest_first_page for b in Backup.objects.filter(pk__in=ids))

    tabs.get_by_role("link", name="Restores").click()
    page.wait_for_url(re.compile(r".*\?tab=restores$"))
    expect(page.get_by_role("heading", name="Restores", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name="Backups", level=2)).to_have_count(0)
    expect(page.locator("#restores-table tbody tr")).to_have_count(6)


def test_the_tabs_work_without_javascript(browser, live_server, history):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, live_server, "alice")
        page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/?tab=backups&page=2")
        expect(page.get_by_role("navigation", name="Pages of backups")).to_contain_text(
            f"Backups 51–{BACKUPS + 1} of {BACKUPS + 1}"
        )
        page.get_by_role("link", name="Newer").click()
        page.wait_for_url(re.compile(r".*\?tab=backups$"))
        expect(page.locator("#backups-table tbody tr")).to_have_count(50)
    finally:
        context.close()

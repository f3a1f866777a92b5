"""The main pages at 1280 and 390 px, for a person to look at (issue #13, item 15).

Each test opens a page with a representative state (a backup running, a backup file being
made, a restore running), checks that it rendered, and saves a full-page screenshot at both
widths under $BACKUPSITE_SHOTS (default /tmp/shots/screens). Compare a run before a CSS change
with a run after it. The tests also assert that nothing but the tables is wider than the
phone screen (a table may scroll inside its own box; the page must not).
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backups.models import Backup, BackupFile, BackupPolicy, Restore

from .conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("BACKUPSITE_SHOTS", "/tmp/shots/screens"))
ORG = "/orgs/acme/backup-and-restore/"


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


@pytest.fixture
def scene(demo):
    """A complete Jira backup whose file is being made, a running Confluence backup, and a
    restore running into the Jira sandbox."""
    now = timezone.now()
    BackupPolicy.objects.create(product=demo.jira)
    BackupPolicy.objects.create(product=demo.confluence)
    done = Backup.objects.create(
        product=demo.jira,
        status=Backup.Status.COMPLETE,
        started_at=now - timedelta(days=1, minutes=5),
        completed_at=now - timedelta(days=1),
        total_bytes=44_214,
        counts={"issues": {"rows": 30, "bytes": 44_214}},
        created_by=demo.alice,
    )
    BackupFile.objects.create(
        backup=done,
        status=BackupFile.Status.GENERATING,
        created_at=now - timedelta(minutes=2),
        claimed_at=now - timedelta(minutes=2),
        bytes_done=30_000_000,
        bytes_total=60_000_000,
    )
    running = Backup.objects.create(
        product=demo.confluence,
        status=Backup.Status.IN_PROGRESS,
        started_at=now - timedelta(minutes=4),
        claimed_at=now - timedelta(minutes=4),
        items_done=40,
        items_total=100,
        bytes_done=4_000_000,
        bytes_total=10_000_000,
        created_by=demo.alice,
    )
    restore = Restore.objects.create(
        backup=done,
        source_backup_id=done.pk,
        source_product_name=demo.jira.name,
        source_taken_at=done.started_at,
        destination=demo.jira_sandbox,
        status=Restore.Status.IN_PROGRESS,
        started_at=now - timedelta(minutes=3),
        claimed_at=now - timedelta(minutes=3),
        items_done=25,
        items_total=100,
        created_by=demo.alice,
    )
    return {"done": done, "running": running, "restore": restore}


def no_sideways_scroll(page) -> None:
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(DESKTOP)
    assert width <= PHONE["width"], f"the page is {width} px wide at {PHONE['width']} px"


def test_login_page(page, live_server, demo):
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    shoot(page, "login")
    no_sideways_scroll(page)


def test_home_and_org_page(page, live_server, scene):
    login(page, live_server, "alice")
    shoot(page, "home")
    page.goto(f"{live_server.url}{ORG}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Backup and restore")
    shoot(page, "org")


def test_backup_pages(page, live_server, scene):
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}{ORG}backups/{scene['running'].pk}/")
    expect(page.locator("progress").first).to_be_visible()
    shoot(page, "backup-running")
    no_sideways_scroll(page)
    page.goto(f"{live_server.url}{ORG}backups/{scene['done'].pk}/")
    expect(page.get_by_text("Generating the backup file…")).to_be_visible()
    shoot(page, "backup-file")
    no_sideways_scroll(page)


def test_restore_pages(page, live_server, scene):
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}{ORG}restores/new/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shoot(page, "restore-wizard")
    no_sideways_scroll(page)
    page.goto(f"{live_server.url}{ORG}restores/{scene['restore'].pk}/")
    expect(page.locator("progress").first).to_be_visible()
    shoot(page, "restore-running")
    no_sideways_scroll(page)


def test_upload_page(page, live_server, demo):
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}{ORG}uploads/new/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shoot(page, "upload")
    no_sideways_scroll(page)


def test_backup_outcomes_and_the_policy_form(page, live_server, demo):
    """The boxes: a failed backup's alert, an incomplete one's warning, an expired one's notice."""
    now = timezone.now()
    shown = {
        "failed": {"status": Backup.Status.FAILED, "failure_reason": "The site stopped answering."},
        "incomplete": {
            "status": Backup.Status.INCOMPLETE,
            "missing": [{"what": "ACME-3 / log.txt", "reason": "The file was gone."}],
        },
        "expired": {"status": Backup.Status.EXPIRED, "expired_at": now - timedelta(days=1)},
    }
    login(page, live_server, "alice")
    for name, fields in shown.items():
        backup = Backup.objects.create(
            product=demo.jira,
            started_at=now - timedelta(days=20),
            completed_at=now - timedelta(days=20),
            **fields,
        )
        page.goto(f"{live_server.url}{ORG}backups/{backup.pk}/")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        shoot(page, f"backup-{name}")
        no_sideways_scroll(page)
    page.goto(f"{live_server.url}{ORG}policies/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create backup policy")
    shoot(page, "policy-form")

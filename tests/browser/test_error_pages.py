"""The stale-form page in Chromium, at 1280 and 390 px (issue #13, item 6): a form sent from a
page whose security token went stale says to reload, and "Reload and try again" works.

Screenshots go to $BACKUPSITE_SHOTS (default /tmp/shots/error-pages).
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backups.models import BackupPolicy

from .conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("BACKUPSITE_SHOTS", "/tmp/shots")) / "error-pages"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_a_stale_form_says_reload_and_reloading_works(page, live_server, demo, viewport):
    page.set_viewport_size(viewport)
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/policies/new/")
    page.get_by_label("Product").select_option(label="Acme Jira (Jira)")
    # Another tab logged out and in again: the browser now holds a different token.
    page.context.add_cookies([{"name": "csrftoken", "value": "A" * 32, "url": live_server.url}])
    page.get_by_role("button", name="Create backup policy").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Please reload the page and try again"
    )
    expect(page.locator("#what-happened")).to_contain_text(
        "The form you sent was out of date, so it was not accepted."
    )
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"csrf-{viewport['width']}.png", full_page=True)
    assert not BackupPolicy.objects.exists()

    page.get_by_role("link", name="Reload and try again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create backup policy")
    page.get_by_label("Product").select_option(label="Acme Jira (Jira)")
    page.get_by_role("button", name="Create backup policy").click()
    page.wait_for_url(re.compile(r".*#policies$"))
    assert BackupPolicy.objects.filter(product=demo.jira).exists()

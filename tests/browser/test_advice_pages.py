"""Whom to ask, in Chromium at 1280 and 390 px (issue #13, item 5): bob (a member) is told the
org admins by name; carol (a not-enrolled organization's admin) gets a contact.

Screenshots go to $BACKUPSITE_SHOTS (default /tmp/shots/advice).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("BACKUPSITE_SHOTS", "/tmp/shots")) / "advice"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
@pytest.mark.parametrize(
    "username, slug, element, words",
    [
        ("bob", "acme", "#org-admins", "ask the org admin of Acme: alice (alice@example.com)."),
        ("carol", "globex", "#contact", "contact your account representative at backupsite@"),
    ],
    ids=["member", "not-enrolled"],
)
def test_whom_to_ask(page, live_server, demo, viewport, username, slug, element, words):
    page.set_viewport_size(viewport)
    login(page, live_server, username)
    page.goto(f"{live_server.url}/orgs/{slug}/backup-and-restore/")
    expect(page.locator(element)).to_contain_text(words)
    expect(page.locator(element).get_by_role("link")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{username}-{viewport['width']}.png", full_page=True)

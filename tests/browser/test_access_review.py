"""Review product access in Chromium, at 1280 and 390 px (issue #13, item 7; R7): approve and
revoke, each through its confirmation page, and the decisions kept on the page.

Screenshots go to $BACKUPSITE_SHOTS (default /tmp/shots/access-review).
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backups.models import OrgGroup, ProductAccess

from .conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("BACKUPSITE_SHOTS", "/tmp/shots")) / "access-review"
REVIEW = "/orgs/acme/backup-and-restore/product-access/"


def fits(page) -> None:
    """Nothing makes the page scroll sideways (a table may scroll in its own box)."""
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def shoot(page, name: str, viewport: dict) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{viewport['width']}.png", full_page=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_approve_then_revoke_through_their_confirmations(page, live_server, demo, viewport):
    group = OrgGroup.objects.create(organization=demo.acme, name="restored-team")
    group.members.add(demo.alice, demo.bob)
    access = ProductAccess.objects.create(group=group, product=demo.jira_sandbox, approved=False)
    page.set_viewport_size(viewport)
    login(page, live_server, "alice")
    page.goto(live_server.url + REVIEW)
    fits(page)

    page.get_by_role("link", name="Approve… access of restored-team to Acme Jira sandbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Approve access of restored-team to Acme Jira sandbox?"
    )
    expect(page.locator("#what-changes")).to_contain_text(
        "The 2 members of restored-team will get access to Acme Jira sandbox."
    )
    expect(page.locator("#what-changes")).to_contain_text("This may affect your billing")
    fits(page)
    shoot(page, "approve-confirm", viewport)
    access.refresh_from_db()
    assert access.approved is False  # the confirmation alone changes nothing

    page.get_by_role("button", name="Approve access").click()
    expect(
        page.get_by_text("Approved: restored-team now has access to Acme Jira sandbox.")
    ).to_be_visible()
    decisions = page.locator("#decisions")
    expect(decisions).to_contain_text("Approved")
    expect(decisions).to_contain_text("restored-team")
    access.refresh_from_db()
    assert access.approved is True

    page.get_by_role("link", name="Revoke… access of restored-team to Acme Jira sandbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Revoke access of restored-team to Acme Jira sandbox?"
    )
    fits(page)
    page.get_by_role("button", name="Revoke access").click()
    expect(
        page.get_by_text(re.compile("^Revoked: restored-team no longer has access"))
    ).to_be_visible()
    rows = page.locator("#decisions tbody tr")
    expect(rows.first).to_contain_text("Revoked")
    expect(rows.nth(1)).to_contain_text("Approved")
    assert not ProductAccess.objects.filter(pk=access.pk).exists()
    fits(page)
    shoot(page, "history", viewport)

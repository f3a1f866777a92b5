"""The Backup and restore page in a real browser: login, navigation, who sees what."""

import pytest
from playwright.sync_api import expect

from backups.productdata import content_summary

from .conftest import login

pytestmark = pytest.mark.browser


def counted(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def test_org_admin_logs_in_and_sees_the_products(page, live_server, demo):
    login(page, live_server, "alice")
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()

    page.get_by_role("link", name="Backup and restore for Acme").click()
    page.wait_for_url(f"{live_server.url}/orgs/acme/backup-and-restore/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Backup and restore")

    for product in (demo.jira, demo.confluence):
        summary = content_summary(product)
        assert summary.items > 0
        row = page.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=product.name, exact=True)
        )
        expect(row).to_have_count(1)
        expect(row).to_contain_text(product.get_kind_display())
        expect(row).to_contain_text(product.url)
        expect(row).to_contain_text(counted(summary.containers, summary.container_label))
        expect(row).to_contain_text(counted(summary.items, summary.item_label))
        expect(row).to_contain_text(counted(summary.comments, "comment"))
        expect(row).to_contain_text(counted(summary.attachments, "attachment"))
    for product in (demo.jira_sandbox, demo.confluence_sandbox):
        row = page.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=product.name, exact=True)
        )
        expect(row).to_contain_text("Empty")
    expect(page.get_by_text("Globex Jira")).to_have_count(0)

    # Our stylesheet is served and applied (no framework, system fonts).
    font = page.locator("body").evaluate("el => getComputedStyle(el).fontFamily")
    assert "system-ui" in font


def test_other_organizations_admin_gets_not_found(page, live_server, demo):
    login(page, live_server, "carol")
    response = page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text("Acme Jira")).to_have_count(0)


def test_log_out_returns_to_the_login_page(page, live_server, demo):
    login(page, live_server, "alice")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    response = page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/")
    assert response.url.startswith(f"{live_server.url}/accounts/login/")

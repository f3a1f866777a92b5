"""Every main page under the Content-Security-Policy, in Chromium (issue #10, item 8).

The `page` fixture (conftest.py) fails a test on any CSP violation the browser reports; this
walks each page a person uses, as they reach it, so a new inline script or style attribute
anywhere fails here. The first test proves the detector itself catches one.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from backups.services.files import backup_file_request
from backups.tasks import backup_file_task
from tests.services.helpers import run_backup_of

from .conftest import login

pytestmark = pytest.mark.browser


def no_violation_yet(page, csp_violations) -> None:
    """Check the page just shown: the browser reported nothing, in the page or to the test."""
    assert page.evaluate("window.__cspViolations || []") == []
    assert csp_violations == []
    header = page.evaluate(
        "fetch(location.href, {credentials: 'same-origin'})"
        ".then(r => r.headers.get('Content-Security-Policy'))"
    )
    assert "default-src 'self'" in header, page.url


def test_the_browser_reports_a_violation_and_the_page_fixture_records_it(
    page, live_server, csp_violations
):
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert csp_violations == []

    # What an inline style attribute or script in a template would do.
    page.evaluate(
        """() => {
          document.body.insertAdjacentHTML("beforeend", '<p style="color: red">styled</p>');
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.append(script);
        }"""
    )
    page.wait_for_function("(window.__cspViolations || []).length >= 2")

    assert page.evaluate("window.inlineRan === undefined")
    assert page.locator("p", has_text="styled").evaluate("p => getComputedStyle(p).color") != (
        "rgb(255, 0, 0)"
    )
    directives = " ".join(csp_violations)
    assert "event: style-src-attr blocked inline" in directives
    assert "event: script-src-elem blocked inline" in directives
    assert "console: Applying inline style violates" in directives
    csp_violations.clear()  # seen: this test passes


def test_no_main_page_breaks_the_content_security_policy(
    page, live_server, demo, csp_violations, settings
):
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    backup_file_task(backup_file.pk)
    base = live_server.url
    org_url = f"{base}/orgs/acme/backup-and-restore/"

    # Anonymous: the login page.
    page.goto(f"{base}/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    no_violation_yet(page, csp_violations)

    login(page, live_server, "alice")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    no_violation_yet(page, csp_violations)

    page.get_by_role("link", name="Acme").first.click()
    expect(page.get_by_role("heading", name="Backup and restore")).to_be_visible()
    no_violation_yet(page, csp_violations)

    # A backup with its file ready: the Copy button is the page's own script.
    page.goto(f"{org_url}backups/{backup.pk}/")
    file_section = page.locator("#file")
    expect(file_section.get_by_role("button", name="Download", exact=True)).to_be_enabled()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    file_section.get_by_role("button", name="Copy SHA-256").click()
    expect(file_section.get_by_role("button", name="Copied SHA-256")).to_be_visible()
    no_violation_yet(page, csp_violations)

    # The policy forms.
    page.goto(org_url)
    page.get_by_role("link", name="Edit policy of Acme Jira", exact=True).click()
    expect(page.get_by_role("heading", name="Edit policy")).to_be_visible()
    no_violation_yet(page, csp_violations)
    page.goto(f"{org_url}policies/new/")
    expect(page.get_by_role("heading", name="Create backup policy")).to_be_visible()
    no_violation_yet(page, csp_violations)

    # Each step of the restore wizard, up to the review.
    page.goto(org_url)
    page.get_by_role("link", name="Restore", exact=True).click()
    expect(page.get_by_role("heading", level=2)).to_have_text(
        "Which product's backup do you want to restore?"
    )
    no_violation_yet(page, csp_violations)
    page.get_by_role("radio", name=re.compile(r"^Acme Jira ")).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Which backup of Acme Jira?")
    no_violation_yet(page, csp_violations)
    page.locator(f"#choice-backup-{backup.pk}").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("What to restore")
    no_violation_yet(page, csp_violations)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Restore into which Jira product?")
    no_violation_yet(page, csp_violations)
    page.locator(f"#choice-destination-{demo.jira_sandbox.pk}").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Restore", exact=True)).to_be_visible()
    no_violation_yet(page, csp_violations)

    # The upload page (its script is static/js/upload.js).
    page.goto(f"{org_url}uploads/new/")
    expect(page.get_by_role("heading", name="Upload backup file")).to_be_visible()
    no_violation_yet(page, csp_violations)

    # A missing page, signed in.
    page.goto(f"{base}/no-such-page/")
    no_violation_yet(page, csp_violations)

    # The lockout page: two wrong passwords with a limit of two (then the usual limit again,
    # or this address would stay locked for staff too).
    usual_limit, settings.AXES_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT, 2
    page.get_by_role("button", name="Log out").click()
    for _ in range(2):
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill("carol")
        page.get_by_label("Password").fill("not her password")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Login locked for now")).to_be_visible()
    no_violation_yet(page, csp_violations)
    settings.AXES_FAILURE_LIMIT = usual_limit

    # Django admin, as staff, through its own login form.
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    no_violation_yet(page, csp_violations)
    page.goto(f"{base}/admin/backups/backup/")
    expect(page.locator("#result_list")).to_be_visible()
    no_violation_yet(page, csp_violations)
    page.goto(f"{base}/admin/backups/backup/{backup.pk}/change/")
    expect(page.locator("#content h1")).to_be_visible()
    no_violation_yet(page, csp_violations)
    # The user form: SelectFilter and the related-object widgets are the admin's busiest JS.
    carol = get_user_model().objects.get(username="carol")
    page.goto(f"{base}/admin/auth/user/{carol.pk}/change/")
    expect(page.locator("#id_groups_filter")).to_be_visible()
    no_violation_yet(page, csp_violations)
    page.goto(f"{base}/admin/axes/accessattempt/")
    expect(page.locator("#result_list")).to_contain_text("carol")
    no_violation_yet(page, csp_violations)

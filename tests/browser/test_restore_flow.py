"""The restore flow as alice clicks it: the wizard from the Restore button to a COMPLETE restore
and its report, then approving the restored group's product access (R6, R7, SPEC §8).

No qcluster runs here: the Restore click leaves the task queued in django-q2's ORM queue, and
the test plays the worker by calling the task itself. The page must notice by polling.
"""

import re

import pytest
from playwright.sync_api import expect

from backups.models import OrgGroup, ProductAccess, Restore
from backups.tasks import restore_task
from tests.services.helpers import run_backup_of

from .conftest import login
from .helpers import shoot

pytestmark = pytest.mark.browser


def test_restore_a_jira_backup_into_the_sandbox_and_approve_the_restored_access(
    page, live_server, demo
):
    backup = run_backup_of(demo.jira, demo.alice)
    # The group is gone since the backup: the restore brings it back, its access not approved.
    OrgGroup.objects.filter(organization=demo.acme, name="jira-users").delete()
    org_url = f"{live_server.url}/orgs/acme/backup-and-restore/"
    login(page, live_server, "alice")
    page.goto(org_url)
    expect(page.get_by_text("No restores yet.")).to_be_visible()

    page.get_by_role("link", name="Restore", exact=True).click()
    expect(page.get_by_role("heading", level=2)).to_have_text(
        "Which product's backup do you want to restore?"
    )
    shoot(page, "restore-1-product")
    page.get_by_role("radio", name=re.compile(r"^Acme Jira ")).check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=2)).to_have_text("Which backup of Acme Jira?")
    choice = page.locator(f"#choice-backup-{backup.pk}")
    expect(choice).to_contain_text("Complete")
    expect(choice).to_contain_text("Expires in 13 days")
    choice.click()
    expect(page.get_by_role("radio", name=re.compile(f"^Backup #{backup.pk} "))).to_be_checked()
    shoot(page, "restore-2-backup")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=2)).to_have_text("What to restore")
    expect(page.get_by_label("Restore attachments")).to_be_checked()
    expect(page.get_by_label("Restore users and groups")).to_be_checked()
    shoot(page, "restore-3-options")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=2)).to_have_text("Restore into which Jira product?")
    acme_jira = page.locator(f"#choice-destination-{demo.jira.pk}")
    expect(acme_jira.get_by_role("radio")).to_be_disabled()
    expect(acme_jira).to_contain_text(
        "Acme Jira has 4 projects (1 archived, 1 in trash) and 30 issues. A Jira backup can "
        "only be restored into an empty Jira site"
    )
    page.locator(f"#choice-destination-{demo.jira_sandbox.pk}").click()
    expect(page.get_by_role("radio", name=re.compile("^Acme Jira sandbox"))).to_be_checked()
    shoot(page, "restore-4-destination")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=2)).to_have_text("Review and restore")
    restored = page.locator("table.restore-counts")
    for label, count in [("Projects", "4"), ("Issues", "30"), ("Attachments", "18")]:
        expect(restored.get_by_role("row", name=label)).to_contain_text(count)
    expect(page.get_by_text("Nothing: everything in the backup is restored.")).to_be_visible()
    expect(page.locator("#groups-note")).to_contain_text("not applied until an org admin approves")
    shoot(page, "restore-5-review")
    page.get_by_role("button", name="Restore", exact=True).click()

    restore = Restore.objects.get()
    page.wait_for_url(f"{org_url}restores/{restore.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Restore into Acme Jira sandbox")
    expect(page.locator(".status-line .status")).to_have_text("In progress")
    expect(page.get_by_text("Waiting to start…")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    shoot(page, "restore-detail-in-progress")

    # The worker runs the job (here, in the test's thread); the page follows by polling.
    assert restore_task(restore.pk) == Restore.Status.COMPLETE
    expect(page.locator(".status-line .status")).to_have_text("Complete")
    report = page.locator("table.report-table")
    expect(report.get_by_role("row", name="Issues")).to_contain_text("30")
    expect(report.get_by_role("row", name="Attachments")).to_contain_text("18")
    expect(page.get_by_text("Groups restored: jira-users (2 members added).")).to_be_visible()
    expect(page.locator("#access-awaiting")).to_contain_text("The access of jira-users")
    expect(page.locator("[hx-trigger]")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    shoot(page, "restore-detail")

    # The org page lists it, and points to the pending access.
    page.goto(org_url)
    row = page.locator(f"#restore-{restore.pk}")
    expect(row.locator(".status")).to_have_text("Complete")
    expect(row).to_contain_text(f"Acme Jira, backup #{backup.pk}")
    shoot(page, "org-with-restore")

    page.get_by_role("link", name="Review product access").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review product access")
    access = ProductAccess.objects.get(approved=False)
    pending = page.locator(f"#access-{access.pk}")
    expect(pending).to_contain_text("jira-users")
    expect(pending).to_contain_text("Acme Jira sandbox")
    expect(pending).to_contain_text("2 members")
    shoot(page, "product-access-review")
    # Approve asks to confirm, naming what changes (#13 item 7, R7).
    pending.get_by_role("link", name=re.compile("^Approve")).click()
    expect(page.locator("#what-changes")).to_contain_text(
        "The 2 members of jira-users will get access to Acme Jira sandbox."
    )
    page.get_by_role("button", name="Approve access").click()

    expect(
        page.get_by_text("Approved: jira-users now has access to Acme Jira sandbox.")
    ).to_be_visible()
    expect(page.get_by_text("Nothing awaits approval.")).to_be_visible()
    approved = page.locator("#approved").get_by_role("row", name=re.compile("^jira-users"))
    expect(approved.filter(has_text="Acme Jira sandbox")).to_contain_text("Approved")
    access.refresh_from_db()
    assert access.approved is True
    shoot(page, "product-access-approved")

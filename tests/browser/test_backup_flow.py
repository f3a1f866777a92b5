"""The backup flow as alice clicks it: create a policy, run a backup, watch it complete (B3).

No qcluster runs here: the Run backup click leaves the task queued in django-q2's ORM queue,
and the test plays the worker by calling the task itself. The page must notice the change by
polling, without a reload.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from backups.models import Backup, BackupPolicy
from backups.rules import format_when
from backups.services.backups import backup_request
from backups.tasks import backup_task

from .conftest import login
from .helpers import shoot

pytestmark = pytest.mark.browser


def row_of(page, table_class: str, product_name: str):
    """The body row of table.`table_class` whose row header is `product_name`."""
    return page.locator(f"table.{table_class} tbody tr").filter(
        has=page.get_by_role("rowheader", name=product_name, exact=True)
    )


def test_create_a_policy_run_a_backup_and_watch_it_complete(page, live_server, demo):
    org_url = f"{live_server.url}/orgs/acme/backup-and-restore/"
    login(page, live_server, "alice")
    page.goto(org_url)
    expect(page.get_by_text("No product has a backup policy yet.")).to_be_visible()

    # Create backup policy, through the form.
    page.get_by_role("link", name="Create backup policy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create backup policy")
    expect(page.get_by_text("This service's storage")).to_be_visible()
    expect(page.get_by_label("Include users and groups")).to_be_checked()
    page.get_by_label("Product").select_option(label="Acme Jira (Jira)")
    shoot(page, "policy-form")
    page.get_by_role("button", name="Create backup policy").click()
    page.wait_for_url(re.compile(r".*/orgs/acme/backup-and-restore/#policies$"))
    expect(page.get_by_text("Backup policy of Acme Jira created.")).to_be_visible()
    assert BackupPolicy.objects.get(product=demo.jira).include_attachments is True

    policy_row = row_of(page, "policies", "Acme Jira")
    expect(policy_row).to_contain_text("Attachments, users and groups")
    expect(policy_row).to_contain_text("None yet")

    # Run backup: it waits in the queue, IN_PROGRESS, with a progress bar.
    policy_row.get_by_role("button", name="Run backup").click()
    page.wait_for_url(re.compile(r".*#backups$"))
    expect(page.get_by_text("Backup of Acme Jira started.")).to_be_visible()
    backup = Backup.objects.get(product=demo.jira)
    assert backup.status == Backup.Status.IN_PROGRESS

    backup_row = page.locator(f"#backup-{backup.pk}")
    expect(backup_row.locator(".status")).to_have_text("In progress")
    expect(backup_row.locator("progress")).to_be_visible()
    expect(row_of(page, "policies", "Acme Jira").get_by_role("button")).to_be_disabled()
    expect(row_of(page, "policies", "Acme Jira")).to_contain_text(
        "A backup of Acme Jira is already in progress."
    )

    # From here on the page must change by itself: a reload would lose this marker.
    page.evaluate("window.notReloaded = true")

    # The worker reports progress; the bar follows.
    Backup.objects.filter(pk=backup.pk).update(items_done=40, items_total=100)
    expect(backup_row.locator(".progress__text")).to_have_text("40% · 40 of 100 items")
    expect(backup_row.locator("progress")).to_have_attribute("value", "40")
    shoot(page, "org-in-progress")

    # The worker runs the job (here, in the test's thread).
    assert backup_task(backup.pk) == Backup.Status.COMPLETE
    backup.refresh_from_db()

    expect(backup_row.locator(".status")).to_have_text("Complete")
    expect(backup_row.locator("progress")).to_have_count(0)
    expect(backup_row).to_contain_text("in 13 days")
    assert page.evaluate("window.notReloaded") is True

    # B3: Run backup is disabled, with the 7-day reason and its date.
    next_at = format_when(backup.completed_at + timedelta(days=7))
    policy_row = row_of(page, "policies", "Acme Jira")
    expect(policy_row.get_by_role("button", name="Run backup")).to_be_disabled()
    expect(policy_row).to_contain_text(
        f"The next backup can run after {next_at} — 7 days after the last complete backup."
    )
    expect(policy_row).to_contain_text(f"After {next_at}")
    assert page.evaluate("window.notReloaded") is True
    # Polling has stopped: nothing runs any more.
    expect(page.locator("[hx-trigger]")).to_have_count(0)
    shoot(page, "org-complete")

    # The backup's detail page.
    backup_row.get_by_role("link", name="Details").click()
    page.wait_for_url(f"{org_url}backups/{backup.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Backup of Acme Jira")
    expect(page.locator(".status-line .status")).to_have_text("Complete")
    expect(page.locator("table.counts-table")).to_contain_text("Attachments")
    expect(page.locator("table.counts-table")).to_contain_text("Issues")
    shoot(page, "backup-detail")


def test_the_detail_page_follows_a_running_backup(page, live_server, demo):
    BackupPolicy.objects.create(product=demo.confluence, include_personal_spaces=False)
    backup = backup_request(product=demo.confluence, actor=demo.alice)
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/backups/{backup.pk}/")
    expect(page.locator(".status-line .status")).to_have_text("In progress")
    expect(page.locator("progress")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    Backup.objects.filter(pk=backup.pk).update(
        items_done=3, items_total=12, bytes_done=1_500_000, bytes_total=6_000_000
    )
    expect(page.get_by_text("25% · 3 of 12 items")).to_be_visible()
    expect(page.get_by_text("1.5 MB of 6 MB copied.")).to_be_visible()
    shoot(page, "backup-detail-in-progress")

    backup_task(backup.pk)
    expect(page.locator(".status-line .status")).to_have_text("Complete")
    expect(page.locator("table.counts-table")).to_contain_text("Spaces")
    expect(page.get_by_text("Attachments, users and groups; no personal spaces")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True

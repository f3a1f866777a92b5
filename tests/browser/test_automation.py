"""Alice sets a weekly schedule and her organization's time zone on the policy form and sees
the next run in the policies table; a backup that failed on a storage fault and was retried
shows "attempt 2 of 3" on its page; the audit log, filtered by action, downloads the retry's
event as CSV (SPEC A1, A2, A5; issue #14)."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from backups.models import Backup, BackupPolicy
from backups.services.backup_engine import backup_execute
from backups.services.backups import backup_request
from backups.services.schedules import automation_tick

from .conftest import login

pytestmark = pytest.mark.browser


def test_schedule_time_zone_attempts_and_the_audit_log(page, live_server, demo, backups_root):
    login(page, live_server, "alice")
    page.goto(
        f"{live_server.url}/orgs/acme/backup-and-restore/policies/new/?product={demo.jira.pk}"
    )

    # The time zone first (its own button), then the policy's When.
    page.get_by_label("Time zone of Acme").fill("Europe/Paris")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_text("Time zone set to Europe/Paris.")).to_be_visible()
    expect(
        page.get_by_text("Day and time in Europe/Paris, the organization's time zone")
    ).to_be_visible()

    page.get_by_label("Weekly").check()
    page.get_by_label("Day").select_option(label="Monday")
    page.get_by_label("Time", exact=True).fill("02:00")
    expect(page.get_by_label("Check each backup can be restored")).to_be_checked()
    page.get_by_role("button", name="Create backup policy").click()

    row = page.locator("#policies-table tr", has_text="Acme Jira").first
    expect(row).to_contain_text("Weekly on Monday at 02:00 (Europe/Paris)")
    policy = BackupPolicy.objects.get(product=demo.jira)
    expect(row.locator(".schedule__next")).to_contain_text("Next run")
    expect(row.locator(".schedule__next time")).to_have_attribute(
        "datetime", policy.next_run_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    )

    # A backup 40 minutes ago failed on a storage fault (a folder where its manifest must go);
    # the scheduler's tick retried it 30 minutes after, and the retry completed.
    began = timezone.now() - timedelta(minutes=40)
    first = backup_request(product=demo.jira, actor=demo.alice, now=began)
    (backups_root / first.storage_prefix / "manifest.json").mkdir(parents=True)
    with time_machine.travel(began, tick=False):
        backup_execute(backup_id=first.pk)
    first.refresh_from_db()
    assert (first.status, first.failure_transient) == (Backup.Status.FAILED, True)
    assert len(automation_tick(began + timedelta(minutes=30))) == 1
    retry = Backup.objects.get(first_attempt=first)
    backup_execute(backup_id=retry.pk)

    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/backups/{retry.pk}/")
    expect(page.locator(".attempts").first).to_have_text("Automatic retry: attempt 2 of 3")
    page.get_by_role("link", name="attempt 1").click()
    expect(page).to_have_url(re.compile(rf"/backups/{first.pk}/$"))
    expect(page.locator(".attempts--others")).to_contain_text("attempt 2 (Complete)")

    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option("backup.retry_started")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-events tbody tr")).to_have_count(1)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    body = Path(download_info.value.path()).read_bytes()
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert [(r["action"], r["who"], r["product"], r["details"]) for r in rows] == [
        (
            "backup.retry_started",
            "system",
            "Acme Jira",
            f'{{"attempt": 2, "retry_of": {first.pk}}}',
        )
    ]
    assert body.startswith(b"time_utc,who,action,product,target,client_address,details\r\n")

"""Alice adds a webhook endpoint, then reads the audit log as she clicks it: a filter, and the
CSV download of the filtered events (SPEC A4, A5; issue #14 items 4 and 5)."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backups.models import AuditEvent
from backups.services.audit import record_event

from .conftest import login

pytestmark = pytest.mark.browser


def test_add_a_webhook_then_filter_the_audit_log_and_download_it(page, live_server, demo):
    record_event(
        organization=demo.acme, actor=demo.alice, action="policy.created", target=demo.jira
    )
    record_event(organization=demo.acme, action="backup.completed", target=demo.jira)
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/")

    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("Endpoint URL").fill("https://hooks.example.com/backupsite")
    page.get_by_label("Backup finished").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("it is shown only once")).to_be_visible()
    expect(page.locator("#webhook-secret")).to_have_text(re.compile(r"^whsec_\S{40,}$"))
    page.get_by_role("link", name="Done").click()
    page.get_by_role("button", name="Send a test event").click()
    expect(page.locator("#deliveries")).to_contain_text("Test event")

    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/")
    page.get_by_role("link", name="Audit log").click()
    table = page.locator("#audit-events")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table.locator("tbody tr").first).to_contain_text("webhook.test_sent")
    expect(table.locator("tbody tr").first).to_contain_text("127.0.0.1")

    page.get_by_label("Action").select_option("policy.created")
    page.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Acme Jira")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("audit-log-acme-")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [(r["action"], r["who"], r["product"]) for r in rows] == [
        ("policy.created", "alice", "Acme Jira")
    ]
    assert AuditEvent.objects.filter(organization=demo.acme).count() == 4

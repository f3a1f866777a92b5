"""Times in the reader's time zone, UTC on hover (issue #13, item 4; static/js/local_time.js)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backups.models import Backup

from .conftest import login

pytestmark = pytest.mark.browser


def test_times_are_shown_in_the_browsers_zone_with_utc_on_hover(browser, live_server, demo):
    # Winter in Paris: UTC+1. A running backup, so the body is swapped in by htmx polls too.
    started = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)
    now = timezone.now()
    backup = Backup.objects.create(
        product=demo.jira,
        status=Backup.Status.IN_PROGRESS,
        started_at=started,
        claimed_at=now - timedelta(minutes=1),
        items_total=10,
    )
    context = browser.new_context(timezone_id="Europe/Paris")
    try:
        page = context.new_page()
        login(page, live_server, "alice")
        page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/backups/{backup.pk}/")
        started_time = page.locator("dt:text-is('Started') + dd time")
        expect(started_time).to_have_text("2 Dec 2026, 15:05 CET")
        expect(started_time).to_have_attribute("title", "2 Dec 2026, 14:05 UTC")
        expect(started_time).to_have_attribute("datetime", "2026-12-02T14:05:00Z")
        # The polled body is replaced every 2 s; the new one is rewritten too.
        page.evaluate("document.querySelector('#backup-detail').dataset.old = 'yes'")
        expect(page.locator("#backup-detail:not([data-old])")).to_have_count(1, timeout=8000)
        expect(started_time).to_have_text("2 Dec 2026, 15:05 CET")
    finally:
        context.close()


def test_without_javascript_the_utc_time_stays(browser, live_server, demo):
    backup = Backup.objects.create(
        product=demo.jira,
        status=Backup.Status.COMPLETE,
        started_at=datetime(2026, 12, 2, 14, 5, tzinfo=UTC),
        completed_at=datetime(2026, 12, 2, 14, 9, tzinfo=UTC),
    )
    context = browser.new_context(timezone_id="Europe/Paris", java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, live_server, "alice")
        page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/backups/{backup.pk}/")
        expect(page.locator("dt:text-is('Completed') + dd time")).to_have_text(
            "2 Dec 2026, 14:09 UTC"
        )
    finally:
        context.close()

"""The policy form's "When" (A1: manually, or weekly on a day at a time), the organization's
time zone on the same page, A3's verify option, and the policies table's schedule and next
run. Another organization's admin gets 404, a member 403."""

from datetime import UTC, datetime, time
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse

from backups.models import AuditEvent, Backup, BackupPolicy
from tests.factories import jira_product, member_of, org_with_admin
from tests.services.helpers import run_backup_of
from tests.views.helpers import element, row_text, text

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def acme(client):
    org, alice = org_with_admin("acme", admin="alice")
    jira = jira_product(org, "Acme Jira", projects=1, issues=2)
    client.force_login(alice)
    return SimpleNamespace(org=org, alice=alice, jira=jira)


def create_url():
    return reverse("policy_create", args=["acme"])


def edit_url(policy):
    return reverse("policy_edit", args=["acme", policy.pk])


def org_page(client) -> bytes:
    """The policies table of the Backup and restore page."""
    page = client.get(reverse("org", args=["acme"])).content
    return element(page, "policies-table").encode()


WEEKLY = {
    "include_attachments": "on",
    "include_users_and_groups": "on",
    "verify": "on",
    "schedule": "weekly",
    "schedule_weekday": "0",
    "schedule_time": "02:00",
}


def test_a1_create_a_weekly_policy_and_the_table_shows_the_next_run(client, acme):
    with time_machine.travel(NOW, tick=False):
        response = client.post(create_url(), {"product": acme.jira.pk, **WEEKLY})
        assert response.status_code == 302
        policy = BackupPolicy.objects.get(product=acme.jira)
        assert (policy.schedule, policy.schedule_weekday, policy.schedule_time) == (
            "weekly",
            0,
            time(2, 0),
        )
        assert policy.next_run_at == datetime(2026, 11, 9, 2, 0, tzinfo=UTC)
        assert policy.verify is True
        row = row_text(org_page(client), "Acme Jira")
    assert "Weekly on Monday at 02:00 (UTC) Next run 9 Nov 2026, 02:00 UTC" in row


def test_a1_weekly_without_a_day_or_time_is_refused_with_the_reason(client, acme):
    response = client.post(
        create_url(),
        {
            "product": acme.jira.pk,
            "schedule": "weekly",
            "schedule_weekday": "",
            "schedule_time": "",
        },
    )
    assert response.status_code == 200
    words = text(response.content)
    assert "Choose the day of the week backups run." in words
    assert "Choose the time of day backups run." in words
    assert not BackupPolicy.objects.exists()


def test_a1_a_manual_policy_shows_manual_and_clears_the_day(client, acme):
    with time_machine.travel(NOW, tick=False):
        client.post(create_url(), {"product": acme.jira.pk, **WEEKLY})
        policy = BackupPolicy.objects.get()
        response = client.post(
            edit_url(policy),
            {**WEEKLY, "schedule": "manual"},
        )
        assert response.status_code == 302
        policy.refresh_from_db()
        assert (policy.schedule, policy.schedule_weekday, policy.next_run_at) == (
            "manual",
            None,
            None,
        )
        assert "Manual" in row_text(org_page(client), "Acme Jira")


def test_a1_the_edit_form_shows_the_saved_schedule_and_verify(client, acme):
    with time_machine.travel(NOW, tick=False):
        client.post(create_url(), {"product": acme.jira.pk, **{**WEEKLY, "verify": ""}})
    policy = BackupPolicy.objects.get()
    assert policy.verify is False
    page = client.get(edit_url(policy)).content.decode()
    assert 'type="radio" name="schedule" value="weekly"' in page
    assert 'value="weekly" id="id_schedule_1" checked' in page or ('value="weekly" checked' in page)
    assert '<option value="0" selected>Monday</option>' in page
    assert 'value="02:00"' in page
    assert 'name="verify" id="id_verify" aria' in page  # unchecked
    words = text(page.encode())
    assert (
        "Check each backup can be restored After each backup, read it back end to end and make "
        "a trial restore nobody sees."
    ) in words
    assert "Day and time in UTC, the organization's time zone" in words


def test_a1_a_slot_held_by_b3_says_when_it_starts(client, acme):
    taken = datetime(2026, 11, 8, 10, 0, tzinfo=UTC)  # Sunday
    with time_machine.travel(taken, tick=False):
        assert run_backup_of(acme.jira, acme.alice).status == Backup.Status.COMPLETE
        client.post(edit_url(BackupPolicy.objects.get()), WEEKLY)
    # Monday 02:00 has come; B3 holds it until Sunday 10:00.
    with time_machine.travel(datetime(2026, 11, 9, 3, 0, tzinfo=UTC), tick=False):
        row = row_text(org_page(client), "Acme Jira")
    assert (
        "Weekly on Monday at 02:00 (UTC) Due — starts 15 Nov 2026, 10:00 UTC, when the 7-day "
        "rule allows"
    ) in row


def test_a1_the_time_zone_is_saved_on_the_same_page_and_moves_the_next_run(client, acme):
    with time_machine.travel(NOW, tick=False):
        client.post(create_url(), {"product": acme.jira.pk, **WEEKLY})
        policy = BackupPolicy.objects.get()
        response = client.post(edit_url(policy), {"form": "time_zone", "time_zone": "Europe/Paris"})
        assert response.status_code == 302
        assert response["Location"] == edit_url(policy) + "#time-zone"
        acme.org.refresh_from_db()
        assert acme.org.time_zone == "Europe/Paris"
        policy.refresh_from_db()
        assert policy.next_run_at == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # 02:00 CET
        # The policy itself was not touched by that form.
        assert (policy.schedule, policy.verify) == ("weekly", True)
        event = AuditEvent.objects.get(action="organization.time_zone_changed")
        assert event.actor == acme.alice
        page = client.get(edit_url(policy)).content
        assert "Time zone set to Europe/Paris." in text(page)
        row = row_text(org_page(client), "Acme Jira")
    assert "Weekly on Monday at 02:00 (Europe/Paris) Next run 9 Nov 2026, 01:00 UTC" in row


def test_a1_a_bogus_time_zone_is_refused(client, acme):
    response = client.post(create_url(), {"form": "time_zone", "time_zone": "Europe/Atlantis"})
    assert response.status_code == 200
    assert (
        "“Europe/Atlantis” is not a time zone name this service knows (for example Europe/Paris)."
    ) in text(response.content)
    acme.org.refresh_from_db()
    assert acme.org.time_zone == "UTC"
    assert not AuditEvent.objects.filter(action="organization.time_zone_changed").exists()


def test_another_organizations_admin_gets_404_and_a_member_403(client, acme):
    policy = BackupPolicy.objects.create(product=acme.jira)
    _globex, globex_admin = org_with_admin("globex")
    bob = member_of(acme.org, "bob")
    for user, status in ((globex_admin, 404), (bob, 403)):
        client.force_login(user)
        for url in (create_url(), edit_url(policy)):
            assert client.get(url).status_code == status
            response = client.post(url, {"form": "time_zone", "time_zone": "Asia/Tokyo"})
            assert response.status_code == status
    acme.org.refresh_from_db()
    assert acme.org.time_zone == "UTC"


def test_run_by_words_for_automatic_backups(acme):
    from backups.selectors import run_by
    from backups.views.backups import person

    backup = Backup(trigger=Backup.Trigger.SCHEDULE, created_by=None)
    assert run_by(backup, person) == "Schedule"
    backup.trigger = Backup.Trigger.RETRY
    assert run_by(backup, person) == "Automatic retry"
    backup.trigger, backup.created_by = Backup.Trigger.MANUAL, acme.alice
    assert run_by(backup, person) == "alice"

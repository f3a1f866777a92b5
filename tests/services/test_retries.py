"""A2: automatic retries — a FAILED backup whose reason may pass is tried again 30 minutes
after it ended, as attempt n + 1 linked to the first, at most 3 attempts in all; a permanent
failure or a refusal is not retried, and the backup's page says which. Time is travelled."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection

from backups import credentials
from backups.models import AuditEvent, Backup, BackupPolicy, SiteConnection
from backups.rules.retries import (
    NOT_TRANSIENT,
    RetryPlan,
    attempt_label,
    no_attempts_left,
    retry_plan,
)
from backups.services.backup_engine import backup_execute
from backups.services.backups import backup_request
from backups.services.connections import SiteDetails, connection_create
from backups.services.schedules import automation_tick
from tests.components import need_postgres
from tests.contract.conftest import ADMIN_EMAIL, ADMIN_TOKEN, jira_site  # noqa: F401 - fixture
from tests.factories import jira_product, org_with_admin
from tests.services.helpers import ticks_at_once
from tests.views.helpers import text

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


# --- rules: no database ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "plan"),
    [
        ({"status": "COMPLETE", "transient": False, "attempt": 1}, RetryPlan()),
        (
            {"status": "FAILED", "transient": True, "attempt": 1},
            RetryPlan(T0 + timedelta(minutes=30)),
        ),
        (
            {"status": "FAILED", "transient": True, "attempt": 2},
            RetryPlan(T0 + timedelta(minutes=30)),
        ),
        (
            {"status": "FAILED", "transient": True, "attempt": 3},
            RetryPlan(reason="No attempts left (3 of 3)"),
        ),
        ({"status": "FAILED", "transient": False, "attempt": 1}, RetryPlan(reason=NOT_TRANSIENT)),
        ({"status": "FAILED", "transient": True, "attempt": 1, "retried": True}, RetryPlan()),
        (
            {"status": "FAILED", "transient": True, "attempt": 1, "superseded": True},
            RetryPlan(reason="Not retried: a later backup of this product has finished"),
        ),
    ],
)
def test_a2_retry_plan(facts, plan):
    assert retry_plan(completed_at=T0, **facts) == plan


def test_a2_attempt_words():
    due = RetryPlan(T0)
    assert attempt_label(trigger="manual", attempt=1, plan=due) == "Attempt 1 of 3"
    assert attempt_label(trigger="retry", attempt=2, plan=RetryPlan()) == (
        "Automatic retry: attempt 2 of 3"
    )
    assert attempt_label(trigger="manual", attempt=1, plan=RetryPlan()) == ""
    assert no_attempts_left(3) == "No attempts left (3 of 3)"


# --- the retries, through the scheduler's tick -------------------------------------------------


@pytest.fixture
def acme(db, backups_root):
    org, alice = org_with_admin("acme", admin="alice")
    jira = jira_product(org, "Acme Jira", projects=1, issues=2)
    BackupPolicy.objects.create(product=jira)
    return SimpleNamespace(org=org, alice=alice, jira=jira, root=backups_root)


def block(acme, backup: Backup) -> None:
    """A real fault, no mock: a folder stands where the backup's manifest must go, so writing
    manifest.json fails (a storage error: transient, A2)."""
    (acme.root / backup.storage_prefix / "manifest.json").mkdir(parents=True)


def run(backup: Backup, at: datetime) -> Backup:
    with time_machine.travel(at, tick=False):
        backup_execute(backup_id=backup.pk)
    backup.refresh_from_db()
    return backup


def failed_backup(acme, at=T0) -> Backup:
    backup = backup_request(product=acme.jira, actor=acme.alice, now=at)
    block(acme, backup)
    backup = run(backup, at)
    assert backup.status == Backup.Status.FAILED
    assert backup.failure_reason.startswith("The backup storage (folder ")
    assert backup.failure_transient is True
    return backup


def page(client, acme, backup, at) -> str:
    client.force_login(acme.alice)
    with time_machine.travel(at, tick=False):
        response = client.get(f"/orgs/acme/backup-and-restore/backups/{backup.pk}/")
    assert response.status_code == 200
    return text(response.content)


def test_a2_a_storage_fault_is_retried_30_minutes_later_and_completes(acme, client):
    first = failed_backup(acme)
    assert "Attempt 1 of 3 · next attempt at 3 Nov 2026, 09:30 UTC" in page(
        client, acme, first, T0 + timedelta(minutes=5)
    )

    assert automation_tick(T0 + timedelta(minutes=29, seconds=59)) == []
    assert Backup.objects.count() == 1

    done = automation_tick(T0 + timedelta(minutes=30))
    assert done == [f"started attempt 2 of backup #{first.pk} of Acme Jira"]
    retry = Backup.objects.exclude(pk=first.pk).get()
    assert (retry.trigger, retry.attempt, retry.first_attempt_id, retry.created_by) == (
        Backup.Trigger.RETRY,
        2,
        first.pk,
        None,
    )
    assert run(retry, T0 + timedelta(minutes=31)).status == Backup.Status.COMPLETE

    event = AuditEvent.objects.get(action="backup.retry_started")
    assert event.details == {"retry_of": first.pk, "attempt": 2}
    started = AuditEvent.objects.filter(action="backup.started").first()
    assert (started.details["trigger"], started.details["attempt"]) == ("retry", 2)

    retry_page = page(client, acme, retry, T0 + timedelta(minutes=40))
    assert "Automatic retry: attempt 2 of 3" in retry_page
    assert "Other attempts: attempt 1 (Failed)" in retry_page
    first_page = page(client, acme, first, T0 + timedelta(minutes=40))
    assert "next attempt" not in first_page
    assert "Other attempts: attempt 2 (Complete)" in first_page
    # Nothing more to do.
    assert automation_tick(T0 + timedelta(hours=3)) == []


def test_a2_at_most_three_attempts(acme, client):
    first = failed_backup(acme)
    now = T0
    for attempt in (2, 3):
        now += timedelta(minutes=30)
        assert len(automation_tick(now)) == 1
        backup = Backup.objects.get(attempt=attempt)
        block(acme, backup)
        assert run(backup, now).status == Backup.Status.FAILED
    assert automation_tick(now + timedelta(minutes=30)) == []
    assert automation_tick(now + timedelta(days=1)) == []
    assert sorted(Backup.objects.values_list("attempt", flat=True)) == [1, 2, 3]
    assert set(Backup.objects.values_list("first_attempt_id", flat=True)) == {None, first.pk}

    last_page = page(client, acme, Backup.objects.get(attempt=3), now + timedelta(hours=1))
    assert "Automatic retry: attempt 3 of 3 · No attempts left (3 of 3)" in last_page


def test_a2_a_b6_limit_crossed_while_running_is_not_retried(acme, client, settings):
    from backups.productdata import content_summary

    estimate = content_summary(acme.jira).data_bytes
    settings.BACKUP_LIMITS = {
        **settings.BACKUP_LIMITS,
        "jira": {"data": estimate, "attachments": 10**12},
    }
    backup = run(backup_request(product=acme.jira, actor=acme.alice, now=T0), T0)
    assert backup.status == Backup.Status.FAILED
    assert backup.failure_reason.startswith("The backup crossed the Jira data limit of ")
    assert backup.failure_transient is False

    assert automation_tick(T0 + timedelta(hours=1)) == []
    assert Backup.objects.count() == 1
    assert NOT_TRANSIENT in page(client, acme, backup, T0 + timedelta(hours=1))


def test_a2_refused_credentials_are_not_retried(db, backups_root, jira_site, client):  # noqa: F811
    org, alice = org_with_admin("acme", admin="alice")
    site = connection_create(
        organization=org,
        actor=alice,
        details=SiteDetails(
            kind="jira",
            name="Acme Jira Cloud",
            site_url=jira_site.url,
            email=ADMIN_EMAIL,
            token=ADMIN_TOKEN,
        ),
    )
    # The token was revoked on the site since: the check before the backup is refused.
    SiteConnection.objects.filter(pk=site.pk).update(
        token_encrypted=credentials.encrypt("ATATT3xFfGF0-revoked")
    )
    backup = run(backup_request(product=site.product, actor=alice, now=T0), T0)
    assert backup.status == Backup.Status.FAILED
    assert "failed its check" in backup.failure_reason
    assert backup.failure_transient is False
    assert automation_tick(T0 + timedelta(hours=1)) == []
    assert Backup.objects.count() == 1


def test_a2_a_retry_refused_for_good_stops_the_attempts_and_says_so(acme, client, settings):
    first = failed_backup(acme)
    # The product grew past B6 meanwhile: no attempt can start, now or later.
    settings.BACKUP_LIMITS = {**settings.BACKUP_LIMITS, "jira": {"data": 10, "attachments": 10}}
    done = automation_tick(T0 + timedelta(minutes=30))
    assert len(done) == 1
    assert done[0].startswith(f"did not retry backup #{first.pk} of Acme Jira: Acme Jira holds ")
    assert Backup.objects.count() == 1
    event = AuditEvent.objects.get(action="backup.retry_refused")
    assert event.details["attempt"] == 2
    assert automation_tick(T0 + timedelta(minutes=31)) == []
    assert AuditEvent.objects.filter(action="backup.retry_refused").count() == 1
    assert NOT_TRANSIENT in page(client, acme, first, T0 + timedelta(hours=1))


def test_a2_a_backup_that_finished_since_makes_the_retry_needless(acme, client):
    first = failed_backup(acme)
    later = backup_request(product=acme.jira, actor=acme.alice, now=T0 + timedelta(minutes=10))
    assert run(later, T0 + timedelta(minutes=12)).status == Backup.Status.COMPLETE
    assert automation_tick(T0 + timedelta(minutes=30)) == []
    assert "Not retried: a later backup of this product has finished" in page(
        client, acme, first, T0 + timedelta(minutes=40)
    )


def test_a2_a_running_backup_holds_the_retry_until_it_ends(acme, settings):
    first = failed_backup(acme)
    running = backup_request(product=acme.jira, actor=acme.alice, now=T0 + timedelta(minutes=20))
    assert automation_tick(T0 + timedelta(minutes=30)) == []  # B4: next tick
    assert automation_tick(T0 + timedelta(minutes=31)) == []
    # The running one fails too, for a reason that will not pass (B6 while it ran).
    settings.BACKUP_LIMITS = {**settings.BACKUP_LIMITS, "jira": {"data": 10, "attachments": 10}}
    assert run(running, T0 + timedelta(minutes=32)).status == Backup.Status.FAILED
    settings.BACKUP_LIMITS = {
        **settings.BACKUP_LIMITS,
        "jira": {"data": 10**12, "attachments": 10**12},
    }
    assert automation_tick(T0 + timedelta(minutes=33)) == [
        f"started attempt 2 of backup #{first.pk} of Acme Jira"
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a2_two_retry_ticks_at_once_make_one_attempt(acme):
    need_postgres()
    first = failed_backup(acme)
    now = T0 + timedelta(minutes=30)
    outcomes = ticks_at_once(now)

    assert connection.vendor == "postgresql"
    assert sorted(len(o) for o in outcomes) == [0, 1]
    assert Backup.objects.filter(first_attempt=first).count() == 1
    assert AuditEvent.objects.filter(action="backup.retry_started").count() == 1
    assert not AuditEvent.objects.filter(action="backup.retry_refused").exists()

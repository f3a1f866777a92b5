"""backup_request (B1, B3, B4, B6, P1, P3, P4) and policies, through the services.

On a small product of its own (tests/factories.py), not the demo: every count here is set
below."""

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from backups.models import AuditEvent, Backup, BackupPolicy
from backups.services.backup_engine import backup_execute
from backups.services.backups import backup_request
from backups.services.errors import Refused
from backups.services.policies import backup_policy_create, backup_policy_update
from tests.components import need_postgres
from tests.factories import complete_backup, jira_product, member_of, org_with_admin

from .helpers import run_backup_of


@pytest.fixture
def acme(db):
    """Acme: alice (org admin), bob (member), and Acme Jira with 2 projects of 3 issues, each
    with a comment and an attachment."""
    org, alice = org_with_admin("acme", admin="alice")
    bob = member_of(org, "bob")
    jira = jira_product(org, "Acme Jira", projects=2, issues=3, comments=1, attachments=1)
    return SimpleNamespace(org=org, alice=alice, bob=bob, jira=jira)


def test_p1_a_second_policy_for_a_product_is_refused(acme):
    backup_policy_create(product=acme.jira, actor=acme.alice, include_attachments=True)
    with pytest.raises(Refused, match="Acme Jira already has a backup policy."):
        backup_policy_create(product=acme.jira, actor=acme.alice, include_attachments=False)
    assert BackupPolicy.objects.filter(product=acme.jira).count() == 1
    assert AuditEvent.objects.filter(action="policy.created").count() == 1


def test_p3_a_running_backup_keeps_the_options_it_started_with(acme):
    policy = backup_policy_create(product=acme.jira, actor=acme.alice, include_attachments=True)
    backup = backup_request(product=acme.jira, actor=acme.alice)
    backup_policy_update(policy=policy, actor=acme.alice, include_attachments=False)

    backup_execute(backup_id=backup.id)

    backup.refresh_from_db()
    assert backup.options["include_attachments"] is True
    assert backup.counts["attachments"]["rows"] > 0
    policy.refresh_from_db()
    assert policy.include_attachments is False


def test_a_backup_needs_a_policy(acme):
    with pytest.raises(Refused, match="Acme Jira has no backup policy yet: create one first."):
        backup_request(product=acme.jira, actor=acme.alice)


def test_b1_a_member_cannot_request_a_backup(acme):
    BackupPolicy.objects.create(product=acme.jira)
    with pytest.raises(Refused, match="Only org admins can run backups."):
        backup_request(product=acme.jira, actor=acme.bob)
    assert not Backup.objects.exists()


def test_b3_the_week_counts_from_the_last_complete_backup(acme):
    first = run_backup_of(acme.jira, acme.alice)
    assert first.status == Backup.Status.COMPLETE
    mark = first.completed_at + timedelta(days=7)

    with (
        time_machine.travel(mark - timedelta(seconds=1), tick=False),
        pytest.raises(Refused) as refused,
    ):
        backup_request(product=acme.jira, actor=acme.alice)
    assert refused.value.decision.not_before == mark
    assert "7 days after the last complete backup" in refused.value.reason

    with time_machine.travel(mark, tick=False):
        second = backup_request(product=acme.jira, actor=acme.alice)
    assert second.status == Backup.Status.IN_PROGRESS


def test_b3_incomplete_and_failed_backups_do_not_start_the_clock(acme):
    from django.core.files.storage import default_storage

    from backups.models import JiraAttachment

    default_storage.delete(JiraAttachment.objects.filter(product=acme.jira).first().file.name)
    incomplete = run_backup_of(acme.jira, acme.alice)
    assert incomplete.status == Backup.Status.INCOMPLETE
    again = backup_request(product=acme.jira, actor=acme.alice)  # at once
    from backups.services.backups import backup_fail

    assert backup_fail(backup_id=again.id, reason="test")
    third = backup_request(product=acme.jira, actor=acme.alice)
    assert third.status == Backup.Status.IN_PROGRESS


def test_b4_no_second_backup_while_one_is_in_progress(acme):
    BackupPolicy.objects.create(product=acme.jira)
    backup_request(product=acme.jira, actor=acme.alice)
    with pytest.raises(Refused, match="A backup of Acme Jira is already in progress."):
        backup_request(product=acme.jira, actor=acme.alice)
    assert Backup.objects.filter(product=acme.jira).count() == 1


def test_b6_a_product_over_the_limit_is_refused_before_it_starts(acme, settings):
    settings.BACKUP_LIMITS = {
        **settings.BACKUP_LIMITS,
        "jira": {"data": 10**12, "attachments": 100},
    }
    BackupPolicy.objects.create(product=acme.jira)
    with pytest.raises(Refused) as refused:
        backup_request(product=acme.jira, actor=acme.alice)
    # Six attachments, "contents of P1-1-0.txt\n" and so on: 23 bytes each.
    assert refused.value.reason == (
        "Acme Jira holds 138 bytes of attachments; a Jira backup can hold at most 100 bytes of "
        "attachments."
    )
    assert not Backup.objects.exists()


def test_the_database_refuses_two_in_progress_backups_of_one_product(acme):
    from django.db import IntegrityError, transaction

    BackupPolicy.objects.create(product=acme.jira)
    backup_request(product=acme.jira, actor=acme.alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Backup.objects.create(product=acme.jira, started_at=timezone.now())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_b4_ten_concurrent_requests_make_exactly_one_backup(acme):
    need_postgres()
    BackupPolicy.objects.create(product=acme.jira)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def click():
        try:
            barrier.wait()
            backup_request(product=acme.jira, actor=acme.alice)
            outcomes.append("started")
        except Refused as exc:
            outcomes.append(exc.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert connection.vendor == "postgresql"
    assert outcomes.count("started") == 1
    assert outcomes.count("A backup of Acme Jira is already in progress.") == 9
    assert Backup.objects.filter(product=acme.jira).count() == 1


def test_p4_one_policy_runs_any_number_of_backups_over_time(acme):
    """P4: one policy, backup after backup (each once the week of B3 has passed)."""
    first = complete_backup(acme.jira, acme.alice)
    policy = BackupPolicy.objects.get(product=acme.jira)
    backups = [first]
    for _ in range(2):
        with time_machine.travel(backups[-1].completed_at + timedelta(days=7), tick=False):
            backup = backup_request(product=acme.jira, actor=acme.alice)
            backup_execute(backup_id=backup.id)
        backup.refresh_from_db()
        assert backup.status == Backup.Status.COMPLETE
        backups.append(backup)
    assert list(BackupPolicy.objects.filter(product=acme.jira)) == [policy]
    assert Backup.objects.filter(product=acme.jira, status=Backup.Status.COMPLETE).count() == 3
    # Each backup holds the whole product (B2), not what changed since the last one.
    assert {b.counts["issues"]["rows"] for b in backups} == {6}

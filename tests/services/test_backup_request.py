"""backup_request (B1, B3, B4, B6, P1, P3) and policies, through the services."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from backups.models import AuditEvent, Backup, BackupPolicy
from backups.services.backup_engine import backup_run
from backups.services.backups import backup_request
from backups.services.errors import Refused
from backups.services.policies import backup_policy_create, backup_policy_update
from tests.components import need_postgres

from .helpers import run_backup_of


def test_p1_a_second_policy_for_a_product_is_refused(demo):
    backup_policy_create(product=demo.jira, actor=demo.alice, include_attachments=True)
    with pytest.raises(Refused, match="Acme Jira already has a backup policy."):
        backup_policy_create(product=demo.jira, actor=demo.alice, include_attachments=False)
    assert BackupPolicy.objects.filter(product=demo.jira).count() == 1
    assert AuditEvent.objects.filter(action="policy.created").count() == 1


def test_p3_a_running_backup_keeps_the_options_it_started_with(demo):
    policy = backup_policy_create(product=demo.jira, actor=demo.alice, include_attachments=True)
    backup = backup_request(product=demo.jira, actor=demo.alice)
    backup_policy_update(policy=policy, actor=demo.alice, include_attachments=False)

    backup_run(backup_id=backup.id)

    backup.refresh_from_db()
    assert backup.options["include_attachments"] is True
    assert backup.counts["attachments"]["rows"] > 0
    policy.refresh_from_db()
    assert policy.include_attachments is False


def test_a_backup_needs_a_policy(demo):
    with pytest.raises(Refused, match="Acme Jira has no backup policy yet: create one first."):
        backup_request(product=demo.jira, actor=demo.alice)


def test_b1_a_member_cannot_request_a_backup(demo):
    BackupPolicy.objects.create(product=demo.jira)
    with pytest.raises(Refused, match="Only org admins can run backups."):
        backup_request(product=demo.jira, actor=demo.bob)
    assert not Backup.objects.exists()


def test_b3_the_week_counts_from_the_last_complete_backup(demo):
    first = run_backup_of(demo.jira, demo.alice)
    assert first.status == Backup.Status.COMPLETE
    mark = first.completed_at + timedelta(days=7)

    with (
        time_machine.travel(mark - timedelta(seconds=1), tick=False),
        pytest.raises(Refused) as refused,
    ):
        backup_request(product=demo.jira, actor=demo.alice)
    assert refused.value.decision.not_before == mark
    assert "7 days after the last complete backup" in refused.value.reason

    with time_machine.travel(mark, tick=False):
        second = backup_request(product=demo.jira, actor=demo.alice)
    assert second.status == Backup.Status.IN_PROGRESS


def test_b3_incomplete_and_failed_backups_do_not_start_the_clock(demo):
    from django.core.files.storage import default_storage

    from backups.models import JiraAttachment

    default_storage.delete(JiraAttachment.objects.filter(product=demo.jira).first().file.name)
    incomplete = run_backup_of(demo.jira, demo.alice)
    assert incomplete.status == Backup.Status.INCOMPLETE
    again = backup_request(product=demo.jira, actor=demo.alice)  # at once
    from backups.services.backups import backup_fail

    assert backup_fail(backup_id=again.id, reason="test")
    third = backup_request(product=demo.jira, actor=demo.alice)
    assert third.status == Backup.Status.IN_PROGRESS


def test_b4_no_second_backup_while_one_is_in_progress(demo):
    BackupPolicy.objects.create(product=demo.jira)
    backup_request(product=demo.jira, actor=demo.alice)
    with pytest.raises(Refused, match="A backup of Acme Jira is already in progress."):
        backup_request(product=demo.jira, actor=demo.alice)
    assert Backup.objects.filter(product=demo.jira).count() == 1


def test_b6_a_product_over_the_limit_is_refused_before_it_starts(demo, settings):
    settings.BACKUP_LIMITS = {
        **settings.BACKUP_LIMITS,
        "jira": {"data": 10**12, "attachments": 1000},
    }
    BackupPolicy.objects.create(product=demo.jira)
    with pytest.raises(Refused) as refused:
        backup_request(product=demo.jira, actor=demo.alice)
    assert refused.value.reason.startswith("Acme Jira holds ")
    assert "a Jira backup can hold at most 1 KB of attachments." in refused.value.reason
    assert not Backup.objects.exists()


def test_the_database_refuses_two_in_progress_backups_of_one_product(demo):
    from django.db import IntegrityError, transaction

    BackupPolicy.objects.create(product=demo.jira)
    backup_request(product=demo.jira, actor=demo.alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Backup.objects.create(product=demo.jira, started_at=timezone.now())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_b4_ten_concurrent_requests_make_exactly_one_backup(demo):
    need_postgres()
    BackupPolicy.objects.create(product=demo.jira)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def click():
        try:
            barrier.wait()
            backup_request(product=demo.jira, actor=demo.alice)
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
    assert Backup.objects.filter(product=demo.jira).count() == 1

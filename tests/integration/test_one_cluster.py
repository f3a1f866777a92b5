"""Issue #7 item 2: a backup, its file and a restore, end to end through a real qcluster.

The web side (this process) requests each job as a user would, through the services; the job
is enqueued on Redis at commit, and a separate `manage.py qcluster` process (Redis broker,
PostgreSQL) runs it.
"""

import pytest
from django.conf import settings

from backups import archive, storage
from backups.models import Backup, BackupFile, BackupPolicy, Restore
from backups.productdata import content_summary
from backups.services.backups import backup_request
from backups.services.files import backup_file_request
from backups.services.restores import restore_request
from tests.productdata.helpers import jira_snapshot

from .workers import wait_for, wait_status

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_backup_file_and_restore_run_in_a_qcluster_on_redis_and_postgresql(
    redis_broker, qclusters, demo
):
    cluster = qclusters("one")
    BackupPolicy.objects.create(product=demo.jira, created_by=demo.alice)
    before = jira_snapshot(demo.jira)
    assert before["attachments"], "the demo Jira has attachments to carry"

    backup = backup_request(product=demo.jira, actor=demo.alice)
    wait_status(
        backup,
        {Backup.Status.COMPLETE, Backup.Status.INCOMPLETE, Backup.Status.FAILED},
        what=f"backup #{backup.pk} to end",
        logs=qclusters.logs,
    )
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason
    assert backup.claimed_at is not None
    assert storage.exists(backup.storage_prefix + archive.MANIFEST_NAME)

    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    wait_status(
        backup_file,
        {BackupFile.Status.READY, BackupFile.Status.FAILED},
        what="the backup file to be generated",
        logs=qclusters.logs,
    )
    assert backup_file.status == BackupFile.Status.READY, backup_file.failure_reason
    with storage.open_object(backup_file.storage_name) as f:
        verification = archive.verify(f, secret_key=settings.SECRET_KEY)
    assert verification.ok, verification.failed
    assert [c.name for c in verification.checks] == [
        "zip",
        "paths",
        "size",
        "manifest",
        "signature",
        "entries",
    ]
    assert verification.manifest["backup_id"] == backup.pk
    assert storage.object_size(backup_file.storage_name) == backup_file.size

    assert content_summary(demo.jira_sandbox).is_empty
    restore = restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    wait_status(
        restore,
        {Restore.Status.COMPLETE, Restore.Status.FAILED},
        what=f"restore #{restore.pk} to end",
        logs=qclusters.logs,
    )
    assert restore.status == Restore.Status.COMPLETE, restore.failure_reason
    source, restored = content_summary(demo.jira), content_summary(demo.jira_sandbox)
    for count in ("containers_by_state", "items", "comments", "attachments", "attachment_bytes"):
        assert getattr(restored, count) == getattr(source, count), count
    assert jira_snapshot(demo.jira_sandbox) == before

    # Every job ran in the worker, through Redis: the queue is drained, the cluster alive.
    from django_q.brokers import get_broker
    from django_q.models import Task

    assert get_broker().queue_size() == 0
    # The worker records a task when its function returns: a restore ends COMPLETE, then
    # refreshes the product's statistics (ANALYZE, #16), and only then is its task saved.
    wait_for(
        lambda: Task.objects.filter(name=f"restore-{restore.pk}").exists(),
        timeout=30,
        what="the worker to record the restore's task",
        explain=qclusters.logs,
    )
    assert sorted(Task.objects.values_list("name", "success")) == sorted(
        [
            (f"backup-{backup.pk}", True),
            (f"backup-file-{backup_file.pk}", True),
            (f"restore-{restore.pk}", True),
        ]
    )
    assert cluster.running

"""The cron commands (E1, E3) and seed_demo, as an operator runs them."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from backups import storage
from backups.models import AuditEvent, Backup, BackupPolicy
from backups.services.backups import backup_request
from tests.components import need_postgres
from tests.services.helpers import run_backup_of


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("seed_demo")


def test_seed_demo_prints_the_logins(db, settings):
    settings.DEBUG = True
    out = run("seed_demo")
    assert "alice    / backupsite-demo" in out
    assert "staff" in out


def test_e1_expire_backups_at_14_days_minus_and_plus_a_second(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    objects = storage.list_prefix(backup.storage_prefix)
    assert objects
    deadline = backup.started_at + timedelta(days=14)

    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        assert run("expire_backups").splitlines() == [
            "0 backup(s) expired.",
            "0 upload(s) deleted.",
            "Swept 0 unreferenced object(s) (0 bytes) from the attachment store.",
        ]
    backup.refresh_from_db()
    assert backup.status == Backup.Status.COMPLETE
    assert storage.list_prefix(backup.storage_prefix) == objects

    with time_machine.travel(deadline + timedelta(seconds=1), tick=False):
        dry = run("expire_backups", "--dry-run")
        assert f"would expire backup #{backup.pk} of Acme Jira (Acme)" in dry
        assert "1 backup(s) would expire." in dry
        backup.refresh_from_db()
        assert backup.status == Backup.Status.COMPLETE  # dry run changed nothing

        out = run("expire_backups")
        assert f"expired backup #{backup.pk} of Acme Jira (Acme)" in out
        assert "1 backup(s) expired." in out
        assert run("expire_backups").splitlines()[0] == "0 backup(s) expired."  # twice is safe

    backup.refresh_from_db()
    assert backup.status == Backup.Status.EXPIRED
    assert backup.expired_at is not None
    assert storage.list_prefix(backup.storage_prefix) == []
    assert AuditEvent.objects.filter(action="backup.expired").count() == 1


def test_e1_in_progress_and_failed_backups_never_expire(demo):
    BackupPolicy.objects.create(product=demo.jira)
    backup_request(product=demo.jira, actor=demo.alice)
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert "0 backup(s) expired." in run("expire_backups")
    assert Backup.objects.get().status == Backup.Status.IN_PROGRESS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_e1_two_copies_at_once_expire_each_backup_once(demo):
    need_postgres()
    backup = run_backup_of(demo.jira, demo.alice)
    outputs: list[str] = []
    barrier = threading.Barrier(2)

    def expire():
        try:
            barrier.wait()
            outputs.append(run("expire_backups"))
        finally:
            connections.close_all()

    with time_machine.travel(backup.started_at + timedelta(days=15)):
        threads = [threading.Thread(target=expire) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    # Both saw the backup as due; exactly one flipped it and deleted its data.
    assert sorted(o.splitlines()[-3] for o in outputs) == [
        "0 backup(s) expired.",
        "1 backup(s) expired.",
    ]
    assert AuditEvent.objects.filter(action="backup.expired").count() == 1
    assert Backup.objects.get(pk=backup.pk).status == Backup.Status.EXPIRED


def test_e3_fail_stale_jobs(demo, backups_root):
    BackupPolicy.objects.create(product=demo.jira)
    backup = backup_request(product=demo.jira, actor=demo.alice)
    # A worker that died after writing part of the backup.
    partial = backups_root / backup.storage_prefix / "attachments" / "1" / "x.png"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"partial")
    started = backup.heartbeat_at

    with time_machine.travel(started + timedelta(minutes=29)):
        assert "0 stale job(s)" in run("fail_stale_jobs", "--stale-after", "1800")
    with time_machine.travel(started + timedelta(minutes=31)):
        out = run("fail_stale_jobs", "--stale-after", "1800")
    assert f"failed backup #{backup.pk} of Acme Jira" in out
    backup.refresh_from_db()
    assert backup.status == Backup.Status.FAILED
    assert backup.failure_reason.startswith("The worker stopped: no progress was reported since ")
    assert "(the limit is 30 minute(s))" in backup.failure_reason
    assert storage.list_prefix(backup.storage_prefix) == []
    # E3: the product is not blocked: a new backup can start at once.
    assert backup_request(product=demo.jira, actor=demo.alice).status == Backup.Status.IN_PROGRESS


def test_e3_a_stale_restore_fails_and_its_files_are_removed(demo, isolated_storage):
    from django.core.cache import cache

    from backups.models import Restore
    from backups.services.restore_engine import files_folder, live_progress_key
    from backups.services.restores import restore_request

    backup = run_backup_of(demo.jira, demo.alice)
    restore = restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    # A worker that died mid-restore: its transaction rolled back, but files it wrote stay.
    leftover = isolated_storage / "media" / files_folder(restore) / "abc" / "x.png"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"partial")
    start = restore.heartbeat_at

    # Progress reported recently (in the cache) keeps it alive past the row's heartbeat.
    with time_machine.travel(start + timedelta(minutes=40)):
        cache.set(
            live_progress_key(restore.pk),
            {"items_done": 5, "heartbeat_at": timezone.now().isoformat()},
        )
        assert "0 stale job(s)" in run("fail_stale_jobs", "--stale-after", "1800")
    with time_machine.travel(start + timedelta(minutes=75)):
        out = run("fail_stale_jobs", "--stale-after", "1800")
    assert f"failed restore #{restore.pk} into Acme Jira sandbox" in out
    restore.refresh_from_db()
    assert restore.status == Restore.Status.FAILED
    assert restore.failure_reason.startswith("The worker stopped")
    assert not leftover.exists()


def test_e3_a_stale_file_generation_fails(demo):
    from backups.models import BackupFile
    from backups.services.files import backup_file_request

    backup = run_backup_of(demo.jira, demo.alice)
    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    with time_machine.travel(backup_file.heartbeat_at + timedelta(minutes=31)):
        out = run("fail_stale_jobs", "--stale-after", "1800")
    assert f"failed the file of backup #{backup.pk}" in out
    backup_file.refresh_from_db()
    assert backup_file.status == BackupFile.Status.FAILED


def test_e3_r9_a_validation_whose_worker_died_is_refused_and_its_file_deleted(demo, client):
    """Issue #10 item 2: fail_stale_jobs did not look at uploads; "Checking the file…" for ever."""
    from backups.models import Upload
    from backups.services.uploads import upload_chunk, upload_start, upload_validate
    from tests.services.helpers import backup_file_bytes

    data, _ = backup_file_bytes(demo.jira, demo.alice)
    upload = upload_start(
        organization=demo.acme, actor=demo.alice, file_name="acme.zip", size=len(data)
    )
    upload = upload_chunk(upload=upload, offset=0, data=data)  # the whole file: one chunk
    # The worker took the task, reported once, and died (killed, out of memory, …).
    upload_claimed = Upload.objects.filter(pk=upload.pk, claimed_at__isnull=True).update(
        claimed_at=upload.heartbeat_at
    )
    assert upload_claimed and upload.status == Upload.Status.VALIDATING
    assert storage.exists(upload.storage_name)

    with time_machine.travel(upload.heartbeat_at + timedelta(minutes=29)):
        assert "0 stale job(s)" in run("fail_stale_jobs", "--stale-after", "1800")
    with time_machine.travel(upload.heartbeat_at + timedelta(minutes=31)):
        out = run("fail_stale_jobs", "--stale-after", "1800")
        assert "0 stale job(s)" in run("fail_stale_jobs", "--stale-after", "1800")  # once
    assert f"failed the check of upload #{upload.pk} acme.zip: The worker stopped" in out
    assert "1 stale job(s) marked FAILED." in out
    upload.refresh_from_db()
    assert upload.status == Upload.Status.INVALID
    assert upload.failed_check["name"] == "ended"
    assert upload.failed_check["detail"].startswith(
        "The worker stopped: no progress was reported since "
    )
    assert not storage.exists(upload.storage_name)
    # A worker that was only slow changes nothing when it ends.
    assert upload_validate(upload_id=upload.pk) is None
    upload.refresh_from_db()
    assert upload.status == Upload.Status.INVALID
    # What the admin sees: refused, why, and not checking any more.
    client.force_login(demo.alice)
    page = client.get(f"/orgs/acme/backup-and-restore/uploads/{upload.pk}/").content.decode()
    assert "This file was refused: its check stopped before the end." in page
    assert "Checking the file" not in page

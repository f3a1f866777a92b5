"""Backup files and downloads through the services (D1-D5)."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from backups import storage
from backups.models import AuditEvent, Backup, BackupFile, BackupPolicy
from backups.services.backups import backup_expire, backup_request
from backups.services.downloads import LinkRefused, download_link_check, download_start
from backups.services.errors import Refused
from backups.services.files import backup_file_generate, backup_file_request
from tests.components import need_postgres

from .helpers import run_backup_of

FOURTH = (
    "This backup has been downloaded 3 times, the most allowed. "
    "Run a new backup to download its file."
)


def ready_file(backup, user) -> BackupFile:
    backup_file = backup_file_request(backup=backup, actor=user)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    return backup_file


def test_d1_generate_a_file_for_a_complete_backup(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file = ready_file(backup, demo.alice)
    assert backup_file.size == storage.object_size(backup_file.storage_name) > 0
    assert len(backup_file.sha256) == 64
    assert backup_file.downloads_left == 3
    assert backup_file.progress_percent == 100
    # A second delivery of the task does nothing.
    assert backup_file_generate(file_id=backup_file.pk) is None
    with pytest.raises(Refused, match="The backup file is ready."):
        backup_file_request(backup=backup, actor=demo.alice)


def test_d1_in_progress_failed_and_expired_backups_have_no_file(demo):
    BackupPolicy.objects.create(product=demo.jira)
    running = backup_request(product=demo.jira, actor=demo.alice)
    with pytest.raises(Refused, match="The backup is still running."):
        backup_file_request(backup=running, actor=demo.alice)
    Backup.objects.filter(pk=running.pk).update(
        status=Backup.Status.FAILED, completed_at=timezone.now()
    )
    running.refresh_from_db()
    with pytest.raises(Refused, match="The backup failed: it has no data to use."):
        backup_file_request(backup=running, actor=demo.alice)

    done = run_backup_of(demo.confluence, demo.alice)
    assert backup_expire(backup=done, now=timezone.now(), force=True)
    done.refresh_from_db()
    with pytest.raises(Refused, match="The backup expired on .* its stored data was deleted."):
        backup_file_request(backup=done, actor=demo.alice)
    assert not BackupFile.objects.exists()


def test_d2_a_backup_over_the_local_limit_has_no_file(demo, settings):
    backup = run_backup_of(demo.jira, demo.alice)
    settings.LOCAL_DOWNLOAD_LIMIT = backup.total_bytes - 1
    with pytest.raises(Refused) as refused:
        backup_file_request(backup=backup, actor=demo.alice)
    assert "(the local download limit)" in refused.value.reason
    assert not BackupFile.objects.exists()


def test_d3_three_downloads_then_a_clear_refusal(demo):
    backup_file = ready_file(run_backup_of(demo.jira, demo.alice), demo.alice)
    links = [download_start(backup_file=backup_file, actor=demo.alice) for _ in range(3)]
    assert len(set(links)) == 3
    with pytest.raises(Refused) as refused:
        download_start(backup_file=backup_file, actor=demo.alice)
    assert refused.value.reason == FOURTH
    backup_file.refresh_from_db()
    assert backup_file.downloads_used == 3
    assert AuditEvent.objects.filter(action="backup_file.downloaded").count() == 3


def test_d3_a_failed_then_regenerated_file_keeps_its_count(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file = ready_file(backup, demo.alice)
    download_start(backup_file=backup_file, actor=demo.alice)
    BackupFile.objects.filter(pk=backup_file.pk).update(status=BackupFile.Status.FAILED)
    again = ready_file(backup, demo.alice)
    assert again.pk == backup_file.pk
    assert again.downloads_used == 1


def test_d4_links_are_personal_and_short_lived(demo, settings):
    backup_file = ready_file(run_backup_of(demo.jira, demo.alice), demo.alice)
    link = download_start(backup_file=backup_file, actor=demo.alice)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert download_link_check(token=token, user=demo.alice) == backup_file
    with pytest.raises(LinkRefused, match="This download link was made for another user."):
        download_link_check(token=token, user=demo.bob)
    with (
        time_machine.travel(
            timezone.now() + timedelta(minutes=settings.DOWNLOAD_LINK_MINUTES, seconds=1)
        ),
        pytest.raises(LinkRefused, match="This download link has expired."),
    ):
        download_link_check(token=token, user=demo.alice)
    with pytest.raises(LinkRefused, match="This download link is not valid."):
        download_link_check(token=token[:-2] + "xx", user=demo.alice)


def test_d5_the_file_expires_with_its_backup(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file = ready_file(backup, demo.alice)
    link = download_start(backup_file=backup_file, actor=demo.alice)
    token = link.rstrip("/").rsplit("/", 1)[1]
    with time_machine.travel(backup.started_at + timedelta(days=14, seconds=1)):
        assert backup_expire(backup=backup, now=timezone.now())
    assert not storage.exists(backup_file.storage_name)
    backup_file.refresh_from_db()
    assert backup_file.status == BackupFile.Status.EXPIRED
    with pytest.raises(LinkRefused, match="The backup expired on"):
        download_link_check(token=token, user=demo.alice)
    backup_file.refresh_from_db()
    with pytest.raises(Refused, match="The backup expired on"):
        download_start(backup_file=backup_file, actor=demo.alice)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_d3_ten_parallel_download_requests_make_exactly_three_links(demo):
    need_postgres()
    backup_file = ready_file(run_backup_of(demo.jira, demo.alice), demo.alice)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def click():
        try:
            barrier.wait()
            download_start(backup_file=BackupFile.objects.get(pk=backup_file.pk), actor=demo.alice)
            outcomes.append("link")
        except Refused as exc:
            outcomes.append(exc.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("link") == 3
    assert outcomes.count(FOURTH) == 7
    assert BackupFile.objects.get(pk=backup_file.pk).downloads_used == 3


def test_a_damaged_stored_attachment_fails_file_generation_by_name(demo):
    from tests.services.helpers import read_rows

    backup = run_backup_of(demo.jira, demo.alice)
    row = read_rows(backup, "attachments")[0]
    with storage.open_object(backup.storage_prefix + row["path"], "wb") as f:
        f.write(b"damaged after the backup")
    backup_file = backup_file_request(backup=backup, actor=demo.alice)

    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.FAILED

    backup_file.refresh_from_db()
    assert backup_file.failure_reason.startswith(
        f"{row['path']} in the stored backup does not match its SHA-256 and size"
    )
    assert not storage.exists(backup_file.storage_name)

"""Restore from a downloaded backup file (issue #6): chunks, resume, R9 validation, R4, E2."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from backups import storage
from backups.models import Restore, Upload
from backups.services.errors import Refused
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from backups.services.uploads import (
    upload_chunk,
    upload_delete,
    upload_start,
    upload_validate,
    uploads_due_for_deletion,
)
from tests.productdata.helpers import jira_snapshot

from .helpers import backup_file_bytes


def send(upload, data: bytes, start: int = 0, stop: int | None = None) -> Upload:
    """Send the file's chunks from byte `start` (to `stop`), as the browser does."""
    size = storage.UPLOAD_CHUNK
    stop = len(data) if stop is None else stop
    for offset in range(start, stop, size):
        upload = upload_chunk(upload=upload, offset=offset, data=data[offset : offset + size])
    return upload


def upload_and_validate(org, user, data: bytes, name="backup.zip") -> Upload:
    upload = send(upload_start(organization=org, actor=user, file_name=name, size=len(data)), data)
    upload_validate(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The demo's users hashed with PBKDF2 cost 2 s a test; no test here types a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 4 KiB, so a demo backup file takes several (S3 needs 5 MiB; this is a folder)."""
    monkeypatch.setattr(storage, "UPLOAD_CHUNK", 4096)


@pytest.fixture
def jira_file(demo):
    data, backup = backup_file_bytes(demo.jira, demo.alice)
    return data, backup


def stored_bytes(upload) -> bytes:
    with storage.open_object(upload.storage_name) as f:
        return f.read()


def test_a_valid_file_uploads_in_chunks_validates_and_restores(demo, jira_file, small_chunks):
    data, backup = jira_file
    before = jira_snapshot(demo.jira)
    upload = upload_and_validate(demo.acme, demo.alice, data)

    assert upload.status == Upload.Status.VALID, upload.failed_check
    assert [c["name"] for c in upload.checks] == [
        "zip",
        "paths",
        "size",
        "manifest",
        "signature",
        "entries",
        "organization",
        "kind",
        "age",
        "status",
    ]
    assert all(c["passed"] for c in upload.checks)
    assert upload.manifest["backup_id"] == backup.pk

    restore = restore_request(upload=upload, destination=demo.jira_sandbox, actor=demo.alice)
    assert restore.source_backup_id == backup.pk
    restore_execute(restore_id=restore.pk)
    restore.refresh_from_db()
    assert restore.status == Restore.Status.COMPLETE, restore.failure_reason
    assert jira_snapshot(demo.jira_sandbox) == before
    # E2: a restored upload is deleted.
    upload.refresh_from_db()
    assert (upload.status, upload.deleted_reason) == (Upload.Status.DELETED, "restored")
    assert not storage.exists(upload.storage_name)


def test_resume_after_a_dropped_connection_from_the_offset_the_server_reports(
    demo, jira_file, small_chunks
):
    data, _ = jira_file
    upload = upload_start(
        organization=demo.acme, actor=demo.alice, file_name="b.zip", size=len(data)
    )
    half = (len(data) // 2) // 4096 * 4096
    send(upload, data, 0, half)  # ... and the connection drops
    upload = Upload.objects.get(pk=upload.pk)  # after a page reload, the server says where
    assert upload.received_bytes == half

    upload = send(upload, data, upload.received_bytes)

    assert upload.status == Upload.Status.VALIDATING
    assert hashlib.sha256(stored_bytes(upload)).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_wrong_offset_or_a_chunk_past_the_declared_size_is_refused_harmlessly(
    demo, jira_file, small_chunks
):
    data, _ = jira_file
    upload = upload_start(
        organization=demo.acme, actor=demo.alice, file_name="b.zip", size=len(data)
    )
    upload = send(upload, data, 0, 8192)
    kept = stored_bytes(upload)

    with pytest.raises(Refused, match="Expected the chunk at byte 8192, not at byte 4096"):
        upload_chunk(upload=upload, offset=4096, data=b"x" * 4096)
    with pytest.raises(Refused, match="Expected the chunk at byte 8192, not at byte 12288"):
        upload_chunk(upload=upload, offset=12288, data=data[12288:16384])
    tail = len(data) - 8192
    with pytest.raises(Refused, match="past the file's declared size"):
        upload_chunk(upload=upload, offset=8192, data=b"x" * (tail + 1))

    upload.refresh_from_db()
    assert upload.received_bytes == 8192
    assert stored_bytes(upload) == kept
    upload = send(upload, data, 8192)
    assert stored_bytes(upload) == data


def test_d2_a_file_larger_than_the_limit_is_refused_before_the_first_byte(demo, settings):
    settings.LOCAL_DOWNLOAD_LIMIT = 1000
    with pytest.raises(Refused, match="a backup file can be at most 1 KB"):
        upload_start(organization=demo.acme, actor=demo.alice, file_name="big.zip", size=1001)
    assert not Upload.objects.exists()


def test_d2_the_service_itself_refuses_past_the_unfinished_cap(demo, settings):
    """The view is not the only guard: the service checks inside its transaction (item 9)."""
    settings.UPLOAD_UNFINISHED_LIMIT = 10_000
    upload_start(organization=demo.acme, actor=demo.alice, file_name="a.zip", size=9000)
    with pytest.raises(Refused) as refused:
        upload_start(organization=demo.acme, actor=demo.alice, file_name="b.zip", size=1001)
    assert refused.value.decision.bound == "unfinished"
    assert refused.value.reason.startswith("You have 9 KB in unfinished uploads; ")
    # Another admin's allowance is their own.
    other = upload_start(organization=demo.acme, actor=demo.carol, file_name="c.zip", size=9000)
    assert other.status == Upload.Status.RECEIVING
    assert Upload.objects.count() == 2


# --- bad files (R9): the corpus of named variants is tests/corpus/; these helpers are shared --


def test_r9_another_organizations_backup_is_refused(demo, jira_file):
    data, _ = jira_file
    demo.globex.enrolled = True
    demo.globex.save()
    upload = upload_and_validate(demo.globex, demo.carol, data)
    assert upload.status == Upload.Status.INVALID
    assert upload.failed_check["name"] == "organization"
    assert upload.failed_check["detail"] == "It is a backup of Acme, another organization."


def test_r9_a_confluence_file_for_a_jira_destination_is_refused(demo):
    data, _ = backup_file_bytes(demo.confluence, demo.alice)
    upload = upload_and_validate(demo.acme, demo.alice, data)
    assert upload.status == Upload.Status.VALID
    with pytest.raises(
        Refused, match="Acme Jira sandbox is a Jira site; this is a Confluence backup."
    ):
        restore_request(upload=upload, destination=demo.jira_sandbox, actor=demo.alice)
    assert not Restore.objects.exists()


def test_r4_taken_60_days_and_a_second_ago_is_refused(demo, jira_file):
    data, backup = jira_file
    with time_machine.travel(backup.started_at + timedelta(days=60, seconds=1)):
        upload = upload_and_validate(demo.acme, demo.alice, data)
    assert upload.status == Upload.Status.INVALID
    assert upload.failed_check["name"] == "age"
    # ... and at 60 days exactly it is accepted, though the stored backup expired long ago.
    with time_machine.travel(backup.started_at + timedelta(days=60), tick=False):
        upload = upload_and_validate(demo.acme, demo.alice, data)
        assert upload.status == Upload.Status.VALID
        restore_request(upload=upload, destination=demo.jira_sandbox, actor=demo.alice)


def test_r5_once_a_week_per_backup_whether_from_storage_or_file(demo, jira_file):
    data, backup = jira_file
    restore_execute(
        restore_id=restore_request(
            backup=backup, destination=demo.jira_sandbox, actor=demo.alice
        ).pk
    )
    upload = upload_and_validate(demo.acme, demo.alice, data)
    from backups.models import Product

    other = Product.objects.create(organization=demo.acme, kind="jira", name="Another Jira")
    with pytest.raises(Refused, match="a backup can be restored once in 7 days"):
        restore_request(upload=upload, destination=other, actor=demo.alice)


def test_e2_housekeeping_deletes_abandoned_and_old_uploads(demo, jira_file):
    data, backup = jira_file
    abandoned = upload_start(
        organization=demo.acme, actor=demo.alice, file_name="a.zip", size=len(data)
    )
    send(abandoned, data, 0, storage.UPLOAD_CHUNK if len(data) > storage.UPLOAD_CHUNK else 0)
    valid = upload_and_validate(demo.acme, demo.alice, data)
    assert valid.status == Upload.Status.VALID

    now = timezone.now()
    assert list(uploads_due_for_deletion(now=now)) == []
    due = dict(
        (u.pk, reason)
        for u, reason in uploads_due_for_deletion(
            now=backup.started_at + timedelta(days=60, seconds=1)
        )
    )
    assert due == {
        abandoned.pk: "abandoned unfinished for a day",
        valid.pk: "its 60-day window has passed",
    }

    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with time_machine.travel(backup.started_at + timedelta(days=60, seconds=1)):
        call_command("expire_backups", stdout=out)
    assert "2 upload(s) deleted." in out.getvalue()
    valid.refresh_from_db()
    assert valid.status == Upload.Status.DELETED
    assert not storage.exists(valid.storage_name)


def test_e2_never_deletes_a_file_a_running_restore_reads(demo, jira_file):
    """E2 with R8: a file whose 60 days end while a restore reads it stays until that restore
    ends (which deletes it: E2, "or they are restored")."""
    data, backup = jira_file
    valid = upload_and_validate(demo.acme, demo.alice, data)
    restore = restore_request(upload=valid, destination=demo.jira_sandbox, actor=demo.alice)
    late = backup.started_at + timedelta(days=60, seconds=1)
    assert [u.pk for u, _ in uploads_due_for_deletion(now=late)] == []
    assert upload_delete(upload=valid, reason="its 60-day window has passed") is False
    assert storage.exists(valid.storage_name)

    with time_machine.travel(late):
        assert restore_execute(restore_id=restore.pk) == Restore.Status.COMPLETE
    valid.refresh_from_db()
    assert (valid.status, valid.deleted_reason) == (Upload.Status.DELETED, "restored")
    assert not storage.exists(valid.storage_name)

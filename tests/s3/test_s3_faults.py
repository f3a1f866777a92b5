"""Storage faults (issue #7, item 4): the S3 server process stops in the middle of the work.

Each test runs its own rclone (the session's server stays up for the other tests), stops the
process at a chosen moment from a hook in the backup's own path, and starts it again on the
same port and folder. Nothing is mocked: the client meets a closed port.
"""

import random
import re

import pytest
from django.core import mail
from django.utils import timezone

from backups import storage
from backups.demo import make_attachment
from backups.models import AuditEvent, Backup, BackupPolicy, JiraAttachment, JiraIssue
from backups.services.backup_engine import backup_execute
from backups.services.backups import backup_request
from tests.components import need_s3
from tests.s3.rclone import RcloneS3, use_s3, wait_for
from tests.services.helpers import read_manifest, read_rows, run_backup_of

MiB = 1024 * 1024


@pytest.fixture
def own_s3(tmp_path, isolated_storage, settings, monkeypatch):
    # A refused connection is retried by botocore with backoff; two tries keep the test short
    # and still go through the retry path.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    server = RcloneS3(need_s3(), tmp_path / "s3")
    server.start()
    try:
        yield from use_s3(server, settings)
    finally:
        server.stop()


@pytest.fixture
def big_jira(own_s3, demo):
    """The demo Jira with several MB more of attachments, on the S3 server."""
    issue = JiraIssue.objects.filter(product=demo.jira).order_by("id").first()
    rng = random.Random(7)
    for i in range(4):
        make_attachment(
            JiraAttachment,
            product=demo.jira,
            issue=issue,
            name=f"recording-{i}.bin",
            data=rng.randbytes(3 * MiB),
            created=timezone.now(),
        )
    return demo.jira


def objects_in_bucket(s3, prefix: str) -> list[str]:
    listed = s3.server.client().list_objects_v2(Bucket=s3.backups, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", ())]


def stop_during_attachment_copies(monkeypatch, s3, backup):
    real, copied = storage.copy_attachment, []

    def copy_then_stop(source_name, name, **kwargs):
        if len(copied) == 2:
            # The first copies, as the organization's shared copies (#16 item 2).
            org = backup.product.organization_id
            assert len(objects_in_bucket(s3, f"blobs/{org}/")) == 2
            s3.server.stop()
        copied.append(name)
        return real(source_name, name, **kwargs)

    monkeypatch.setattr(storage, "copy_attachment", copy_then_stop)
    return r"copy blobs/\S+"


def stop_while_streaming_entities(monkeypatch, s3, backup):
    real = storage.write_chunks

    def write_then_stop(name, chunks):
        if not name.endswith("entities/issues.jsonl"):
            return real(name, chunks)

        def stop_after_the_first_chunk():
            for i, chunk in enumerate(chunks):
                yield chunk
                if i == 0:
                    assert objects_in_bucket(s3, "")  # the attachments' copies, projects
                    s3.server.stop()

        return real(name, stop_after_the_first_chunk())

    monkeypatch.setattr(storage, "write_chunks", write_then_stop)
    # Written into the organization's store, then held by reference (#16).
    return r"write blobs/\S+/entities/issues\.jsonl"


@pytest.mark.parametrize(
    "stop", [stop_during_attachment_copies, stop_while_streaming_entities], ids=lambda f: f.__name__
)
def test_the_s3_server_stopped_mid_backup_fails_it_naming_the_storage(
    own_s3, big_jira, demo, monkeypatch, stop
):
    BackupPolicy.objects.create(product=big_jira, created_by=demo.alice)
    backup = backup_request(product=big_jira, actor=demo.alice)
    doing = stop(monkeypatch, own_s3, backup)

    assert backup_execute(backup_id=backup.id) == Backup.Status.FAILED

    assert not own_s3.server.running
    backup.refresh_from_db()
    assert backup.status == Backup.Status.FAILED
    label = f"The backup storage (bucket {own_s3.backups} at {own_s3.server.endpoint})"
    assert re.fullmatch(
        rf"{re.escape(label)} failed to {doing}: Could not connect to the endpoint URL: .*",
        backup.failure_reason,
    ), backup.failure_reason
    assert not Backup.objects.filter(
        status__in=[Backup.Status.COMPLETE, Backup.Status.INCOMPLETE]
    ).exists()
    assert AuditEvent.objects.filter(action="backup.failed", target=str(backup)).exists()
    assert "Failed" in mail.outbox[-1].subject

    monkeypatch.undo()  # the hooks go; the server comes back on its port and folder
    own_s3.server.start()

    # What the failed backup left (its partial objects could not be deleted while the
    # server was down) has no manifest: it can never pass for a finished backup.
    left = storage.list_prefix(backup.storage_prefix)
    assert backup.storage_prefix + "manifest.json" not in left
    assert storage.delete_prefix(backup.storage_prefix) == len(left)

    again = run_backup_of(big_jira, demo.alice)
    assert again.status == Backup.Status.COMPLETE
    manifest = read_manifest(again)
    rows = read_rows(again, "attachments")
    assert len(rows) == JiraAttachment.objects.filter(product=big_jira).count()
    assert manifest["attachments"]["bytes"] >= 4 * 3 * MiB
    assert storage.list_prefix(again.storage_prefix) == [again.storage_prefix + "manifest.json"]
    # Its attachments and entities files are the organization's shared copies, each there
    # (#16).
    assert all(storage.exists(again.storage_prefix + r["path"]) for r in rows)
    assert all(
        storage.exists(again.storage_prefix + e["file"]) for e in manifest["entities"].values()
    )


def test_the_s3_server_stopped_mid_multipart_upload_leaves_no_object(own_s3):
    log_from = own_s3.server.log_size()
    name = "backups/1/2/3/file/backup.zip"

    def chunks():
        for i in range(3 * storage.PART_SIZE // MiB):
            if i == storage.PART_SIZE // MiB + 1:
                # The first part is on the server (parts go one at a time): stop it now.
                wait_for(
                    lambda: "put multipart upload" in own_s3.server.log_text(log_from),
                    timeout=10,
                    what="the first part to arrive",
                )
                own_s3.server.stop()
            yield random.Random(i).randbytes(MiB)

    with pytest.raises(storage.StorageError) as failed:
        storage.write_chunks(name, chunks())

    label = f"The backup storage (bucket {own_s3.backups} at {own_s3.server.endpoint})"
    assert str(failed.value).startswith(f"{label} failed to write {name}: ")
    own_s3.server.start()
    assert not storage.exists(name)
    assert storage.list_prefix("backups/") == []
    storage.write_chunks(name, [b"a whole file"])  # the name is free: nothing half-written

"""The backup engine on S3 (issue #7, item 1): the engine's tests again, then what S3 adds."""

import hashlib
import inspect
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from backups import storage
from backups.models import Backup, BackupFile, JiraAttachment
from backups.services.files import backup_file_generate, backup_file_request
from tests.services import test_backup_engine as engine_tests
from tests.services.helpers import read_manifest, read_rows, run_backup_of

# Every engine test that needs nothing but the demo runs again with both storages on S3
# (the folder-only one, a plain file blocking a folder, has its S3 twin in test_s3_faults).
ENGINE_TESTS = sorted(
    name
    for name, test in vars(engine_tests).items()
    if name.startswith("test_") and list(inspect.signature(test).parameters) == ["demo"]
)


def test_the_engine_tests_cover_what_s3_must_prove():
    assert {
        "test_b2_jira_backup_holds_every_project_issue_comment_and_file",
        "test_b5_unreadable_jira_attachment_makes_the_backup_incomplete_and_names_it",
        "test_b5_confluence_space_with_an_unreadable_file_is_left_out_whole",
    } <= set(ENGINE_TESTS)


@pytest.mark.parametrize("test", ENGINE_TESTS)
def test_engine_on_s3(s3_storage, demo, test):
    getattr(engine_tests, test)(demo)


def sha256_of_object(client, bucket: str, key: str) -> str:
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    for chunk in body.iter_chunks(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


def test_attachments_are_copied_server_side_and_every_object_is_in_the_bucket(
    s3_storage, demo, s3_log
):
    backup = run_backup_of(demo.jira, demo.alice)
    log = s3_log()

    assert backup.status == Backup.Status.COMPLETE
    attachments = JiraAttachment.objects.filter(product=demo.jira)
    # The server copied each file from bucket to bucket; the worker never downloaded one.
    copies = re.findall(rf"COPY: {s3_storage.attachments}/(\S+) TO {s3_storage.backups} (\S+)", log)
    assert sorted(source for source, _ in copies) == sorted(a.file.name for a in attachments)
    assert f"GET OBJECT Bucket: {s3_storage.attachments}" not in log
    # Read straight from the bucket, not through backups/storage.py: the objects are there,
    # with the bytes the manifest and the attachments rows promise.
    client = s3_storage.server.client()
    listed = client.list_objects_v2(Bucket=s3_storage.backups, Prefix=backup.storage_prefix)
    keys = {item["Key"] for item in listed["Contents"]}
    assert keys == set(storage.list_prefix(backup.storage_prefix))
    manifest = read_manifest(backup)
    assert backup.storage_prefix + "manifest.json" in keys
    for entry in manifest["entities"].values():
        # Held like an attachment (#16): the organization's one copy of those bytes.
        key = storage.resolve(backup.storage_prefix + entry["file"])
        assert key.startswith(f"blobs/{demo.acme.pk}/")
        assert sha256_of_object(client, s3_storage.backups, key) == entry["sha256"]
    rows = read_rows(backup, "attachments")
    assert len(rows) == attachments.count() > 0
    for row in rows:
        # #16 item 2: the organization's one copy of the bytes, under blobs/<org>/.
        key = storage.resolve(backup.storage_prefix + row["path"])
        assert key.startswith(f"blobs/{demo.acme.pk}/")
        assert sha256_of_object(client, s3_storage.backups, key) == row["sha256"]
        assert (
            client.head_object(Bucket=s3_storage.backups, Key=key)["ContentLength"] == row["size"]
        )


def test_a_same_size_change_passes_the_copy_and_is_refused_by_file_generation(s3_storage, demo):
    """A server-side copy checks only the size; making the backup file checks every SHA-256."""
    victim = JiraAttachment.objects.filter(product=demo.jira).first()
    with default_storage.open(victim.file.name) as f:
        original = f.read()
    default_storage.delete(victim.file.name)
    default_storage.save(victim.file.name, ContentFile(bytes(b ^ 0xFF for b in original)))

    backup = run_backup_of(demo.jira, demo.alice)
    assert backup.status == Backup.Status.COMPLETE  # the size is all a server-side copy checks

    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.FAILED
    backup_file.refresh_from_db()
    assert backup_file.failure_reason.startswith(
        f"attachments/{victim.id}/{victim.name} in the stored backup does not match its SHA-256"
    )
    assert not storage.exists(backup_file.storage_name)


def test_a_backup_on_a_folder_and_on_s3_holds_the_same_bytes(storage_backend, demo):
    backup = run_backup_of(demo.confluence, demo.alice)
    assert backup.status == Backup.Status.COMPLETE
    manifest = read_manifest(backup)
    for entry in manifest["entities"].values():
        with storage.open_object(backup.storage_prefix + entry["file"]) as f:
            assert hashlib.sha256(f.read()).hexdigest() == entry["sha256"]
    for row in read_rows(backup, "attachments"):
        with storage.open_object(backup.storage_prefix + row["path"]) as f:
            assert hashlib.sha256(f.read()).hexdigest() == row["sha256"]

    # The backup's own object: its manifest. Its attachments and entities files are the shared
    # copies, let go by expiry through their references (#16), not by the prefix.
    assert storage.delete_prefix(backup.storage_prefix) == 1
    assert storage.list_prefix(backup.storage_prefix) == []

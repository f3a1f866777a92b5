"""storage.list_objects: every object under a folder prefix with its size and last-modified
time, streamed a page (S3) or a folder (filesystem) at a time; for the attachment store's
sweep (#16 item 2). Run on a folder and on a real S3 server (rclone serve s3)."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from backups import storage

NAMES = {
    "blobs/1/ab/ab01-000000000001": b"one",
    "blobs/1/site/000000000002/attachments/5/report final.pdf": b"second object",
    "blobs/2/cd/cd02-000000000003": b"",
    "blobs/10/ef/ef03-000000000004": b"x" * 5000,
}
OUTSIDE = {
    "backups/1/1/1/manifest.json": b"{}",
    "blobsy/1/a": b"near miss",
}


def write_all(objects: dict[str, bytes]) -> None:
    for name, data in objects.items():
        storage.write_chunks(name, [data] if data else [])


def test_every_object_under_the_prefix_with_its_size_and_time(storage_backend, monkeypatch):
    monkeypatch.setattr(storage, "PAGE_SIZE", 2)  # several pages on S3
    before = timezone.now() - timedelta(seconds=2)  # S3 times have one-second precision
    write_all(NAMES | OUTSIDE)
    after = timezone.now() + timedelta(seconds=2)

    listed = list(storage.list_objects("blobs/"))

    assert sorted(o.name for o in listed) == sorted(NAMES)
    assert {o.name: o.size for o in listed} == {n: len(d) for n, d in NAMES.items()}
    for o in listed:
        assert o.modified.tzinfo is not None
        assert before <= o.modified <= after, o
    # One organization's folder; "blobs/1/" is not "blobs/10/".
    assert sorted(o.name for o in storage.list_objects("blobs/1/")) == sorted(
        n for n in NAMES if n.startswith("blobs/1/")
    )
    # The older listing agrees, and nothing was changed by listing.
    assert storage.list_prefix("blobs/") == sorted(NAMES)


def test_an_empty_or_missing_prefix_lists_nothing_and_a_non_folder_is_refused(storage_backend):
    assert list(storage.list_objects("blobs/")) == []
    write_all(OUTSIDE)
    assert list(storage.list_objects("blobs/")) == []
    with pytest.raises(ValueError):
        list(storage.list_objects("blobs"))


def test_a_files_mtime_is_its_last_modified_time(isolated_storage):
    name = "blobs/1/ab/ab01-000000000001"
    storage.write_chunks(name, [b"left by a killed worker"])
    path = storage.backup_storage().path(name)
    two_days_ago = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    os.utime(path, (two_days_ago.timestamp(), two_days_ago.timestamp()))

    [listed] = storage.list_objects("blobs/")

    assert listed == storage.StoredObject(name, 23, two_days_ago)


def test_objects_deleted_while_the_listing_runs_do_not_break_it(storage_backend, monkeypatch):
    # The sweep deletes page by page while it lists.
    monkeypatch.setattr(storage, "PAGE_SIZE", 1)
    write_all(NAMES)
    seen = []
    for listed in storage.list_objects("blobs/"):
        seen.append(listed.name)
        storage.delete_object(listed.name)
    assert sorted(seen) == sorted(NAMES)
    assert list(storage.list_objects("blobs/")) == []

"""Entities files held like attachments (#16) under concurrency, on PostgreSQL's row locks and
the partial unique index "one LIVE copy per (organization, SHA-256)".

Two backups of one product cannot run at once (B4: one IN_PROGRESS backup per product, a unique
index), so the race is two products of one organization whose entities files are the same
bytes, backed up at once: both write each file, both find no live copy, both try to make theirs
live; the index refuses one, which refers to the other's copy and deletes its own. And an
expiry that is deleting a copy while a backup of the same bytes holds its file.
"""

import threading

import pytest

from backups import storage
from backups.models import AttachmentBlob, Backup, BackupBlob
from backups.services import blobs as blobs_service
from tests.components import need_postgres
from tests.factories import complete_backup, jira_product, org_with_admin

from .helpers import read_manifest, run_backup_of
from .test_blobs import next_week
from .test_blobs_pg import (
    WAIT,
    assert_every_reference_reads_its_bytes,
    backups_at_once,
    expiry_paused_at_delete,
)


def entities_copies(backup: Backup) -> dict[str, int]:
    refs = BackupBlob.objects.filter(backup=backup, path__startswith="entities/")
    return dict(refs.values_list("path", "blob_id"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_backups_writing_the_same_entities_files_at_once_store_each_once(monkeypatch):
    need_postgres()
    org, admin = org_with_admin()
    products = [jira_product(org, name, issues=3, comments=1) for name in ("Jira", "Jira two")]
    # Both have looked for a live copy and found none before either makes its own live: the
    # unique index, not luck, settles each file.
    both_looked = threading.Barrier(2, timeout=WAIT)
    real_make_live = blobs_service._make_live

    refused = []

    def make_live_together(*args):
        both_looked.wait()
        held = real_make_live(*args)
        refused.append(held is None)
        return held

    monkeypatch.setattr(blobs_service, "_make_live", make_live_together)
    backups = backups_at_once(products, admin)
    first, second = backups
    # The same bytes, one copy of each, held by both.
    assert read_manifest(first)["entities"] == read_manifest(second)["entities"]
    assert entities_copies(first) == entities_copies(second)
    copies = len(set(entities_copies(first).values()))
    assert AttachmentBlob.objects.count() == copies
    # Each copy was made live by one backup and refused to the other (the index).
    assert sorted(refused) == [False] * copies + [True] * copies
    # The loser's copies were deleted: every object is a live copy's.
    assert sorted(storage.list_prefix("blobs/")) == sorted(
        AttachmentBlob.objects.values_list("storage_name", flat=True)
    )
    assert_every_reference_reads_its_bytes()


@pytest.mark.django_db(transaction=True)
def test_e1_a_backup_that_meets_its_entities_copy_being_deleted_writes_a_new_one(monkeypatch):
    # The expiry marked the issues file's copy DELETING (no backup referred to it) and
    # committed; before it deletes the object, the next backup of the product (the same
    # bytes) runs to its end: it writes a copy of its own.
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, comments=1)
    expiring = complete_backup(product, admin, verify=False)
    doomed = BackupBlob.objects.get(backup=expiring, path="entities/issues.jsonl").blob
    go, expiry, results = expiry_paused_at_delete(monkeypatch, expiring, doomed)

    with next_week(expiring):
        backup = run_backup_of(product, admin, verify=False)

    go.set()
    expiry.join(WAIT)
    assert results["expiry"] is True
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason
    fresh = BackupBlob.objects.get(backup=backup, path="entities/issues.jsonl").blob
    assert fresh.pk != doomed.pk and fresh.sha256 == doomed.sha256
    assert not AttachmentBlob.objects.filter(pk=doomed.pk).exists()
    assert sorted(storage.list_prefix("blobs/")) == sorted(
        AttachmentBlob.objects.values_list("storage_name", flat=True)
    )
    assert_every_reference_reads_its_bytes()

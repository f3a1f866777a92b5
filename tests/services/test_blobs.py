"""Attachments stored once (#16 item 2): content-addressed, reference-counted by the backups
that hold them, deleted with the last one (E1, B5); the backup file (SPEC §7) and restores read
the same bytes as before."""

import hashlib
import io
import zipfile
from datetime import timedelta

import time_machine
from django.core.files.storage import default_storage
from django.utils import timezone

from backups import storage
from backups.models import (
    AttachmentBlob,
    Backup,
    BackupBlob,
    JiraAttachment,
    JiraIssue,
    Restore,
)
from backups.services.backups import backup_expire
from backups.services.blobs import storage_used
from backups.services.files import backup_file_generate, backup_file_request
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.factories import attach, complete_backup, jira_product, org_with_admin

from .helpers import read_manifest, read_rows, run_backup_of


def attachment_objects(prefix: str = "blobs/") -> list[str]:
    """The store's objects of attachments: entities files are held there too, under
    `blobs/<org>/written/` (tests/services/test_entities_blobs.py)."""
    return [n for n in storage.list_prefix(prefix) if "/written/" not in n]


def attachment_blobs():
    return AttachmentBlob.objects.exclude(storage_name__contains="/written/")


def stored_blob_bytes() -> int:
    return sum(storage.backup_storage().size(n) for n in attachment_objects())


def next_week(backup: Backup):
    """B3: the next backup of the product may run 7 days after this one completed."""
    return time_machine.travel(backup.completed_at + timedelta(days=7, seconds=1), tick=False)


def zip_entries(backup: Backup, user, folder: str = "attachments/") -> dict[str, bytes]:
    """The entries under `folder` of the backup's backup file (SPEC §7), made now."""
    backup_file = backup_file_request(backup=backup, actor=user)
    assert backup_file_generate(file_id=backup_file.pk) == "READY"
    backup_file.refresh_from_db()
    with storage.open_object(backup_file.storage_name) as f:
        archive = zipfile.ZipFile(io.BytesIO(f.read()))
    return {n: archive.read(n) for n in archive.namelist() if n.startswith(folder)}


def test_a_second_backup_of_an_unchanged_product_stores_no_attachment_again(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=5, attachments=2)
    first = complete_backup(product, admin)
    blobs_after_first = attachment_objects(f"blobs/{org.pk}/")
    assert len(blobs_after_first) == 10
    stored = stored_blob_bytes()
    assert stored == sum(JiraAttachment.objects.values_list("size", flat=True))

    with next_week(first):
        second = complete_backup(product, admin)

    # Not one new attachment byte; each backup still holds all ten, by reference.
    assert attachment_objects(f"blobs/{org.pk}/") == blobs_after_first
    assert stored_blob_bytes() == stored
    assert BackupBlob.objects.filter(backup=first, path__startswith="attachments/").count() == 10
    assert BackupBlob.objects.filter(backup=second, path__startswith="attachments/").count() == 10
    # The manifests still count every attachment (SPEC §7 unchanged): the same figures.
    assert read_manifest(second)["attachments"] == read_manifest(first)["attachments"]
    assert second.total_bytes == first.total_bytes
    for row in read_rows(second, "attachments"):
        with storage.open_object(second.storage_prefix + row["path"]) as f:
            assert hashlib.sha256(f.read()).hexdigest() == row["sha256"]


def test_only_a_changed_attachment_is_stored_again(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=3, attachments=1)
    first = complete_backup(product, admin)
    before = stored_blob_bytes()
    issue = JiraIssue.objects.get(key="P1-2")
    added = attach(JiraAttachment, product, "new-design.txt", issue=issue)

    with next_week(first):
        complete_backup(product, admin)

    assert stored_blob_bytes() == before + added.size
    assert attachment_blobs().count() == 4


def test_the_same_file_twice_in_one_product_is_stored_once(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=2)
    for key in ("P1-1", "P1-2"):
        attach(JiraAttachment, product, "same.txt", issue=JiraIssue.objects.get(key=key))

    backup = complete_backup(product, admin)

    assert len(read_rows(backup, "attachments")) == 2
    assert attachment_blobs().count() == 1
    assert len(attachment_objects()) == 1


def test_organizations_keep_their_own_copies(db):
    # Tenants stay apart: the same bytes in two organizations are two blobs, each counted.
    acme, acme_admin = org_with_admin("acme")
    globex, globex_admin = org_with_admin("globex")
    complete_backup(jira_product(acme, attachments=1), acme_admin)
    complete_backup(jira_product(globex, attachments=1), globex_admin)

    assert attachment_blobs().filter(organization=acme).count() == 2
    assert attachment_blobs().filter(organization=globex).count() == 2
    assert len(attachment_objects(f"blobs/{acme.pk}/")) == 2
    assert len(attachment_objects(f"blobs/{globex.pk}/")) == 2


def test_e1_a_shared_copy_goes_with_the_last_backup_that_holds_it(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, attachments=1)
    first = complete_backup(product, admin)
    with next_week(first):
        second = complete_backup(product, admin)
    blobs = storage.list_prefix("blobs/")
    assert len(attachment_objects()) == 2

    assert backup_expire(backup=first, now=timezone.now(), force=True)

    # The second backup still holds both files: nothing of them is deleted.
    assert storage.list_prefix("blobs/") == blobs
    assert storage.list_prefix(first.storage_prefix) == []
    assert not BackupBlob.objects.filter(backup=first).exists()
    entries = zip_entries(second, admin)
    assert len(entries) == 2
    for row in read_rows(second, "attachments"):
        assert hashlib.sha256(entries[row["path"]]).hexdigest() == row["sha256"]

    assert backup_expire(backup=second, now=timezone.now(), force=True)

    assert storage.list_prefix("blobs/") == []
    assert not AttachmentBlob.objects.exists()
    assert storage_used(organization_id=org.pk) == 0


def test_b5_a_failed_backup_removes_only_the_copies_no_other_backup_holds(db, backups_root):
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, attachments=1)
    first = complete_backup(product, admin)
    shared = storage.list_prefix("blobs/")
    added = attach(JiraAttachment, product, "added.txt", issue=JiraIssue.objects.get(key="P1-1"))

    with next_week(first):
        from backups.models import BackupPolicy
        from backups.services.backup_engine import backup_execute
        from backups.services.backups import backup_request

        BackupPolicy.objects.filter(product=product).update(verify=False)
        nxt = backup_request(product=product, actor=admin)
        # A folder where the manifest must go: the attachments and entities files are in,
        # then it fails.
        (backups_root / nxt.storage_prefix / "manifest.json").mkdir(parents=True)
        assert backup_execute(backup_id=nxt.pk) == Backup.Status.FAILED

    assert storage.list_prefix("blobs/") == shared  # the first backup's copies stay
    assert not AttachmentBlob.objects.filter(sha256=added.sha256).exists()
    assert not BackupBlob.objects.filter(backup=nxt).exists()
    assert len(zip_entries(first, admin)) == 2


def test_a_copy_whose_object_went_missing_is_not_referred_to_again(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=1, attachments=1)
    first = complete_backup(product, admin)
    lost = attachment_blobs().get()
    storage.delete_object(lost.storage_name)

    with next_week(first):
        second = complete_backup(product, admin)

    lost.refresh_from_db()
    assert lost.state == AttachmentBlob.State.RETIRED
    fresh = BackupBlob.objects.get(backup=second, path__startswith="attachments/").blob
    assert fresh.state == AttachmentBlob.State.LIVE and fresh.pk != lost.pk
    assert storage.exists(fresh.storage_name)
    # The retired copy goes with the backup that held it.
    assert backup_expire(backup=first, now=timezone.now(), force=True)
    assert list(attachment_blobs()) == [fresh]


def test_a_backup_from_before_the_store_is_read_at_its_own_objects(db):
    # Backups taken before #16 kept each attachment under their prefix and have no BackupBlob
    # rows: they stay readable (no data migration), and expire as they always did.
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, attachments=1)
    backup = complete_backup(product, admin)
    old_layout = {}
    for ref in BackupBlob.objects.filter(backup=backup).select_related("blob"):
        with storage.open_object(ref.blob.storage_name) as f:
            old_layout[backup.storage_prefix + ref.path] = f.read()
    BackupBlob.objects.filter(backup=backup).delete()
    for name, data in old_layout.items():
        storage.write_chunks(name, [data])
    for blob in AttachmentBlob.objects.all():
        storage.delete_object(blob.storage_name)
    AttachmentBlob.objects.all().delete()

    entries = zip_entries(backup, admin)

    assert {hashlib.sha256(b).hexdigest() for b in entries.values()} == set(
        JiraAttachment.objects.values_list("sha256", flat=True)
    )
    assert backup_expire(backup=backup, now=timezone.now(), force=True)
    assert storage.list_prefix(backup.storage_prefix) == []


def test_r8_a_restore_of_a_backup_whose_files_are_shared_writes_the_same_bytes(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, attachments=1)
    first = complete_backup(product, admin)
    with next_week(first):
        second = complete_backup(product, admin)
        destination = jira_product(org, "Jira sandbox", projects=0)
        restore = restore_request(backup=second, destination=destination, actor=admin)
        restore_execute(restore_id=restore.pk)
    restore.refresh_from_db()

    assert restore.status == Restore.Status.COMPLETE, restore.failure_reason
    restored = JiraAttachment.objects.filter(product=destination)
    assert restored.count() == 2
    for att in restored:
        with default_storage.open(att.file.name) as f:
            assert hashlib.sha256(f.read()).hexdigest() == att.sha256
    assert sorted(restored.values_list("sha256", flat=True)) == sorted(
        JiraAttachment.objects.filter(product=product).values_list("sha256", flat=True)
    )


def test_storage_used_counts_each_stored_copy_once(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, attachments=1)
    first = complete_backup(product, admin)
    files = sum(JiraAttachment.objects.values_list("size", flat=True))
    own = first.total_bytes - files
    assert storage_used(organization_id=org.pk) == own + files

    with next_week(first):
        second = complete_backup(product, admin)

    # The second's own object is its manifest: its entities files are the first's, unchanged,
    # and stored once like its attachments.
    manifest = storage.object_size(second.storage_prefix + "manifest.json")
    assert storage_used(organization_id=org.pk) == own + files + manifest


def test_b5_a_space_left_out_never_deletes_a_copy_an_earlier_backup_holds(demo):
    """A space with one unreadable file is left out whole (B5); its other files, which the
    earlier backup holds by the same copies, stay readable for that backup."""
    from backups.models import PageAttachment

    from .helpers import run_backup_of

    first = run_backup_of(demo.confluence, demo.alice)
    assert first.status == Backup.Status.COMPLETE
    hr = PageAttachment.objects.filter(page__space__key="HR").select_related("page").first()
    hr_path = f"attachments/{hr.id}/{hr.name}"
    # A file added to HR since, whose bytes are gone from the product's storage.
    lost = PageAttachment.objects.create(
        product=hr.product,
        page=hr.page,
        name="lost.txt",
        size=4,
        sha256="0" * 64,
        file="attachments/lost/lost.txt",
        created=hr.created,
    )

    with next_week(first):
        second = run_backup_of(demo.confluence, demo.alice)

    assert second.status == Backup.Status.INCOMPLETE
    assert [m["what"] for m in second.missing] == ["space HR"]
    assert "lost.txt" in second.missing[0]["reason"]
    assert not BackupBlob.objects.filter(backup=second, path=hr_path).exists()
    # The first backup's copy of the HR file is still there, byte for byte.
    with storage.open_object(first.storage_prefix + hr_path) as f:
        assert hashlib.sha256(f.read()).hexdigest() == hr.sha256
    assert BackupBlob.objects.filter(backup=first, path=hr_path).exists()
    assert not BackupBlob.objects.filter(backup=second, path=f"attachments/{lost.pk}/lost.txt")


def test_a_batch_holds_what_is_stored_copies_the_rest_once_and_names_what_it_cannot_read(db):
    # One batch with every outcome: bytes another product's backup already stored (a
    # reference), the same new bytes at two paths whose first file cannot be read (the second
    # is copied, once), and a new file.
    org, admin = org_with_admin()
    earlier = jira_product(org, "Jira one", issues=1)
    attach(JiraAttachment, earlier, "held.txt", issue=JiraIssue.objects.get(product=earlier))
    complete_backup(earlier, admin)
    [held] = attachment_blobs()
    product = jira_product(org, "Jira two", issues=3)
    issues = list(JiraIssue.objects.filter(product=product).order_by("key"))
    attach(JiraAttachment, product, "held.txt", issue=issues[0])
    lost = attach(JiraAttachment, product, "twice.txt", issue=issues[1])
    kept = attach(JiraAttachment, product, "twice.txt", issue=issues[2])
    attach(JiraAttachment, product, "new.txt", issue=issues[2])
    default_storage.delete(lost.file.name)

    backup = run_backup_of(product, admin)

    assert backup.status == Backup.Status.INCOMPLETE
    assert backup.missing == [
        {"what": "P1-2 / twice.txt", "reason": "the file is missing from the product's storage"}
    ]
    refs = {
        r.path: r.blob
        for r in BackupBlob.objects.filter(backup=backup, path__startswith="attachments/")
    }
    assert refs[f"attachments/{kept.pk}/twice.txt"].sha256 == kept.sha256
    assert len(refs) == 3 and held in refs.values()
    # Three contents, three copies: the held file's copy is the earlier backup's.
    assert attachment_blobs().count() == 3
    assert len(attachment_objects()) == 3
    for row in read_rows(backup, "attachments"):
        with storage.open_object(backup.storage_prefix + row["path"]) as f:
            assert hashlib.sha256(f.read()).hexdigest() == row["sha256"]
    assert read_manifest(backup)["attachments"] == {
        "count": 3,
        "bytes": sum(a.size for a in JiraAttachment.objects.filter(product=product)) - lost.size,
    }


def test_the_store_is_asked_once_per_batch_not_once_per_file(db, monkeypatch):
    # #16: a backup of 12 files held already runs one locking SELECT and one INSERT of
    # references per batch (here 3 batches of at most 5 files), whatever the number of files;
    # and one of each per entities file (held the same way, its bytes unchanged).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from backups.services import backup_engine

    org, admin = org_with_admin()
    product = jira_product(org, issues=6, attachments=2)
    first = complete_backup(product, admin)
    monkeypatch.setattr(backup_engine, "BATCH_FILES", 5)

    with next_week(first), CaptureQueriesContext(connection) as queries:
        second = complete_backup(product, admin)

    sql = [q["sql"] for q in queries.captured_queries]
    store = [s for s in sql if '"backups_attachmentblob"' in s and s.startswith("SELECT")]
    inserts = [s for s in sql if s.startswith('INSERT INTO "backups_backupblob"')]
    entities_files = len(second.counts)
    assert len(store) == 3 + entities_files
    # SQLite has no row locks (its transactions are IMMEDIATE: one writer at a time).
    assert connection.vendor == "sqlite" or all("FOR UPDATE" in s for s in store)
    assert len(inserts) == 3 + entities_files
    assert BackupBlob.objects.filter(backup=second).count() == 12 + entities_files
    assert len(attachment_objects()) == 12  # nothing stored again

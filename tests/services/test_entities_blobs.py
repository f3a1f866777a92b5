"""Entities files held like attachments (#16): an unchanged product's entities files are the
same bytes from one backup to the next (every backup is full, B2), so a second backup stores
its manifest only; every reader (backup file, verification, restore) reads the same bytes as
before (SPEC §7, R8), and a copy goes with the last backup that holds it (E1, B5)."""

from datetime import timedelta

from django.utils import timezone

from backups import storage
from backups.models import (
    AttachmentBlob,
    Backup,
    BackupBlob,
    BackupVerification,
    JiraComment,
    JiraIssue,
    Restore,
)
from backups.services.backup_engine import backup_execute
from backups.services.backups import backup_expire, backup_request
from backups.services.blob_sweep import blobs_sweep
from backups.services.blobs import site_blob_name, storage_used
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from backups.services.verification import verification_execute
from tests.factories import complete_backup, jira_product, org_with_admin

from .helpers import read_manifest, read_rows
from .test_blobs import next_week, zip_entries

ENTITIES = ("projects", "issues", "comments", "attachments", "groups")


def stored() -> dict[str, int]:
    """Every object of the backup storage, with its size."""
    return {n: storage.backup_storage().size(n) for n in storage.list_prefix("")}


def entities_copies(backup: Backup) -> dict[str, str]:
    """The backup's entities files: path -> the stored copy it holds."""
    refs = BackupBlob.objects.filter(backup=backup, path__startswith="entities/")
    return dict(refs.values_list("path", "blob__storage_name"))


def restored_rows(backup: Backup, user, name: str) -> list[tuple]:
    """Restore the backup into a new sandbox product (R8); its issues and comments."""
    destination = jira_product(backup.product.organization, name, projects=0)
    restore = restore_request(backup=backup, destination=destination, actor=user)
    restore_execute(restore_id=restore.pk)
    restore.refresh_from_db()
    assert restore.status == Restore.Status.COMPLETE, restore.failure_reason
    return restored_rows_of(destination)


def test_a_second_backup_of_an_unchanged_product_stores_its_manifest_only(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=4, comments=2, attachments=1)
    first = complete_backup(product, admin, verify=False)
    after_first = stored()

    with next_week(first):
        second = complete_backup(product, admin, verify=False)

    # Not one new entities byte: the second backup's one new object is its manifest.
    added = set(stored()) - set(after_first)
    assert added == {second.storage_prefix + "manifest.json"}
    assert set(after_first) <= set(stored())
    assert entities_copies(second) == entities_copies(first)
    assert set(entities_copies(first)) == {f"entities/{t}.jsonl" for t in ENTITIES}
    # Each backup still says what it holds: the same files, rows and checksums (B8).
    assert read_manifest(second)["entities"] == read_manifest(first)["entities"]
    assert second.total_bytes == first.total_bytes
    # The admin's figure counts the shared copies once.
    assert storage_used(organization_id=org.pk) == sum(after_first.values()) + added_bytes(added)

    # Both backups' backup files hold the same entities bytes, those the manifest promises.
    first_file, second_file = (
        zip_entries(first, admin, "entities/"),
        zip_entries(second, admin, "entities/"),
    )
    assert first_file == second_file
    assert set(first_file) == {f"entities/{t}.jsonl" for t in ENTITIES}
    # And both restore the same rows: the product's own.
    source = restored_rows_of(product)
    assert restored_rows(first, admin, "From the first") == source
    assert restored_rows(second, admin, "From the second") == source


def added_bytes(names: set[str]) -> int:
    return sum(storage.backup_storage().size(n) for n in names)


def restored_rows_of(product) -> list[tuple]:
    """A product's issues and comments, in a stable order."""
    issues = JiraIssue.objects.filter(product=product).order_by("key")
    comments = JiraComment.objects.filter(issue__product=product).order_by("issue__key", "body")
    return list(issues.values_list("key", "summary", "description", "status")) + list(
        comments.values_list("issue__key", "author", "body")
    )


def test_a_changed_product_stores_a_new_file_for_the_changed_type_only(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=3, comments=1, attachments=1)
    first = complete_backup(product, admin, verify=False)
    after_first = stored()
    JiraIssue.objects.filter(product=product, key="P1-2").update(summary="Renamed since")

    with next_week(first):
        second = complete_backup(product, admin, verify=False)

    before, now = entities_copies(first), entities_copies(second)
    assert {p for p in now if now[p] != before[p]} == {"entities/issues.jsonl"}
    added = set(stored()) - set(after_first)
    assert added == {second.storage_prefix + "manifest.json", now["entities/issues.jsonl"]}
    assert "Renamed since" in {r["summary"] for r in read_rows(second, "issues")}
    assert "Renamed since" not in {r["summary"] for r in read_rows(first, "issues")}
    # Each backup file is its own backup's bytes.
    first_file, second_file = (
        zip_entries(first, admin, "entities/"),
        zip_entries(second, admin, "entities/"),
    )
    assert {n for n in first_file if first_file[n] != second_file[n]} == {"entities/issues.jsonl"}


def test_e1_expiring_the_first_backup_keeps_the_copies_the_second_holds(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, comments=1)
    first = complete_backup(product, admin, verify=False)
    with next_week(first):
        second = complete_backup(product, admin, verify=False)
    held = entities_copies(second)

    assert backup_expire(backup=first, now=timezone.now(), force=True)

    assert not BackupBlob.objects.filter(backup=first).exists()
    assert storage.list_prefix(first.storage_prefix) == []
    assert all(storage.exists(name) for name in held.values())
    assert entities_copies(second) == held
    assert zip_entries(second, admin, "entities/")["entities/issues.jsonl"] == storage_bytes(
        held["entities/issues.jsonl"]
    )

    assert backup_expire(backup=second, now=timezone.now(), force=True)

    assert not AttachmentBlob.objects.exists()
    assert storage.list_prefix("blobs/") == []
    assert storage_used(organization_id=org.pk) == 0


def storage_bytes(name: str) -> bytes:
    with storage.open_object(name) as f:
        return f.read()


def test_b5_a_failed_backup_lets_go_of_its_entities_files_and_keeps_the_earlier_copies(
    db, backups_root
):
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, comments=1)
    first = complete_backup(product, admin, verify=False)
    after_first = stored()
    JiraIssue.objects.filter(product=product, key="P1-1").update(summary="Changed")

    with next_week(first):
        nxt = backup_request(product=product, actor=admin)
        # A folder where the manifest must go: its entities files are held, then it fails.
        (backups_root / nxt.storage_prefix / "manifest.json").mkdir(parents=True)
        assert backup_execute(backup_id=nxt.pk) == Backup.Status.FAILED

    # Its new issues file went with it; the unchanged files are the first backup's, kept.
    assert not BackupBlob.objects.filter(backup=nxt).exists()
    assert {n: s for n, s in stored().items() if n.startswith("blobs/")} == {
        n: s for n, s in after_first.items() if n.startswith("blobs/")
    }
    assert read_rows(first, "issues")[0]["summary"] != "Changed"


def test_verification_reads_the_shared_copies_and_finds_them_intact(db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, comments=1)
    first = complete_backup(product, admin)
    with next_week(first):
        second = complete_backup(product, admin)
        for backup in (first, second):
            verification = BackupVerification.objects.get(backup=backup)
            verification_execute(verification_id=verification.pk)
            verification.refresh_from_db()
            assert verification.status == BackupVerification.Status.VERIFIED, verification.reason
            assert verification.checked["entity_types"] == len(ENTITIES)
    assert entities_copies(second) == entities_copies(first)


def test_a_backup_from_before_keeps_its_entities_files_in_its_prefix_and_reads_them(db):
    # Backups taken before entities files were held by reference have them as plain objects
    # under their prefix, with no BackupBlob row: they read as before (storage.resolve falls
    # back to the name), and expire with the prefix.
    org, admin = org_with_admin()
    product = jira_product(org, issues=2, comments=1)
    backup = complete_backup(product, admin, verify=False)
    copies = entities_copies(backup)
    old_layout = {path: storage_bytes(name) for path, name in copies.items()}
    BackupBlob.objects.filter(backup=backup).delete()
    for path, data in old_layout.items():
        storage.write_chunks(backup.storage_prefix + path, [data])
    for name in set(copies.values()):  # two empty files are one copy
        storage.delete_object(name)
    AttachmentBlob.objects.all().delete()
    files = {
        "entities/" + n.rsplit("/entities/", 1)[1]: storage_bytes(n)
        for n in storage.list_prefix(backup.storage_prefix + "entities/")
    }

    assert zip_entries(backup, admin, "entities/") == files
    assert restored_rows(backup, admin, "From the old layout") == restored_rows_of(product)
    assert backup_expire(backup=backup, now=timezone.now(), force=True)
    assert storage.list_prefix(backup.storage_prefix) == []


def test_an_entities_file_a_killed_worker_left_unrecorded_is_swept(db):
    # Written, then the worker was killed before the row that names it: no row ever will.
    org, admin = org_with_admin()
    backup = complete_backup(jira_product(org, issues=1), admin, verify=False)
    name = site_blob_name(organization_id=org.pk, path="entities/issues.jsonl", source="written")
    storage.write_chunks(name, [b'{"key": "P1-1"}\n'])

    swept = blobs_sweep(now=timezone.now() + timedelta(days=2))

    assert swept.count == 1 and not storage.exists(name)
    assert set(entities_copies(backup).values()) <= set(storage.list_prefix("blobs/"))
    assert read_rows(backup, "issues")[0]["key"] == "P1-1"

"""The attachment store under concurrency (#16 item 2, E1): an expiry and a backup at once.

Two connections (threads), real row locks on PostgreSQL. Whatever the interleaving, no
reference ever names a copy whose object is gone: a backup either refers to a LIVE copy the
expiry then keeps, or meets it DELETING and writes a new one.
"""

import hashlib
import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from backups import storage
from backups.models import AttachmentBlob, Backup, BackupBlob, JiraAttachment, JiraIssue
from backups.services import blobs as blobs_service
from backups.services.backups import backup_expire
from tests.components import need_postgres
from tests.factories import attach, complete_backup, jira_product, org_with_admin

from .helpers import read_rows, run_backup_of
from .test_blobs import attachment_blobs, attachment_objects

WAIT = 30  # seconds a step may take before the test says which one hung


def two_products_with_one_same_file(*, others_own: tuple[str, ...] = ()):
    """Two Jira products of one organization, each with one file of the same bytes, the
    first backed up: its copy is the organization's one live copy of those bytes. The second
    also has files of its own (`others_own`): one batch holds the shared copy and copies them."""
    org, admin = org_with_admin()
    first = jira_product(org, "Jira", issues=1)
    other = jira_product(org, "Jira two", issues=1)
    for product in (first, other):
        issue = JiraIssue.objects.get(product=product)
        attach(JiraAttachment, product, "design.txt", issue=issue)
    for name in others_own:
        attach(JiraAttachment, other, name, issue=JiraIssue.objects.get(product=other))
    backup = complete_backup(first, admin, verify=False)
    return admin, backup, other


def assert_every_reference_reads_its_bytes():
    for ref in BackupBlob.objects.select_related("blob"):
        with storage.open_object(ref.blob.storage_name) as f:
            assert hashlib.sha256(f.read()).hexdigest() == ref.blob.sha256
        assert ref.blob.state == AttachmentBlob.State.LIVE


def _run(target, results: dict, key: str) -> None:
    try:
        results[key] = target()
    except BaseException as exc:  # reported by the test, not lost in the thread
        results[key] = exc
    finally:
        connections.close_all()


def in_thread(target, results: dict, key: str, name: str = "") -> threading.Thread:
    thread = threading.Thread(target=_run, args=(target, results, key), name=name or key)
    thread.start()
    return thread


def backups_at_once(products, admin) -> list[Backup]:
    """A backup of each product, all on threads at once (PostgreSQL: real concurrent
    transactions); each must complete."""
    results: dict = {}
    threads = [
        in_thread(lambda p=p: run_backup_of(p, admin, verify=False), results, p.name)
        for p in products
    ]
    for thread in threads:
        thread.join(WAIT)
    assert connection.vendor == "postgresql"
    backups = [results[p.name] for p in products]
    for backup in backups:
        assert isinstance(backup, Backup), backup
        assert backup.status == Backup.Status.COMPLETE, backup.failure_reason
    return backups


def expiry_paused_at_delete(monkeypatch, expiring: Backup, blob: AttachmentBlob):
    """Expire `expiring` on a thread (E1) and hold it just before it deletes `blob`'s object,
    which it has marked DELETING and committed. Returns (go: set it to let the expiry go on,
    the thread, its results: results["expiry"] is backup_expire's answer)."""
    marked, go = threading.Event(), threading.Event()
    real_delete = storage.delete_object

    def paused_delete(name):
        if name == blob.storage_name:
            marked.set()
            assert go.wait(WAIT), "the test never let the expiry go on"
        real_delete(name)

    monkeypatch.setattr(storage, "delete_object", paused_delete)
    results: dict = {}
    expiry = in_thread(
        lambda: backup_expire(backup=expiring, now=timezone.now(), force=True), results, "expiry"
    )
    assert marked.wait(WAIT), "the expiry never reached the object delete"
    assert AttachmentBlob.objects.get(pk=blob.pk).state == AttachmentBlob.State.DELETING
    return go, expiry, results


@pytest.mark.django_db(transaction=True)
def test_e1_a_backup_that_meets_a_copy_being_deleted_writes_a_new_one(monkeypatch):
    # The expiry marked the copy DELETING (no backup referred to it) and committed; before it
    # deletes the object, a backup of another product with the same file runs to its end.
    admin, expiring, other = two_products_with_one_same_file()
    [old] = attachment_blobs()
    go, expiry, results = expiry_paused_at_delete(monkeypatch, expiring, old)

    backup = run_backup_of(other, admin, verify=False)

    go.set()
    expiry.join(WAIT)
    assert results["expiry"] is True
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason
    [ref] = BackupBlob.objects.filter(path__startswith="attachments/").select_related("blob")
    assert ref.backup_id == backup.pk and ref.blob_id != old.pk  # a new copy, not the doomed one
    assert not AttachmentBlob.objects.filter(pk=old.pk).exists()
    assert attachment_objects() == [ref.blob.storage_name]
    assert_every_reference_reads_its_bytes()
    [row] = read_rows(backup, "attachments")
    with storage.open_object(backup.storage_prefix + row["path"]) as f:
        assert hashlib.sha256(f.read()).hexdigest() == row["sha256"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_e1_an_expiry_waits_for_a_backup_taking_a_reference_and_keeps_the_copy(monkeypatch):
    # The backup holds the copy's row lock (it checks the object is there) while the expiry of
    # the only other backup that holds it asks to delete it: the expiry waits on the lock, then
    # sees the new reference and keeps the copy.
    need_postgres()
    admin, expiring, other = two_products_with_one_same_file(others_own=("a.txt", "b.txt"))
    [blob] = attachment_blobs()
    locked, go = threading.Event(), threading.Event()
    real_exists = storage.exists

    def paused_exists(name):
        if name == blob.storage_name and threading.current_thread().name == "backup":
            locked.set()
            assert go.wait(WAIT), "the test never let the backup go on"
        return real_exists(name)

    monkeypatch.setattr(storage, "exists", paused_exists)
    results: dict = {}
    backup_thread = in_thread(lambda: run_backup_of(other, admin, verify=False), results, "backup")
    assert locked.wait(WAIT), "the backup never reached the copy"
    expiry = in_thread(
        lambda: backup_expire(backup=expiring, now=timezone.now(), force=True), results, "expiry"
    )
    _wait_until_a_connection_waits_on_a_lock()
    assert AttachmentBlob.objects.get(pk=blob.pk).state == AttachmentBlob.State.LIVE

    go.set()
    backup_thread.join(WAIT)
    expiry.join(WAIT)

    assert connection.vendor == "postgresql"
    assert results["expiry"] is True
    backup = results["backup"]
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason
    # One batch: the shared copy, kept and held, and the two files of its own, copied.
    refs = BackupBlob.objects.filter(backup=backup, path__startswith="attachments/")
    assert refs.count() == 3
    assert refs.filter(blob=blob).count() == 1  # the same copy, kept
    assert attachment_blobs().count() == 3
    assert len(attachment_objects()) == 3 and storage.exists(blob.storage_name)
    assert_every_reference_reads_its_bytes()


def _wait_until_a_connection_waits_on_a_lock():
    deadline = time.monotonic() + WAIT
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    pytest.fail("the expiry never waited for the backup's lock")


def test_the_collector_keeps_a_copy_that_a_backup_still_holds(db):
    # The logic both databases share: a copy with a reference is never marked DELETING.
    admin, expiring, other = two_products_with_one_same_file()
    [blob] = attachment_blobs()

    assert blobs_service.blob_collect(blob_id=blob.pk) is False

    blob.refresh_from_db()
    assert blob.state == AttachmentBlob.State.LIVE
    assert storage.exists(blob.storage_name)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_backups_copying_the_same_new_bytes_at_once_store_one_copy_and_both_hold_it(
    monkeypatch,
):
    # Two products of one organization with the same new file, backed up at the same time:
    # each batch finds no copy, and both copy the bytes (the barrier holds each copy until the
    # other was made too). The second batch to make its copy live is refused by the unique
    # index; it refers to the first one's copy and deletes its own.
    need_postgres()
    org, admin = org_with_admin()
    products = [jira_product(org, name, issues=1) for name in ("Jira", "Jira two")]
    for product in products:
        issue = JiraIssue.objects.get(product=product)
        attach(JiraAttachment, product, "design.txt", issue=issue)
        attach(JiraAttachment, product, f"own {product.name}.txt", issue=issue)
    both_copied = threading.Barrier(4, timeout=WAIT)  # two files in each backup
    real_write = storage.write_chunks

    def write_then_wait(name, chunks):
        written = real_write(name, chunks)
        if name.startswith("blobs/") and "/written/" not in name:  # not an entities file
            both_copied.wait()
        return written

    monkeypatch.setattr(storage, "write_chunks", write_then_wait)
    backups = backups_at_once(products, admin)
    shared = AttachmentBlob.objects.get(
        sha256=hashlib.sha256(b"contents of design.txt\n").hexdigest()
    )
    for backup in backups:
        assert BackupBlob.objects.filter(backup=backup, blob=shared).count() == 1
        assert (
            BackupBlob.objects.filter(backup=backup, path__startswith="attachments/").count() == 2
        )
    # Four copies were written; three are kept (the shared one once, each backup's own).
    assert attachment_blobs().count() == 3
    assert sorted(storage.list_prefix("blobs/")) == sorted(
        AttachmentBlob.objects.values_list("storage_name", flat=True)
    )
    assert_every_reference_reads_its_bytes()
    for backup in backups:
        for row in read_rows(backup, "attachments"):
            with storage.open_object(backup.storage_prefix + row["path"]) as f:
                assert hashlib.sha256(f.read()).hexdigest() == row["sha256"]

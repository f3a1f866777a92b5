"""A backup's objects read one after the other (verification, restores) look their names up a
page at a time (#16): the same bytes as storage.open_object, far fewer queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backups import storage
from backups.models import BackupBlob, BackupVerification
from backups.services.restores import StoredBackupSource
from backups.services.verification import verification_execute
from tests.factories import complete_backup, jira_product

from .helpers import read_rows

pytestmark = pytest.mark.django_db

PAGE = 4


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(storage, "RESOLVE_PAGE", PAGE)


def reference_queries(queries) -> int:
    return sum("backupblob" in q["sql"].lower() for q in queries)


def backup_with_attachments(make_org, attachments: int = 30):
    org, admin = make_org("acme")
    product = jira_product(org, issues=attachments // 3, attachments=3)
    return complete_backup(product, admin)


def test_an_opener_reads_the_bytes_open_object_reads_a_page_of_names_per_two_queries(
    make_org, small_pages
):
    backup = backup_with_attachments(make_org)
    names = [backup.storage_prefix + row["path"] for row in read_rows(backup, "attachments")]
    assert len(names) == 30
    expected = {}
    for name in names:
        with storage.open_object(name) as f:
            expected[name] = f.read()

    open_stored = storage.object_opener()
    got = {}
    with CaptureQueriesContext(connection) as ctx:
        for name in names:
            with open_stored(name) as f:
                got[name] = f.read()

    assert got == expected
    # In the order the backup wrote them, a miss (two queries) answers the name asked for and
    # the PAGE after it; resolve() would have asked once per name (30).
    assert reference_queries(ctx.captured_queries) <= 2 * -(-len(names) // (PAGE + 1))


def test_out_of_order_names_read_the_same_bytes(make_org, small_pages):
    backup = backup_with_attachments(make_org, attachments=12)
    names = [backup.storage_prefix + row["path"] for row in read_rows(backup, "attachments")]
    open_stored = storage.object_opener()
    for name in reversed(names + names[::3]):
        with storage.open_object(name) as f, open_stored(name) as g:
            assert g.read() == f.read()


def test_a_name_without_a_reference_is_read_at_the_name_itself(make_org):
    # A backup from before the attachment store holds its files in its own prefix.
    backup = backup_with_attachments(make_org, attachments=3)
    name = backup.storage_prefix + "attachments/999999/from-before.txt"
    assert not BackupBlob.objects.filter(backup=backup, path__startswith="attachments/999999/")
    storage.write_chunks(name, [b"kept in the prefix"])
    with storage.object_opener()(name) as f:
        assert f.read() == b"kept in the prefix"
    # And a name outside any backup's references is its own object.
    with storage.object_opener()(backup.storage_prefix + "manifest.json") as f:
        assert f.read().startswith(b"{")


def test_a_restore_source_reads_its_attachments_a_page_of_names_at_a_time(make_org, small_pages):
    backup = backup_with_attachments(make_org)
    paths = [row["path"] for row in read_rows(backup, "attachments")]
    source = StoredBackupSource(backup)
    with CaptureQueriesContext(connection) as ctx:
        for path in paths:
            with (
                source.open_attachment(path) as f,
                storage.open_object(backup.storage_prefix + path) as g,
            ):
                assert f.read() == g.read()
    # Its own lookups, a page per two queries, plus open_object's one per name above.
    assert reference_queries(ctx.captured_queries) <= len(paths) + 2 * -(-len(paths) // PAGE)


def test_a_verification_looks_names_up_a_page_at_a_time(make_org, small_pages):
    backup = backup_with_attachments(make_org)
    verification = BackupVerification.objects.get(backup=backup)
    with CaptureQueriesContext(connection) as ctx:
        verification_execute(verification_id=verification.pk)
    verification.refresh_from_db()
    assert verification.status == BackupVerification.Status.VERIFIED, verification.reason
    # Two passes (the read-back, the trial restore), each over 5 entities files (written one
    # at a time: a miss each) and 30 attachments (a miss per PAGE + 1); one query per name
    # and pass (70) through storage.open_object.
    per_pass = 2 * 5 + 2 * -(-30 // (PAGE + 1))
    assert reference_queries(ctx.captured_queries) <= 2 * per_pass

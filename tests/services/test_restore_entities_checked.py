"""R8, D1: a restore reads each entities file against the SHA-256 its manifest recorded. An
entities file altered after the backup (a disk fault, a hand) stops the restore before its
publish, with words that say which file; the destination shows nothing of it."""

import orjson
import pytest

from backups import storage
from backups.models import JiraIssue, Product, Restore
from backups.productdata.jira import JiraData
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.factories import jira_product, org_with_admin

from .helpers import run_backup_of

pytestmark = pytest.mark.django_db(transaction=True)


def alter_entities_file(backup, content_type: str, change) -> None:
    """Replace the stored bytes of one of the backup's entities files (the copy every reader
    opens, storage.resolve) with `change(old bytes)`."""
    name = storage.resolve(backup.storage_prefix + f"entities/{content_type}.jsonl")
    with storage.open_object(name) as f:
        data = f.read()
    storage.delete_object(name)
    storage.write_chunks(name, [change(data)])


def restored_into_empty(backup, admin) -> tuple[Restore, Product]:
    target = Product.objects.create(
        organization=backup.product.organization, kind="jira", name="Empty Jira"
    )
    r = restore_request(backup=backup, destination=target, actor=admin)
    restore_execute(restore_id=r.pk)
    r.refresh_from_db()
    return r, target


def one_summary_changed(data: bytes) -> bytes:
    """Well-formed rows, one summary different: only the checksum can tell."""
    lines = data.splitlines(keepends=True)
    row = orjson.loads(lines[-1])
    row["summary"] = "Changed after the backup"
    lines[-1] = orjson.dumps(row) + b"\n"
    return b"".join(lines)


def test_an_entities_file_with_a_changed_row_stops_the_restore_and_says_which():
    org, admin = org_with_admin()
    product = jira_product(org, issues=4, comments=1, attachments=1)
    backup = run_backup_of(product, admin)
    alter_entities_file(backup, "issues", one_summary_changed)

    r, target = restored_into_empty(backup, admin)

    assert r.status == Restore.Status.FAILED
    assert r.failure_reason.startswith(
        "The backup's entities/issues.jsonl does not match its checksum (expected SHA-256 "
    )
    assert JiraData(target).is_empty()
    assert not JiraIssue.objects.filter(summary="Changed after the backup").exists()


def test_an_entities_file_that_is_not_json_stops_the_restore_at_its_line():
    org, admin = org_with_admin()
    product = jira_product(org, issues=4, comments=1)
    backup = run_backup_of(product, admin)
    alter_entities_file(backup, "comments", lambda data: data + b"\x00\xffnot a row\n")

    r, target = restored_into_empty(backup, admin)

    assert r.status == Restore.Status.FAILED
    assert r.failure_reason == (
        "The backup's entities/comments.jsonl is damaged (line 5 is not a row): it does not "
        "match its checksum."
    )
    assert JiraData(target).is_empty()


def test_an_unaltered_backup_restores_as_before():
    org, admin = org_with_admin()
    product = jira_product(org, issues=4, comments=1, attachments=1)
    backup = run_backup_of(product, admin)

    r, target = restored_into_empty(backup, admin)

    assert r.status == Restore.Status.COMPLETE, r.failure_reason
    assert JiraData(target).summary().items == 4

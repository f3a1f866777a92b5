"""An org admin's cancel and delete of an upload (#13 item 2, E2 brought forward): the file goes,
the row says why, the audit log says who; and the races with the last chunk, the check (R9)
and a restore reading the file are decided by the row's lock, losing nothing."""

import pytest

from backups import storage
from backups.models import AuditEvent, Restore, Upload
from backups.services.errors import Refused
from backups.services.jobs import ForbiddenTransition, transition
from backups.services.restores import restore_request
from backups.services.uploads import (
    upload_cancel,
    upload_chunk,
    upload_delete_now,
    upload_start,
    upload_validate,
)
from tests.factories import jira_product, org_with_admin

from .helpers import backup_file_bytes

CHUNK = 4096
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(storage, "UPLOAD_CHUNK", CHUNK)


@pytest.fixture
def acme():
    org, admin = org_with_admin("acme", admin="alice")
    admin.first_name, admin.last_name = "Alice", "Admin"
    admin.save()
    return org, admin


def started(org, admin, data: bytes) -> Upload:
    return upload_start(organization=org, actor=admin, file_name="acme.zip", size=len(data))


def send(upload: Upload, data: bytes, stop: int | None = None) -> Upload:
    stop = len(data) if stop is None else stop
    for offset in range(upload.received_bytes, stop, CHUNK):
        upload = upload_chunk(upload=upload, offset=offset, data=data[offset : offset + CHUNK])
    return upload


def exists(upload: Upload) -> bool:
    try:
        with storage.open_object(upload.storage_name):
            return True
    except Exception:
        return False


@pytest.fixture
def valid_upload(acme):
    org, admin = acme
    product = jira_product(org, issues=3)
    data, _backup = backup_file_bytes(product, admin)
    upload = send(started(org, admin, data), data)
    upload_validate(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.VALID
    return upload, product, data


def test_cancel_deletes_what_was_received_and_says_who(acme):
    org, admin = acme
    data = b"x" * (3 * CHUNK)
    upload = send(started(org, admin, data), data, stop=2 * CHUNK)
    assert exists(upload)

    upload = upload_cancel(upload=upload, actor=admin)

    assert upload.status == Upload.Status.DELETED
    assert upload.deleted_reason == "cancelled by Alice Admin before it was complete"
    assert upload.received_bytes == 2 * CHUNK  # the record keeps how far it had come
    assert not exists(upload)
    event = AuditEvent.objects.get(action="upload.cancelled")
    assert (event.actor, event.organization) == (admin, org)
    assert event.details == {"was": "RECEIVING", "received_bytes": 2 * CHUNK}


def test_a_chunk_after_the_cancel_is_refused_and_writes_nothing(acme):
    """The cancel won the race with the next chunk: the chunk finds the upload deleted."""
    org, admin = acme
    data = b"x" * (3 * CHUNK)
    upload = send(started(org, admin, data), data, stop=CHUNK)
    upload_cancel(upload=upload, actor=admin)
    with pytest.raises(Refused, match=r"This upload was deleted \(cancelled by Alice Admin"):
        upload_chunk(upload=upload, offset=CHUNK, data=data[CHUNK : 2 * CHUNK])
    upload.refresh_from_db()
    assert (upload.status, upload.received_bytes) == (Upload.Status.DELETED, CHUNK)
    assert not exists(upload)


def test_a_cancel_after_the_last_chunk_is_refused_and_the_file_is_checked_whole(valid_upload):
    """The last chunk won: the file is whole and being checked; the cancel is refused and
    loses nothing, and the check runs to its end (R9)."""
    upload, _product, data = valid_upload
    org, admin = upload.organization, upload.created_by
    second = send(started(org, admin, data), data)
    assert second.status == Upload.Status.VALIDATING
    with pytest.raises(Refused) as refused:
        upload_cancel(upload=second, actor=admin)
    assert refused.value.reason == (
        "The whole file has arrived and is being checked; it cannot be cancelled now. "
        "Once the check has ended (valid or refused), it can be deleted."
    )
    with pytest.raises(Refused, match="being checked"):
        upload_delete_now(upload=second, actor=admin)
    assert exists(second)
    assert upload_validate(upload_id=second.pk) == Upload.Status.VALID
    second.refresh_from_db()
    assert second.status == Upload.Status.VALID
    assert not AuditEvent.objects.filter(action__in=["upload.cancelled", "upload.deleted"])


def test_there_is_no_transition_from_checking_to_deleted():
    with pytest.raises(ForbiddenTransition):
        transition(Upload, 1, Upload.Status.VALIDATING, Upload.Status.DELETED)


def test_a_cancel_pressed_on_a_stale_page_does_not_delete_a_file_that_became_valid(valid_upload):
    upload, _product, _data = valid_upload
    with pytest.raises(Refused) as refused:
        upload_cancel(upload=upload, actor=upload.created_by)
    assert refused.value.reason == (
        "This upload is no longer unfinished: the whole file arrived and was checked (Valid). "
        "Delete it instead if you no longer need it."
    )
    upload.refresh_from_db()
    assert upload.status == Upload.Status.VALID and exists(upload)


def test_delete_a_valid_file_now(valid_upload):
    upload, _product, _data = valid_upload
    upload = upload_delete_now(upload=upload, actor=upload.created_by)
    assert (upload.status, upload.deleted_reason) == (
        Upload.Status.DELETED,
        "deleted by Alice Admin",
    )
    assert not exists(upload)
    assert AuditEvent.objects.get(action="upload.deleted").details["was"] == "VALID"
    with pytest.raises(Refused, match="^This upload was already deleted: deleted by Alice Admin.$"):
        upload_delete_now(upload=upload, actor=upload.created_by)


def test_a_deleted_file_cannot_be_restored(valid_upload):
    upload, _product, _data = valid_upload
    upload_delete_now(upload=upload, actor=upload.created_by)
    target = jira_product(upload.organization, "Empty", projects=0)
    with pytest.raises(Refused, match="has not been validated for a restore"):
        restore_request(destination=target, actor=upload.created_by, upload=upload)
    assert not Restore.objects.exists()


def test_a_file_being_restored_cannot_be_deleted(valid_upload, monkeypatch):
    upload, _product, _data = valid_upload
    monkeypatch.setattr("backups.services.jobs.async_task", lambda *a, **k: None)
    target = jira_product(upload.organization, "Sandbox", projects=0)
    restore_request(destination=target, actor=upload.created_by, upload=upload)
    with pytest.raises(Refused) as refused:
        upload_delete_now(upload=upload, actor=upload.created_by)
    assert refused.value.reason == (
        "A restore from this file into Sandbox is running; the file is deleted by itself once "
        "the restore ends."
    )
    upload.refresh_from_db()
    assert upload.status == Upload.Status.VALID and exists(upload)


def test_an_unfinished_upload_is_cancelled_not_deleted(acme):
    org, admin = acme
    upload = started(org, admin, b"x" * CHUNK)
    with pytest.raises(Refused, match="^This upload is unfinished: cancel it instead.$"):
        upload_delete_now(upload=upload, actor=admin)


def test_a_storage_failure_changes_nothing(acme, monkeypatch):
    org, admin = acme
    data = b"x" * (2 * CHUNK)
    upload = send(started(org, admin, data), data, stop=CHUNK)

    def fail(*args, **kwargs):
        raise storage.StorageError("the storage is away")

    monkeypatch.setattr(storage, "upload_discard", fail)
    with pytest.raises(Refused, match=r"could not be deleted \(the storage is away\); nothing"):
        upload_cancel(upload=upload, actor=admin)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.RECEIVING and exists(upload)
    assert not AuditEvent.objects.filter(action="upload.cancelled").exists()

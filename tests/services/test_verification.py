"""Verified restorability (A3, issue #14 item 3): a finished backup is read back end to end and
restored into a scratch product nobody sees, then compared with its manifest.

The worker is played by calling the service (tests/integration/test_verification.py runs it
in a real verification cluster).
"""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from backups import storage
from backups.models import (
    AuditEvent,
    Backup,
    BackupVerification,
    PageAttachment,
    Product,
    WebhookDelivery,
    WebhookEvent,
)
from backups.services import verification as verification_service
from backups.services.backups import backup_expire
from backups.services.jobs import TRANSITIONS, VERIFICATION, claim
from backups.services.verification import (
    scratch_folder,
    scratch_name,
    verification_execute,
    verification_request,
)
from backups.services.webhooks import webhook_deliver, webhook_endpoint_create
from tests.factories import attach, complete_backup, confluence_product, jira_product
from tests.services.test_webhooks import SECRET, Receiver

V = BackupVerification.Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(make_org):
    return make_org("acme")


def verify(backup: Backup) -> BackupVerification:
    """Play the verification worker for the backup's requested verification."""
    verification = BackupVerification.objects.get(backup=backup)
    verification_execute(verification_id=verification.pk)
    verification.refresh_from_db()
    return verification


def visible_products() -> list[tuple[int, str]]:
    return sorted(Product.objects.values_list("pk", "name"))


def files_under(prefix: str) -> list[str]:
    return storage.attachment_list(prefix)


def test_an_intact_jira_backup_is_verified_with_its_counts(acme):
    org, admin = acme
    product = jira_product(org, projects=2, issues=3, comments=1, attachments=1)
    backup = complete_backup(product, admin)
    verification = BackupVerification.objects.get(backup=backup)
    # Requested as the backup ended, not yet taken by a worker: no heartbeat for E3 to judge.
    assert (verification.status, verification.claimed_at, verification.heartbeat_at) == (
        V.IN_PROGRESS,
        None,
        None,
    )
    products_before = visible_products()
    all_before = Product.all_objects.count()

    verification = verify(backup)

    assert verification.status == V.VERIFIED, verification.reason
    assert verification.completed_at is not None
    assert verification.checked["counts"] == {
        "projects": {"manifest": 2, "restored": 2},
        "issues": {"manifest": 6, "restored": 6},
        "comments": {"manifest": 6, "restored": 6},
        "attachments": {"manifest": 6, "restored": 6},
    }
    # manifest + 5 entities files (4 types and groups) + 6 attachments, every byte of them.
    assert verification.checked["files"] == 12
    assert verification.checked["bytes"] == backup.total_bytes
    assert verification.checked["entity_types"] == 5
    assert verification.bytes_done == backup.total_bytes - len(read_manifest_bytes(backup))
    assert verification.items_done == 2 + 6 + 6 + 6
    # Nothing the organization sees changed; the scratch product and its files are gone.
    assert visible_products() == products_before
    assert Product.all_objects.count() == all_before
    assert not Product.all_objects.filter(is_staging=True).exists()
    event = AuditEvent.objects.get(action="backup.verified")
    assert event.target == str(backup)
    assert event.product_id == product.pk
    # A redelivered task does nothing (claim once).
    assert verification_execute(verification_id=verification.pk) is None


def read_manifest_bytes(backup) -> bytes:
    with storage.open_object(backup.storage_prefix + "manifest.json") as f:
        return f.read()


def test_an_intact_confluence_backup_with_attachments_is_verified(acme):
    org, admin = acme
    product = confluence_product(org, spaces=2, pages=2, personal=1)
    for page in product.spaces.get(key="S1").pages.all():
        attach(PageAttachment, product, f"{page.title}.txt", page=page)
    backup = complete_backup(product, admin)

    verification = verify(backup)

    assert verification.status == V.VERIFIED, verification.reason
    counts = verification.checked["counts"]
    assert counts["spaces"] == {"manifest": 3, "restored": 3}
    assert counts["pages"] == {"manifest": 9, "restored": 9}
    assert counts["attachments"] == {"manifest": 3, "restored": 3}
    assert not Product.all_objects.filter(is_staging=True).exists()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_EXTRA_HOSTS = ["127.0.0.1"]
    with Receiver() as r:
        yield r


def test_an_attachment_altered_after_the_backup_fails_it_by_name_with_webhook_and_email(
    acme, receiver
):
    org, admin = acme
    admin.email = "admin@acme.example"
    admin.save()
    webhook_endpoint_create(
        organization=org,
        actor=admin,
        url=receiver.url,
        events=[WebhookEvent.VERIFICATION_FAILED],
        secret=SECRET,
    )
    product = jira_product(org, issues=2, attachments=1)
    backup = complete_backup(product, admin)
    row = json.loads(read_rows_bytes(backup, "attachments").splitlines()[1])
    path = row["path"]
    # Same size, other bytes: only the SHA-256 can tell.
    with storage.open_object(backup.storage_prefix + path) as f:
        data = f.read()
    # The stored copy the backup refers to (#16 item 2: the organization's copy of the bytes).
    stored = storage.resolve(backup.storage_prefix + path)
    storage.delete_object(stored)
    storage.write_chunks(stored, [data.upper()])
    mail.outbox.clear()

    verification = verify(backup)

    assert verification.status == V.FAILED
    assert verification.reason == f"{path}: its SHA-256 differs from the manifest's."
    assert not Product.all_objects.filter(is_staging=True).exists()
    [message] = mail.outbox
    assert message.subject == f"Backup of {product.name} could not be verified"
    assert "admin@acme.example" in message.to
    assert path in message.body
    delivery = WebhookDelivery.objects.get(event=WebhookEvent.VERIFICATION_FAILED)
    assert webhook_deliver(delivery.pk) == WebhookDelivery.Status.DELIVERED
    payload = json.loads(receiver.requests[0][1])
    assert payload["event"] == "verification.failed"
    assert payload["data"]["reason"] == verification.reason
    assert payload["data"]["backup"]["id"] == backup.pk
    event = AuditEvent.objects.get(action="backup.verification_failed")
    assert event.details == {"reason": verification.reason}


def read_rows_bytes(backup, content_type) -> bytes:
    with storage.open_object(backup.storage_prefix + f"entities/{content_type}.jsonl") as f:
        return f.read()


def test_an_entities_file_with_a_row_removed_fails_naming_the_type(acme):
    org, admin = acme
    backup = complete_backup(jira_product(org, issues=4), admin)
    # The copy every reader opens (an entities file is held like an attachment, #16).
    name = storage.resolve(backup.storage_prefix + "entities/issues.jsonl")
    lines = read_rows_bytes(backup, "issues").splitlines(keepends=True)
    storage.delete_object(name)
    storage.write_chunks(name, [b"".join(lines[:-1])])

    verification = verify(backup)

    assert verification.status == V.FAILED
    assert verification.reason == "issues: 4 in the manifest, 3 in entities/issues.jsonl."


def test_a_missing_attachment_fails_naming_it(acme):
    org, admin = acme
    backup = complete_backup(jira_product(org, issues=1, attachments=1), admin)
    [path] = [
        json.loads(line)["path"] for line in read_rows_bytes(backup, "attachments").splitlines()
    ]
    storage.delete_object(storage.resolve(backup.storage_prefix + path))

    verification = verify(backup)

    assert verification.reason == f"{path}: it is missing from the backup storage."


def test_a_trial_restore_that_restores_fewer_rows_fails_with_both_counts(acme, monkeypatch):
    org, admin = acme
    backup = complete_backup(jira_product(org, issues=3), admin)
    real_import = verification_service.import_into_staging

    def import_losing_an_issue(staging, source, **kwargs):
        staged, report = real_import(staging, source, **kwargs)
        staging.jira_issues.order_by("pk").first().delete()
        return staged, report

    monkeypatch.setattr(verification_service, "import_into_staging", import_losing_an_issue)

    verification = verify(backup)

    assert verification.reason == "issues: 3 in the manifest, 2 restored."
    assert not Product.all_objects.filter(is_staging=True).exists()


def test_nothing_is_visible_to_the_organization_while_the_trial_restore_runs(acme, monkeypatch):
    org, admin = acme
    product = jira_product(org, issues=2, attachments=1)
    backup = complete_backup(product, admin)
    before = visible_products()
    seen = {}
    real_import = verification_service.import_into_staging

    def watching_import(staging, source, **kwargs):
        staged, report = real_import(staging, source, **kwargs)
        seen["scratch"] = staging.pk
        seen["name"] = staging.name
        seen["visible"] = visible_products()
        seen["files"] = files_under(scratch_folder(staging.pk) + "/")
        seen["issues"] = staging.jira_issues.count()
        return staged, report

    monkeypatch.setattr(verification_service, "import_into_staging", watching_import)

    verification = verify(backup)

    assert verification.status == V.VERIFIED, verification.reason
    # During: the scratch product held the restored content, and the org's list did not show it.
    assert seen["name"] == scratch_name(verification.pk)
    assert seen["issues"] == 2
    assert len(seen["files"]) == 2
    assert seen["visible"] == before
    # After: gone, with every file it had.
    assert not Product.all_objects.filter(pk=seen["scratch"]).exists()
    assert files_under(scratch_folder(seen["scratch"]) + "/") == []
    assert visible_products() == before


def test_a_policy_that_does_not_verify_requests_no_verification(acme):
    org, admin = acme
    backup = complete_backup(jira_product(org), admin, verify=False)
    assert not BackupVerification.objects.filter(backup=backup).exists()

    later = complete_backup(jira_product(org, name="Other Jira"), admin)
    assert BackupVerification.objects.get(backup=later).status == V.IN_PROGRESS


def test_a_backup_that_expires_while_it_is_verified_ends_failed_with_that_reason(acme, monkeypatch):
    org, admin = acme
    backup = complete_backup(jira_product(org, issues=2, attachments=1), admin)
    real_import = verification_service.import_into_staging

    def import_after_expiry(staging, source, **kwargs):
        assert backup_expire(backup=backup, now=timezone.now(), force=True)
        return real_import(staging, source, **kwargs)

    monkeypatch.setattr(verification_service, "import_into_staging", import_after_expiry)

    verification = verify(backup)

    assert verification.status == V.FAILED
    assert verification.reason.startswith("The backup expired while it was being verified")
    assert not Product.all_objects.filter(is_staging=True).exists()


def test_a_backup_deleted_while_it_is_verified_ends_the_check_quietly(acme, monkeypatch):
    org, admin = acme
    backup = complete_backup(jira_product(org, issues=2), admin)
    real_import = verification_service.import_into_staging

    def import_after_delete(staging, source, **kwargs):
        result = real_import(staging, source, **kwargs)
        Backup.objects.filter(pk=backup.pk).delete()  # staff deleted it in Django admin
        return result

    monkeypatch.setattr(verification_service, "import_into_staging", import_after_delete)
    pk = BackupVerification.objects.get(backup=backup).pk

    assert verification_execute(verification_id=pk) is None

    assert not BackupVerification.objects.filter(pk=pk).exists()
    assert not Product.all_objects.filter(is_staging=True).exists()


def test_a_dead_verification_worker_is_reaped_by_fail_stale_jobs(acme, settings):
    org, admin = acme
    admin.email = "admin@acme.example"
    admin.save()
    backup = complete_backup(jira_product(org, issues=1), admin)
    verification = BackupVerification.objects.get(backup=backup)
    # A worker took it, made its scratch product and a file, and died.
    assert claim(VERIFICATION, verification.pk)
    scratch = Product.all_objects.create(
        organization=org, kind="jira", name=scratch_name(verification.pk), is_staging=True
    )
    left = storage.attachment_save(f"{scratch_folder(scratch.pk)}/x/left.txt", _bytes(b"left"))
    BackupVerification.objects.filter(pk=verification.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=2)
    )
    mail.outbox.clear()

    call_command("fail_stale_jobs", stdout=(out := _Out()))

    verification.refresh_from_db()
    assert verification.status == V.FAILED
    assert verification.reason.startswith(
        "The check did not finish, so this backup is not proven restorable. The worker stopped"
    )
    assert f"failed the verification of backup #{backup.pk}" in out.text
    assert not Product.all_objects.filter(pk=scratch.pk).exists()
    assert not storage.attachment_list(scratch_folder(scratch.pk) + "/")
    assert left not in storage.attachment_list("attachments/")
    assert len(mail.outbox) == 1


def test_a_waiting_verification_is_not_reaped(acme):
    """One worker serves the queue: a check waiting its turn has no heartbeat yet (E3 only
    judges a worker that took its job)."""
    org, admin = acme
    backup = complete_backup(jira_product(org), admin)
    BackupVerification.objects.filter(backup=backup).update(
        requested_at=timezone.now() - timedelta(days=1)
    )
    call_command("fail_stale_jobs", stdout=_Out())
    assert BackupVerification.objects.get(backup=backup).status == V.IN_PROGRESS


def test_a_failed_verification_runs_again_as_the_same_row(acme):
    org, admin = acme
    backup = complete_backup(jira_product(org, issues=1), admin)
    name = storage.resolve(backup.storage_prefix + "entities/issues.jsonl")
    good = read_rows_bytes(backup, "issues")
    storage.delete_object(name)
    storage.write_chunks(name, [b""])
    assert verify(backup).status == V.FAILED

    storage.delete_object(name)
    storage.write_chunks(name, [good])
    again = verification_request(backup=backup, actor=admin)
    assert again.status == V.IN_PROGRESS
    assert (again.reason, again.checked, again.claimed_at) == ("", {}, None)
    verification = verify(backup)
    assert verification.status == V.VERIFIED
    assert BackupVerification.objects.filter(backup=backup).count() == 1
    assert AuditEvent.objects.filter(action="backup.verification_requested").count() == 1


def test_the_transitions_of_a_verification():
    assert TRANSITIONS[BackupVerification] == {
        V.IN_PROGRESS: {V.VERIFIED, V.FAILED},
        V.VERIFIED: {V.IN_PROGRESS},
        V.FAILED: {V.IN_PROGRESS},
    }


def test_verify_backups_verifies_finished_unexpired_backups_that_have_none(acme):
    org, admin = acme
    old = complete_backup(jira_product(org, issues=1), admin)
    BackupVerification.objects.filter(backup=old).delete()  # taken before the feature
    done = complete_backup(jira_product(org, name="Done Jira"), admin)
    BackupVerification.objects.filter(backup=done).update(
        status=V.VERIFIED, completed_at=timezone.now()
    )
    gone = complete_backup(jira_product(org, name="Gone Jira"), admin)
    BackupVerification.objects.filter(backup=gone).delete()
    assert backup_expire(backup=gone, now=timezone.now(), force=True)

    out = _Out()
    call_command("verify_backups", "--dry-run", stdout=out)
    assert f"would verify backup #{old.pk} of {old.product}" in out.text
    assert not BackupVerification.objects.filter(backup=old).exists()

    out = _Out()
    call_command("verify_backups", stdout=out)
    assert f"verifying backup #{old.pk} of {old.product}" in out.text
    assert "1 backup(s) queued for verification." in out.text
    assert BackupVerification.objects.get(backup=old).status == V.IN_PROGRESS
    assert not BackupVerification.objects.filter(backup=gone).exists()
    assert BackupVerification.objects.get(backup=done).status == V.VERIFIED

    call_command("verify_backups", "--again", stdout=(out := _Out()))
    assert BackupVerification.objects.get(backup=done).status == V.IN_PROGRESS


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def _bytes(data: bytes):
    import io

    return io.BytesIO(data)


def test_staff_verify_a_backup_again_from_django_admin(acme, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    org, admin = acme
    backup = complete_backup(jira_product(org, issues=1), admin)
    assert verify(backup).status == V.VERIFIED
    staff = get_user_model().objects.create_superuser("staffer", password="unused")
    client.force_login(staff)

    page = client.get(reverse("admin:backups_backup_change", args=[backup.pk])).content.decode()
    assert "Verified (" in page
    response = client.post(
        reverse("admin:backups_backup_changelist"),
        {"action": "verify_again", "_selected_action": [backup.pk]},
        follow=True,
    )
    assert "1 backup(s) queued for verification." in response.content.decode()
    assert BackupVerification.objects.get(backup=backup).status == V.IN_PROGRESS
    assert AuditEvent.objects.get(action="backup.verification_requested").actor == staff

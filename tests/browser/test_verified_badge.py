"""A3 as alice sees it: "Verified <time>" in the backups table and on the backup's page, what
was checked, and "Not verified: <reason>" when the check failed. The test plays the workers."""

import json

import pytest
from playwright.sync_api import expect

from backups import storage
from backups.models import BackupVerification
from backups.rules import format_when
from backups.services.verification import verification_execute
from tests.services.helpers import run_backup_of

from .conftest import login

pytestmark = pytest.mark.browser


def verified(backup) -> BackupVerification:
    verification = BackupVerification.objects.get(backup=backup)
    verification_execute(verification_id=verification.pk)
    verification.refresh_from_db()
    return verification


def test_the_verified_badge_and_the_not_verified_reason(page, live_server, demo):
    good = run_backup_of(demo.jira, demo.alice)
    verification = verified(good)
    assert verification.status == BackupVerification.Status.VERIFIED, verification.reason

    bad = run_backup_of(demo.confluence, demo.alice)
    with storage.open_object(bad.storage_prefix + "entities/attachments.jsonl") as f:
        path = json.loads(f.readline())["path"]
    stored = storage.resolve(bad.storage_prefix + path)  # the organization's copy (#16 item 2)
    storage.delete_object(stored)
    storage.write_chunks(stored, [b"not what was backed up"])
    assert verified(bad).status == BackupVerification.Status.FAILED

    off = run_backup_of(demo.jira_sandbox, demo.alice, verify=False)

    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/?tab=backups")
    good_row = page.locator(f"#backup-{good.pk}")
    expect(good_row.locator(".badge--ok")).to_have_text(
        f"Verified {format_when(verification.completed_at)}"
    )
    expect(page.locator(f"#backup-{bad.pk}")).to_contain_text("Not verified")
    expect(page.locator(f"#backup-{off.pk}")).not_to_contain_text("Verif")

    good_row.get_by_role("link", name="Details").click()
    expect(page.locator(".verification--verified .badge")).to_have_text(
        f"Verified {format_when(verification.completed_at)}"
    )
    expect(page.locator(".verification__checked")).to_contain_text(
        "trial restore matched the manifest"
    )
    expect(page.locator(".verification__checked")).to_contain_text(
        f"{verification.checked['files']} files"
    )

    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/backups/{bad.pk}/")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"Not verified: {path}: its SHA-256 differs from the manifest's.")
    expect(alert).to_contain_text("Do not count on this backup for a restore")

    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/backups/{off.pk}/")
    expect(page.get_by_text("Not checked: the policy does not verify backups.")).to_be_visible()

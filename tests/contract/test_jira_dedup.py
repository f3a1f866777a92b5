"""A connected site's unchanged attachments are not downloaded or stored again (#16 item 2).

A Jira Cloud attachment never changes in place (a new upload is a new id): its id, size and
time name its bytes. A Confluence Cloud attachment keeps its id through new versions: its id,
version number and size do. A later backup of the same product holds the copy an earlier one
stored, by its SHA-256, without a call to the site; the backup's rows (SPEC §7), its backup
file and a restore into the site are the same bytes as before. B5 and E1 hold: a failed backup
lets go of what it held, expiry of the first backup keeps the copies the second holds.
"""

import hashlib
import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from backups import storage
from backups.models import Backup, BackupBlob
from tests.services.helpers import read_rows, run_backup_of

from . import jira_helpers
from .dedup_helpers import (
    JIRA_DOWNLOAD,
    attachment_copies,
    downloads,
    file_attachments,
    stored_blobs,
)

pytestmark = pytest.mark.django_db

# --- Jira Cloud ------------------------------------------------------------------------------

connected = jira_helpers.connected  # the fixture, by the name the tests ask for


def add_late_project(site) -> None:
    """A project read after ACME's attachments are held, with more comments than Jira puts
    inline (so LATE-1's comments are a call of their own)."""
    site.add_project("LATE", "Late", lead=site.admin)
    site.add_issue("LATE", {"summary": "Read last"})
    for n in range(25):
        site.add_comment("LATE-1", jira_helpers.adf(f"late {n}"), site.admin)


def test_a_second_backup_of_an_unchanged_jira_site_downloads_and_stores_nothing(
    jira_site, connected
):
    connection, admin = connected
    files = jira_helpers.seed_site(jira_site)
    first = run_backup_of(connection.product, admin)
    assert first.status == Backup.Status.COMPLETE, first.failure_reason
    assert len(downloads(jira_site, JIRA_DOWNLOAD)) == 2
    copies = stored_blobs()
    assert sorted(attachment_copies().values()) == sorted(len(c) for c in files.values())
    # The first backup stored them as the organization's copies, not under its prefix.
    assert not [n for n in storage.list_prefix(first.storage_prefix) if "/attachments/" in n]

    jira_site.requests.clear()
    with time_machine.travel(timedelta(days=8)):  # B3: a week after the first
        second = run_backup_of(connection.product, admin)
    assert second.status == Backup.Status.COMPLETE, second.failure_reason
    assert downloads(jira_site, JIRA_DOWNLOAD) == []  # not one attachment asked for
    assert not [r for r in jira_site.requests if r[1].startswith("/media/")]
    assert stored_blobs() == copies  # no new copy
    # SPEC §7: the same rows as the first backup's (the same SHA-256s, sizes and paths).
    assert read_rows(second, "attachments") == read_rows(first, "attachments")
    assert second.counts["attachments"]["files_bytes"] == sum(map(len, files.values()))

    # Its backup file and a restore into the emptied site give back every byte.
    assert file_attachments(second, admin) == {
        (key, f"{key}.bin"): content for key, content in files.items()
    }
    jira_site.wipe()
    status, restore = jira_helpers.restore_into(connection, second, admin)
    assert status == "COMPLETE", restore.failure_reason
    restored = {
        key: [jira_site.state.files[a["id"]] for a in issue["attachments"]]
        for key, issue in jira_site.state.issues.items()
        if issue["attachments"]
    }
    assert restored == {key: [content] for key, content in files.items()}


def test_an_attachment_deleted_and_added_again_with_its_name_is_downloaded(jira_site, connected):
    """Same name, same bytes, but a new upload: a new id on the site, so it is read again;
    its bytes are the organization's copy already, so nothing new is stored."""
    connection, admin = connected
    files = jira_helpers.seed_site(jira_site)
    first = run_backup_of(connection.product, admin)
    copies = attachment_copies()
    issue = jira_site.state.issues["ACME-5"]
    old_id = issue["attachments"][0]["id"]
    issue["attachments"].clear()
    del jira_site.state.files[old_id]
    new = jira_site.add_attachment("ACME-5", "ACME-5.bin", files["ACME-5"], jira_site.admin)

    jira_site.requests.clear()
    with time_machine.travel(timedelta(days=8)):
        second = run_backup_of(connection.product, admin)
    assert second.status == Backup.Status.COMPLETE, second.failure_reason
    assert downloads(jira_site, JIRA_DOWNLOAD) == [f"/rest/api/3/attachment/content/{new['id']}"]
    assert attachment_copies() == copies  # the same bytes: held, the download deleted
    rows = {r["issue"]: r for r in read_rows(second, "attachments")}
    assert rows["ACME-5"]["path"] == f"attachments/{new['id']}/ACME-5.bin"
    assert rows["ACME-5"]["sha256"] == hashlib.sha256(files["ACME-5"]).hexdigest()
    # Every object is a stored copy: the new attachments.jsonl too (a new id in its rows).
    assert sorted(storage.list_prefix("blobs/")) == sorted(stored_blobs())
    assert file_attachments(second, admin)[("ACME-5", "ACME-5.bin")] == files["ACME-5"]
    assert read_rows(first, "attachments")[1]["path"] == f"attachments/{old_id}/ACME-5.bin"


def test_expiry_of_the_first_backup_keeps_the_copies_the_second_holds(jira_site, connected):
    connection, admin = connected
    files = jira_helpers.seed_site(jira_site)
    first = run_backup_of(connection.product, admin)
    copies = stored_blobs()
    with time_machine.travel(timedelta(days=8)):
        second = run_backup_of(connection.product, admin)
    with time_machine.travel(timedelta(days=15)):  # B7: the first is 15 days old, the second 7
        call_command("expire_backups", stdout=io.StringIO())
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Backup.Status.EXPIRED, Backup.Status.COMPLETE)
    assert not BackupBlob.objects.filter(backup=first).exists()
    assert stored_blobs() == copies
    assert sorted(storage.list_prefix("blobs/")) == sorted(copies)
    with time_machine.travel(timedelta(days=15)):
        assert file_attachments(second, admin) == {
            (key, f"{key}.bin"): content for key, content in files.items()
        }


def test_a_failed_second_backup_lets_go_of_its_copies_and_keeps_the_first(jira_site, connected):
    """B5: the second backup held ACME's two files by reference and downloaded a new one,
    then the token was revoked: it fails, the new copy goes (only it held it), the first's
    stay, and the first backup's file still has every byte."""
    connection, admin = connected
    files = jira_helpers.seed_site(jira_site)
    add_late_project(jira_site)
    first = run_backup_of(connection.product, admin)
    assert first.status == Backup.Status.COMPLETE, first.failure_reason
    copies = stored_blobs()
    jira_site.add_attachment(
        "ACME-3", "new.txt", b"added after the first backup\n", jira_site.admin
    )
    jira_site.fail("GET", r"^/rest/api/3/issue/LATE-1/comment$", "revoke")

    jira_site.requests.clear()
    with time_machine.travel(timedelta(days=8)):
        second = run_backup_of(connection.product, admin)
    assert second.status == Backup.Status.FAILED
    assert second.failure_reason.startswith("The site refused the email and API token (401).")
    assert len(downloads(jira_site, JIRA_DOWNLOAD)) == 1  # the new file only, then it failed
    assert not BackupBlob.objects.filter(backup=second).exists()
    assert stored_blobs() == copies
    assert sorted(storage.list_prefix("blobs/")) == sorted(copies)
    assert file_attachments(first, admin) == {
        (key, f"{key}.bin"): content for key, content in files.items()
    }

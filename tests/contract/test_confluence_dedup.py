"""A connected site's unchanged attachments are not downloaded or stored again (#16 item 2).

A Jira Cloud attachment never changes in place (a new upload is a new id): its id, size and
time name its bytes. A Confluence Cloud attachment keeps its id through new versions: its id,
version number and size do. A later backup of the same product holds the copy an earlier one
stored, by its SHA-256, without a call to the site; the backup's rows (SPEC §7), its backup
file and a restore into the site are the same bytes as before. B5 and E1 hold: a failed backup
lets go of what it held, expiry of the first backup keeps the copies the second holds.
"""

import hashlib
from datetime import timedelta

import pytest
import time_machine

from backups import storage
from backups.models import Backup, BackupBlob
from tests.services.helpers import read_rows, run_backup_of

from . import confluence_helpers
from .dedup_helpers import (
    CONFLUENCE_DOWNLOAD,
    attachment_copies,
    downloads,
    file_attachments,
    stored_blobs,
)

pytestmark = pytest.mark.django_db

# --- Confluence Cloud ------------------------------------------------------------------------


connected = confluence_helpers.connected  # the fixture, by the name the tests ask for


def test_a_new_version_of_a_confluence_attachment_is_downloaded_again(confluence_site, connected):
    connection, admin = connected
    files = confluence_helpers.seed_site(confluence_site)
    first = run_backup_of(connection.product, admin)
    assert first.status == Backup.Status.COMPLETE, first.failure_reason or first.missing
    assert len(downloads(confluence_site, CONFLUENCE_DOWNLOAD)) == 3
    copies = attachment_copies()

    # A new version of notes.txt, of the same size: its id stays, its version goes up.
    notes = next(a for a in confluence_site.attachments.values() if a.title == "notes.txt")
    confluence_site.new_attachment_version(notes, b"line of NOTES\n" * 500)
    assert len(notes.data) == len(files["notes.txt"]) and notes.version == 2

    confluence_site.requests.clear()
    with time_machine.travel(timedelta(days=8)):
        second = run_backup_of(connection.product, admin)
    assert second.status == Backup.Status.COMPLETE, second.failure_reason or second.missing
    assert [p.split("/")[-2] for p in downloads(confluence_site, CONFLUENCE_DOWNLOAD)] == [notes.id]
    now = attachment_copies()
    assert set(copies) < set(now) and len(now) == 4  # the new version's bytes, once
    rows = {r["name"]: r for r in read_rows(second, "attachments")}
    assert rows["notes.txt"]["sha256"] == hashlib.sha256(notes.data).hexdigest()
    expected = {**files, "notes.txt": notes.data}
    assert {name: content for (_, name), content in file_attachments(second, admin).items()} == (
        expected
    )
    # The first backup still reads the version it took.
    first_file = file_attachments(first, admin)
    assert {name: content for (_, name), content in first_file.items()} == files


def test_a_space_left_out_lets_go_of_its_references_not_the_shared_copies(
    confluence_site, connected, settings
):
    """B5 with shared copies: the second backup holds DOCS's unchanged files by reference to
    the first's copies, then a new file in DOCS cannot be read: DOCS is left out whole, the
    second backup lets go of every reference it took there, and the copies the first backup
    holds stay, byte for byte."""
    connection, admin = connected
    settings.SITE_RETRY_BASE_DELAY = 0.001
    files = confluence_helpers.seed_site(confluence_site)
    first = run_backup_of(connection.product, admin)
    copies = attachment_copies()
    guide = next(p for p in confluence_site.pages.values() if p.title == "Guide")
    extra = confluence_site.add_attachment(guide, "extra.bin", b"new in DOCS" * 100)
    confluence_site.fail("GET", rf"/child/attachment/{extra.id}/download$", "503", times=100)

    with time_machine.travel(timedelta(days=8)):
        second = run_backup_of(connection.product, admin)
    assert second.status == Backup.Status.INCOMPLETE
    assert [m["what"] for m in second.missing] == ["space DOCS"]
    assert read_rows(second, "attachments") == []  # every file of this site is in DOCS
    assert not BackupBlob.objects.filter(backup=second, path__startswith="attachments/").exists()
    assert attachment_copies() == copies
    # Every object is a stored copy (the entities files of both backups too).
    assert sorted(storage.list_prefix("blobs/")) == sorted(stored_blobs())
    first_file = file_attachments(first, admin)
    assert {name: content for (_, name), content in first_file.items()} == files

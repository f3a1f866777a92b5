"""Alice turns a backup into a file and downloads it, as she clicks it (D1-D4, D6).

No qcluster runs here: the click leaves the task queued, and the test plays the worker by
calling the task itself. The page must notice the file is ready by polling, without a reload,
and the bytes the browser saves must have the SHA-256 the page shows.
"""

import hashlib

import pytest
from playwright.sync_api import expect

from backups.models import BackupFile
from backups.services.files import file_name
from backups.tasks import backup_file_task
from tests.services.helpers import run_backup_of

from .conftest import login
from .helpers import shoot

pytestmark = pytest.mark.browser


def test_generate_a_backup_file_download_it_and_check_its_sha256(page, live_server, demo, tmp_path):
    backup = run_backup_of(demo.jira, demo.alice)
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/backups/{backup.pk}/")
    file_section = page.locator("#file")
    expect(file_section.get_by_role("heading", name="Backup file")).to_be_visible()

    file_section.get_by_role("button", name="Generate backup file").click()
    expect(
        page.get_by_text("Generating the backup file. This page shows its progress.")
    ).to_be_visible()
    expect(file_section.get_by_text("Generating the backup file…")).to_be_visible()
    backup_file = BackupFile.objects.get(backup=backup)
    assert backup_file.status == BackupFile.Status.GENERATING

    # From here on the page must change by itself: a reload would lose this marker.
    page.evaluate("window.notReloaded = true")
    half = (backup_file.bytes_total + 1) // 2  # 50 %, whether the total is odd or even
    BackupFile.objects.filter(pk=backup_file.pk).update(bytes_done=half)
    expect(file_section.locator("progress")).to_have_attribute("value", "50")
    shoot(page, "backup-file-generating")

    # The worker makes the file (here, in the test's thread); the polling page shows it.
    assert backup_file_task(backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    download = file_section.get_by_role("button", name="Download", exact=True)
    expect(download).to_be_enabled()
    expect(file_section.get_by_text("3 of 3 downloads left")).to_be_visible()
    shown_sha256 = file_section.locator("#sha256").inner_text().strip()
    assert shown_sha256 == backup_file.sha256
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("[hx-trigger*='every']")).to_have_count(0)
    shoot(page, "backup-file-ready")

    # Copy puts the whole checksum on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    file_section.get_by_role("button", name="Copy SHA-256").click()
    expect(file_section.get_by_role("button", name="Copied SHA-256")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == shown_sha256

    with page.expect_download() as downloading:
        download.click()
    saved = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(saved)
    assert saved.name == file_name(backup)
    assert saved.stat().st_size == backup_file.size
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == shown_sha256

    # The page counts the download by itself, a moment after the click.
    expect(file_section.get_by_text("2 of 3 downloads left")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    backup_file.refresh_from_db()
    assert backup_file.downloads_used == 1

    # D6: the link gave its copy. Opened again, it says so and what to do, and sends nothing.
    link = downloading.value.url
    assert link.startswith(f"{live_server.url}/downloads/")
    response = page.goto(link)
    assert response.status == 403
    expect(page.get_by_role("heading", name="Download refused")).to_be_visible()
    expect(
        page.get_by_text("This download link has already delivered its copy of the backup file.")
    ).to_be_visible()
    expect(page.get_by_text("2 of 3 downloads left")).to_be_visible()
    shoot(page, "download-link-used")
    page.get_by_role("link", name="Open the backup").click()
    expect(file_section.get_by_text("2 of 3 downloads left")).to_be_visible()

    # Two more, then the button is disabled with the reason.
    BackupFile.objects.filter(pk=backup_file.pk).update(downloads_used=3)
    page.reload()
    expect(file_section.get_by_role("button", name="Download", exact=True)).to_be_disabled()
    expect(file_section.get_by_text("0 of 3 downloads left")).to_be_visible()
    expect(
        file_section.get_by_text("This backup has been downloaded 3 times, the most allowed.")
    ).to_be_visible()
    shoot(page, "backup-file-used-up")

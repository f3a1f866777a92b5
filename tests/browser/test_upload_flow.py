"""Restore from a downloaded backup file, as alice clicks it (R4, R9, E1, SPEC §8): the stored
backup has expired, the file she downloaded has not; she uploads it — through a dropped
connection and a page reload — sees every check pass, and restores it into the empty Jira.

No qcluster runs here: the test plays the worker, calling the validation and restore tasks
itself. The live server runs in this process, so the small chunk size (monkeypatched) and the
travelled time apply to it too.
"""

import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from playwright.sync_api import expect

from backups import storage
from backups.models import Backup, JiraIssue, Restore, Upload
from backups.rules import human_bytes
from backups.services.files import file_name
from backups.tasks import restore_task, upload_validation_task
from tests.corpus.variants import flip_last as flip
from tests.corpus.variants import rewrite
from tests.services.helpers import backup_file_bytes

from .conftest import login
from .helpers import shoot

pytestmark = pytest.mark.browser

CHUNK = 16 * 1024


def test_upload_an_expired_backups_file_and_restore_it_into_the_empty_jira(
    page, live_server, demo, tmp_path, monkeypatch
):
    # The file as alice downloaded it, the day the backup was taken.
    data, backup = backup_file_bytes(demo.jira, demo.alice)
    path = tmp_path / file_name(backup)
    path.write_bytes(data)
    monkeypatch.setattr(storage, "UPLOAD_CHUNK", CHUNK)
    chunks = -(-len(data) // CHUNK)
    assert chunks >= 4

    # 15 days later the stored backup has expired (B7); the file can still be restored (R4).
    with time_machine.travel(backup.started_at + timedelta(days=15), tick=True):
        out = StringIO()
        call_command("expire_backups", stdout=out)
        backup.refresh_from_db()
        assert backup.status == Backup.Status.EXPIRED
        assert not storage.list_prefix(backup.storage_prefix)

        # Every chunk request goes through here. The second is held (a screenshot mid-upload),
        # then its connection dropped; the fourth is held while the page is reloaded; the fifth
        # (the first after the reload) while the page says it resumes.
        held, seen = [], []

        def chunks_route(route):
            seen.append(route.request.headers.get("x-upload-offset"))
            if len(seen) in (2, 4, 5):
                held.append(route)
            else:
                route.continue_()

        def wait_for_requests(n: int) -> None:
            # Route handlers run while Playwright is called: wait in small steps.
            for _ in range(200):
                if len(seen) >= n:
                    return
                page.wait_for_timeout(25)
            raise AssertionError(f"expected {n} chunk requests, saw {seen}")

        page.route(re.compile(r"/uploads/\d+/chunk/$"), chunks_route)

        login(page, live_server, "alice")
        org_url = f"{live_server.url}/orgs/acme/backup-and-restore/"
        page.goto(org_url)
        page.get_by_role("link", name="Upload backup file").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Upload backup file")
        expect(page.get_by_text("No backup file has been uploaded yet.")).to_be_visible()

        page.get_by_label("Backup file").set_input_files(str(path))
        expect(page.locator("#upload-name")).to_have_text(path.name)
        wait_for_requests(2)
        upload = Upload.objects.get()
        assert upload.received_bytes == CHUNK  # the first chunk is in; the second waits
        expect(page.locator("#upload-bytes")).to_contain_text(f"of {human_bytes(len(data))}")
        expect(page.get_by_role("button", name="Pause")).to_be_visible()
        expect(page.get_by_label("Backup file")).to_be_disabled()
        shoot(page, "upload-in-progress")

        # The connection drops: the page says so, waits, asks the server where it is, goes on.
        held.pop().abort("connectionreset")
        expect(page.get_by_text("The connection was lost. Trying again in 1 s")).to_be_visible()
        wait_for_requests(4)
        assert seen == ["0", str(CHUNK), str(CHUNK), str(2 * CHUNK)]  # the dropped one again
        upload.refresh_from_db()
        assert upload.received_bytes == 2 * CHUNK

        # With the fourth request on its way, alice closes the page (here: reloads it).
        page.reload()
        expect(page.locator(f"#upload-{upload.pk}")).to_contain_text(
            f"{100 * 2 * CHUNK // len(data)}% received · choose the file again to continue"
        )
        shoot(page, "upload-list-unfinished")

        # She chooses the same file: the page finds the unfinished upload and resumes it.
        page.get_by_label("Backup file").set_input_files(str(path))
        wait_for_requests(5)
        expect(page.locator("#upload-state")).to_have_text(
            f"Resume upload: {human_bytes(2 * CHUNK)} of this file had been received; "
            "continuing from there."
        )
        assert seen[4] == str(2 * CHUNK)
        held.pop().continue_()
        page.wait_for_url(f"{org_url}uploads/{upload.pk}/")
        assert Upload.objects.count() == 1
        assert seen[5:] == [str(n * CHUNK) for n in range(3, chunks)]
        upload.refresh_from_db()
        assert upload.status == Upload.Status.VALIDATING
        with storage.open_object(upload.storage_name) as f:
            assert f.read() == data

        # The file is checked by the worker; the page follows without a reload.
        expect(page.get_by_role("heading", level=1)).to_have_text(path.name)
        expect(page.locator(".status-line .status")).to_have_text("Checking")
        expect(page.get_by_text("Waiting to start…")).to_be_visible()
        page.evaluate("window.notReloaded = true")
        assert upload_validation_task(upload.pk) == Upload.Status.VALID
        expect(page.locator(".status-line .status")).to_have_text("Valid")
        checks = page.locator("#checks li")
        expect(checks).to_have_count(10)
        for i in range(10):
            expect(checks.nth(i)).to_contain_text("Passed")
        expect(page.locator("#manifest")).to_contain_text(f"#{backup.pk} Complete")
        expect(page.locator("[hx-trigger]")).to_have_count(0)
        assert page.evaluate("window.notReloaded") is True
        shoot(page, "upload-valid")

        # Restore: the wizard from the options step.
        page.get_by_role("link", name="Restore", exact=True).click()
        expect(page.get_by_role("heading", level=2)).to_have_text("What to restore")
        expect(page.locator(".wizard-summary")).to_contain_text(
            f"from the uploaded file {path.name}"
        )
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=2)).to_have_text(
            "Restore into which Jira product?"
        )
        page.locator(f"#choice-destination-{demo.jira_sandbox.pk}").click()
        expect(page.get_by_role("radio", name=re.compile("^Acme Jira sandbox"))).to_be_checked()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=2)).to_have_text("Review and restore")
        restored = page.locator("table.restore-counts")
        expect(restored.get_by_role("row", name="Issues")).to_contain_text("30")
        shoot(page, "upload-restore-review")
        page.get_by_role("button", name="Restore", exact=True).click()

        restore = Restore.objects.get()
        page.wait_for_url(f"{org_url}restores/{restore.pk}/")
        expect(page.get_by_text(f"from an uploaded file {path.name}")).to_be_visible()
        assert restore_task(restore.pk) == Restore.Status.COMPLETE
        expect(page.locator(".status-line .status")).to_have_text("Complete")
        expect(
            page.locator("table.report-table").get_by_role("row", name="Issues")
        ).to_contain_text("30")
        shoot(page, "upload-restore-complete")
        assert JiraIssue.objects.filter(product=demo.jira_sandbox).count() == 30
        upload.refresh_from_db()
        assert (upload.status, upload.deleted_reason) == (Upload.Status.DELETED, "restored")


def test_a_too_large_file_is_refused_before_a_byte_and_a_tampered_one_names_its_check(
    page, live_server, demo, tmp_path, settings
):
    data, _ = backup_file_bytes(demo.jira, demo.alice)
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(rewrite(data, change={"entities/issues.jsonl": flip}))
    chunk_requests = []
    page.on("request", lambda r: "/chunk/" in r.url and chunk_requests.append(r.url))
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/uploads/new/")

    # D2: the declared size is refused before the first byte, with the reason.
    settings.LOCAL_DOWNLOAD_LIMIT = 1000
    page.get_by_label("Backup file").set_input_files(str(tampered))
    expect(page.locator("#upload-error")).to_have_text(
        f"The file is {human_bytes(len(tampered.read_bytes()))}; a backup file can be at most "
        "1 KB (the local download limit)."
    )
    expect(page.locator("#upload-progress")).to_be_hidden()
    shoot(page, "upload-refused-too-large")
    assert chunk_requests == []
    assert not Upload.objects.exists()

    # A file changed after it was downloaded: uploaded, then refused by its checksum.
    settings.LOCAL_DOWNLOAD_LIMIT = 50 * 10**9
    page.get_by_label("Backup file").set_input_files(str(tampered))
    upload_page = re.compile(r"/uploads/\d+/$")
    page.wait_for_url(upload_page)
    expect(page.locator("#upload-error")).to_have_count(0)
    upload = Upload.objects.get()
    assert upload_validation_task(upload.pk) == Upload.Status.INVALID
    refused = page.locator("#refused")
    expect(refused).to_contain_text(
        "This file was refused: its content does not match the checksums in its manifest."
    )
    expect(refused).to_contain_text("entities/issues.jsonl does not match its SHA-256")
    expect(refused).to_contain_text("Nothing was written to any product.")
    expect(page.locator("#check-entries")).to_contain_text("Failed")
    expect(page.locator("#check-organization")).to_contain_text("Not checked")
    expect(page.get_by_role("link", name="Restore", exact=True)).to_have_count(0)
    shoot(page, "upload-invalid")
    assert not JiraIssue.objects.filter(product=demo.jira_sandbox).exists()

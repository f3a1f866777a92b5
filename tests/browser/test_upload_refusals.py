"""Upload backup file, refused at start (issue #10 item 9): the page's script shows the
server's JSON refusal in the person's words, and sends no byte of the file."""

import pytest
from playwright.sync_api import expect

from backups.models import Upload

from .conftest import login

pytestmark = pytest.mark.browser


def test_d2_the_unfinished_uploads_cap_is_shown_as_the_server_words_it(
    page, live_server, demo, tmp_path, settings
):
    path = tmp_path / "acme-jira.zip"
    path.write_bytes(b"x" * 3000)
    chunk_requests = []
    page.on("request", lambda r: "/chunk/" in r.url and chunk_requests.append(r.url))
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/uploads/new/")

    settings.UPLOAD_UNFINISHED_LIMIT = 2000
    page.get_by_label("Backup file").set_input_files(str(path))
    expect(page.locator("#upload-error")).to_have_text(
        "You have 0 bytes in unfinished uploads; with this file of 3 KB that would pass the "
        "2 KB one person may have unfinished. Finish those uploads first (an upload left "
        "unfinished for a day is deleted)."
    )
    expect(page.locator("#upload-progress")).to_be_hidden()
    assert chunk_requests == []
    assert not Upload.objects.exists()

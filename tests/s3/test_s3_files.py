"""Backup files on S3: generated as a multipart upload, verified, downloaded by presigned URL
(handed out once per download link, short-lived: D6).

The URLs are fetched with urllib from the real server, which checks the signature and the
expiry itself: a test here cannot pass because of our own code's opinion of a link.
"""

import hashlib
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from backups import archive, storage
from backups.models import BackupFile
from backups.services.downloads import download_start
from backups.services.files import backup_file_generate, backup_file_request, file_name
from tests.s3.rclone import wait_for
from tests.services.helpers import run_backup_of


def ready_file(demo) -> BackupFile:
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    return backup_file


def fetch(url: str) -> tuple[int, dict, bytes]:
    """GET a URL; the status, headers and body, whether the server said yes or no."""
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


def test_a_backup_file_is_generated_into_the_storage_and_verifies(storage_backend, demo, tmp_path):
    backup_file = ready_file(demo)

    path = tmp_path / "downloaded.zip"
    with storage.open_object(backup_file.storage_name) as src, open(path, "wb") as dst:
        while chunk := src.read(1024 * 1024):
            dst.write(chunk)
    assert path.stat().st_size == backup_file.size == storage.object_size(backup_file.storage_name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == backup_file.sha256
    result = archive.verify_file(str(path), secret_key=settings.SECRET_KEY)
    assert result.ok, result.failed
    assert [c.name for c in result.checks] == [
        "zip",
        "paths",
        "size",
        "manifest",
        "signature",
        "entries",
    ]
    assert result.manifest["attachments"]["count"] > 0


def presigned(client, link: str) -> str:
    """The presigned URL a download link redirects to (its one use, D6)."""
    response = client.get(link)
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    return response["Location"]


@pytest.fixture
def alice(client, demo):
    client.force_login(demo.alice)
    return client


def test_a_download_link_hands_out_one_presigned_url_that_returns_the_file(s3_storage, demo, alice):
    backup_file = ready_file(demo)
    link = download_start(backup_file=backup_file, actor=demo.alice)
    assert link.startswith("/downloads/")
    # A HEAD (a download manager asking the size first) does not use up the link.
    head = alice.head(link)
    assert (head.status_code, head["Content-Length"]) == (200, str(backup_file.size))

    url = presigned(alice, link)

    assert url.startswith(f"{s3_storage.server.endpoint}/{s3_storage.backups}/")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    # D6: the URL lives only long enough to start the transfer, not the link's minutes.
    assert query["X-Amz-Expires"] == ["60"] == [str(settings.DOWNLOAD_PRESIGNED_SECONDS)]
    status, headers, body = fetch(url)
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == backup_file.sha256
    assert len(body) == backup_file.size
    assert headers["Content-Disposition"] == (
        f'attachment; filename="{file_name(backup_file.backup)}"'
    )

    # D6: the link gave its copy; a second request on it gets the refusal page, no new URL.
    again = alice.get(link)
    assert again.status_code == 403
    assert not again.has_header("Location")
    page = again.content.decode()
    assert "This download link has already delivered its copy of the backup file." in page
    assert "2 of 3 downloads left" in page


def test_the_presigned_url_expires_after_a_minute(s3_storage, demo, alice):
    backup_file = ready_file(demo)
    lifetime = timedelta(seconds=settings.DOWNLOAD_PRESIGNED_SECONDS)

    def url_handed_out(ago: timedelta) -> str:
        # The server's clock cannot travel; ours can: the link hands out its URL in the past.
        link = download_start(backup_file=backup_file, actor=demo.alice)
        with time_machine.travel(timezone.now() - ago, tick=False):
            return presigned(alice, link)

    status, _, body = fetch(url_handed_out(lifetime - timedelta(seconds=15)))
    assert status == 200 and hashlib.sha256(body).hexdigest() == backup_file.sha256

    # A minute and a bit later the same kind of URL is refused by S3 itself, though the link
    # that handed it out is well within its 10 minutes.
    status, _, body = fetch(url_handed_out(lifetime + timedelta(seconds=15)))
    assert status in (400, 403)  # rclone answers 400, AWS 403
    assert b"<Code>AccessDenied</Code>" in body


def test_a_one_second_link_stops_working_within_seconds(s3_storage, demo):
    backup_file = ready_file(demo)
    url = storage.presigned_url(
        backup_file.storage_name, filename="f.zip", expires=timedelta(seconds=1)
    )
    started = time.monotonic()

    status, _, body = wait_for(
        lambda: (answer := fetch(url))[0] != 200 and answer,
        timeout=10,
        what="the 1-second link to expire",
        every=0.1,
    )

    assert status in (400, 403) and b"<Code>AccessDenied</Code>" in body
    assert time.monotonic() - started < 10
    # The same link with a longer life still works: it was the expiry that refused it.
    fresh = storage.presigned_url(
        backup_file.storage_name, filename="f.zip", expires=timedelta(minutes=1)
    )
    assert fetch(fresh)[0] == 200


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: q | {"X-Amz-Signature": flip(q["X-Amz-Signature"])}, id="signature"),
        pytest.param(lambda q: q | {"X-Amz-Expires": "604800"}, id="longer-life"),
        pytest.param(
            lambda q: q | {"response-content-disposition": 'attachment; filename="x.exe"'},
            id="other-filename",
        ),
    ],
)
def test_a_tampered_link_is_refused(s3_storage, demo, alice, tamper):
    backup_file = ready_file(demo)
    url = presigned(alice, download_start(backup_file=backup_file, actor=demo.alice))
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))

    def with_query(q: dict) -> str:
        return parts._replace(
            query=urllib.parse.urlencode(q, quote_via=urllib.parse.quote)
        ).geturl()

    assert fetch(with_query(query))[0] == 200  # taken apart and put together, it still works

    status, _, body = fetch(with_query(tamper(query)))
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body


def flip(signature: str) -> str:
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")

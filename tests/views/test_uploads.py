"""Upload backup file as an org admin's browser drives it (R4, R9, SPEC §8): the JSON endpoints
the page's script talks to, an upload's page with its report, and the restore wizard from it.

The chunks are 4 KiB here (storage.UPLOAD_CHUNK monkeypatched), so a demo backup file takes
many requests; the file is a real one, made by the service from a real backup.
"""

import hashlib
import json
import re
import shutil
from datetime import timedelta

import pytest

from backups import storage
from backups.models import JiraIssue, Restore, Upload
from backups.rules import format_when, human_bytes
from backups.services.uploads import upload_validate
from tests.corpus.variants import flip_last as flip
from tests.corpus.variants import rewrite
from tests.services.helpers import backup_file_bytes, run_backup_of
from tests.views.helpers import element, messages_of, radio, text, url

pytestmark = pytest.mark.django_db

CHUNK = 4096
ALL_CHECKS = [
    "A ZIP archive",
    "Safe entry paths (no absolute path, no '..', no link, no duplicate)",
    "Size and compression ratio within bounds",
    "manifest.json present, format v1",
    "manifest.sig valid (made by this service)",
    "Every entry's SHA-256 as in the manifest; none missing, none extra",
    "A backup of this organization",
    "A Jira or Confluence backup",
    "Taken no more than 60 days ago",
    "A COMPLETE or INCOMPLETE backup",
]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(storage, "UPLOAD_CHUNK", CHUNK)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The demo's users hashed with PBKDF2 cost 2 s a test; no test here types a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(client, demo):
    client.force_login(demo.alice)
    return client


@pytest.fixture
def jira_file(demo):
    """The bytes of a backup file of Acme Jira, and its backup."""
    return backup_file_bytes(demo.jira, demo.alice)


# --- what the page's script does ---------------------------------------------------------------


def start(client, data: bytes, name="acme-jira.zip", slug="acme", size=None):
    return client.post(
        url("upload_start", slug=slug),
        json.dumps({"file_name": name, "size": len(data) if size is None else size}),
        content_type="application/json",
    )


def put(client, upload_id: int, offset: int, body: bytes, slug="acme"):
    return client.put(
        url("upload_chunk", upload_id, slug=slug),
        body,
        content_type="application/octet-stream",
        headers={"X-Upload-Offset": str(offset)},
    )


def send(client, upload_id: int, data: bytes, begin: int = 0, end: int | None = None):
    """The chunks from byte `begin` to `end`, as the script sends them; the last answer."""
    end = len(data) if end is None else end
    answer = None
    for offset in range(begin, end, CHUNK):
        answer = put(client, upload_id, offset, data[offset : offset + CHUNK])
        assert answer.status_code == 200, answer.json()
        assert answer.json()["received_bytes"] == min(offset + CHUNK, len(data))
    return answer


def stored(upload_id: int) -> bytes:
    with storage.open_object(Upload.objects.get(pk=upload_id).storage_name) as f:
        return f.read()


def uploaded(client, data: bytes, name="acme-jira.zip") -> Upload:
    """Start, send every chunk and validate (as the worker would): the upload."""
    upload_id = start(client, data, name).json()["id"]
    send(client, upload_id, data)
    upload_validate(upload_id=upload_id)
    return Upload.objects.get(pk=upload_id)


# --- start, chunks, the report ---------------------------------------------------------------


def test_upload_a_backup_file_in_chunks_and_its_page_shows_every_check_passed(
    alice, demo, jira_file, small_chunks, sync_tasks, django_capture_on_commit_callbacks
):
    data, backup = jira_file
    assert len(data) > 4 * CHUNK  # several chunks, and a short last one
    org_page = alice.get(url("org"))
    assert f'href="{url("upload_new")}"' in org_page.content.decode()
    page = alice.get(url("upload_new"))
    assert page.status_code == 200
    assert 'type="file"' in page.content.decode()
    assert "js/upload.js" in page.content.decode()
    assert f'data-start-url="{url("upload_start")}"' in page.content.decode()
    assert "No backup file has been uploaded yet." in text(page.content)

    answer = start(alice, data)
    assert answer.status_code == 201
    started = answer.json()
    upload_id = started["id"]
    assert started["chunk_size"] == CHUNK
    assert started["received_bytes"] == 0
    assert started["status"] == "RECEIVING"
    assert started["chunk_url"] == url("upload_chunk", upload_id)
    assert started["status_url"] == url("upload_status", upload_id)
    assert started["page_url"] == url("upload_detail", upload_id)

    last = len(data) - len(data) % CHUNK if len(data) % CHUNK else len(data) - CHUNK
    send(alice, upload_id, data, 0, last)
    # The last chunk completes the file: the check is queued and (here) runs at once.
    with django_capture_on_commit_callbacks(execute=True):
        answer = put(alice, upload_id, last, data[last:])
    assert answer.status_code == 200
    assert answer.json()["received_bytes"] == len(data)
    assert answer.json()["status"] == "VALIDATING"
    upload = Upload.objects.get(pk=upload_id)
    assert upload.status == Upload.Status.VALID
    assert stored(upload_id) == data

    page = alice.get(url("upload_detail", upload_id))
    words = text(page.content)
    assert "acme-jira.zip" in words
    assert "Valid" in text(element(page.content, "upload-detail")).split("The file")[0]
    until = backup.started_at + timedelta(days=60)
    assert (
        "The file is valid: every check passed. It can be restored until "
        f"{until:%-d %b %Y, %H:%M} UTC"
    ) in words
    checks = element(page.content, "checks")
    for title in ALL_CHECKS:
        assert f"{title} Passed" in text(checks), title
    assert "Failed" not in text(checks)
    manifest = text(element(page.content, "manifest"))
    assert "Product Acme Jira Jira" in manifest
    assert f"Backup #{backup.pk} Complete" in manifest
    assert f"Taken {backup.started_at:%-d %b %Y, %H:%M} UTC" in manifest
    assert f"Can be restored until {until:%-d %b %Y, %H:%M} UTC" in manifest
    assert "Options Attachments, users and groups" in manifest
    assert "Projects 4 Issues 30 Comments 48 Attachments 18 Groups 3" in words
    assert "Attachment files 44.2 KB" in words
    restore_link = f'href="{url("restore_options")}?upload={upload_id}"'
    assert f'<a class="button button--primary" {restore_link}>Restore</a>' in (
        page.content.decode()
    )
    assert "hx-trigger" not in page.content.decode()

    # The list on Upload backup file shows it.
    row = text(element(alice.get(url("upload_new")).content, f"upload-{upload_id}"))
    assert row.startswith("acme-jira.zip Valid")


def test_while_the_file_is_checked_the_page_shows_progress_and_polls(alice, demo, jira_file):
    data, _ = jira_file
    upload_id = start(alice, data).json()["id"]
    assert len(data) <= storage.UPLOAD_CHUNK  # 8 MiB: one chunk
    assert put(alice, upload_id, 0, data).status_code == 200
    upload = Upload.objects.get(pk=upload_id)
    assert upload.status == Upload.Status.VALIDATING

    page = alice.get(url("upload_detail", upload_id))
    body = element(page.content, "upload-detail")
    assert f'hx-get="{url("upload_detail_fragment", upload_id)}"' in body
    assert 'hx-trigger="every 2s"' in body
    assert "Checking" in text(body)
    assert "Checking the file… Waiting to start…" in text(body)

    Upload.objects.filter(pk=upload_id).update(
        claimed_at=upload.updated_at, validated_bytes=len(data) // 2
    )
    fragment = alice.get(url("upload_detail_fragment", upload_id))
    percent = 100 * (len(data) // 2) // len(data)
    assert f'<progress class="progress" max="100" value="{percent}"' in fragment.content.decode()
    assert f"{percent}% · {human_bytes(len(data) // 2)} of {human_bytes(len(data))} checked" in (
        text(fragment.content)
    )
    assert 'hx-trigger="every 2s"' in fragment.content.decode()

    Upload.objects.filter(pk=upload_id).update(claimed_at=None)  # the worker, from the start
    upload_validate(upload_id=upload_id)
    fragment = alice.get(url("upload_detail_fragment", upload_id))
    assert "hx-trigger" not in fragment.content.decode()
    assert "The file is valid: every check passed." in text(fragment.content)


# --- chunks the server refuses ---------------------------------------------------------------


def test_a_wrong_offset_answers_409_with_the_servers_offset_and_changes_nothing(
    alice, demo, jira_file, small_chunks
):
    data, _ = jira_file
    upload_id = start(alice, data).json()["id"]
    send(alice, upload_id, data, 0, 2 * CHUNK)
    kept = stored(upload_id)

    for offset in (CHUNK, 3 * CHUNK, 0):  # a repeat, a gap, the start again
        answer = put(alice, upload_id, offset, b"x" * CHUNK)
        assert answer.status_code == 409, offset
        assert answer.json()["received_bytes"] == 2 * CHUNK
        assert answer.json()["error"] == (
            f"Expected the chunk at byte {2 * CHUNK}, not at byte {offset}: resume from there."
        )
    assert stored(upload_id) == kept
    assert Upload.objects.get(pk=upload_id).received_bytes == 2 * CHUNK

    # The script resumes from the offset the server gave, and the file comes out whole.
    send(alice, upload_id, data, 2 * CHUNK)
    assert stored(upload_id) == data


def test_a_chunk_past_the_declared_size_is_refused_and_changes_nothing(
    alice, demo, jira_file, small_chunks
):
    data, _ = jira_file
    upload_id = start(alice, data).json()["id"]
    last = (len(data) - 1) // CHUNK * CHUNK
    send(alice, upload_id, data, 0, last)
    kept = stored(upload_id)

    answer = put(alice, upload_id, last, data[last:] + b"extra")
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"The chunk ends at byte {len(data) + 5}, past the file's declared size of "
        f"{len(data)} bytes."
    )
    assert answer.json()["received_bytes"] == last
    assert stored(upload_id) == kept
    assert Upload.objects.get(pk=upload_id).status == Upload.Status.RECEIVING


def test_a_body_larger_than_a_chunk_is_413_before_it_is_read(alice, demo, jira_file, small_chunks):
    data, _ = jira_file
    upload_id = start(alice, data).json()["id"]
    send(alice, upload_id, data, 0, CHUNK)

    answer = put(alice, upload_id, CHUNK, data[CHUNK : 3 * CHUNK + 1])
    assert answer.status_code == 413
    assert (
        answer.json()["error"]
        == f"A chunk can be at most {CHUNK} bytes; this one is {2 * CHUNK + 1}."
    )
    assert answer.json()["received_bytes"] == CHUNK
    assert stored(upload_id) == data[:CHUNK]


def test_a_chunk_of_the_real_size_is_read_past_djangos_form_body_limit(
    alice, demo, jira_file, settings
):
    """8 MiB chunks and DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): the raw stream is read."""
    data, _ = jira_file
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    upload_id = start(alice, data).json()["id"]
    answer = put(alice, upload_id, 0, data)
    assert answer.status_code == 200, answer.content
    assert stored(upload_id) == data


def test_a_chunk_without_its_offset_is_refused(alice, demo, jira_file, small_chunks):
    data, _ = jira_file
    upload_id = start(alice, data).json()["id"]
    answer = alice.put(
        url("upload_chunk", upload_id), data[:CHUNK], content_type="application/octet-stream"
    )
    assert answer.status_code == 400
    assert "X-Upload-Offset" in answer.json()["error"]
    assert Upload.objects.get(pk=upload_id).received_bytes == 0


def test_d2_a_too_large_file_is_refused_at_start_with_the_reason(alice, demo, settings):
    settings.LOCAL_DOWNLOAD_LIMIT = 50 * 10**9
    answer = start(alice, b"", size=51 * 10**9)
    assert answer.status_code == 413  # Content Too Large: the file, not the request, is wrong
    assert answer.json() == {
        "error": "The file is 51 GB; a backup file can be at most 50 GB (the local download limit)."
    }
    assert not Upload.objects.exists()
    assert "and at most 50 GB." in text(alice.get(url("upload_new")).content)


def test_start_refuses_an_empty_file_and_a_garbled_request(alice, demo):
    assert start(alice, b"").json() == {"error": "The file is empty."}
    answer = alice.post(url("upload_start"), "not json", content_type="application/json")
    assert answer.status_code == 400
    answer = alice.post(
        url("upload_start"), json.dumps({"size": "x"}), content_type="application/json"
    )
    assert answer.status_code == 400
    assert not Upload.objects.exists()


# --- resume ----------------------------------------------------------------------------------


def test_resume_from_the_offset_the_status_endpoint_reports(alice, demo, jira_file, small_chunks):
    data, _ = jira_file
    upload_id = start(alice, data).json()["id"]
    half = (len(data) // 2) // CHUNK * CHUNK
    send(alice, upload_id, data, 0, half)
    # ... the connection drops; the page is reloaded and the same file chosen again.

    status = alice.get(url("upload_status", upload_id)).json()
    assert status["received_bytes"] == half
    assert status["declared_size"] == len(data)
    assert status["status"] == "RECEIVING"
    assert status["chunk_size"] == CHUNK
    page = alice.get(url("upload_detail", upload_id))
    assert "This upload is unfinished:" in text(page.content)
    assert "choose the same file again: it continues from where it stopped" in text(page.content)

    send(alice, upload_id, data, status["received_bytes"])
    assert hashlib.sha256(stored(upload_id)).hexdigest() == hashlib.sha256(data).hexdigest()
    assert Upload.objects.get(pk=upload_id).status == Upload.Status.VALIDATING


# --- a refused file --------------------------------------------------------------------------


def test_an_invalid_file_names_the_failed_check_and_that_nothing_was_written(
    alice, demo, jira_file, small_chunks
):
    data, _ = jira_file
    bad = rewrite(data, change={"entities/issues.jsonl": flip})
    upload = uploaded(alice, bad, name="tampered.zip")
    assert upload.status == Upload.Status.INVALID

    page = alice.get(url("upload_detail", upload.pk))
    refused = text(element(page.content, "refused"))
    assert refused == (
        "This file was refused: its content does not match the checksums in its manifest. "
        "entities/issues.jsonl does not match its SHA-256 in the manifest. "
        "Nothing was written to any product. The file has been deleted; only this report is kept."
    )
    words = text(page.content)
    assert words.index("This file was refused") < words.index("Checks")
    checks = text(element(page.content, "checks"))
    for title in ALL_CHECKS[:5]:
        assert f"{title} Passed" in checks
    assert f"{ALL_CHECKS[5]} Failed entities/issues.jsonl does not match" in checks
    for title in ALL_CHECKS[6:]:
        assert f"{title} Not checked: an earlier check failed" in checks
    assert "restore_options" not in page.content.decode()
    assert not JiraIssue.objects.filter(product=demo.jira_sandbox).exists()

    # The wizard does not take it either.
    response = alice.get(url("restore_options", upload=upload.pk))
    assert response.status_code == 302
    assert response.url == url("upload_detail", upload.pk)
    assert messages_of(alice.get(response.url)) == [
        "The uploaded file tampered.zip has not been validated for a restore."
    ]
    response = alice.post(
        url("restore_start"), {"upload": upload.pk, "destination": demo.jira_sandbox.pk}
    )
    assert response.status_code == 302
    assert not Restore.objects.exists()


def test_another_organizations_file_says_whose_it_is(client, demo, make_org, jira_file):
    data, _ = jira_file
    _, admin = make_org("initech")
    client.force_login(admin)
    upload_id = start(client, data, slug="initech").json()["id"]
    client.put(
        url("upload_chunk", upload_id, slug="initech"),
        data,
        content_type="application/octet-stream",
        headers={"X-Upload-Offset": "0"},
    )
    upload_validate(upload_id=upload_id)
    page = client.get(url("upload_detail", upload_id, slug="initech"))
    assert text(element(page.content, "refused")).startswith(
        "This file was refused: it is a backup of another organization. "
        "It is a backup of Acme, another organization."
    )


# --- the wizard from an uploaded file ---------------------------------------------------------


def test_restore_from_an_uploaded_file_through_the_wizard_to_a_complete_restore(
    alice, demo, jira_file, small_chunks, sync_tasks, django_capture_on_commit_callbacks
):
    data, backup = jira_file
    upload = uploaded(alice, data)
    u = upload.pk

    # Options: both, as the file has both; the summary names the file.
    page = alice.get(url("restore_options", upload=u))
    assert page.status_code == 200
    words = text(page.content)
    assert (
        f"Restoring Acme Jira, backup #{backup.pk}, from the uploaded file acme-jira.zip , taken "
        f"{backup.started_at:%-d %b %Y, %H:%M} UTC ."
    ) in words
    assert "Restore attachments" in words
    assert "Restore users and groups" in words
    assert f'<input type="hidden" name="upload" value="{u}">' in page.content.decode()
    # The first step is the file: it links back to its page.
    assert f'href="{url("upload_detail", u)}"' in element(page.content, "main")
    assert "Uploaded file" in words

    # Destination: only Jira products; the empty sandbox chosen, Acme Jira disabled with why.
    page = alice.get(url("restore_destination", upload=u, attachments=1, groups=1))
    words = text(page.content)
    assert "Restore into which Jira product?" in words
    assert "checked" in radio(page.content, "destination", demo.jira_sandbox.pk)
    assert "disabled" in radio(page.content, "destination", demo.jira.pk)
    assert "Acme Confluence" not in words

    # Review: the counts from the file.
    page = alice.get(
        url("restore_review", upload=u, attachments=1, groups=1, destination=demo.jira_sandbox.pk)
    )
    words = text(page.content)
    assert (
        f"From Acme Jira, backup #{backup.pk}, from the uploaded file acme-jira.zip Complete"
        in words
    )
    assert (
        "What will be restored Content In the backup Projects 4 Issues 30 Comments 48 "
        "Attachments 18 Groups 3"
    ) in words
    assert "incomplete" not in words
    assert f'<input type="hidden" name="upload" value="{u}">' in page.content.decode()

    # Restore (POST): the task runs inline.
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(
            url("restore_start"),
            {"upload": u, "attachments": "1", "groups": "1", "destination": demo.jira_sandbox.pk},
        )
    restore = Restore.objects.get()
    assert response.status_code == 302
    assert response.url == url("restore_detail", restore.pk)
    assert restore.status == Restore.Status.COMPLETE, restore.failure_reason
    assert restore.upload_id == u
    assert restore.source_backup_id == backup.pk
    assert JiraIssue.objects.filter(product=demo.jira_sandbox).count() == 30

    page = alice.get(response.url)
    words = text(page.content)
    # It ran inline and ended before its page was shown: no "started… this page follows it"
    # banner on a restore that is over (#13 item 5).
    assert messages_of(page) == []
    assert "this page follows it" not in words
    assert (
        f"Source Acme Jira, backup #{backup.pk} from an uploaded file acme-jira.zip taken"
    ) in words
    assert f'href="{url("upload_detail", u)}"' in element(page.content, "source-file")
    restores_row = text(element(alice.get(url("org")).content, f"restore-{restore.pk}"))
    assert "from an uploaded file, taken" in restores_row

    # E2: the restored file is deleted; its page says why and links the restore.
    page = alice.get(url("upload_detail", u))
    deleted = text(element(page.content, "deleted"))
    assert deleted.startswith("This uploaded file was deleted: restored.")
    assert "Restore into Acme Jira sandbox (complete," in deleted
    assert not storage.exists(upload.storage_name)
    response = alice.get(url("restore_options", upload=u))
    assert response.status_code == 302
    assert messages_of(alice.get(response.url)) == [
        "The uploaded file acme-jira.zip was deleted (restored); upload it again to restore it."
    ]


def test_options_offer_only_what_the_file_has(alice, demo, small_chunks):
    backup = run_backup_of(
        demo.jira, demo.alice, include_attachments=False, include_users_and_groups=False
    )
    from backups.models import BackupFile
    from backups.services.files import backup_file_generate, backup_file_request

    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    with storage.open_object(backup_file.storage_name) as f:
        data = f.read()
    upload = uploaded(alice, data)

    page = alice.get(url("upload_detail", upload.pk))
    assert "Options No attachments, no users and groups" in text(page.content)
    assert "Content In the file Projects 4 Issues 30 Comments 48 Restore" in text(page.content)
    words = text(alice.get(url("restore_options", upload=upload.pk)).content)
    assert "Restore attachments" not in words
    assert "Restore users and groups" not in words
    assert "This backup has no attachments: its backup policy left them out." in words
    assert "This backup has no users and groups: its backup policy left them out." in words
    words = text(
        alice.get(
            url(
                "restore_review",
                upload=upload.pk,
                attachments=1,
                groups=1,
                destination=demo.jira_sandbox.pk,
            )
        ).content
    )
    assert "Options No attachments; no users and groups" in words


def test_a_confluence_file_offers_confluence_destinations_and_refuses_a_forged_jira_one(
    alice, demo, small_chunks
):
    data, _ = backup_file_bytes(demo.confluence, demo.alice)
    upload = uploaded(alice, data, name="confluence.zip")
    assert upload.status == Upload.Status.VALID

    page = alice.get(url("restore_destination", upload=upload.pk, attachments=1, groups=1))
    words = text(page.content)
    assert "Restore into which Confluence product?" in words
    assert "Acme Confluence sandbox" in words
    assert "Acme Jira" not in words
    radio(page.content, "destination", demo.confluence_sandbox.pk)

    review = alice.get(
        url("restore_review", upload=upload.pk, attachments=1, destination=demo.jira_sandbox.pk)
    )
    refusal = text(element(review.content, "refusal"))
    assert "Acme Jira sandbox is a Jira site; this is a Confluence backup." in refusal
    assert re.search(
        r'<button type="submit" class="button button--primary" disabled>', review.content.decode()
    )
    response = alice.post(
        url("restore_start"), {"upload": upload.pk, "destination": demo.jira_sandbox.pk}
    )
    assert response.status_code == 302
    # The review it lands on says why, once (#10 item 11): no message repeats it.
    landed = alice.get(response.url)
    assert messages_of(landed) == []
    assert (
        text(landed.content).count("Acme Jira sandbox is a Jira site; this is a Confluence backup.")
        == 1
    )
    assert not Restore.objects.exists()


def test_an_incomplete_file_warns_on_its_page_and_in_the_review(alice, demo, small_chunks):
    from django.core.files.storage import default_storage

    victim = demo.jira.jira_issues.filter(attachments__isnull=False).first().attachments.first()
    default_storage.delete(victim.file.name)
    data, backup = backup_file_bytes(demo.jira, demo.alice)
    assert backup.status == "INCOMPLETE"
    what = backup.missing[0]["what"]
    upload = uploaded(alice, data)
    assert upload.status == Upload.Status.VALID

    page = alice.get(url("upload_detail", upload.pk))
    assert f"Backup #{backup.pk} Incomplete" in text(element(page.content, "manifest"))
    warning = text(element(page.content, "missing"))
    assert warning.startswith("This backup is incomplete: 1 item could not be copied")
    assert what in warning

    page = alice.get(
        url("restore_review", upload=upload.pk, attachments=1, destination=demo.jira_sandbox.pk)
    )
    warning = text(element(page.content, "missing"))
    assert warning.startswith(
        "This backup is incomplete: 1 item could not be copied when it was taken, so it is not "
        "restored."
    )
    assert f"{what} — {backup.missing[0]['reason']}" in warning


def test_r5_a_file_of_a_backup_restored_this_week_says_until_when(
    alice, demo, jira_file, small_chunks
):
    from backups.services.restores import restore_request

    data, backup = jira_file
    restore = restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    upload = uploaded(alice, data)
    page = alice.get(url("upload_detail", upload.pk))
    until = format_when(restore.started_at + timedelta(days=7))
    reason = text(element(page.content, "valid"))
    assert reason.startswith("The file is valid, but it cannot be restored now.")
    assert reason.endswith(f"It can be restored again after {until}.")
    # Said once: the disabled button points to the warning instead of repeating it.
    assert text(page.content).count(f"It can be restored again after {until}.") == 1
    assert re.search(
        r'<button type="button" class="button button--primary" disabled aria-describedby="valid"',
        page.content.decode(),
    )


# --- who may ---------------------------------------------------------------------------------


def every_url(upload_id: int, slug: str = "acme") -> dict[str, list[str]]:
    return {
        "get": [
            url("upload_new", slug=slug),
            url("upload_detail", upload_id, slug=slug),
            url("upload_detail_fragment", upload_id, slug=slug),
            url("upload_status", upload_id, slug=slug),
            url("restore_options", slug=slug, upload=upload_id),
            url("restore_destination", slug=slug, upload=upload_id),
        ],
        "post": [url("upload_start", slug=slug)],
        "put": [url("upload_chunk", upload_id, slug=slug)],
    }


@pytest.fixture
def acme_upload(demo):
    from backups.services.uploads import upload_start

    return upload_start(organization=demo.acme, actor=demo.alice, file_name="a.zip", size=10_000)


def test_another_organizations_admin_gets_404_on_every_upload_url(
    client, demo, make_org, acme_upload
):
    _, admin = make_org("initech")
    client.force_login(admin)
    u = acme_upload.pk
    # Under our organization's address: nothing there for them.
    urls = every_url(u)
    for address in urls["get"]:
        assert client.get(address).status_code == 404, address
    assert client.post(urls["post"][0], "{}", content_type="application/json").status_code == 404
    assert put(client, u, 0, b"x" * 10).status_code == 404
    # Under their own: they can start their own upload, but ours is not found there either.
    assert start(client, b"x" * 10, slug="initech").status_code == 201
    theirs = every_url(u, slug="initech")
    for address in theirs["get"][1:]:
        assert client.get(address).status_code == 404, address
    assert put(client, u, 0, b"x" * 10, slug="initech").status_code == 404
    acme_upload.refresh_from_db()
    assert acme_upload.received_bytes == 0


def test_a_plain_member_gets_403(client, demo, acme_upload):
    client.force_login(demo.bob)
    urls = every_url(acme_upload.pk)
    for address in urls["get"]:
        response = client.get(address)
        assert response.status_code == 403, address
    assert "ask the org admin of Acme: alice" in text(client.get(urls["get"][0]).content)
    assert start(client, b"x" * 10).status_code == 403
    assert put(client, acme_upload.pk, 0, b"x" * 10).status_code == 403
    assert Upload.objects.count() == 1
    acme_upload.refresh_from_db()
    assert acme_upload.received_bytes == 0


def test_the_wrong_method_is_405(alice, acme_upload):
    urls = every_url(acme_upload.pk)
    assert alice.get(urls["post"][0]).status_code == 405
    assert alice.get(urls["put"][0]).status_code == 405
    assert alice.post(urls["put"][0]).status_code == 405
    assert alice.post(url("upload_status", acme_upload.pk)).status_code == 405
    assert alice.post(url("upload_detail", acme_upload.pk)).status_code == 405


def test_a_wizard_url_with_two_sources_is_not_found(alice, demo, jira_backup_and_upload):
    backup, upload = jira_backup_and_upload
    assert alice.get(url("restore_options", backup=backup.pk, upload=upload.pk)).status_code == 404
    assert alice.get(url("restore_options", upload="x")).status_code == 404
    # An uploaded file has no product or backup step: those send it back to its page.
    response = alice.get(url("restore_backup", upload=upload.pk))
    assert (response.status_code, response.url) == (302, url("upload_detail", upload.pk))


@pytest.fixture
def jira_backup_and_upload(alice, jira_file, small_chunks):
    data, backup = jira_file
    return backup, uploaded(alice, data)


# --- issue #10 item 9: uploads/start/ refuses what cannot fit; every failure is JSON ------------

GB = 1000**3
SESSION_ENDED = (
    "Your session has ended. Log in again, then choose the same file: the upload continues "
    "from where it stopped."
)


def post_start(client, body, content_type="application/json", slug="acme"):
    return client.post(url("upload_start", slug=slug), body, content_type=content_type)


@pytest.mark.parametrize(
    "body, content_type, code, error",
    [
        (
            "file_name=a.zip&size=10",
            "text/plain",
            415,
            "Send the file's name and size as JSON (Content-Type: application/json).",
        ),
        (
            "file_name=a.zip&size=10",
            "application/x-www-form-urlencoded",
            415,
            "Send the file's name and size as JSON (Content-Type: application/json).",
        ),
        ("not json", "application/json", 400, "The request is not JSON."),
        (
            "[1, 2]",
            "application/json",
            400,
            "The request needs the file's name and its size in bytes.",
        ),
        (
            '{"file_name": "a.zip", "size": "10"}',
            "application/json",
            400,
            "The request needs the file's size in bytes (size, a whole number).",
        ),
        (
            '{"file_name": "a.zip", "size": true}',
            "application/json",
            400,
            "The request needs the file's size in bytes (size, a whole number).",
        ),
        (
            '{"file_name": "a.zip", "size": -10}',
            "application/json",
            400,
            "The request needs the file's size in bytes (size, a whole number).",
        ),
        (
            '{"file_name": "a.zip", "size": 10.5}',
            "application/json",
            400,
            "The request needs the file's size in bytes (size, a whole number).",
        ),
        (
            '{"file_name": 7, "size": 10}',
            "application/json",
            400,
            "The request needs the file's name (file_name, text).",
        ),
        ('{"file_name": "a.zip", "size": 0}', "application/json", 400, "The file is empty."),
    ],
    ids=[
        "text-plain",
        "form",
        "not-json",
        "not-an-object",
        "size-string",
        "size-bool",
        "size-negative",
        "size-fraction",
        "name-number",
        "size-zero",
    ],
)
def test_d2_start_accepts_only_json_with_a_whole_size_and_answers_json(
    alice, body, content_type, code, error
):
    """Issue #10 item 9: text/plain and "size": "10" were accepted; errors were HTML."""
    answer = post_start(alice, body, content_type)
    assert (answer.status_code, answer["Content-Type"]) == (code, "application/json")
    assert answer.json() == {"error": error}
    assert not Upload.objects.exists()


def test_d2_start_refuses_more_than_the_upload_storage_has_free(
    alice, demo, settings, isolated_storage
):
    """Free space is the folder's, less what unfinished uploads still expect (R9, D2)."""
    settings.LOCAL_DOWNLOAD_LIMIT = settings.UPLOAD_UNFINISHED_LIMIT = 10**18
    free = shutil.disk_usage(isolated_storage).free  # the folder's filesystem
    too_much = start(alice, b"", size=free + 10**9)
    assert too_much.status_code == 507
    assert too_much.json()["error"].startswith(f"The file is {human_bytes(free + 10**9)}; ")
    assert "the upload storage has" in too_much.json()["error"]
    assert not Upload.objects.exists()

    most = start(alice, b"", size=free - 10**9)
    assert most.status_code == 201
    # Nothing written yet, but the first upload's bytes are set aside: 2 GB no longer fit.
    second = start(alice, b"", size=2 * 10**9)
    assert second.status_code == 507
    assert Upload.objects.count() == 1


def test_d2_one_person_cannot_hold_more_than_the_unfinished_limit(
    alice, demo, settings, jira_file, small_chunks
):
    settings.UPLOAD_UNFINISHED_LIMIT = 10_000
    assert start(alice, b"", size=6000).status_code == 201
    answer = start(alice, b"", size=5000)
    assert answer.status_code == 409
    assert answer.json() == {
        "error": "You have 6 KB in unfinished uploads; with this file of 5 KB that would pass "
        "the 10 KB one person may have unfinished. Finish those uploads first (an upload left "
        "unfinished for a day is deleted)."
    }
    assert start(alice, b"", size=4000).status_code == 201  # up to the cap exactly
    # A finished upload no longer counts: it is being checked, not waiting for bytes.
    settings.UPLOAD_UNFINISHED_LIMIT = 10_000 + len(jira_file[0])
    upload_id = start(alice, jira_file[0]).json()["id"]
    send(alice, upload_id, jira_file[0])
    assert start(alice, b"", size=len(jira_file[0])).status_code == 201


def test_d2_twenty_uploads_of_50_gb_are_not_all_accepted(alice, demo, settings, isolated_storage):
    """Issue #10 item 9: 20 x 50 GB (1 TB) were all accepted with 66 GB free."""
    assert settings.LOCAL_DOWNLOAD_LIMIT == 50 * GB
    assert settings.UPLOAD_UNFINISHED_LIMIT == 100 * GB  # the default: two full-size files
    free = shutil.disk_usage(isolated_storage).free  # the folder's filesystem
    codes = [start(alice, b"", size=50 * GB).status_code for _ in range(20)]
    accepted = min(2, free // (50 * GB))
    assert codes == [201] * accepted + [507 if accepted < 2 else 409] * (20 - accepted)
    assert Upload.objects.count() == accepted


def test_every_failure_of_the_upload_endpoints_is_json(client, demo, make_org, acme_upload):
    """Before: a redirect to the login form, HTML 403/404 pages, an empty 405."""
    urls = every_url(acme_upload.pk)
    status_url, start_url, chunk_url = urls["get"][3], urls["post"][0], urls["put"][0]

    def answers(response) -> tuple[int, str, dict]:
        return response.status_code, response["Content-Type"], response.json()

    # No session.
    for response in (
        client.get(status_url),
        client.post(start_url, "{}", content_type="application/json"),
        put(client, acme_upload.pk, 0, b"x"),
    ):
        assert answers(response) == (401, "application/json", {"error": SESSION_ENDED})
    # Another organization's admin: not found.
    _, admin = make_org("initech")
    client.force_login(admin)
    for response in (client.get(status_url), put(client, acme_upload.pk, 0, b"x")):
        assert answers(response) == (404, "application/json", {"error": "Not found."})
    # A plain member.
    client.force_login(demo.bob)
    for response in (client.get(status_url), put(client, acme_upload.pk, 0, b"x")):
        assert answers(response) == (
            403,
            "application/json",
            {"error": "Only org admins can upload backup files."},
        )
    # A not-enrolled organization's admin.
    org, outsider = make_org("hooli", enrolled=False)
    client.force_login(outsider)
    assert answers(post_start(client, "{}", slug="hooli")) == (
        403,
        "application/json",
        {
            "error": "Backup and restore is in early access and this organization is not "
            "enrolled yet."
        },
    )
    # The wrong method.
    client.force_login(demo.alice)
    wrong = client.get(start_url)
    assert answers(wrong) == (
        405,
        "application/json",
        {"error": "This address answers POST only."},
    )
    assert wrong["Allow"] == "POST"
    only_get, only_put = client.post(status_url), client.get(chunk_url)
    assert answers(only_get)[::2] == (405, {"error": "This address answers GET only."})
    assert answers(only_put)[::2] == (405, {"error": "This address answers PUT only."})
    # A chunk with a negative offset.
    bad = client.put(
        chunk_url, b"x", content_type="application/octet-stream", headers={"X-Upload-Offset": "-1"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "A chunk's offset and length are whole numbers of bytes."


def test_a_refused_csrf_token_is_a_json_error(demo, acme_upload):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(demo.alice)
    answer = browser.post(
        url("upload_start"), json.dumps({"file_name": "a.zip", "size": 10}), "application/json"
    )
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "The page is out of date (its security token was refused). Reload the page, "
        "then choose the same file: the upload continues from where it stopped."
    }
    # With the token the page carries, the same request is accepted.
    page = browser.get(url("upload_new"))
    token = re.search(r'data-csrf="([^"]+)"', page.content.decode()).group(1)
    answer = browser.post(
        url("upload_start"),
        json.dumps({"file_name": "a.zip", "size": 10}),
        "application/json",
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 201, answer.content

"""R9 corpus (issue #10): a real backup file made by the service, changed in 60-odd ways, each
sent through the upload endpoints as the page's script sends it, checked by the validation
task as the worker runs it, and refused by its check, naming the entry at fault. Nothing of it
is kept but its report, and the destination is unchanged: a refused file cannot be restored.

The variants are in tests/corpus/variants.py; their ids are the test ids:
    pytest tests/corpus -q --collect-only   lists them.
"""

import json
import time
from datetime import timedelta

import pytest
import time_machine

from backups import storage
from backups.models import Restore, Upload
from backups.views.uploads import REFUSED_BECAUSE
from tests.productdata.helpers import jira_snapshot
from tests.services.helpers import backup_file_bytes
from tests.views.helpers import text, url

from .variants import IDS, VARIANTS, first_attachment

CHUNK = 16 * 1024  # several chunks per file, as a large file is sent
VALIDATION_SECONDS = 10  # R9: a bounded time; these files take milliseconds


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The demo's users hashed with PBKDF2 cost 2 s a test; no test here types a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(storage, "UPLOAD_CHUNK", CHUNK)


def upload_through_the_endpoints(client, data: bytes, capture, slug: str = "acme") -> int:
    """Start, send every chunk, and let the last one queue the check, which runs (sync_tasks)
    as the worker runs it. The upload's id."""
    started = client.post(
        url("upload_start", slug=slug),
        json.dumps({"file_name": "acme-jira.zip", "size": len(data)}),
        content_type="application/json",
    )
    assert started.status_code == 201, started.json()
    upload_id = started.json()["id"]
    for offset in range(0, len(data), CHUNK):
        with capture(execute=True):
            answer = client.put(
                url("upload_chunk", upload_id, slug=slug),
                data[offset : offset + CHUNK],
                content_type="application/octet-stream",
                headers={"X-Upload-Offset": str(offset)},
            )
        assert answer.status_code == 200, answer.json()
    return upload_id


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_r9_corpus_each_bad_file_is_refused_by_name_and_nothing_is_written(
    client,
    demo,
    settings,
    small_chunks,
    sync_tasks,
    django_capture_on_commit_callbacks,
    isolated_storage,
    variant,
):
    good, backup = backup_file_bytes(demo.jira, demo.alice)
    bad = variant.make(good)
    assert bad != good or variant.settings, "a variant changes the file or the limits"
    for name, value in variant.settings.items():
        setattr(settings, name, value)
    destination_before = jira_snapshot(demo.jira_sandbox)
    media_before = sorted(p for p in (isolated_storage / "media").rglob("*") if p.is_file())
    client.force_login(demo.alice)

    began = time.monotonic()
    upload_id = upload_through_the_endpoints(client, bad, django_capture_on_commit_callbacks)
    assert time.monotonic() - began < VALIDATION_SECONDS

    upload = Upload.objects.get(pk=upload_id)
    assert upload.status == Upload.Status.INVALID, upload.checks
    failed = upload.failed_check
    detail = variant.detail.replace("{attachment}", first_attachment(good))
    assert (failed["name"], detail in failed["detail"]) == (variant.check, True), failed
    assert not storage.exists(upload.storage_name)  # only the report is kept

    # What the admin reads on the upload's page: refused, by which check, and why.
    page = text(client.get(url("upload_detail", upload_id)).content)
    assert f"This file was refused: {REFUSED_BECAUSE[variant.check]}." in page
    assert failed["detail"] in page

    # It cannot be restored, by the wizard or by a forged POST: the destination is as it was.
    assert client.get(url("restore_options", upload=upload_id)).status_code == 302
    response = client.post(
        url("restore_start"), {"upload": upload_id, "destination": demo.jira_sandbox.pk}
    )
    assert response.status_code == 302
    assert not Restore.objects.exists()
    assert jira_snapshot(demo.jira_sandbox) == destination_before
    assert sorted(p for p in (isolated_storage / "media").rglob("*") if p.is_file()) == (
        media_before
    )


@pytest.mark.parametrize("who", ["another-organization", "taken-61-days-ago"])
def test_r9_corpus_an_unchanged_file_in_the_wrong_context_is_refused_by_name(
    client, demo, small_chunks, sync_tasks, django_capture_on_commit_callbacks, who
):
    """The two context checks of R9, on the file as the service made it."""
    good, backup = backup_file_bytes(demo.jira, demo.alice)
    destination_before = jira_snapshot(demo.jira_sandbox)
    if who == "another-organization":
        demo.globex.enrolled = True
        demo.globex.save()
        client.force_login(demo.carol)
        with_slug = {"slug": "globex"}
        upload_id = upload_through_the_endpoints(
            client, good, django_capture_on_commit_callbacks, "globex"
        )
        expected = ("organization", "It is a backup of Acme, another organization.")
    else:
        with_slug = {}
        with time_machine.travel(backup.started_at + timedelta(days=61)):
            client.force_login(demo.alice)  # a session of that day
            upload_id = upload_through_the_endpoints(
                client, good, django_capture_on_commit_callbacks
            )
        expected = ("age", "it can be restored from a file until")
    upload = Upload.objects.get(pk=upload_id)
    assert upload.status == Upload.Status.INVALID
    assert upload.failed_check["name"] == expected[0]
    assert expected[1] in upload.failed_check["detail"]
    page = text(client.get(url("upload_detail", upload_id, **with_slug)).content)
    assert f"This file was refused: {REFUSED_BECAUSE[expected[0]]}." in page
    assert jira_snapshot(demo.jira_sandbox) == destination_before

"""The upload page's list (#13 item 2): every upload, 20 a page ("Uploads 21–40 of 57", Newer
and Older as plain links), valid files first, and Cancel upload… / Delete… with a second step;
another organization's admin gets 404, a plain member 403."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from backups import storage
from backups.models import AuditEvent, Upload
from backups.services.uploads import upload_chunk, upload_start
from tests.factories import member_of, org_with_admin
from tests.views.helpers import element, messages_of, text, url

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
MANIFEST_TAKEN = "2026-11-20T09:00:00+00:00"


@pytest.fixture
def acme():
    return org_with_admin("acme", admin="alice")


@pytest.fixture
def alice(client, acme):
    client.force_login(acme[1])
    return client


def make(org, admin, n: int, status=Upload.Status.RECEIVING, **fields) -> Upload:
    """A row as the services leave it (the files do not matter to the list)."""
    values = {
        "organization": org,
        "created_by": admin,
        "file_name": f"file-{n}.zip",
        "declared_size": 10_000,
        "received_bytes": 0 if status == Upload.Status.RECEIVING else 10_000,
        "storage_name": f"uploads/{org.pk}/{n}/file-{n}.zip",
        "status": status,
        "created_at": T0 + timedelta(hours=n),
        "updated_at": T0 + timedelta(hours=n),
    }
    return Upload.objects.create(**{**values, **fields})


def file_names(page: bytes) -> list[str]:
    return re.findall(r'class="upload-file-cell">([^<]+)<', page.decode())


@pytest.fixture
def history(acme):
    """57 uploads: 54 abandoned at 0%, and the oldest three valid (the one to restore would
    be on page 3 if the list were newest first)."""
    org, admin = acme
    for n in range(1, 58):
        if n <= 3:
            make(org, admin, n, Upload.Status.VALID, manifest={"taken_at": MANIFEST_TAKEN})
        else:
            make(org, admin, n)
    return org


def test_the_list_pages_by_20_valid_files_first(alice, history):
    page = alice.get(url("upload_new"))
    assert page.status_code == 200
    names = file_names(page.content)
    assert len(names) == 20
    # The three valid files lead, newest first, then the rest newest first.
    assert names[:5] == ["file-3.zip", "file-2.zip", "file-1.zip", "file-57.zip", "file-56.zip"]
    words = text(element(page.content, "uploads"))
    assert "Uploads 1–20 of 57. Valid files first, then the rest newest first." in words
    pager = text(page.content.decode().split('aria-label="Pages of uploads"')[1].split("</nav>")[0])
    assert pager.startswith("> Uploads 1–20 of 57 Newer 1 2 3 Older")

    second = alice.get(url("upload_new", page=2))
    assert "Uploads 21–40 of 57" in text(second.content)
    assert file_names(second.content)[0] == "file-40.zip"
    html = second.content.decode()
    assert f'href="{url("upload_new")}#uploads" rel="prev">Newer<' in html
    assert f'href="{url("upload_new")}?page=3#uploads" rel="next">Older<' in html

    last = alice.get(url("upload_new", page=3))
    assert "Uploads 41–57 of 57" in text(last.content)
    assert file_names(last.content)[-1] == "file-4.zip"
    assert '<span class="pager__off">Older</span>' in last.content.decode()
    # A page past the end, or not a number, shows the nearest real page.
    assert "Uploads 41–57 of 57" in text(alice.get(url("upload_new", page=99)).content)
    assert "Uploads 1–20 of 57" in text(alice.get(url("upload_new", page="x")).content)


def test_one_page_has_no_pager_but_says_the_count(alice, acme):
    make(*acme, 1)
    page = alice.get(url("upload_new"))
    assert "Uploads 1–1 of 1. Valid files first" in text(page.content)
    assert "Pages of uploads" not in page.content.decode()


def test_each_row_has_the_button_its_status_allows(alice, acme):
    org, admin = acme
    receiving = make(org, admin, 1, received_bytes=4_000)
    checking = make(org, admin, 2, Upload.Status.VALIDATING)
    valid = make(org, admin, 3, Upload.Status.VALID, manifest={"taken_at": MANIFEST_TAKEN})
    refused = make(org, admin, 4, Upload.Status.INVALID)
    gone = make(org, admin, 5, Upload.Status.DELETED, deleted_reason="cancelled by alice")
    page = alice.get(url("upload_new")).content

    row = text(element(page, f"upload-{receiving.pk}"))
    assert "Uploading 40% received" in row
    assert "Cancel upload… The 4 KB received so far (40%) are deleted and the upload ends." in row
    assert "Cancel and delete what was received" in row
    assert f'action="{url("upload_cancel", receiving.pk)}"' in element(
        page, f"upload-{receiving.pk}"
    )
    row = text(element(page, f"upload-{valid.pk}"))
    assert (
        "Delete… The file is deleted now instead of 19 Jan 2027, 09:00 UTC, when its 60 days" in row
    )
    assert "Delete the file" in row
    assert "Nothing of a refused file can be restored." in text(
        element(page, f"upload-{refused.pk}")
    )
    for upload in (checking, gone):
        row = element(page, f"upload-{upload.pk}")
        assert "<details" not in row and "<form" not in row, row
    assert "Cancelled by alice" in text(element(page, f"upload-{gone.pk}"))


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(storage, "UPLOAD_CHUNK", 4096)


def test_cancel_from_the_list_returns_to_its_page_and_says_what_happened(alice, acme, small_chunks):
    org, admin = acme
    upload = upload_start(organization=org, actor=admin, file_name="big.zip", size=10_000)
    upload_chunk(upload=upload, offset=0, data=b"x" * 4096)
    response = alice.post(url("upload_cancel", upload.pk), {"back": "list", "page": "2"})
    assert (response.status_code, response.url) == (302, url("upload_new") + "?page=2#uploads")
    page = alice.get(response.url)
    assert messages_of(page) == [
        "The upload of big.zip is cancelled: the 4.1 KB received were deleted."
    ]
    upload.refresh_from_db()
    assert upload.status == Upload.Status.DELETED
    assert AuditEvent.objects.filter(action="upload.cancelled", actor=admin).count() == 1

    # Pressed again from a stale tab: refused, in words, and nothing changes.
    again = alice.post(url("upload_cancel", upload.pk), {"back": "detail"}, follow=True)
    assert again.redirect_chain == [(url("upload_detail", upload.pk), 302)]
    assert messages_of(again) == [
        "big.zip: This upload was already deleted: cancelled by alice before it was complete."
    ]
    body = text(element(again.content, "deleted"))
    assert "This uploaded file was deleted: cancelled by alice before it was complete." in body
    assert "Its file was never checked as a whole. To restore from it, upload it again." in body


def test_the_detail_page_offers_cancel_and_delete(alice, acme):
    org, admin = acme
    receiving = make(org, admin, 1)
    page = alice.get(url("upload_detail", receiving.pk)).content
    assert "Cancel upload…" in text(element(page, "upload-detail"))
    assert 'name="back" value="detail"' in page.decode()
    # A checked upload's Delete… is at the end of its page.
    refused = make(org, admin, 3, Upload.Status.INVALID)
    page = alice.get(url("upload_detail", refused.pk)).content
    assert "Delete… Nothing of a refused file can be restored." in text(
        element(page, "upload-delete")
    )


def test_delete_is_post_only(alice, acme):
    upload = make(*acme, 1, Upload.Status.INVALID)
    assert alice.get(url("upload_delete", upload.pk)).status_code == 405
    assert alice.get(url("upload_cancel", upload.pk)).status_code == 405
    response = alice.post(url("upload_delete", upload.pk))
    assert response.status_code == 302
    upload.refresh_from_db()
    assert (upload.status, upload.deleted_reason) == (Upload.Status.DELETED, "deleted by alice")


def test_another_organizations_admin_gets_404_and_a_member_403(client, acme):
    org, admin = acme
    receiving = make(org, admin, 1)
    valid = make(org, admin, 2, Upload.Status.INVALID)
    _other, mallory = org_with_admin("initech")
    client.force_login(mallory)
    for slug in ("acme", "initech"):
        assert client.post(url("upload_cancel", receiving.pk, slug=slug)).status_code == 404
        assert client.post(url("upload_delete", valid.pk, slug=slug)).status_code == 404
    assert "file-1.zip" not in client.get(url("upload_new", slug="initech")).content.decode()

    client.force_login(member_of(org, "bob"))
    assert client.post(url("upload_cancel", receiving.pk)).status_code == 403
    assert client.post(url("upload_delete", valid.pk)).status_code == 403
    assert client.get(url("upload_new")).status_code == 403
    statuses = set(Upload.objects.values_list("status", flat=True))
    assert statuses == {Upload.Status.RECEIVING, Upload.Status.INVALID}
    assert not AuditEvent.objects.filter(action__startswith="upload.").exists()


def test_the_list_reads_in_a_constant_number_of_queries(
    alice, history, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        alice.get(url("upload_new"))

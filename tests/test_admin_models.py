"""Django admin as staff read it (issue #13, items 4 and 8; SPEC §11): one "Groups", every
model, no Save button where the data is the system's, sizes and times written as the site
writes them."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from backups.models import Backup, DownloadLink, JiraAttachment, Upload
from backups.rules import format_when, human_bytes
from backups.services.files import backup_file_request
from tests.services.helpers import run_backup_of

pytestmark = pytest.mark.django_db

TAKEN = datetime(2026, 12, 2, 17, 20, tzinfo=UTC)


@pytest.fixture
def staff_client(client, demo):
    client.force_login(demo.staff)
    return client


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def upload(demo):
    return Upload.objects.create(
        organization=demo.acme,
        created_by=demo.alice,
        file_name="acme-jira.zip",
        declared_size=44_214,
        storage_name="uploads/1",
        created_at=TAKEN,
        updated_at=TAKEN,
    )


def test_the_admin_index_has_one_groups_entry_and_uploads(staff_client):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert len(re.findall(r">Groups</a>", page)) == 1
    assert reverse("admin:backups_orggroup_changelist") in page
    assert "/admin/auth/group/" not in page
    assert ">Uploads</a>" in page
    assert ">Download links</a>" in page
    assert ">Product access decisions</a>" in page


def test_a_backups_page_is_view_only_without_a_save_button(staff_client, demo):
    backup = run_backup_of(demo.jira, demo.alice)
    page = staff_client.get(admin_url(Backup, "change", backup.pk)).content.decode()
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page
    assert ">Close</a>" in page
    # The time reads as on the site, with its zone.
    assert format_when(backup.started_at) in page


def test_the_upload_list_shows_the_sites_size_and_the_time_with_its_zone(staff_client, upload):
    page = staff_client.get(admin_url(Upload, "changelist")).content.decode()
    assert "acme-jira.zip" in page
    assert "44.2 KB" in page  # rules.human_bytes; Django's filesizeformat says 43.2 KB
    assert "2 Dec 2026, 17:20 UTC" in page
    assert "p.m." not in page
    detail = staff_client.get(admin_url(Upload, "change", upload.pk)).content.decode()
    assert 'name="_save"' not in detail
    assert "2 Dec 2026, 17:20 UTC" in detail


def test_attachment_sizes_are_the_sites(staff_client, demo):
    attachment = JiraAttachment.objects.order_by("pk").first()
    page = staff_client.get(admin_url(JiraAttachment, "changelist")).content.decode()
    assert human_bytes(attachment.size) in page


def test_a_download_link_never_shows_its_token_hash(staff_client, demo):
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file_request(backup=backup, actor=demo.alice)
    link = DownloadLink.objects.create(
        backup_file=backup.file,
        user=demo.alice,
        number=1,
        token_hash="f" * 64,
        size=44_214,
        budget=44_214,
        created_at=TAKEN,
        expires_at=TAKEN,
    )
    for view, args in (("changelist", ()), ("change", (link.pk,))):
        page = staff_client.get(admin_url(DownloadLink, view, *args)).content.decode()
        assert "f" * 64 not in page
        assert "0 bytes of 44.2 KB" in page or view == "change"

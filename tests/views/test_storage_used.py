"""The backup storage an organization uses (#16 item 2): on its overview page, and in Django
admin's organization list; each file shared between backups counted once."""

from datetime import timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from backups import storage
from backups.rules import human_bytes
from tests.factories import complete_backup, jira_product, org_with_admin

from .helpers import ORG_URL, element, text


def test_the_overview_says_how_much_storage_the_backups_use(client, db):
    org, admin = org_with_admin()
    product = jira_product(org, issues=3, attachments=2)
    client.force_login(admin)
    line = text(element(client.get(ORG_URL.format("acme")).content, "storage-used"))
    assert line == (
        "Backups use 0 bytes of storage; files shared between backups (attachments, and "
        "unchanged entities files) are stored once."
    )

    first = complete_backup(product, admin, verify=False)
    with time_machine.travel(first.completed_at + timedelta(days=7, seconds=1), tick=False):
        second = complete_backup(product, admin, verify=False)

    # The first backup's files, and the second's manifest: its attachments and entities files
    # are the first's, unchanged, stored once (not twice).
    used = first.total_bytes + storage.object_size(second.storage_prefix + "manifest.json")
    line = text(element(client.get(ORG_URL.format("acme")).content, "storage-used"))
    assert line == (
        f"Backups use {human_bytes(used)} of storage; files shared between backups "
        "(attachments, and unchanged entities files) are stored once."
    )


def test_admin_lists_each_organizations_backup_storage(client, db):
    org, admin = org_with_admin()
    backup = complete_backup(jira_product(org, attachments=1), admin, verify=False)
    org_with_admin("globex")
    staff = get_user_model().objects.create_user("staff", is_staff=True, is_superuser=True)
    client.force_login(staff)

    page = client.get(reverse("admin:backups_organization_changelist"))

    rows = page.content.decode().split("<tr")[2:]
    [acme] = [text("<tr" + r) for r in rows if ">Acme</a>" in r]
    [globex] = [text("<tr" + r) for r in rows if ">Globex</a>" in r]
    assert human_bytes(backup.total_bytes) in acme
    assert "0 bytes" in globex

"""Issue #12: a connected Confluence Cloud site (the contract server) backed up and restored
through the pages and a real qcluster worker (Redis broker, PostgreSQL), the three round trips
of the issue, each compared whole: the site into its emptied self; into a site that already
has two of the space keys (those two skipped and untouched); and through an embedded product
and back."""

from datetime import timedelta

import pytest
from django.urls import reverse

from backups.models import Backup, BackupPolicy, Product, Restore, SiteConnection
from tests.contract.confluence_helpers import seed_site, without_personal
from tests.contract.conftest import ADMIN_EMAIL, ADMIN_TOKEN, confluence_site  # noqa: F401

from .workers import wait_status

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def run_backup(client, org, product, logs) -> Backup:
    client.post(reverse("backup_run", args=[org, product.pk]))
    backup = Backup.objects.filter(product=product).latest("started_at")
    wait_status(
        backup,
        {Backup.Status.COMPLETE, Backup.Status.INCOMPLETE, Backup.Status.FAILED},
        what=f"the backup of {product.name} to end",
        logs=logs,
    )
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason or backup.missing
    return backup


def run_restore(client, org, backup, product, logs) -> Restore:
    client.post(
        reverse("restore_start", args=[org]),
        {"backup": backup.pk, "destination": product.pk, "attachments": "1", "groups": "1"},
    )
    restore = Restore.objects.filter(destination=product).latest("started_at")
    wait_status(
        restore,
        {Restore.Status.COMPLETE, Restore.Status.FAILED},
        what=f"the restore into {product.name} to end",
        logs=logs,
    )
    assert restore.status == Restore.Status.COMPLETE, restore.failure_reason
    return restore


def a_week_passes(restore: Restore) -> None:
    """R5 lets a backup be restored once in 7 days: the next round trip happens a week on."""
    Restore.objects.filter(pk=restore.pk).update(started_at=restore.started_at - timedelta(days=8))


def test_a_connected_confluence_site_round_trips_through_the_pages_and_the_worker(
    redis_broker,
    qclusters,
    demo,
    client,
    confluence_site,  # noqa: F811
):
    qclusters("one")
    seed_site(confluence_site)
    before = without_personal(confluence_site.snapshot())
    client.force_login(demo.alice)
    org = demo.acme.slug

    page = client.post(
        reverse("connection_new", args=[org]),
        {
            "kind": "confluence",
            "name": "Acme Confluence Cloud",
            "site_url": confluence_site.wiki_url,
            "email": ADMIN_EMAIL,
            "token": ADMIN_TOKEN,
        },
        follow=True,
    )
    assert "Acme Confluence Cloud: Connected as Site Admin" in page.content.decode()
    product = SiteConnection.objects.get(product__name="Acme Confluence Cloud").product
    client.post(
        reverse("policy_create", args=[org]),
        {
            "product": product.pk,
            "include_attachments": "on",
            "include_personal_spaces": "on",
            "include_users_and_groups": "on",
        },
    )
    backup = run_backup(client, org, product, qclusters.logs)

    # 1. Into the emptied site.
    confluence_site.wipe()
    restore = run_restore(client, org, backup, product, qclusters.logs)
    assert without_personal(confluence_site.snapshot()) == before
    page = client.get(reverse("restore_detail", args=[org, restore.pk])).content.decode()
    assert "Not set by the site" in page and "Personal spaces" in page

    # 2. Into a site that has two of the keys: skipped, untouched, the rest restored.
    confluence_site.wipe()
    docs = confluence_site.add_space("DOCS", "Their own docs")
    confluence_site.add_page(docs, "Kept", "<p>not ours</p>")
    confluence_site.add_space("TEAM", "Their team")
    theirs = without_personal(confluence_site.snapshot())
    a_week_passes(restore)
    restore = run_restore(client, org, backup, product, qclusters.logs)
    after = without_personal(confluence_site.snapshot())
    assert sorted(restore.report["skipped_space_keys"]) == ["DOCS", "TEAM"]
    assert after["DOCS"] == theirs["DOCS"] and after["TEAM"] == theirs["TEAM"]
    assert after["OPS"] == before["OPS"]

    # 3. Into an embedded product, that product's backup into the emptied site.
    embedded = Product.objects.create(
        organization=demo.acme, kind="confluence", name="Acme wiki (embedded copy)"
    )
    BackupPolicy.objects.create(product=embedded, created_by=demo.alice)
    a_week_passes(restore)
    run_restore(client, org, backup, embedded, qclusters.logs)
    second = run_backup(client, org, embedded, qclusters.logs)
    confluence_site.wipe()
    run_restore(client, org, second, product, qclusters.logs)
    assert without_personal(confluence_site.snapshot()) == before

"""Issue #11: a connected Jira Cloud site (the contract server) backed up and restored through
the pages and a real qcluster worker (Redis broker, PostgreSQL): the org admin connects the
site, creates its policy and clicks Run backup; the worker backs the site up; the site is
emptied; the admin restores the backup into it from the wizard; the worker writes it back."""

import pytest
from django.urls import reverse

from backups.models import Backup, Restore, SiteConnection
from tests.contract.conftest import ADMIN_EMAIL, ADMIN_TOKEN, jira_site  # noqa: F401 - fixture
from tests.contract.jira_helpers import projection, seed_site

from .workers import wait_status

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_connected_site_round_trips_through_the_pages_and_the_worker(
    redis_broker,
    qclusters,
    demo,
    client,
    jira_site,  # noqa: F811
):
    qclusters("one")
    seed_site(jira_site)
    before = projection(jira_site.snapshot())
    client.force_login(demo.alice)
    org = demo.acme.slug

    page = client.post(
        reverse("connection_new", args=[org]),
        {
            "kind": "jira",
            "name": "Acme Jira Cloud",
            "site_url": jira_site.url,
            "email": ADMIN_EMAIL,
            "token": ADMIN_TOKEN,
        },
        follow=True,
    )
    assert "Acme Jira Cloud: Connected as Site Admin" in page.content.decode()
    product = SiteConnection.objects.get(product__name="Acme Jira Cloud").product
    client.post(
        reverse("policy_create", args=[org]),
        {"product": product.pk, "include_attachments": "on", "include_users_and_groups": "on"},
    )
    client.post(reverse("backup_run", args=[org, product.pk]))
    backup = Backup.objects.get(product=product)
    wait_status(
        backup,
        {Backup.Status.COMPLETE, Backup.Status.INCOMPLETE, Backup.Status.FAILED},
        what="the connected site's backup to end",
        logs=qclusters.logs,
    )
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason

    jira_site.wipe()
    client.post(
        reverse("restore_start", args=[org]),
        {"backup": backup.pk, "destination": product.pk, "attachments": "1", "groups": "1"},
    )
    restore = Restore.objects.get(destination=product)
    wait_status(
        restore,
        {Restore.Status.COMPLETE, Restore.Status.FAILED},
        what="the restore into the site to end",
        logs=qclusters.logs,
    )
    assert restore.status == Restore.Status.COMPLETE, restore.failure_reason
    assert projection(jira_site.snapshot()) == before
    page = client.get(reverse("restore_detail", args=[org, restore.pk])).content.decode()
    assert "Not set by the site's API" in page

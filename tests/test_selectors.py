"""The Backup and restore page's reads (backups/selectors.py, #13 item 11): a constant number of
queries whatever the number of products, policies, backups and restores, and content counts
that are stored, not counted on every view."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backups import selectors
from backups.models import (
    Backup,
    BackupPolicy,
    JiraIssue,
    JiraProject,
    Membership,
    Organization,
    Product,
    Restore,
)
from backups.rules import format_when

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def admin(db):
    user = get_user_model().objects.create_user("ada", password="x")
    org = Organization.objects.create(slug="initech", name="Initech", enrolled=True)
    Membership.objects.create(user=user, organization=org, role="admin")
    return user


def add_products(org, start: int, n: int, *, backups: int, restores: int) -> None:
    """n Jira products, each with a policy, `backups` backups and `restores` restores into it."""
    for i in range(start, start + n):
        product = Product.objects.create(organization=org, kind="jira", name=f"Jira {i:03d}")
        BackupPolicy.objects.create(product=product)
        project = JiraProject.objects.create(product=product, key=f"P{i}", name="P")
        JiraIssue.objects.create(
            product=product, project=project, key=f"P{i}-1", summary="s", created=T0, updated=T0
        )
        made = Backup.objects.bulk_create(
            Backup(
                product=product,
                status=Backup.Status.COMPLETE,
                started_at=T0 + timedelta(hours=k),
                completed_at=T0 + timedelta(hours=k, minutes=5),
            )
            for k in range(backups)
        )
        for k in range(restores):
            b = made[k]
            Restore.objects.create(
                backup=b,
                source_backup_id=b.pk,
                source_product_name=product.name,
                source_taken_at=b.started_at,
                destination=product,
                status=Restore.Status.COMPLETE,
                started_at=b.started_at + timedelta(hours=1),
                completed_at=b.started_at + timedelta(hours=2),
            )


def page_urls() -> dict[str, str]:
    org = reverse("org", args=["initech"])
    return {
        "page": org,
        "backups tab": org + "?tab=backups",
        "backups tab, page 2": org + "?tab=backups&page=2",
        "restores tab": org + "?tab=restores",
        "poll: backups + policies": org + "?tab=overview&fragment=backups",
        "poll: restores": org + "?tab=restores&fragment=restores",
    }


def queries(client) -> dict[str, int]:
    counted = {}
    for name, url in page_urls().items():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counted[name] = len(ctx.captured_queries)
    return counted


def test_the_page_and_its_fragments_cost_the_same_queries_however_much_there_is(client, admin):
    org = Organization.objects.get(slug="initech")
    client.force_login(admin)
    add_products(org, 0, 1, backups=60, restores=1)
    queries(client)  # the first view counts the new product's content once and stores it
    few = queries(client)

    add_products(org, 1, 12, backups=60, restores=5)
    running = Product.objects.get(name="Jira 003")
    Backup.objects.create(product=running, started_at=T0 + timedelta(days=9))  # it polls
    queries(client)
    many = queries(client)

    assert many == few
    # Session, user and membership, then the sections: a page is about a dozen, not 48 + ~9.5
    # per policy as before #13 item 11.
    assert max(many.values()) <= 16, many


def test_the_page_shows_stored_counts_until_they_are_refreshed(client, admin):
    org = Organization.objects.get(slug="initech")
    client.force_login(admin)
    add_products(org, 0, 1, backups=0, restores=0)
    product = Product.objects.get()
    page = client.get(reverse("org", args=["initech"])).content.decode()
    product.refresh_from_db()
    assert product.content_summary["items"] == 1
    assert "1&nbsp;issue&nbsp;" in page and f">{format_when(product.summary_at)}</time>" in page

    # Content written behind the page's back (not through a restore or an import) shows once
    # the summary is refreshed: the page itself never counts again.
    project = JiraProject.objects.get(product=product)
    for k in range(2, 4):
        JiraIssue.objects.create(
            product=product, project=project, key=f"P0-{k}", summary="s", created=T0, updated=T0
        )
    assert "1&nbsp;issue&nbsp;" in client.get(reverse("org", args=["initech"])).content.decode()
    later = T0 + timedelta(days=30)
    summary = selectors.refresh_content_summary(product, now=later)
    assert summary.items == 3
    page = client.get(reverse("org", args=["initech"])).content.decode()
    assert "3&nbsp;issues&nbsp;" in page and "As of <time" in page
    assert format_when(later) in page


def test_a_stored_summary_round_trips(admin):
    org = Organization.objects.get(slug="initech")
    add_products(org, 0, 1, backups=0, restores=0)
    product = Product.objects.get()
    live = selectors.refresh_content_summary(product)
    stored = selectors.stored_summary(Product.objects.select_related("connection").get())
    assert stored.summary == live
    assert stored.at == Product.objects.get().summary_at

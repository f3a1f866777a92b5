"""#16: after a restore into a product that held nothing, the counts stored on it (#13 item 11:
what the org page shows, and B6's limits read) are what the import wrote, added up as it wrote
the rows, not counted again. Each test compares them with a fresh count (`summary()`) on the
database the tests run on (SQLite, or PostgreSQL with DATABASE_URL)."""

import pytest
from django.db import connection

from backups.models import JiraComment, JiraIssue, Page, PageAttachment, PageComment, Product
from backups.productdata import ImportOptions, ProductRowSource, for_product
from backups.productdata.base import ExportOptions
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.factories import CREATED, attach, confluence_product, jira_product, org_with_admin

from .helpers import run_backup_of

pytestmark = pytest.mark.django_db

# Characters outside ASCII, one outside the Basic Multilingual Plane: a database counting
# bytes or UTF-16 units instead of characters would differ from len().
WORDS = "Grüße, naïve café — 日本語 ☃ 😀"


def restored_into(product, destination, admin):
    r = restore_request(backup=run_backup_of(product, admin), destination=destination, actor=admin)
    assert restore_execute(restore_id=r.pk) == "COMPLETE", r.failure_reason
    r.refresh_from_db()
    destination.refresh_from_db()
    return r


def stored_and_counted(destination) -> tuple[dict, dict]:
    return destination.content_summary, for_product(destination).summary().stored()


def test_a_jira_restore_stores_what_a_fresh_count_finds():
    org, admin = org_with_admin()
    source = jira_product(
        org,
        projects=3,
        issues=4,
        comments=2,
        attachments=1,
        states=("active", "archived", "trashed"),
    )
    JiraIssue.objects.filter(key="P1-1").update(summary=WORDS, description=WORDS * 3)
    JiraComment.objects.filter(issue__key="P2-2").update(body=WORDS)
    destination = jira_product(org, "Destination", projects=0)

    restored_into(source, destination, admin)

    stored, counted = stored_and_counted(destination)
    assert stored == counted
    assert stored["containers_by_state"] == {"active": 1, "archived": 1, "trashed": 1}
    assert (stored["items"], stored["comments"], stored["attachments"]) == (12, 24, 12)
    assert stored["data_bytes"] == for_product(source).summary().data_bytes
    assert stored["attachment_bytes"] == for_product(source).summary().attachment_bytes > 0


def confluence_source(org):
    """Spaces in every state (a personal one too), pages and a blog post in every state,
    comments and attachments, text outside ASCII."""
    source = confluence_product(org, spaces=3, pages=2, personal=1)
    states = ["active", "archived", "trashed", "active"]  # S1, S2, S3, ~P1
    for space, state in zip(source.spaces.order_by("key"), states, strict=True):
        space.state = state
        space.save(update_fields=["state"])
    page = Page.objects.filter(space__product=source, title="Page 1 of S1").get()
    Page.objects.filter(pk=page.pk).update(title=WORDS, body=WORDS * 2, state="archived")
    Page.objects.create(
        space=page.space,
        kind="blogpost",
        title="News",
        body=WORDS,
        state="trashed",
        created=CREATED,
        updated=CREATED,
    )
    for p in Page.objects.filter(space__product=source):
        PageComment.objects.create(page=p, author="Ann", body=f"{WORDS} {p.pk}", created=CREATED)
        attach(PageAttachment, source, f"{p.pk}.txt", page=p)
    return source


def test_a_confluence_restore_into_a_product_without_spaces_stores_what_a_fresh_count_finds():
    org, admin = org_with_admin()
    source = confluence_source(org)
    destination = confluence_product(org, "Destination", spaces=0)

    restored_into(source, destination, admin)

    stored, counted = stored_and_counted(destination)
    assert stored == counted
    assert stored == for_product(source).summary().stored()  # all of it, nothing skipped
    assert stored["personal_spaces"] == 1
    assert stored["containers_by_state"] == {"active": 2, "archived": 1, "trashed": 1}


def test_a_confluence_restore_that_skips_spaces_does_not_count_them():
    # R6: the destination's own S1 stays as it was; the backup's S1, its pages, comments and
    # files are skipped, and the stored counts hold the destination's S1 and the rest.
    org, admin = org_with_admin()
    source = confluence_source(org)
    destination = confluence_product(org, "Destination", spaces=1, pages=5)

    r = restored_into(source, destination, admin)

    assert r.report["skipped_space_keys"] == ["S1"]
    stored, counted = stored_and_counted(destination)
    assert stored == counted
    assert (
        stored["items"]
        == 6 + Page.objects.filter(space__product=source).exclude(space__key="S1").count()
    )


def test_an_import_that_skips_spaces_reports_only_what_it_wrote():
    # What a restore stores into a product it finds empty at the publish (its spaces gone
    # since it started, which it skipped): the written counts leave the skipped space out.
    org, _ = org_with_admin()
    source = confluence_source(org)
    target = confluence_product(org, "Target", spaces=0)
    data = for_product(target)

    report = data.import_content(
        ProductRowSource(for_product(source), ExportOptions()),
        ImportOptions(existing_space_keys=frozenset({"S2"})),
    )

    assert report.skipped_space_keys == ["S2"]
    written = data.written_summary(report)
    assert written.stored() == data.summary().stored()
    assert (
        written.items == Page.objects.filter(space__product=source).exclude(space__key="S2").count()
    )


def test_a_text_with_a_nul_counts_as_the_database_counts_it():
    # SQLite's length() stops at a text's first NUL; PostgreSQL's text holds none.
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL text holds no NUL")
    org, admin = org_with_admin()
    source = jira_product(org, issues=2, comments=1)
    JiraComment.objects.filter(issue__key="P1-1").update(body="before\x00after")
    destination = jira_product(org, "Destination", projects=0)

    restored_into(source, destination, admin)

    stored, counted = stored_and_counted(destination)
    assert stored == counted
    assert stored["data_bytes"] == for_product(source).summary().data_bytes


def test_the_stored_counts_are_not_read_again_from_the_rows(monkeypatch):
    # The point of #16 here: no count of every row after the publish (the destination was
    # empty, so what the import wrote is all it holds).
    from backups.productdata.jira import JiraData

    org, admin = org_with_admin()
    source = jira_product(org, issues=3, comments=1)
    destination = jira_product(org, "Destination", projects=0)
    backup = run_backup_of(source, admin)
    counted = []
    real = JiraData.summary

    def summary(self):
        counted.append(self.product.pk)
        return real(self)

    r = restore_request(backup=backup, destination=destination, actor=admin)
    monkeypatch.setattr(JiraData, "summary", summary)
    assert restore_execute(restore_id=r.pk) == "COMPLETE"

    # Once, by R6's check at the publish (of a destination that must be empty); not after.
    assert counted == [destination.pk]
    destination.refresh_from_db()
    assert destination.content_summary["items"] == 3
    assert Product.objects.get(pk=destination.pk).summary_at is not None

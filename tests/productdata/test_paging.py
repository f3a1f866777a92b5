"""Issue #16: an export reads its rows in pages of id ranges (`paged`), so a page costs the same
whatever the database knows of its tables. These tests check what a backup would hold: every
row of the product once, in id order, and none of another product's, when the product's ids
are dense, sparse among another product's, and dense again (the range widens and narrows),
and on PostgreSQL that a page's plan is a range of the primary key with no join to choose,
on tables that were never analyzed."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from backups.models import JiraComment, JiraIssue, JiraProject, Page, PageComment, Product
from backups.productdata import ExportOptions, for_product
from backups.productdata.export import export_paged, in_id_order, owned_rows
from tests.factories import confluence_product, org_with_admin

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def interleaved_jira(org):
    """Two Jira products whose issues and comments take turns in the id order: 9 of ours,
    then 1 of ours among 60 of theirs (sparse), then 25 of ours (dense)."""
    ours = Product.objects.create(organization=org, kind="jira", name="Ours")
    theirs = Product.objects.create(organization=org, kind="jira", name="Theirs")
    projects = {
        p: JiraProject.objects.create(product=p, key=f"K{p.pk}", name="P") for p in (ours, theirs)
    }
    plan = [ours] * 9 + ([theirs] * 60 + [ours]) * 3 + [ours] * 25
    for n, product in enumerate(plan):
        issue = JiraIssue.objects.create(
            product=product,
            project=projects[product],
            key=f"{projects[product].key}-{n}",
            summary=f"Issue {n}",
            status="Open",
            created=WHEN,
            updated=WHEN,
        )
        JiraComment.objects.create(issue=issue, author="a", body=f"on {issue.key}", created=WHEN)
    return ours, theirs


def test_pages_of_id_ranges_give_every_row_of_the_product_once_in_id_order():
    org, _ = org_with_admin()
    ours, _ = interleaved_jira(org)
    want_issues = list(JiraIssue.objects.filter(product=ours).order_by("id").values_list("key"))
    want_comments = list(
        JiraComment.objects.filter(issue__product=ours).order_by("id").values_list("body")
    )
    assert len(want_issues) == 9 + 3 + 25
    for size in (1, 2, 4, 7, 2000):  # pages of one row to one page for all
        issues = in_id_order(JiraIssue, "product_id", ours.pk)
        assert list(export_paged(issues, "key", size=size)) == want_issues
        comments, bounds = owned_rows(
            JiraComment, "issue", in_id_order(JiraIssue, "product_id", ours.pk), "key"
        )
        pages = export_paged(comments, "export_owner", "body", size=size, bounds=bounds, owned=True)
        got = list(pages)
        assert [(body,) for _, body in got] == want_comments
        assert all(body == f"on {key}" for key, body in got)


def test_a_product_export_names_its_project_and_issues_and_nothing_of_another():
    org, _ = org_with_admin()
    ours, theirs = interleaved_jira(org)
    data = for_product(ours)
    issues = list(data.rows("issues", ExportOptions()))
    comments = list(data.rows("comments", ExportOptions()))
    assert {r["project"] for r in issues} == {f"K{ours.pk}"}
    assert [r["issue"] for r in comments] == [r["key"] for r in issues]
    assert len(comments) == 37
    theirs_comments = list(for_product(theirs).rows("comments", ExportOptions()))
    assert len(theirs_comments) == 180
    assert all(r["issue"].startswith(f"K{theirs.pk}-") for r in theirs_comments)


def test_confluence_comments_name_their_page_and_leave_out_a_skipped_space():
    org, _ = org_with_admin()
    product = confluence_product(org, spaces=2, pages=3)
    for page in Page.objects.filter(space__product=product).order_by("id"):
        PageComment.objects.create(page=page, author="a", body=page.title, created=WHEN)
    rows = list(for_product(product).rows("comments", ExportOptions(skip_space_keys={"S2"})))
    want = list(
        PageComment.objects.filter(page__space__key="S1", page__space__product=product)
        .order_by("id")
        .values_list("page_id", "body")
    )
    assert [(r["page"], r["body"]) for r in rows] == want
    assert len(want) == 4  # the home page and its three pages


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_a_page_has_no_join_and_no_product_index_to_choose_without_statistics():
    # What made a page cost the whole product: a bitmap of the product_id index ANDed with
    # the page's range, or a hash join over the issues. A page offers neither.
    org, _ = org_with_admin()
    ours, _ = interleaved_jira(org)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stats WHERE tablename IN "
            "('backups_jiraissue', 'backups_jiracomment')"
        )
        assert cursor.fetchone()[0] == 0  # never analyzed
    issues = in_id_order(JiraIssue, "product_id", ours.pk)
    comments, _ = owned_rows(JiraComment, "issue", issues, "key")
    for qs in (issues, comments):
        plan = qs.filter(id__gte=1, id__lt=2001).order_by("id").values_list("id").explain()
        assert "Join" not in plan and "Nested Loop" not in plan, plan
        assert "product_id" not in plan.replace("(product_id + 0)", ""), plan


def test_comments_on_issues_far_apart_in_the_id_order_name_their_issue():
    # A page's comments pointing at a few issues spread over many ids (the owners' keys are
    # then read by their ids, not their range), among another product's comments.
    org, _ = org_with_admin()
    ours, theirs = interleaved_jira(org)
    issues = list(JiraIssue.objects.filter(product=ours).order_by("id"))
    others = list(JiraIssue.objects.filter(product=theirs).order_by("id"))
    for n in range(12):
        issue = issues[-1] if n % 2 else issues[0]
        JiraComment.objects.create(issue=issue, author="a", body=f"late {n}", created=WHEN)
        JiraComment.objects.create(issue=others[n * 7], author="b", body="theirs", created=WHEN)
    want = [
        (key, body)
        for key, body in JiraComment.objects.filter(issue__product=ours)
        .order_by("id")
        .values_list("issue__key", "body")
    ]

    for size in (4, 2000):
        comments, bounds = owned_rows(
            JiraComment, "issue", in_id_order(JiraIssue, "product_id", ours.pk), "key"
        )
        pages = export_paged(comments, "export_owner", "body", size=size, bounds=bounds, owned=True)
        assert list(pages) == want
    rows = list(for_product(ours).rows("comments", ExportOptions()))
    assert [(r["issue"], r["body"]) for r in rows] == want
    assert [r["issue"] for r in rows[-12:]] == [issues[n % 2 * -1].key for n in range(12)]

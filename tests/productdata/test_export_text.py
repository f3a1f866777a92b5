"""Issue #16: the export reads timestamps and JSON as text (export_paged), not through Django's
conversions. What a backup holds must not change by a byte: each row is compared with the row
the export made before, built here the old way (the model's datetime, isoformat; the
JSONField's value), on values chosen to catch a slip: microseconds of 0 and with trailing
zeros, times saved in other time zones, a year before 1000, JSON with text and floats."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from django.db import connection

from backups.models import (
    JiraAttachment,
    JiraComment,
    JiraIssue,
    JiraProject,
    Page,
    PageAttachment,
    PageComment,
)
from backups.productdata import ExportOptions, for_product
from backups.productdata.base import datetime_adapter, parse_dt
from tests.factories import attach, confluence_product, jira_product, org_with_admin

pytestmark = pytest.mark.django_db

IST = timezone(timedelta(hours=5, minutes=30))
PST = timezone(timedelta(hours=-8))
TRICKY = [
    datetime(2026, 9, 1, 9, 0, tzinfo=UTC),  # no fraction: isoformat writes none
    datetime(2026, 9, 1, 9, 0, 0, 120000, tzinfo=UTC),  # trailing zeros kept: .120000
    datetime(2026, 9, 1, 9, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, 0, 500, tzinfo=IST),  # another zone: held in UTC
    datetime(2025, 12, 31, 20, 0, 0, tzinfo=PST),  # the next day, and year, in UTC
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),  # a year of three digits: 0999
]
FIELDS = [
    {},
    {"priority": "High", "labels": ["perf", "ünïcode ✓"], "points": 3},
    {"ratio": 0.1, "small": 1.25e-7, "neg": -0.0, "n": 2**53 + 1, "none": None, "t": True},
    {"nested": {"a": [1, {"b": 'line\nbreak "quoted"'}]}, "emoji": "🙂"},
]


def lines(rows) -> list[bytes]:
    return [orjson.dumps(row) for row in rows]


def iso(moment: datetime) -> str:
    return moment.isoformat()  # what the export wrote from Django's datetime until #16


def tricky_jira(org):
    product = jira_product(org, issues=len(TRICKY), comments=0)
    other = jira_product(org, "Other Jira", issues=2, comments=0)
    issues = list(JiraIssue.objects.filter(product=product).order_by("id"))
    others = list(JiraIssue.objects.filter(product=other).order_by("id"))
    for n, (issue, moment) in enumerate(zip(issues, TRICKY, strict=True)):
        issue.created = moment
        issue.updated = TRICKY[-1 - n]
        issue.fields = FIELDS[n % len(FIELDS)]
        issue.save()
        # Comments of both products interleaved by id: a product's own, in id order.
        JiraComment.objects.create(issue=issue, author="Ann", body=f"c{n}", created=moment)
        JiraComment.objects.create(issue=others[n % 2], author="Bo", body="theirs", created=moment)
        JiraComment.objects.create(issue=issue, author="Cy", body=f"d{n} ✓", created=TRICKY[0])
    for n, moment in enumerate(TRICKY[:3]):
        a = attach(JiraAttachment, product, f"f{n}.txt", issue=issues[n])
        JiraAttachment.objects.filter(pk=a.pk).update(created=moment)
    return product


def old_jira_rows(product, content_type: str) -> list[dict]:
    """The rows as the export made them before #16: from model instances, by id."""
    if content_type == "projects":
        return [
            {"key": p.key, "name": p.name, "state": p.state}
            for p in JiraProject.objects.filter(product=product).order_by("id")
        ]
    if content_type == "issues":
        return [
            {
                "key": i.key,
                "project": i.project.key,
                "summary": i.summary,
                "description": i.description,
                "status": i.status,
                "fields": i.fields,
                "created": iso(i.created),
                "updated": iso(i.updated),
            }
            for i in JiraIssue.objects.filter(product=product).order_by("id")
        ]
    if content_type == "comments":
        return [
            {"issue": c.issue.key, "author": c.author, "body": c.body, "created": iso(c.created)}
            for c in JiraComment.objects.filter(issue__product=product).order_by("id")
        ]
    return [
        {
            "issue": a.issue.key,
            "name": a.name,
            "size": a.size,
            "sha256": a.sha256,
            "path": f"attachments/{a.pk}/{a.name}",
            "created": iso(a.created),
        }
        for a in JiraAttachment.objects.filter(product=product).order_by("id")
    ]


def test_jira_export_bytes_are_what_they_were_before_16():
    org, _ = org_with_admin()
    product = tricky_jira(org)
    data = for_product(product)

    for content_type in data.content_types:
        new = lines(data.rows(content_type, ExportOptions()))
        assert new == lines(old_jira_rows(product, content_type)), content_type
    issues = [orjson.loads(line) for line in lines(data.rows("issues", ExportOptions()))]
    # The spellings the file has always had (and a reader of it expects):
    assert [i["created"] for i in issues] == [
        "2026-09-01T09:00:00+00:00",
        "2026-09-01T09:00:00.120000+00:00",
        "2026-09-01T09:00:00.000001+00:00",
        "2026-12-31T23:59:59.999999+00:00",
        "2026-03-28T20:00:00.000500+00:00",
        "2026-01-01T04:00:00+00:00",
        "0999-01-02T03:04:05+00:00",
    ]
    comments = list(data.rows("comments", ExportOptions()))
    assert len(comments) == 2 * len(TRICKY)
    assert "theirs" not in {c["body"] for c in comments}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps timestamps as text")
def test_sqlite_timestamp_written_in_another_shape_is_read_as_django_reads_it():
    # Django writes "YYYY-MM-DD HH:MM:SS[.ffffff]"; a value put there another way (a short
    # fraction, a "T", an offset) takes the slow road and comes out as Django would read it.
    org, _ = org_with_admin()
    product = jira_product(org, issues=4)
    issues = list(JiraIssue.objects.filter(product=product).order_by("id"))
    shapes = [
        "2026-09-01 09:00:00.5",
        "2026-09-01T09:00:00",
        "2026-09-01 09:00:00+02:00",
        "2026-09-01 09:00:00.000000",
    ]
    with connection.cursor() as cursor:
        for issue, text in zip(issues, shapes, strict=True):
            cursor.execute(
                "UPDATE backups_jiraissue SET created = %s WHERE id = %s", [text, issue.pk]
            )
    rows = list(for_product(product).rows("issues", ExportOptions()))

    assert [r["created"] for r in rows] == [
        iso(i.created) for i in JiraIssue.objects.filter(product=product).order_by("id")
    ]
    assert [r["created"] for r in rows] == [
        "2026-09-01T09:00:00.500000+00:00",
        "2026-09-01T09:00:00+00:00",
        "2026-09-01T09:00:00+02:00",
        "2026-09-01T09:00:00+00:00",
    ]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps timestamps as text")
def test_sqlite_row_with_one_timestamp_in_another_shape_reads_both_as_django_does():
    # Each value on its own: the one in Django's shape is sliced, the other of the same row
    # takes the slow road, whichever column it is in.
    org, _ = org_with_admin()
    product = jira_product(org, issues=3)
    issues = list(JiraIssue.objects.filter(product=product).order_by("id"))
    with connection.cursor() as cursor:
        for issue, (created, updated) in zip(
            issues,
            [
                ("2026-09-01 09:00:00.250000", "2026-09-01 10:00:00.25"),
                ("2026-09-01T11:00:00", "2026-09-01 12:00:00"),
                ("2026-09-01 13:00:00.000000", "2026-09-01 14:00:00.000007"),
            ],
            strict=True,
        ):
            cursor.execute(
                "UPDATE backups_jiraissue SET created = %s, updated = %s WHERE id = %s",
                [created, updated, issue.pk],
            )
    rows = list(for_product(product).rows("issues", ExportOptions()))

    assert [(r["created"], r["updated"]) for r in rows] == [
        (iso(i.created), iso(i.updated))
        for i in JiraIssue.objects.filter(product=product).order_by("id")
    ]
    assert [(r["created"], r["updated"]) for r in rows] == [
        ("2026-09-01T09:00:00.250000+00:00", "2026-09-01T10:00:00.250000+00:00"),
        ("2026-09-01T11:00:00+00:00", "2026-09-01T12:00:00+00:00"),
        ("2026-09-01T13:00:00+00:00", "2026-09-01T14:00:00.000007+00:00"),
    ]


def test_confluence_export_bytes_are_what_they_were_before_16():
    org, _ = org_with_admin()
    product = confluence_product(org, spaces=2, pages=3)
    confluence_product(org, "Other Confluence", spaces=1, pages=2)  # interleaved by id
    pages = list(Page.objects.filter(space__product=product).order_by("id"))
    for n, page in enumerate(pages):
        page.created = TRICKY[n % len(TRICKY)]
        page.updated = TRICKY[-1 - n % len(TRICKY)]
        page.labels = [["a", "ünï"], [], ["x" * 3, "🙂"]][n % 3]
        page.save()
        PageComment.objects.create(page=page, author="Ann", body=f"c{n}", created=page.created)
    for n, page in enumerate(pages[:3]):
        a = attach(PageAttachment, product, f"p{n}.txt", page=page)
        PageAttachment.objects.filter(pk=a.pk).update(created=TRICKY[n + 1])
    data = for_product(product)

    rows = {ct: list(data.rows(ct, ExportOptions())) for ct in data.content_types}

    assert lines(rows["pages"]) == lines(
        {
            "id": p.pk,
            "space": p.space.key,
            "kind": p.kind,
            "title": p.title,
            "body": p.body,
            "parent": p.parent_id,
            "version": p.version,
            "state": p.state,
            "labels": p.labels,
            "created": iso(p.created),
            "updated": iso(p.updated),
        }
        for p in Page.objects.filter(space__product=product).order_by("id")
    )
    assert lines(rows["comments"]) == lines(
        {"page": c.page_id, "author": c.author, "body": c.body, "created": iso(c.created)}
        for c in PageComment.objects.filter(page__space__product=product).order_by("id")
    )
    attachments = PageAttachment.objects.filter(page__space__product=product).order_by("id")
    assert [r["created"] for r in rows["attachments"]] == [iso(a.created) for a in attachments]
    assert [r["created"] for r in rows["attachments"]] == [iso(m) for m in TRICKY[1:4]]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps timestamps as text")
def test_sqlite_restore_stores_the_text_django_would():
    # The import hands SQLite the text Django's own adapter makes of the parsed time (#16),
    # without parsing it when the row's spelling is isoformat's UTC one.
    adapt = datetime_adapter()
    values = [iso(m.astimezone(UTC)) for m in TRICKY] + [
        "2026-09-01T09:00:00.000000+00:00",
        "2026-09-01T09:00:00.5+00:00",
        "2026-09-01T11:00:00+02:00",
        "2026-09-01T09:00:00Z",
    ]
    django = [connection.ops.adapt_datetimefield_value(parse_dt(v)) for v in values]

    assert [adapt(v) for v in values] == django
    assert django[:3] == [
        "2026-09-01 09:00:00",
        "2026-09-01 09:00:00.120000",
        "2026-09-01 09:00:00.000001",
    ]
    assert (
        django[-4:]
        == ["2026-09-01 09:00:00", "2026-09-01 09:00:00.500000"] + ["2026-09-01 09:00:00"] * 2
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's timestamp range")
@pytest.mark.parametrize("text", ["infinity", "0044-03-15 12:00:00+00 BC", "12000-01-01 00:00+00"])
def test_postgresql_time_python_cannot_hold_fails_the_export_naming_it(text):
    # The database writes isoformat's text itself; a time outside datetime's years 1-9999
    # must not come out as some other text in a backup: the export fails, as reading the
    # value into Python did before #16.
    from django.db.utils import DataError

    org, _ = org_with_admin()
    product = jira_product(org, issues=2)
    issue = JiraIssue.objects.filter(product=product).order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE backups_jiraissue SET updated = %s WHERE id = %s", [text, issue.pk])
    with pytest.raises(DataError, match="not a time a backup can hold"):
        list(for_product(product).rows("issues", ExportOptions()))

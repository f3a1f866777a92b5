"""Issue #16, second pass: what the export's cheaper reads must still give, byte for byte.

A page's range of ids may hold none of the product's rows (they are sparse there); on
PostgreSQL a timestamp is read as its own text in UTC and made isoformat's text a page's
column at a time, or by to_char when the session's DateStyle is not ISO; the comments' bounds
are the range of their issues' ids, so another product's comment in that range, made later,
is read and left out. Outside a transaction, PostgreSQL pages are read ahead on a connection
of the export's own: the same rows, its errors after the rows before them, the connection
closed when the reader stops, and the caller's alone when the server has none to spare."""

import re
import time
from datetime import UTC, datetime

import orjson
import pytest
from django.db import DataError, OperationalError, connection, transaction
from django.db.backends.signals import connection_created

from backups.models import JiraComment, JiraIssue, JiraProject, Product
from backups.productdata import ExportOptions, export, for_product
from backups.productdata.export import export_paged, in_id_order, owned_rows
from backups.productdata.export_text import _iso_from_pg, _iso_from_sqlite, _isos_from_sqlite
from tests.factories import org_with_admin
from tests.productdata.test_export_text import old_jira_rows

pytestmark = pytest.mark.django_db

TIMES = [
    datetime(2026, 9, 1, 9, 0, tzinfo=UTC),  # no fraction
    datetime(2026, 9, 1, 9, 0, 0, 120000, tzinfo=UTC),  # the server writes .12
    datetime(2026, 9, 1, 9, 0, 0, 1, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, 100, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def jira_pair(org, plan):
    """Two Jira products' issues (one comment each) made in the order of `plan` (True: ours)."""
    products = [
        Product.objects.create(organization=org, kind="jira", name=name)
        for name in ("Ours", "Theirs")
    ]
    projects = [JiraProject.objects.create(product=p, key=f"K{p.pk}", name="P") for p in products]
    for n, ours in enumerate(plan):
        at = 0 if ours else 1
        moment = TIMES[n % len(TIMES)]
        issue = JiraIssue.objects.create(
            product=products[at],
            project=projects[at],
            key=f"K{n}",
            summary=f"Issue {n}",
            status="Open",
            created=moment,
            updated=TIMES[-1 - n % len(TIMES)],
        )
        JiraComment.objects.create(issue=issue, author="a", body=f"on {n}", created=moment)
    return products


def export_lines(product, content_type: str) -> list[bytes]:
    return [orjson.dumps(r) for r in for_product(product).rows(content_type, ExportOptions())]


def test_a_page_with_none_of_the_rows_is_passed_over():
    # Pages of one id: the ranges of the other product's ids hold none of ours. Each row
    # comes once, its times in isoformat's text.
    org, _ = org_with_admin()
    ours, _ = jira_pair(org, [True, False, False, False, True, True])
    issues = in_id_order(JiraIssue, "product_id", ours.pk)
    rows = list(export_paged(issues, "key", "created", size=1))
    assert rows == [(f"K{n}", TIMES[n % len(TIMES)].isoformat()) for n in (0, 4, 5)]
    assert rows[1] == ("K4", "9999-12-31T23:59:59.999999+00:00")


def test_another_products_later_comment_among_our_issues_is_left_out():
    org, _ = org_with_admin()
    ours, theirs = jira_pair(org, [True, False, True, True])
    their_issue = JiraIssue.objects.get(product=theirs)
    JiraComment.objects.create(issue=their_issue, author="b", body="later", created=TIMES[0])
    assert [orjson.loads(line)["body"] for line in export_lines(ours, "comments")] == [
        "on 0",
        "on 2",
        "on 3",
    ]
    assert [orjson.loads(line)["body"] for line in export_lines(theirs, "comments")] == [
        "on 1",
        "later",
    ]


def test_a_product_without_comments_exports_none():
    org, _ = org_with_admin()
    ours, theirs = jira_pair(org, [True, False, True])
    JiraComment.objects.filter(issue__product=ours).delete()
    assert export_lines(ours, "comments") == []


def old_issue_lines(product) -> list[bytes]:
    """What the export wrote before #16: the model's datetimes, isoformat."""
    return [orjson.dumps(row) for row in old_jira_rows(product, "issues")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's DateStyle")
@pytest.mark.parametrize("style", ["ISO, MDY", "SQL, DMY", "German", "Postgres, MDY"])
def test_postgresql_times_are_isoformat_whatever_the_datestyle(style):
    org, _ = org_with_admin()
    ours, _ = jira_pair(org, [True] * 7 + [False])
    want = old_issue_lines(ours)
    with connection.cursor() as cursor:
        cursor.execute(f"SET DateStyle = '{style}'")
    try:
        assert export_lines(ours, "issues") == want
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET DateStyle")


def test_a_column_with_a_null_time_reads_each_value():
    # No exported time is nullable today; a NULL must still stay None, not shift the others.
    column = ("2026-09-01 09:00:000000000", None, "2026-09-01 09:00:00.120000")
    assert _iso_from_pg(column) == [
        "2026-09-01T09:00:00+00:00",
        None,
        "2026-09-01T09:00:00.120000+00:00",
    ]


SQLITE_STORED = ("2026-09-01 09:00:00", "2026-09-01 09:00:00.120000", "0999-01-02 03:04:05.000100")


def test_a_sqlite_column_in_djangos_shape_is_rewritten_whole():
    assert list(_isos_from_sqlite(SQLITE_STORED)) == [
        "2026-09-01T09:00:00+00:00",
        "2026-09-01T09:00:00.120000+00:00",
        "0999-01-02T03:04:05.000100+00:00",
    ]


@pytest.mark.parametrize(
    "odd",
    [
        None,
        "2026-09-01 09:00:00.000000",  # Django would write no fraction
        "2026-09-01 09:00:00.5",
        "2026-09-01T09:00:00",
        "2026-09-01 09:00 00",  # a second space
        "2026-09-01 09:00:00+02:00",
        "2026-09-01 09:0\n:00",  # a line's end inside a value
        "2026-09-01 09:00:00\n2026-09-01 10:00:00",  # two lines that each look like a time
        "",
    ],
)
def test_a_sqlite_column_with_one_value_in_another_shape_reads_each_as_alone(odd):
    # #16: the whole column is rewritten at once only when that gives what each value alone
    # gives; one value in another shape sends the page value by value, the others unchanged.
    column = (SQLITE_STORED[0], odd, SQLITE_STORED[1])
    try:
        alone = [_iso_from_sqlite(value) for value in column]
    except ValueError as error:  # not a timestamp at all: the same refusal
        with pytest.raises(ValueError, match=re.escape(str(error))):
            list(_isos_from_sqlite(column))
        return
    assert list(_isos_from_sqlite(column)) == alone
    assert alone[0] == "2026-09-01T09:00:00+00:00"


def read_ahead_case(org):
    """Our issues (a comment each) interleaved with another product's: 40 ids of ours among
    theirs, so pages of 2 ids span far more than the 4 pages read on the caller's connection
    alone."""
    ours, _ = jira_pair(org, ([True] * 3 + [False]) * 10)
    issues = in_id_order(JiraIssue, "product_id", ours.pk)
    first, last = issues.order_by("id")[0], issues.order_by("-id")[0]
    for n in range(4):  # pages of comments on issues far apart: their keys read one by one
        issue = (first, last)[n % 2]
        JiraComment.objects.create(issue=issue, author="a", body=f"late {n}", created=TIMES[0])
    comments, bounds = owned_rows(JiraComment, "issue", issues, "key")
    return issues, comments, bounds


def connections_made(run) -> tuple[list, int]:
    made = []

    def note(sender, connection, **kwargs):
        made.append(connection)

    connection_created.connect(note)
    try:
        return run(), len(made)
    finally:
        connection_created.disconnect(note)


pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


@pg_only
@pytest.mark.django_db(transaction=True)
def test_postgresql_pages_read_ahead_on_a_connection_of_their_own_give_the_same_rows():
    org, _ = org_with_admin()
    issues, comments, bounds = read_ahead_case(org)

    def export():
        return (
            list(export_paged(issues, "key", "fields", "created", "updated", size=2)),
            list(
                export_paged(
                    comments, "export_owner", "body", "created", size=2, bounds=bounds, owned=True
                )
            ),
        )

    with transaction.atomic():  # another connection could not see this transaction's rows
        serial, made = connections_made(export)
    assert made == 0
    ahead, made = connections_made(export)
    assert made == 2  # one per export_paged, each closed at its end
    assert ahead == serial
    assert len(ahead[0]) == 30 and len(ahead[1]) == 34
    late = TIMES[0].isoformat()
    assert ahead[1][-2:] == [("K0", "late 2", late), ("K38", "late 3", late)]
    assert ahead[1][:2] == [
        ("K0", "on 0", TIMES[0].isoformat()),
        ("K1", "on 1", TIMES[1].isoformat()),
    ]


@pg_only
@pytest.mark.django_db(transaction=True)
def test_postgresql_read_ahead_raises_its_error_after_the_rows_before_it():
    org, _ = org_with_admin()
    issues, _, _ = read_ahead_case(org)
    bad = issues.order_by("id")[20]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE backups_jiraissue SET updated = 'infinity' WHERE id = %s", [bad.pk])
    got = []
    with pytest.raises(DataError, match="not a time a backup can hold"):
        for row in export_paged(issues, "key", "updated", size=2):
            got.append(row[0])
    # Every row of the pages before the bad one's (2 ids a page, none of ours beside it).
    assert got == [i.key for i in issues.order_by("id")[:20]]


@pg_only
@pytest.mark.django_db(transaction=True)
def test_postgresql_reader_stopping_early_closes_the_connection_reading_ahead():
    org, _ = org_with_admin()
    issues, _, _ = read_ahead_case(org)

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]

    before = backends()
    rows = export_paged(issues, "key", "created", size=2)
    assert next(rows)[0] == "K0"
    assert backends() == before + 1
    rows.close()
    for _ in range(100):  # a closed connection's backend ends a moment later
        if backends() == before:
            break
        time.sleep(0.02)
    assert backends() == before


@pg_only
@pytest.mark.django_db(transaction=True)
def test_postgresql_export_without_a_connection_to_spare_reads_on_its_own(monkeypatch):
    org, _ = org_with_admin()
    issues, comments, bounds = read_ahead_case(org)
    want = list(export_paged(comments, "export_owner", "body", size=2, bounds=bounds, owned=True))

    def refused(alias):
        raise OperationalError("sorry, too many clients already")

    monkeypatch.setattr(export, "PagesAhead", refused)
    got, made = connections_made(
        lambda: list(
            export_paged(comments, "export_owner", "body", size=2, bounds=bounds, owned=True)
        )
    )
    assert (got, made) == (want, 0)
    assert len(got) == 34

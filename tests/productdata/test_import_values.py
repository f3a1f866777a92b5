"""#16: an import hands the database its rows' timestamps and JSON already converted
(datetime_adapter, json_adapter: on PostgreSQL parsed once and written by binary COPY as they
are). What is stored is the moment and the value the row names, whatever its spelling."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from backups.models import JiraComment, JiraIssue
from backups.productdata import ImportOptions
from backups.productdata.jira import JiraData
from tests.factories import jira_product, org_with_admin

from .test_jira_comments_import import Rows

pytestmark = pytest.mark.django_db

# (the row's text, the moment it names)
TIMES = [
    ("2026-09-01T09:00:00.000123+00:00", datetime(2026, 9, 1, 9, 0, 0, 123, tzinfo=UTC)),
    ("2026-09-01T11:00:00+02:00", datetime(2026, 9, 1, 9, 0, tzinfo=UTC)),
    ("2026-03-29T01:30:00-05:30", datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    ("2026-09-01T09:00:00", datetime(2026, 9, 1, 9, 0, tzinfo=UTC)),  # naive: UTC, as Django's
    ("2026-09-01T09:00:00Z", datetime(2026, 9, 1, 9, 0, tzinfo=UTC)),
    ("1999-12-31T23:59:59.999999+00:00", datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
]
FIELDS = [{"a": "é☃ 😀", "n": [1, 2.5, None]}, {}, "just a string", None, [], {"x": {"y": True}}]


def test_an_import_stores_the_moments_and_values_its_rows_name():
    org, _ = org_with_admin()
    product = jira_product(org, projects=0)
    issues = [
        {
            "key": f"P-{n}",
            "project": "P",
            "summary": "s",
            "description": "d",
            "status": "To Do",
            "fields": fields,
            "created": text,
            "updated": TIMES[-1 - n][0],
        }
        for n, ((text, _), fields) in enumerate(zip(TIMES, FIELDS, strict=True))
    ]
    comments = [
        {"issue": f"P-{n}", "author": "Ann", "body": "b", "created": text}
        for n, (text, _) in enumerate(TIMES)
    ]
    rows = Rows(
        projects=[{"key": "P", "name": "P", "state": "active"}], issues=issues, comments=comments
    )

    JiraData(product).import_content(rows, ImportOptions())

    stored = JiraIssue.objects.filter(product=product).order_by("key")
    assert [(i.created, i.updated, i.fields) for i in stored] == [
        (moment, TIMES[-1 - n][1], fields)
        for n, ((_, moment), fields) in enumerate(zip(TIMES, FIELDS, strict=True))
    ]
    assert [i.created.utcoffset() for i in stored] == [timedelta(0)] * len(TIMES)
    assert list(
        JiraComment.objects.filter(issue__product=product)
        .order_by("issue__key")
        .values_list("created", flat=True)
    ) == [moment for _, moment in TIMES]
    assert TIMES[2][1] == datetime(2026, 3, 29, 1, 30, tzinfo=timezone(-timedelta(hours=5.5)))

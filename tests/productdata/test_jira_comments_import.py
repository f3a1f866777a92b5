"""#16: Jira comments go in a slice at a time, each slice's issues looked up by key in one
query; a comment whose issue the backup does not hold fails the import (R8: nothing stays)."""

import pytest

from backups.models import JiraComment, JiraIssue, JiraProject
from backups.productdata import ImportOptions
from backups.productdata.jira import JiraData
from tests.factories import jira_product, org_with_admin

WHEN = "2026-09-01T09:00:00.250000+00:00"


class Rows:
    """A RowSource of plain rows, by content type."""

    def __init__(self, **rows):
        self._rows = rows

    def rows(self, content_type):
        return iter(self._rows.get(content_type, []))

    def open_attachment(self, path):
        raise AssertionError("no attachments here")


def issue(key):
    return {
        "key": key,
        "project": "P",
        "summary": f"About {key}",
        "description": "",
        "status": "To Do",
        "fields": {},
        "created": WHEN,
        "updated": WHEN,
    }


def comment(key, n):
    return {"issue": key, "author": "Ann", "body": f"Comment {n} on {key}", "created": WHEN}


@pytest.mark.django_db
def test_comments_of_many_slices_find_their_issues_in_order(monkeypatch):
    # Several slices on PostgreSQL.
    monkeypatch.setattr("backups.productdata.writes.INSERT_SLICE", 7)
    monkeypatch.setattr("backups.productdata.writes.SQLITE_SLICE", 7)
    monkeypatch.setattr("backups.productdata.jira.INSERT_SLICE", 7)
    monkeypatch.setattr("backups.productdata.jira_comments.SQLITE_SLICE", 7)
    org, _ = org_with_admin()
    target = jira_product(org, projects=0)
    keys = [f"P-{i}" for i in range(1, 11)]
    comments = [comment(keys[(n * 3) % 10], n) for n in range(25)]
    source = Rows(
        projects=[{"key": "P", "name": "P", "state": "active"}],
        issues=[issue(k) for k in keys],
        comments=comments,
    )

    report = JiraData(target).import_content(source, ImportOptions())

    assert report.restored == {"projects": 1, "issues": 10, "comments": 25}
    stored = list(
        JiraComment.objects.filter(issue__product=target)
        .order_by("id")
        .values_list("issue__key", "body")
    )
    assert stored == [(c["issue"], c["body"]) for c in comments]


@pytest.mark.django_db(transaction=True)
def test_a_comment_on_an_issue_the_backup_lacks_fails_the_import_and_nothing_stays():
    org, _ = org_with_admin()
    target = jira_product(org, projects=0)
    source = Rows(
        projects=[{"key": "P", "name": "P", "state": "active"}],
        issues=[issue("P-1")],
        comments=[comment("P-1", 1), comment("P-404", 2), comment("P-405", 3)],
    )

    with pytest.raises(ValueError) as failed:
        JiraData(target).import_content(source, ImportOptions())

    assert str(failed.value) == "2 comment(s) of the backup name an issue that is not in it."
    assert not JiraProject.objects.filter(product=target).exists()
    assert not JiraIssue.objects.filter(product=target).exists()
    assert not JiraComment.objects.filter(issue__product=target).exists()

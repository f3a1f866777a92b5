"""A 10,000-issue Jira Cloud site with gaps in its numbering round-trips through a backup
and a restore into the emptied site, every issue under its own key (#11, C4, C6)."""

import pytest

from backups.models import Backup
from tests.components import sqlite_pass_only
from tests.services.helpers import read_rows, run_backup_of

from .jira_helpers import connected, projection, restore_into  # noqa: F401 - the fixture

# The site's side is all HTTP; the database holds one backup row. Once is enough.
pytestmark = [pytest.mark.django_db, sqlite_pass_only]

ISSUES = 10_000


def test_ten_thousand_issues_with_gaps_round_trip(jira_site, connected):  # noqa: F811
    connection, admin = connected
    jira_site.add_project("BIG", "Big", lead=jira_site.admin)
    jira_site.add_project("ARC", "Archived", state="archived", lead=jira_site.admin)
    number = 0
    for n in range(ISSUES):
        number += 1 if n % 97 else 3  # every 97th issue leaves a gap of two numbers
        project = "ARC" if n % 10 == 0 else "BIG"
        jira_site.add_issue(
            project, {"summary": f"Issue {n}", "labels": [f"l{n % 7}"]}, number=number
        )
        if n % 50 == 0:
            jira_site.add_comment(
                f"{project}-{number}",
                {
                    "type": "doc",
                    "version": 1,
                    "content": [
                        {"type": "paragraph", "content": [{"type": "text", "text": f"c{n}"}]}
                    ],
                },
                jira_site.admin,
            )
    before = projection(jira_site.snapshot())

    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason
    assert len(read_rows(backup, "issues")) == ISSUES

    jira_site.wipe()
    status, restore = restore_into(connection, backup, admin)
    assert status == "COMPLETE", restore.failure_reason
    assert projection(jira_site.snapshot()) == before
    assert restore.report["restored"]["issues"] == ISSUES

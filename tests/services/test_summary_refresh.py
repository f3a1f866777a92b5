"""#13 item 11: the org page shows each product's stored counts; a restore refreshes its
destination's, so the page is right after the restore without counting on every view."""

import pytest

from backups.models import Product
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.services.helpers import run_backup_of

pytestmark = pytest.mark.django_db


def test_a_restore_refreshes_its_destinations_stored_counts(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    sandbox = Product.objects.get(name="Acme Jira sandbox")
    assert sandbox.summary_at is None  # never counted: the first page view would count it
    restore = restore_request(backup=backup, destination=sandbox, actor=demo.alice)
    assert restore_execute(restore_id=restore.pk) == "COMPLETE"
    sandbox.refresh_from_db()
    assert sandbox.summary_at is not None
    assert sandbox.content_summary["items"] == demo.jira.jira_issues.count()
    assert sandbox.content_summary["containers_by_state"] == {
        state: demo.jira.jira_projects.filter(state=state).count()
        for state in set(demo.jira.jira_projects.values_list("state", flat=True))
    }

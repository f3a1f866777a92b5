"""C2: a connected site's API token appears in no log line, page, audit event, backup, backup
file or error — after a connect, a check, a backup, a failed backup, a backup file and a
restore, everything they wrote is searched for it (and for its Basic-auth form)."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from backups.models import AuditEvent, Backup, Restore, SiteConnection
from backups.services.files import backup_file_generate, backup_file_request
from tests.services.helpers import run_backup_of

from .helpers import SECRETS, leaks  # noqa: F401 - SECRETS, for the tests below
from .jira_helpers import connected, seed_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_the_token_is_nowhere(jira_site, connected, client, caplog, backups_root, tmp_path):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    connection, admin = connected
    seed_site(jira_site)
    org = connection.product.organization.slug
    client.force_login(admin)

    good = run_backup_of(connection.product, admin)
    assert good.status == Backup.Status.COMPLETE
    file = backup_file_request(backup=good, actor=admin)
    backup_file_generate(file_id=file.pk)
    # A failed backup, a failed check: their reasons are written too.
    jira_site.fail("GET", "/rest/api/3/search/jql", "revoke")
    with time_machine.travel(timedelta(days=8)):  # B3: a week after the first
        failed = run_backup_of(connection.product, admin)
    assert failed.status == Backup.Status.FAILED

    pages = [
        client.get(reverse("org", args=[org])),
        client.get(reverse("backup_detail", args=[org, good.pk])),
        client.get(reverse("backup_detail", args=[org, failed.pk])),
        client.get(reverse("connection_edit", args=[org, connection.pk])),
        client.post(reverse("connection_check", args=[org, connection.pk]), follow=True),
    ]
    for page in pages:
        assert page.status_code == 200
        assert leaks(page.content) == []

    assert leaks(caplog.text) == []
    events = list(AuditEvent.objects.all())
    assert {"connection.created", "backup.completed", "backup.failed"} <= {e.action for e in events}
    for event in events:
        assert leaks(event.target + str(event.details)) == []
    for row in Backup.objects.all():
        assert leaks(row.failure_reason + str(row.missing) + str(row.options)) == []
    for row in Restore.objects.all():
        assert leaks(row.failure_reason + str(row.report)) == []
    stored = [p for p in backups_root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".zip" for p in stored), "the backup file was made"
    for path in stored:
        assert leaks(path.read_bytes()) == [], path
    # Stored encrypted: neither the token nor its Basic form is in the row.
    row = SiteConnection.objects.values().get(pk=connection.pk)
    assert leaks(str(row)) == []
    assert repr(connection) == f"<SiteConnection {connection.pk} {jira_site.url}>"

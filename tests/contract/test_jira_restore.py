"""Restores into a connected Jira Cloud site (SPEC C6, C7, R6, R8), played by the contract
server: issues keep their keys (gaps filled and removed again), comments, attachments and
project states come back; what the API cannot set is reported; a site that is not empty is
refused, also when it stops being empty just before the restore writes; a restore that fails
removes what it created."""

import pytest

from backups.models import JiraAttachment, JiraComment, JiraIssue, JiraProject
from backups.services.errors import Refused
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.services.helpers import alter_stored_attachment, run_backup_of

from .jira_helpers import adf, connected, projection, restore_into, seed_site  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def test_site_to_backup_to_emptied_site_is_equal(jira_site, connected):  # noqa: F811
    connection, admin = connected
    seed_site(jira_site)
    before = projection(jira_site.snapshot())
    backup = run_backup_of(connection.product, admin)
    jira_site.wipe()  # the site's content, not its accounts

    status, restore = restore_into(connection, backup, admin)
    assert status == "COMPLETE", restore.failure_reason
    after = projection(jira_site.snapshot())
    for key in before["issues"]:
        assert after["issues"].get(key) == before["issues"][key], key
    assert after == before
    # Keys kept across the gaps (4, 6, 7): the placeholders were made and deleted again.
    assert sorted(jira_site.state.issues) == sorted(before["issues"])
    assert restore.report["restored"] == {
        "projects": 3,
        "issues": 7,
        "issue links": 2,
        "comments": 26,
        "attachments": 2,
    }
    # Statuses were reached (In Progress, Done), the links made once each.
    assert before["issues"]["ACME-3"]["status"] == "In Progress"
    assert before["issues"]["ACME-1"]["links"] == [("Blocks", "outward", "ACME-2")]
    assert not any("not reachable" in line for line in restore.report["not_restored"])


def test_an_embedded_backup_restores_into_a_connected_site(jira_site, connected, demo):  # noqa: F811
    connection, _ = connected
    # The demo's Acme Jira (embedded), backed up by its admin, into the site of Acme.
    connection.product.organization = demo.acme
    connection.product.save()
    backup = run_backup_of(demo.jira, demo.alice)
    status, restore = restore_into(connection, backup, demo.alice)
    assert status == "COMPLETE", restore.failure_reason
    site = jira_site.snapshot()["issues"]
    embedded = JiraIssue.objects.filter(product=demo.jira)
    assert sorted(site) == sorted(embedded.values_list("key", flat=True))
    for issue in embedded:
        restored = site[issue.key]
        assert restored["fields"]["summary"] == issue.summary
        texts = [
            "\n".join(p["content"][0]["text"] for p in body["content"])
            for body in restored["comments"]
        ]
        assert texts == [
            c.body for c in JiraComment.objects.filter(issue=issue).order_by("created", "id")
        ]
        assert restored["attachments"] == sorted(
            (a.name, a.sha256) for a in JiraAttachment.objects.filter(issue=issue)
        )
    states = {p.key: p.state for p in JiraProject.objects.filter(product=demo.jira)}
    as_site = {"active": "live", "archived": "archived", "trashed": "deleted"}
    assert {k: v["state"] for k, v in jira_site.snapshot()["projects"].items()} == {
        k: as_site[v] for k, v in states.items()
    }


def test_a_site_that_is_not_empty_is_refused_with_what_was_found(jira_site, connected):  # noqa: F811
    connection, admin = connected
    seed_site(jira_site)
    backup = run_backup_of(connection.product, admin)
    with pytest.raises(Refused) as exc:
        restore_request(backup=backup, destination=connection.product, actor=admin)
    assert "A Jira backup can only be restored into an empty Jira site" in exc.value.reason
    assert "3 projects" in exc.value.reason


def test_a_site_that_fills_up_before_the_restore_writes_gets_nothing(jira_site, connected):  # noqa: F811
    """C7: emptiness is checked again just before writing."""
    connection, admin = connected
    seed_site(jira_site)
    backup = run_backup_of(connection.product, admin)
    jira_site.wipe()
    restore = restore_request(backup=backup, destination=connection.product, actor=admin)
    jira_site.add_project("LATE", "Made meanwhile", lead=jira_site.admin)
    assert restore_execute(restore_id=restore.pk) == "FAILED"
    restore.refresh_from_db()
    assert "is no longer empty: the site has 1 project(s) (LATE)" in restore.failure_reason
    assert list(jira_site.state.projects) == ["LATE"] and jira_site.state.issues == {}


def test_a_restore_that_fails_halfway_removes_what_it_created(jira_site, connected):  # noqa: F811
    connection, admin = connected
    files = seed_site(jira_site)
    backup = run_backup_of(connection.product, admin)
    jira_site.wipe()
    jira_site.fail("POST", r"/attachments$", "400", times=1)
    assert restore_into(connection, backup, admin)[0] == "FAILED"
    restore = connection.product.restores.get()
    assert "HTTP 400" in restore.failure_reason
    assert jira_site.snapshot() == {"projects": {}, "issues": {}}
    assert files  # the backup had attachments to write


def test_an_attachment_altered_in_the_backup_stops_the_restore(jira_site, connected):  # noqa: F811
    connection, admin = connected
    seed_site(jira_site)
    backup = run_backup_of(connection.product, admin)
    alter_stored_attachment(backup)
    jira_site.wipe()
    status, restore = restore_into(connection, backup, admin)
    assert status == "FAILED"
    assert "does not match its checksum" in restore.failure_reason
    assert jira_site.snapshot() == {"projects": {}, "issues": {}}


def test_the_review_and_the_report_say_what_the_api_cannot_set(jira_site, connected, client):  # noqa: F811
    """C6: listed on the review page before the restore starts, and in its report."""
    from django.urls import reverse

    connection, admin = connected
    seed_site(jira_site)
    backup = run_backup_of(connection.product, admin)
    jira_site.wipe()
    client.force_login(admin)
    org = connection.product.organization.slug
    review = client.get(
        reverse("restore_review", args=[org]),
        {"backup": backup.pk, "destination": connection.product.pk, "attachments": "1"},
    )
    text = review.content.decode()
    assert "is a connected site:" in text
    assert "Custom fields and assignees: kept in the backup, not written back." in text
    status, restore = restore_into(connection, backup, admin)
    assert status == "COMPLETE"
    page = client.get(reverse("restore_detail", args=[org, restore.pk])).content.decode()
    assert "Not set by the site's API" in page
    assert "Who created issues and comments" in page

"""Backups of a connected Jira Cloud site (SPEC C3–C5, B5), played by the contract server:
everything the API exposes, page by page, in every state, into the same backup format; an
item still unreadable after its retries makes the backup INCOMPLETE, naming it; bad
credentials make it FAILED, saying what to fix."""

import hashlib

import pytest

from backups.models import Backup, JiraIssue, Product
from backups.productdata import for_product
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.services.helpers import read_manifest, read_rows, run_backup_of

from . import jira_helpers
from .conftest import ADMIN_EMAIL, ADMIN_TOKEN
from .jira_helpers import adf, seed_site

pytestmark = pytest.mark.django_db

connected = jira_helpers.connected  # the fixture, by the name the tests ask for


def test_a_connected_site_is_backed_up_whole_in_the_same_format(jira_site, connected):
    connection, admin = connected
    files = seed_site(jira_site)
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason

    manifest = read_manifest(backup)
    assert manifest["source"] == {
        "home": "connected",
        "site_url": jira_site.url,
        "account": "Site Admin",
    }
    projects = read_rows(backup, "projects")
    assert sorted((p["key"], p["state"]) for p in projects) == [
        ("ACME", "active"),
        ("GONE", "trashed"),
        ("OLD", "archived"),
    ]
    issues = {i["key"]: i for i in read_rows(backup, "issues")}
    assert sorted(issues) == ["ACME-1", "ACME-2", "ACME-3", "ACME-5", "ACME-8", "GONE-1", "OLD-1"]
    assert issues["ACME-3"]["description"] == "Steps for 3"
    assert issues["ACME-3"]["fields"]["customfield_10010"] == {"value": "team-1"}
    assert issues["ACME-3"]["fields"]["description"] == adf("Steps for 3")
    assert issues["OLD-1"]["fields"]["priority"] == {"name": "Low"}
    comments = [c for c in read_rows(backup, "comments") if c["issue"] == "ACME-2"]
    assert [c["body"] for c in comments] == [f"comment {n}" for n in range(25)]
    assert comments[0]["body_adf"] == adf("comment 0")
    # 20 comments came inline with the issue; the other 5 through /comment.
    assert ("GET", "/rest/api/3/issue/ACME-2/comment", 200) in jira_site.requests
    attachments = {a["issue"]: a for a in read_rows(backup, "attachments")}
    for key, content in files.items():
        assert attachments[key]["sha256"] == hashlib.sha256(content).hexdigest()
        assert attachments[key]["size"] == len(content)
    assert manifest["attachments"] == {
        "count": 2,
        "bytes": sum(len(c) for c in files.values()),
    }
    # The pages show what the site held, without calling it again.
    connection.refresh_from_db()
    summary = for_product(connection.product).summary()
    assert (summary.items, summary.comments, summary.attachments) == (7, 26, 2)
    assert summary.containers_by_state == {"active": 1, "archived": 1, "trashed": 1}


def test_a_connected_backup_restores_into_an_embedded_jira(jira_site, connected):
    """C6: a connected site's backup restores into an empty embedded Jira, equal in what
    both can hold (keys, summaries, text bodies, attachment bytes, project states)."""
    connection, admin = connected
    files = seed_site(jira_site)
    backup = run_backup_of(connection.product, admin)
    destination = Product.objects.create(
        organization=connection.product.organization, kind="jira", name="Embedded Jira"
    )
    restore = restore_request(backup=backup, destination=destination, actor=admin)
    assert restore_execute(restore_id=restore.pk) == "COMPLETE"
    restored = {i.key: i for i in JiraIssue.objects.filter(product=destination)}
    assert sorted(restored) == ["ACME-1", "ACME-2", "ACME-3", "ACME-5", "ACME-8", "GONE-1", "OLD-1"]
    assert restored["ACME-5"].summary == "Acme issue 5"
    assert restored["ACME-5"].description == "Steps for 5"
    assert restored["ACME-5"].fields["labels"] == ["backup", "n5"]
    assert [c.body for c in restored["ACME-2"].comments.order_by("created", "id")] == [
        f"comment {n}" for n in range(25)
    ]
    states = dict(destination.jira_projects.values_list("key", "state"))
    assert states == {"ACME": "active", "OLD": "archived", "GONE": "trashed"}
    shas = {a.issue.key: a.sha256 for a in restored["ACME-1"].attachments.all()}
    assert shas == {"ACME-1": hashlib.sha256(files["ACME-1"]).hexdigest()}


def test_unreadable_items_make_the_backup_incomplete_naming_them(jira_site, connected):
    connection, admin = connected
    seed_site(jira_site)
    jira_site.fail("GET", r"/rest/api/3/issue/ACME-2/comment$", "503", times=100)
    jira_site.fail("GET", r"^/media/", "drop", times=100)
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.INCOMPLETE
    missing = {m["what"]: m["reason"] for m in backup.missing}
    assert missing["ACME-2 comments"].startswith("The site failed with HTTP 503")
    assert set(missing) == {"ACME-2 comments", "ACME-1 / ACME-1.bin", "ACME-5 / ACME-5.bin"}
    assert "cut off" in missing["ACME-1 / ACME-1.bin"]
    # Everything else is there: the 7 issues, and no half attachment in the storage.
    assert len(read_rows(backup, "issues")) == 7
    assert read_rows(backup, "attachments") == []


def test_rate_limits_and_transient_failures_recover(jira_site, connected, settings):
    connection, admin = connected
    seed_site(jira_site)
    jira_site.fail("GET", "/rest/api/3/search/jql", "429", times=2, retry_after="0")
    jira_site.fail("GET", "/rest/api/3/project/search", "500", times=1)
    jira_site.fail("GET", r"^/media/", "drop", times=1)  # one transfer cut, then whole
    settings.SITE_RETRY_BASE_DELAY = 0.001  # the backoff's waits, shortened
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.COMPLETE, backup.missing
    assert len(read_rows(backup, "attachments")) == 2


def test_a_token_revoked_midway_fails_the_backup_saying_what_to_fix(jira_site, connected):
    connection, admin = connected
    seed_site(jira_site)
    jira_site.fail("GET", "/rest/api/3/search/jql", "revoke")
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.FAILED
    assert backup.failure_reason == (
        "The site refused the email and API token (401). Check the email, or create a new "
        "API token and edit the connection."
    )
    assert ADMIN_TOKEN not in backup.failure_reason


def test_a_connection_that_fails_its_check_backs_up_nothing(jira_site, connected):
    connection, admin = connected
    seed_site(jira_site)
    jira_site.accounts[ADMIN_EMAIL].admin = False  # the account lost its admin rights
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.FAILED
    assert backup.failure_reason.startswith(
        f"The connection to {jira_site.url} failed its check, so nothing was backed up: "
        "The account Site Admin can sign in, but it does not administer this Jira site"
    )
    assert not any(r[1] == "/rest/api/3/search/jql" for r in jira_site.requests)


def test_slow_attachments_arrive_whole(jira_site, connected):  # noqa: F811
    """A media host that sends slowly (10 ms between 64 KiB blocks) delays the backup, and
    every byte still arrives: the SHA-256 of each file is the site's."""
    connection, admin = connected
    files = seed_site(jira_site)
    jira_site.fail("GET", r"^/media/", "slow", times=2, seconds=0.01)
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.COMPLETE, backup.missing
    shas = {a["issue"]: a["sha256"] for a in read_rows(backup, "attachments")}
    assert shas == {key: hashlib.sha256(content).hexdigest() for key, content in files.items()}
    slow = [r for r in jira_site.requests if r[1].startswith("/media/")]
    assert len(slow) == 2  # both downloads went through the slow host, once each

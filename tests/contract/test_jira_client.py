"""The Jira client (backups/connectors) against the contract server: connection checks (C1),
paging to the end, rate limits and transient failures (C4), the credentials kept to the
site's own host (C2), wrong shapes refused (C8)."""

import hashlib
import io
import socket

import pytest

from backups.connectors.http import (
    RetryPolicy,
    SiteAuthError,
    SiteBadResponse,
    SiteHTTP,
    SiteUnreachable,
)
from backups.connectors.jira import JiraCloud, project_state
from tests.components import sqlite_pass_only

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN
from .helpers import Waits
from .jira_helpers import adf

pytestmark = sqlite_pass_only  # HTTP only: no database


def client(site, *, email=ADMIN_EMAIL, token=ADMIN_TOKEN, attempts=4, waits=None) -> JiraCloud:
    http = SiteHTTP(
        site.url if hasattr(site, "url") else site,
        email=email,
        token=token,
        timeout=5,
        retry=RetryPolicy(attempts=attempts),
        sleep=waits if waits is not None else Waits(),
    )
    return JiraCloud(http)


# --- C1: the connection check -----------------------------------------------------------------


def test_check_passes_for_a_site_administrator(jira_site):
    result = client(jira_site).check_connection()
    assert result.ok
    assert result.message == "Connected as Site Admin, an administrator of the site."


def test_check_refuses_a_wrong_token_in_plain_words(jira_site):
    result = client(jira_site, token="wrong").check_connection()
    assert not result.ok
    assert result.message == (
        "The site refused the email and API token (401). Check the email, or create a new API "
        "token and edit the connection."
    )
    assert "wrong" not in result.message


def test_check_refuses_an_account_that_does_not_administer_the_site(jira_site):
    jira_site.add_account("dev@example.com", "dev-token", admin=False, name="Dev")
    result = client(jira_site, email="dev@example.com", token="dev-token").check_connection()
    assert not result.ok
    assert result.message.startswith(
        "The account Dev can sign in, but it does not administer this Jira site"
    )


def test_check_says_when_the_site_does_not_answer():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = client(f"http://127.0.0.1:{port}", attempts=2).check_connection()
    assert not result.ok
    assert result.message.startswith("127.0.0.1/rest/api/3/myself (GET) did not answer after 2")


# --- C4: reading everything, page by page -------------------------------------------------------


def test_projects_in_every_state_across_pages(jira_site):
    states = ["live", "archived", "deleted"]
    for n in range(120):
        jira_site.add_project(
            f"P{n:03d}", f"Project {n}", state=states[n % 3], lead=jira_site.admin
        )
    projects = list(client(jira_site).projects())
    assert len(projects) == 120
    assert [p["key"] for p in projects] == sorted(f"P{n:03d}" for n in range(120))
    assert {project_state(p) for p in projects} == {"active", "archived", "trashed"}
    pages = [r for r in jira_site.requests if r[1] == "/rest/api/3/project/search"]
    assert len(pages) == 3  # 50 + 50 + 20


def test_issues_and_comments_follow_paging_to_the_end(jira_site):
    jira_site.add_project("ACME", "Acme", lead=jira_site.admin)
    for n in range(1, 251):
        jira_site.add_issue("ACME", {"summary": f"Issue {n}", "customfield_10010": n})
    for n in range(130):
        jira_site.add_comment("ACME-7", adf(f"comment {n}"), jira_site.admin)
    jira = client(jira_site)
    issues = list(jira.issues("ACME"))
    assert [i["key"] for i in issues] == [f"ACME-{n}" for n in range(1, 251)]
    assert issues[41]["fields"]["customfield_10010"] == 42
    comments = list(jira.comments("ACME-7"))
    assert [c["body"]["content"][0]["content"][0]["text"] for c in comments] == [
        f"comment {n}" for n in range(130)
    ]


# --- C4: rate limits, transient failures --------------------------------------------------------


def test_429_waits_as_long_as_retry_after_says(jira_site):
    jira_site.fail("GET", "/rest/api/3/myself", "429", times=2, retry_after="7")
    waits = Waits()
    assert client(jira_site, waits=waits).myself().display_name == "Site Admin"
    assert waits == [7.0, 7.0]


def test_5xx_and_dropped_connections_are_retried_with_capped_backoff(jira_site):
    jira_site.fail("GET", "/rest/api/3/myself", "503", times=1)
    jira_site.fail("GET", "/rest/api/3/mypermissions", "drop", times=1)
    jira_site.fail("GET", "/rest/api/3/mypermissions", "500", times=1)
    waits = Waits()
    assert client(jira_site, waits=waits).check_connection().ok
    assert len(waits) == 3
    assert all(0 <= w <= 30 for w in waits)


def test_a_failure_that_outlasts_the_retries_is_reported(jira_site):
    jira_site.fail("GET", "/rest/api/3/myself", "503", times=10)
    with pytest.raises(SiteUnreachable) as exc:
        client(jira_site, attempts=3).myself()
    assert str(exc.value) == "The site failed with HTTP 503 at 127.0.0.1/rest/api/3/myself (GET)."


def test_a_token_revoked_midway_stops_with_what_to_fix(jira_site):
    jira_site.add_project("ACME", "Acme", lead=jira_site.admin)
    jira_site.fail("GET", "/rest/api/3/search/jql", "revoke")
    with pytest.raises(SiteAuthError) as exc:
        list(client(jira_site).issues("ACME"))
    assert "create a new API token and edit the connection" in str(exc.value)


# --- C8: shapes -------------------------------------------------------------------------------


def test_a_response_of_the_wrong_shape_is_refused_with_a_reason(jira_site):
    jira_site.add_project("ACME", "Acme", lead=jira_site.admin)
    jira_site.add_issue("ACME", {"summary": "One"})
    jira_site.fail("GET", "/rest/api/3/search/jql", "shape")
    with pytest.raises(SiteBadResponse) as exc:
        list(client(jira_site).issues("ACME"))
    assert str(exc.value) == (
        "The site sent the issues of ACME with 'issues' as a string, where its API publishes "
        "array. Nothing of it was used."
    )


# --- C2: the credentials go to the site's own host only -----------------------------------------


def test_attachments_stream_through_the_redirect_without_the_credentials(jira_site):
    jira_site.add_project("ACME", "Acme", lead=jira_site.admin)
    jira_site.add_issue("ACME", {"summary": "With a file"})
    content = bytes(range(256)) * 4096  # 1 MiB
    attachment = jira_site.add_attachment("ACME-1", "data.bin", content, jira_site.admin)
    chunks = list(client(jira_site).attachment_chunks(attachment["id"]))
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == hashlib.sha256(content).hexdigest()
    assert len(chunks) > 1  # streamed, not read whole
    assert jira_site.media_requests, "the download went through the media host"
    assert all("Authorization" not in h for h in jira_site.media_requests)


# --- writes ---------------------------------------------------------------------------------


def test_creates_and_deletes_what_a_restore_writes(jira_site):
    jira = client(jira_site)
    me = jira.myself()
    created = jira.create_project(key="NEW", name="New", lead_account_id=me.account_id)
    assert created["key"] == "NEW"
    issue = jira.create_issue(
        {"project": {"key": "NEW"}, "summary": "First", "description": adf("Hello")}
    )
    assert issue["key"] == "NEW-1"
    jira.add_comment("NEW-1", adf("A comment"))
    uploaded = jira.add_attachment("NEW-1", "notes.txt", io.BytesIO(b"notes"))
    assert uploaded["size"] == 5
    snap = jira_site.snapshot()
    assert snap["issues"]["NEW-1"]["comments"] == [adf("A comment")]
    jira.delete_issue("NEW-1")
    jira.delete_project("NEW")
    assert jira_site.snapshot() == {"projects": {}, "issues": {}}

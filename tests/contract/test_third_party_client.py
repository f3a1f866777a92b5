"""A widely used third-party Jira client (atlassian-python-api's JiraCloud, REST API v3)
against the contract server: it creates and reads projects, issues, comments and attachments
the way it would against a real Jira Cloud site, and every request it makes and every answer
it gets passes the schema checks (the fixture fails the test otherwise). So the contract
server speaks the dialect real clients expect, not only ours."""

import hashlib

import pytest
import requests
from atlassian.jira import JiraCloud

from tests.components import sqlite_pass_only

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN
from .jira_helpers import adf

pytestmark = sqlite_pass_only  # HTTP only: no database


def third_party(site) -> JiraCloud:
    return JiraCloud(site.url, username=ADMIN_EMAIL, password=ADMIN_TOKEN, api_version=3)


def test_third_party_client_creates_and_reads_content(jira_site):
    jira = third_party(jira_site)
    me = jira.get("rest/api/3/myself")
    project = jira.create_project(
        data={
            "key": "TPC",
            "name": "Third-party client",
            "projectTypeKey": "software",
            "leadAccountId": me["accountId"],
        }
    )
    assert project["key"] == "TPC"
    created = jira.create_issue(
        data={
            "fields": {
                "project": {"key": "TPC"},
                "summary": "Made by atlassian-python-api",
                "description": adf("Its description"),
                "labels": ["third-party"],
            }
        }
    )
    assert created["key"] == "TPC-1"
    comment = jira.add_comment("TPC-1", data={"body": adf("Its comment")})
    assert comment["body"] == adf("Its comment")
    content = b"attachment bytes\n" * 1000
    uploaded = jira.add_attachment(
        "TPC-1",
        files={"file": ("notes.txt", content, "text/plain")},
        headers={"X-Atlassian-Token": "no-check"},
    )
    assert uploaded[0]["filename"] == "notes.txt"
    assert uploaded[0]["size"] == len(content)

    issue = jira.get_issue("TPC-1")
    assert issue["fields"]["summary"] == "Made by atlassian-python-api"
    assert issue["fields"]["labels"] == ["third-party"]
    comments = jira.get_comments("TPC-1")
    assert [c["body"] for c in comments["comments"]] == [adf("Its comment")]
    found = jira.enhanced_jql('project = "TPC" ORDER BY key ASC')
    assert [i["key"] for i in found["issues"]] == ["TPC-1"]
    projects = jira.get("rest/api/3/project/search", params={"status": "live"})
    assert [p["key"] for p in projects["values"]] == ["TPC"]

    # The site holds exactly what the client wrote, byte for byte.
    snap = jira_site.snapshot()
    assert snap["issues"]["TPC-1"]["attachments"] == [
        ("notes.txt", hashlib.sha256(content).hexdigest())
    ]


def test_third_party_client_gets_jiras_refusals(jira_site):
    """A comment body that is not an Atlassian Document is refused as Jira v3 refuses it."""
    jira_site.add_project("TPC", "Third-party client", lead=jira_site.admin)
    jira_site.add_issue("TPC", {"summary": "One"})
    jira = third_party(jira_site)
    with pytest.raises(requests.HTTPError, match="Comment body is not valid!"):
        jira.add_comment("TPC-1", data={"body": "plain text is v2's format"})
    assert jira_site.snapshot()["issues"]["TPC-1"]["comments"] == []

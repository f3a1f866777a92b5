"""A widely used third-party Confluence client (atlassian-python-api 5's `Confluence` with
`cloud=True`) against the contract server: it creates a space, pages under a parent, a label
and an attachment and reads them back the way it would against a real Confluence Cloud site,
and every request it makes and every answer it gets passes the schema checks (the fixture
fails the test otherwise). So the server speaks the dialect real clients expect, not only
backupsite's.

That client joins its resource paths to the URL it is given as they are, v2 ones ("spaces",
"pages") and v1 ones ("content/…", "user/current") alike, so it is given each API's root.
"""

import hashlib

import pytest
import requests
from atlassian import Confluence

from tests.components import sqlite_pass_only

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN

pytestmark = sqlite_pass_only  # HTTP only: no database


def third_party(site, root: str) -> Confluence:
    return Confluence(
        f"{site.wiki_url}/{root}", username=ADMIN_EMAIL, password=ADMIN_TOKEN, cloud=True
    )


def test_third_party_client_creates_and_reads_content(confluence_site):
    v2 = third_party(confluence_site, "api/v2")
    v1 = third_party(confluence_site, "rest/api")
    me = v1.get_current_user(params={"expand": "operations"})
    assert {"operation": "administer", "targetType": "application"} in me["operations"]

    space = v2.create_space({"key": "TPC", "name": "Third-party client"})
    assert space["key"] == "TPC" and space["homepageId"]
    assert v2.get_space(space["id"])["name"] == "Third-party client"
    found = v2.get_spaces(params={"keys": "TPC"})
    assert [s["id"] for s in found["results"]] == [space["id"]]

    parent = v2.post(
        "pages",
        params={"root-level": "true"},
        data={
            "spaceId": space["id"],
            "status": "current",
            "title": "Parent",
            "body": {"representation": "storage", "value": "<p>The parent</p>"},
        },
    )
    child = v1.create_content(
        {
            "type": "page",
            "title": "Child",
            "space": {"key": "TPC"},
            "ancestors": [{"id": parent["id"]}],
            "body": {"storage": {"value": "<p>The child</p>", "representation": "storage"}},
        }
    )
    assert v2.page_exists("TPC", "Child")
    read = v1.get_content(child["id"], params={"expand": "ancestors,body.storage"})
    assert [a["id"] for a in read["ancestors"]] == [parent["id"]]
    assert read["body"]["storage"]["value"] == "<p>The child</p>"

    labels = v1.add_content_labels(child["id"], [{"prefix": "global", "name": "third-party"}])
    assert [label["name"] for label in labels["results"]] == ["third-party"]
    assert v1.get_content_labels(child["id"])["size"] == 1

    content = b"attachment bytes\n" * 1000
    uploaded = v1.create_attachment(
        child["id"],
        {"minorEdit": "true", "comment": "from the client"},
        files={"file": ("notes.txt", content, "text/plain")},
        headers={"X-Atlassian-Token": "no-check"},
    )
    assert [a["title"] for a in uploaded["results"]] == ["notes.txt"]
    listed = v1.get_attachments(child["id"])
    assert listed["results"][0]["extensions"]["fileSize"] == len(content)

    # The site holds exactly what the client wrote, byte for byte, where it wrote it.
    (child_row,) = [
        c
        for c in confluence_site.snapshot()["spaces"]["TPC"]["content"]
        if c["path"] == "Parent/Child"
    ]
    assert child_row["labels"] == ["third-party"]
    assert child_row["attachments"] == [("notes.txt", hashlib.sha256(content).hexdigest())]


def test_third_party_client_gets_confluences_refusals(confluence_site):
    """Creating a space that exists, and a page where one of the title is, are refused as
    Confluence Cloud refuses them."""
    confluence_site.add_space("TPC", "Third-party client")
    v2 = third_party(confluence_site, "api/v2")
    with pytest.raises(requests.HTTPError):
        v2.create_space({"key": "TPC", "name": "Again"})
    v1 = third_party(confluence_site, "rest/api")
    page = {"type": "page", "title": "Third-party client Home", "space": {"key": "TPC"}}
    with pytest.raises(requests.HTTPError, match="A page with this title already exists"):
        v1.create_content(page)
    assert len(confluence_site.pages) == 1

"""The Confluence client (backups/connectors/confluence.py) against the contract server: the
connection check (C1), cursor paging to the end, 429 and retries (C4), downloads without the
credentials beyond the site's host (C2), wrong shapes refused (C8), and the writes of a
restore with their undo (C6, C7)."""

import hashlib
import io

import pytest

from backups.connectors.confluence import ConfluenceCloud, site_origin_of
from backups.connectors.http import RetryPolicy, SiteAuthError, SiteBadResponse, SiteHTTP
from tests.components import sqlite_pass_only

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN
from .helpers import Waits

pytestmark = sqlite_pass_only  # HTTP only: no database


def client(site, *, email=ADMIN_EMAIL, token=ADMIN_TOKEN, waits=None) -> ConfluenceCloud:
    http = SiteHTTP(
        site_origin_of(site.wiki_url),
        email=email,
        token=token,
        timeout=5,
        retry=RetryPolicy(attempts=4),
        sleep=waits if waits is not None else Waits(),
    )
    return ConfluenceCloud(http)


def test_the_address_ends_in_wiki_and_the_apis_are_under_it():
    assert site_origin_of("https://acme.atlassian.net/wiki") == "https://acme.atlassian.net"
    assert site_origin_of("https://acme.atlassian.net/wiki/") == "https://acme.atlassian.net"


def test_check_passes_for_a_confluence_administrator(confluence_site):
    result = client(confluence_site).check_connection()
    assert result.ok, result.message
    assert result.message == "Connected as Site Admin, a Confluence administrator."


def test_check_names_an_account_that_is_not_an_administrator(confluence_site):
    confluence_site.add_account("writer@example.com", "writer-token", admin=False, name="Wren")
    result = client(
        confluence_site, email="writer@example.com", token="writer-token"
    ).check_connection()
    assert not result.ok
    assert result.message.startswith(
        "The account Wren can sign in, but it is not a Confluence administrator of this site."
    )


def test_check_refuses_a_wrong_token_in_plain_words(confluence_site):
    result = client(confluence_site, token="wrong").check_connection()
    assert not result.ok
    assert result.message.startswith("The site refused the email and API token (401).")


def test_pages_in_every_status_follow_the_cursor_to_the_end(confluence_site):
    space = confluence_site.add_space("BIG", "Big")
    for n in range(600):
        status = ("current", "archived", "trashed")[n % 3]
        confluence_site.add_page(space, f"P{n}", f"<p>{n}</p>", status=status)
    pages = list(client(confluence_site).pages(space.id))
    # 600 and the home page, 250 a page: three calls, following _links.next.
    assert len(pages) == 601
    assert {p["status"] for p in pages} == {"current", "archived", "trashed"}
    calls = [r for r in confluence_site.requests if r[1].endswith(f"/spaces/{space.id}/pages")]
    assert len(calls) == 3


def test_429_waits_as_long_as_retry_after_says(confluence_site):
    confluence_site.fail("GET", r"/wiki/api/v2/spaces$", "429", times=2, retry_after="7")
    waits = Waits()
    assert list(client(confluence_site, waits=waits).spaces()) == []
    assert waits == [7.0, 7.0]


def test_a_token_revoked_midway_stops_with_what_to_fix(confluence_site):
    space = confluence_site.add_space("DOCS", "Docs")
    confluence_site.fail("GET", r"/pages$", "revoke")
    with pytest.raises(SiteAuthError) as exc:
        list(client(confluence_site).pages(space.id))
    assert ADMIN_TOKEN not in str(exc.value)


def test_a_response_of_the_wrong_shape_is_refused_with_a_reason(confluence_site):
    confluence_site.add_space("DOCS", "Docs")
    confluence_site.fail("GET", r"/wiki/api/v2/spaces$", "shape")
    with pytest.raises(SiteBadResponse) as exc:
        list(client(confluence_site).spaces())
    assert "Nothing of it was used" in str(exc.value)


def test_attachments_stream_through_the_redirect_without_the_credentials(confluence_site):
    space = confluence_site.add_space("DOCS", "Docs")
    page = confluence_site.add_page(space, "Files", "<p>f</p>")
    content = bytes(range(256)) * 4096
    attachment = confluence_site.add_attachment(page, "blob.bin", content)
    got = b"".join(client(confluence_site).attachment_chunks(page.id, attachment.id))
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(content).hexdigest()
    assert confluence_site.media_requests
    assert all(
        "authorization" not in {k.lower() for k in r} for r in confluence_site.media_requests
    )


def test_creates_and_deletes_what_a_restore_writes(confluence_site):
    c = client(confluence_site)
    space = c.create_space(key="NEW", name="New space")
    assert space["homepageId"]
    top = c.create_page(space_id=space["id"], title="Top", body="<p>top</p>", parent_id=None)
    child = c.create_page(space_id=space["id"], title="Child", body="<p>c</p>", parent_id=top["id"])
    home = c.update_page(
        page_id=space["homepageId"], title="Home again", body="<p>h</p>", version=2
    )
    post = c.create_blogpost(space_id=space["id"], title="News", body="<p>n</p>")
    c.add_labels(child["id"], ["one", "two"])
    c.add_footer_comment("blogpost", post["id"], "<p>nice</p>")
    c.add_attachment(child["id"], "a.txt", io.BytesIO(b"abc"))
    c.archive_pages([top["id"]])
    c.trash("blogpost", post["id"])
    c.set_space_status(key="NEW", name="New space", status="archived")
    site = confluence_site
    assert site.pages[child["id"]].parent_id == top["id"]
    assert site.pages[top["id"]].parent_id is None  # at the top, not under the home page
    assert site.pages[home["id"]].title == "Home again"
    assert site.pages[top["id"]].status == "archived"
    assert site.pages[post["id"]].status == "trashed"
    assert sorted(site.pages[child["id"]].labels) == ["one", "two"]
    assert site.space_by_key("NEW").status == "archived"
    c.delete_space("NEW")
    assert site.space_by_key("NEW") is None
    assert not [p for p in site.pages.values() if p.space_id == space["id"]]

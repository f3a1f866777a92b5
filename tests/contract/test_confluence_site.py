"""The Confluence Cloud contract server itself (#12 item 5): it pages, filters, refuses and
fails as Confluence Cloud does, and holds itself to the published schemas. The teams' backup
and restore tests rely on each of these behaviours; a test here fails when one goes."""

import base64
import hashlib
import time

import pytest
import requests

from backups.devsite.confluence_site import ConfluenceSite
from tests.components import sqlite_pass_only

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN

pytestmark = sqlite_pass_only  # HTTP only: no database

V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"


def session(email=ADMIN_EMAIL, token=ADMIN_TOKEN) -> requests.Session:
    http = requests.Session()
    http.auth = (email, token)
    return http


def storage(value: str) -> dict:
    return {"representation": "storage", "value": value}


def test_paging_follows_next_to_the_end_in_id_order(confluence_site):
    space = confluence_site.add_space("BIG", "Big space")
    made = [confluence_site.add_page(space, f"Page {n}") for n in range(600)]
    http = session()
    url, seen, calls = f"{confluence_site.url}{V2}/spaces/{space.id}/pages?limit=250", [], 0
    while url:
        answer = http.get(url)
        assert answer.status_code == 200
        calls += 1
        seen += [p["id"] for p in answer.json()["results"]]
        next_link = answer.json()["_links"].get("next")
        assert answer.json()["_links"]["base"] == confluence_site.wiki_url
        if next_link:
            assert next_link.startswith(f"{V2}/spaces/{space.id}/pages?cursor=")
            assert "limit=250" in next_link  # the other parameters ride along
            assert f'<{next_link}>; rel="next"' in answer.headers["Link"]
        url = next_link and confluence_site.url + next_link
    home = space.homepage_id
    assert calls == 3
    assert seen == [home] + [p.id for p in made]  # all 601, each once, in id order


def test_limit_outside_1_to_250_and_a_bad_cursor_are_refused(confluence_site):
    space = confluence_site.add_space("ENG", "Engineering")
    http = session()
    for query in ("limit=0", "limit=251", "limit=ten", "cursor=not-a-cursor"):
        answer = http.get(f"{confluence_site.url}{V2}/spaces/{space.id}/pages?{query}")
        assert answer.status_code == 400, query
        assert answer.json()["errors"][0]["code"] == "INVALID_REQUEST_PARAMETER"


def test_statuses_filter_pages_blogposts_and_spaces(confluence_site):
    site = confluence_site
    space = site.add_space("ENG", "Engineering")
    site.add_space("OLD", "Old", status="archived")
    site.add_space("~dana", "Dana", type="personal")
    site.add_page(space, "Live")
    site.add_page(space, "Shelved", status="archived")
    site.add_page(space, "Binned", status="trashed")
    site.add_blogpost(space, "News", "<p>n</p>")
    site.add_blogpost(space, "Old news", "<p>o</p>", status="trashed")
    http = session()

    def titles(path):
        answer = http.get(site.url + path)
        assert answer.status_code == 200, answer.text
        return sorted(r.get("title") or r.get("key") for r in answer.json()["results"])

    pages = f"{V2}/spaces/{space.id}/pages"
    assert titles(pages) == ["Engineering Home", "Live", "Shelved"]  # current and archived
    assert titles(pages + "?status=trashed") == ["Binned"]
    assert titles(pages + "?status=current&status=trashed") == [
        "Binned",
        "Engineering Home",
        "Live",
    ]
    assert titles(pages + "?depth=root&status=current") == ["Engineering Home", "Live"]
    assert http.get(site.url + pages + "?status=bogus").status_code == 400
    assert titles(f"{V2}/spaces/{space.id}/blogposts") == ["News"]
    assert titles(f"{V2}/spaces/{space.id}/blogposts?status=current,trashed") == [
        "News",
        "Old news",
    ]
    assert titles(f"{V2}/spaces") == ["ENG", "OLD", "~dana"]
    assert titles(f"{V2}/spaces?status=archived") == ["OLD"]
    assert titles(f"{V2}/spaces?type=personal") == ["~dana"]
    assert titles(f"{V2}/spaces?keys=ENG,OLD&status=current") == ["ENG"]


def test_pages_are_created_under_their_parent_the_home_page_or_the_top(confluence_site):
    site = confluence_site
    space = site.add_space("ENG", "Engineering")
    other = site.add_space("OPS", "Operations")
    http = session()

    def create(title, query="", **extra):
        payload = {"spaceId": space.id, "status": "current", "title": title}
        payload["body"] = storage(f"<p>{title}</p>")
        return http.post(f"{site.url}{V2}/pages{query}", json={**payload, **extra})

    under_home = create("Default")
    assert under_home.status_code == 200
    assert under_home.json()["parentId"] == space.homepage_id
    top = create("Top", "?root-level=true")
    assert top.status_code == 200 and "parentId" not in top.json()
    child = create("Child", parentId=top.json()["id"])
    assert child.json()["parentId"] == top.json()["id"]
    assert create("Nested", "?root-level=true", parentId=top.json()["id"]).status_code == 400
    assert create("Elsewhere", parentId=other.homepage_id).status_code == 400
    duplicate = create("Top", "?root-level=true")
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"][0]["title"] == (
        "A page already exists with the same TITLE in this space"
    )
    paths = [c["path"] for c in site.snapshot()["spaces"]["ENG"]["content"]]
    assert paths == ["Engineering Home", "Engineering Home/Default", "Top", "Top/Child"]


def test_update_needs_the_next_version_and_delete_trashes_then_purges(confluence_site):
    site = confluence_site
    space = site.add_space("ENG", "Engineering")
    parent = site.add_page(space, "Parent")
    child = site.add_page(space, "Child", parent=parent)
    http = session()
    url = f"{site.url}{V2}/pages/{parent.id}"
    update = {"id": parent.id, "status": "current", "title": "Parent v2"}
    update["body"] = storage("<p>2</p>")
    stale = http.put(url, json={**update, "version": {"number": 1}})
    assert stale.status_code == 409
    assert http.put(url, json={**update, "version": {"number": 2}}).status_code == 200
    assert (parent.title, parent.body, parent.version) == ("Parent v2", "<p>2</p>", 2)

    assert http.delete(url).status_code == 204
    assert parent.status == "trashed" and child.parent_id == parent.id
    assert http.delete(url + "?purge=true").status_code == 204
    assert parent.id not in site.pages
    assert http.delete(f"{site.url}{V2}/pages/{child.id}?purge=true").status_code == 400


def test_wrong_credentials_get_401_and_a_member_403(confluence_site):
    site = confluence_site
    site.add_account("dev@example.com", "member-token", admin=False)
    answer = session(token="wrong").get(f"{site.url}{V2}/spaces")
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert requests.get(f"{site.url}{V1}/user/current", timeout=10).status_code == 401

    member = session("dev@example.com", "member-token")
    refused = member.post(f"{site.url}{V2}/spaces", json={"key": "NOPE", "name": "Nope"})
    assert refused.status_code == 403
    assert site.space_by_key("NOPE") is None
    me = member.get(f"{site.url}{V1}/user/current", params={"expand": "operations"}).json()
    assert me["operations"] == [{"operation": "use", "targetType": "application"}]
    admin = session().get(f"{site.url}{V1}/user/current", params={"expand": "operations"})
    assert {"operation": "administer", "targetType": "application"} in admin.json()["operations"]


def test_injected_faults(confluence_site):
    site = confluence_site
    space = site.add_space("ENG", "Engineering")
    page = site.add_page(space, "Files")
    content = bytes(range(256)) * 1024  # 256 KiB: four chunks of 64 KiB
    attachment = site.add_attachment(page, "data.bin", content)
    http = session()
    spaces = f"{site.url}{V2}/spaces"

    site.fail("GET", r"/spaces$", "429", retry_after="7")
    limited = http.get(spaces)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert limited.json()["errors"][0]["code"] == "TOO_MANY_REQUESTS"
    site.fail("GET", r"/spaces$", "500")
    site.fail("GET", r"/spaces$", "503")
    assert [http.get(spaces).status_code for _ in range(3)] == [500, 503, 200]

    site.fail("GET", r"/spaces$", "drop")
    with pytest.raises(requests.ConnectionError):
        http.get(spaces)
    assert ("GET", f"{V2}/spaces", 0) in site.requests

    site.fail("GET", r"/spaces$", "shape")
    assert http.get(spaces).json()["results"] == "not-a-list"

    download = f"{site.url}{V1}/content/{page.id}/child/attachment/{attachment.id}/download"
    site.fail("GET", r"^/media/", "slow", seconds=0.1)
    started = time.monotonic()
    assert http.get(download).content == content
    assert time.monotonic() - started >= 0.35  # trickled: four chunks, 0.1 s apart

    site.fail("GET", r"^/media/", "drop")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.get(download).content  # noqa: B018 - half the bytes, then the connection closes

    site.fail("GET", r"/spaces$", "revoke")
    assert http.get(spaces).status_code == 401
    assert http.get(spaces).status_code == 401  # the token stays revoked


def test_a_request_body_against_the_schema_is_refused_and_recorded(confluence_site):
    site = confluence_site
    space = site.add_space("ENG", "Engineering")
    answer = session().post(
        f"{site.url}{V2}/pages", json={"spaceId": int(space.id), "title": "Typed wrong"}
    )
    assert answer.status_code == 400
    assert "v2:PageCreateRequest['spaceId']: " in answer.json()["errors"][0]["title"]
    assert [v.split(": ", 1)[0] for v in site.violations] == [f"request POST {V2}/pages"]
    assert [p.title for p in site.pages.values()] == ["Engineering Home"]
    site.violations.clear()  # expected here: the fixture fails on any other


def test_an_upload_needs_the_xsrf_header_and_a_new_file_name(confluence_site):
    site = confluence_site
    page = site.add_page(site.add_space("ENG", "Engineering"), "Files")
    url = f"{site.url}{V1}/content/{page.id}/child/attachment"
    http = session()

    def upload(headers):
        files = {"file": ("a.txt", b"first", "text/plain")}
        return http.post(url, files=files, data={"minorEdit": "true"}, headers=headers)

    refused = upload({})
    assert (refused.status_code, refused.json()["message"]) == (403, "XSRF check failed")
    uploaded = upload({"X-Atlassian-Token": "no-check"})
    assert uploaded.status_code == 200
    assert [a["title"] for a in uploaded.json()["results"]] == ["a.txt"]
    assert upload({"X-Atlassian-Token": "no-check"}).status_code == 400  # same name
    assert [a.data for a in site.attachments.values()] == [b"first"]


def test_the_download_redirect_drops_nothing_but_the_credentials(confluence_site):
    site = confluence_site
    page = site.add_page(site.add_space("ENG", "Engineering"), "Files")
    content = b"quarterly numbers\n" * 5000
    attachment = site.add_attachment(page, "numbers.csv", content, "text/csv")
    url = f"{site.url}{V1}/content/{page.id}/child/attachment/{attachment.id}/download"
    http = session()

    first = http.get(url, allow_redirects=False)
    assert first.status_code == 302
    assert first.headers["Location"].startswith(f"{site.media_url}/media/{attachment.id}?")
    followed = http.get(url)
    assert hashlib.sha256(followed.content).digest() == hashlib.sha256(content).digest()
    media = site.media_requests[-1]
    assert "Authorization" not in media
    assert base64.b64encode(ADMIN_TOKEN.encode()).decode() not in str(media)
    missing = http.get(f"{site.url}{V1}/content/{page.id}/child/attachment/att1/download")
    assert missing.status_code == 404
    assert missing.json()["statusCode"] == 404  # v1's error format


def test_archive_and_space_status_and_deletion_are_long_tasks(confluence_site):
    site = confluence_site
    space = site.add_space("ENG", "Engineering")
    page = site.add_page(space, "Old plan")
    blog = site.add_blogpost(space, "News", "<p>n</p>")
    http = session()
    archive = f"{site.url}{V1}/content/archive"
    assert http.post(archive, json={"pages": [{"id": int(blog.id)}]}).status_code == 400
    many = [{"id": int(page.id)}] * 301
    assert http.post(archive, json={"pages": many}).status_code == 400
    task = http.post(archive, json={"pages": [{"id": int(page.id)}]})
    assert task.status_code == 202 and page.status == "archived"
    status = http.get(f"{site.url}{V1}/longtask/{task.json()['id']}").json()
    assert (status["finished"], status["successful"]) == (True, True)

    changed = http.put(f"{site.url}{V1}/space/ENG", json={"name": "Eng", "status": "archived"})
    assert (changed.status_code, space.status, space.name) == (200, "archived", "Eng")
    assert http.delete(f"{site.url}{V1}/space/ENG").status_code == 202
    assert site.spaces == {} and site.pages == {}
    assert http.get(f"{site.url}{V1}/space/ENG").status_code == 404


def build(site: ConfluenceSite) -> None:
    """The same content, whatever site it is built on."""
    site.add_account(ADMIN_EMAIL, ADMIN_TOKEN)
    space = site.add_space("ENG", "Engineering")
    root = site.add_page(space, "Handbook", "<p>h</p>", labels=["b", "a"])
    child = site.add_page(space, "Onboarding", "<p>o</p>", parent=root)
    site.add_comment(child, "<p>footer</p>")
    site.add_comment(child, "<p>inline</p>", inline=True)
    site.add_attachment(child, "plan.txt", b"plan")
    site.add_blogpost(space, "Launch", "<p>l</p>", status="trashed")
    site.add_space("OLD", "Old", status="archived")


def test_two_sites_with_the_same_content_have_the_same_snapshot():
    one, two = ConfluenceSite(), ConfluenceSite()
    two.next_id()  # other ids: snapshots leave ids out
    build(one)
    build(two)
    assert one.snapshot() == two.snapshot()
    eng = one.snapshot()["spaces"]["ENG"]
    assert eng["homepage"] == "Engineering Home"
    assert [c["path"] for c in eng["content"]] == [
        "Launch",
        "Engineering Home",
        "Handbook",
        "Handbook/Onboarding",
    ]
    onboarding = eng["content"][3]
    assert onboarding["comments"] == ["<p>footer</p>", "<p>inline</p>"]
    assert onboarding["attachments"] == [("plan.txt", hashlib.sha256(b"plan").hexdigest())]
    assert eng["content"][2]["labels"] == ["a", "b"]
    two.add_comment(two.pages[two.spaces[two.space_by_key("ENG").id].homepage_id], "<p>+</p>")
    assert one.snapshot() != two.snapshot()

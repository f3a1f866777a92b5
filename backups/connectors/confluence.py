"""A Confluence Cloud site over its public REST APIs (SPEC §8).

The v2 API (`/wiki/api/v2/…`, cursor paging through `_links.next`) for everything it offers:
spaces, pages and blog posts in every status with their storage-format bodies, footer and
inline comments, attachments' metadata, labels, and the writes of a restore (spaces, pages,
blog posts, footer comments, trashing). The v1 API (`/wiki/rest/api/…`) where v2 has no
operation: who the account is and whether it administers the site (C1), attachment downloads
and uploads, labels on new content, archiving pages, archiving and deleting spaces.

The client is given the site's origin (`https://<name>.atlassian.net`): both APIs live under
`/wiki`, and `_links.next` is a path from the origin. Every response is checked against the
shape the API publishes before anything of it is used (C8).
"""

import time
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote, urlsplit, urlunsplit

from .http import SiteBadResponse, SiteError, SiteHTTP, SiteRequestRefused, SiteUnreachable
from .jira import Account, CheckResult
from .shapes import check

V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"
PAGE = 250  # the v2 API's largest page
ARCHIVE_BATCH = 300  # pages per archive request, the v1 API's limit
TASK_WAIT = 120.0  # seconds a long task (archive, delete a space) is waited for at most

# The statuses a backup reads (C4). v2 also has "deleted" (purged from the trash: gone for
# the site's users too) and "historical"/"draft" (versions and unpublished edits).
PAGE_STATUSES = ("current", "archived", "trashed")
BLOGPOST_STATUSES = ("current", "trashed")


def site_origin_of(site_url: str) -> str:
    """https://acme.atlassian.net/wiki -> https://acme.atlassian.net (the APIs' paths start
    with /wiki themselves)."""
    parts = urlsplit(site_url.rstrip("/"))
    path = parts.path[: -len("/wiki")] if parts.path.endswith("/wiki") else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def body_text(item: dict) -> str:
    """The storage-format body of a page, blog post or comment ('' when it has none)."""
    body = item.get("body") or {}
    storage = body.get("storage") if isinstance(body, dict) else None
    if not isinstance(storage, dict):
        return ""
    value = storage.get("value")
    if value is not None and not isinstance(value, str):
        raise SiteBadResponse("The site sent a body whose value is not text. Nothing was used.")
    return value or ""


def storage_body(value: str) -> dict:
    return {"representation": "storage", "value": value}


class ConfluenceCloud:
    """One Confluence Cloud site, reached with one account's email and API token."""

    kind = "confluence"

    def __init__(self, http: SiteHTTP):
        self.http = http

    # --- C1 ------------------------------------------------------------------------------

    def _current_user(self) -> dict:
        user = self.http.json("GET", f"{V1}/user/current", params={"expand": "operations"})
        return check(user, "confluence.User", "the account (user/current)", require=("accountId",))

    def myself(self) -> Account:
        me = self._current_user()
        return Account(me["accountId"], me.get("displayName") or me["accountId"])

    def check_connection(self) -> CheckResult:
        """Reachable, credentials valid, the account is a Confluence administrator — or why
        not. The administrator is told by the `administer` operation on the application."""
        try:
            me = self._current_user()
        except SiteError as exc:
            return CheckResult(False, str(exc), transient=isinstance(exc, SiteUnreachable))
        account = Account(me["accountId"], me.get("displayName") or me["accountId"])
        operations = me.get("operations")
        if operations is None:
            return CheckResult(
                False, "The site did not say what the account may do (operations).", account
            )
        admin = any(
            isinstance(op, dict)
            and op.get("operation") == "administer"
            and op.get("targetType") == "application"
            for op in operations
        )
        if not admin:
            return CheckResult(
                False,
                f"The account {account.display_name} can sign in, but it is not a Confluence "
                "administrator of this site. Use an account with the Confluence Administrator "
                "permission.",
                account,
            )
        return CheckResult(
            True, f"Connected as {account.display_name}, a Confluence administrator.", account
        )

    # --- reads ---------------------------------------------------------------------------

    def _results(self, path: str, params, shape: str, what: str, *, require=("id",)):
        """Every result of a v2 list, following `_links.next` to the end."""
        url: str | None = path
        while url:
            page = check(
                self.http.json("GET", url, params=params), "confluence.MultiEntityResult", what
            )
            for item in page.get("results") or []:
                yield check(item, shape, what, require=require)
            url = (page.get("_links") or {}).get("next")
            params = None  # the next link carries them
            if url is not None and not isinstance(url, str):
                raise SiteBadResponse(f"The site sent {what} with a next link that is not text.")

    def spaces(self) -> Iterator[dict]:
        """Every space: global and personal, current and archived (C4)."""
        for status in ("current", "archived"):
            yield from self._results(
                f"{V2}/spaces",
                [("status", status), ("limit", PAGE)],
                "confluence.Space",
                "the list of spaces",
                require=("id", "key", "name"),
            )

    def space_keys(self) -> list[str]:
        return [s["key"] for s in self.spaces()]

    def pages(self, space_id: str) -> Iterator[dict]:
        params = [("body-format", "storage"), ("limit", PAGE)]
        params += [("status", s) for s in PAGE_STATUSES]
        return self._results(
            f"{V2}/spaces/{quote(space_id)}/pages",
            params,
            "confluence.Page",
            "the pages of a space",
            require=("id", "title"),
        )

    def blogposts(self, space_id: str) -> Iterator[dict]:
        params = [("body-format", "storage"), ("limit", PAGE)]
        params += [("status", s) for s in BLOGPOST_STATUSES]
        return self._results(
            f"{V2}/spaces/{quote(space_id)}/blogposts",
            params,
            "confluence.BlogPost",
            "the blog posts of a space",
            require=("id", "title"),
        )

    def comments(self, kind: str, content_id: str, *, inline: bool) -> Iterator[dict]:
        """Footer or inline comments of a page or blog post ("page" or "blogpost")."""
        which = "inline-comments" if inline else "footer-comments"
        return self._results(
            f"{V2}/{_plural(kind)}/{quote(content_id)}/{which}",
            [("body-format", "storage"), ("limit", PAGE)],
            "confluence.Comment",
            f"the comments of {kind} {content_id}",
        )

    def attachments(self, kind: str, content_id: str) -> Iterator[dict]:
        return self._results(
            f"{V2}/{_plural(kind)}/{quote(content_id)}/attachments",
            [("limit", PAGE)],
            "confluence.Attachment",
            f"the attachments of {kind} {content_id}",
            require=("id", "title"),
        )

    def labels(self, kind: str, content_id: str) -> list[str]:
        return [
            label["name"]
            for label in self._results(
                f"{V2}/{_plural(kind)}/{quote(content_id)}/labels",
                [("limit", PAGE)],
                "confluence.Label",
                f"the labels of {kind} {content_id}",
                require=("name",),
            )
        ]

    def attachment_chunks(self, content_id: str, attachment_id: str) -> Iterator[bytes]:
        """An attachment's bytes, streamed (the site redirects to its media store: followed
        without the credentials)."""
        return self.http.stream(
            f"{V1}/content/{quote(content_id)}/child/attachment/{quote(attachment_id)}/download"
        )

    # --- writes (restores) ---------------------------------------------------------------

    def create_space(self, *, key: str, name: str) -> dict:
        """A global space with this key; the site makes its home page (`homepageId`)."""
        created = self.http.json(
            "POST", f"{V2}/spaces", json={"key": key, "name": name}, expect=(200, 201)
        )
        return check(created, "confluence.Space", f"the created space {key}", require=("id",))

    def create_page(self, *, space_id: str, title: str, body: str, parent_id: str | None) -> dict:
        """A current page under `parent_id`, or at the top of the space (not under its home
        page, where the API puts a page without a parent by default)."""
        payload = {"spaceId": space_id, "status": "current", "title": title}
        payload["body"] = storage_body(body)
        params = None
        if parent_id is None:
            params = {"root-level": "true"}
        else:
            payload["parentId"] = parent_id
        created = self.http.json("POST", f"{V2}/pages", json=payload, params=params)
        return check(created, "confluence.Page", f"the created page {title!r}")

    def update_page(self, *, page_id: str, title: str, body: str, version: int) -> dict:
        payload = {
            "id": page_id,
            "status": "current",
            "title": title,
            "body": storage_body(body),
            "version": {"number": version},
        }
        updated = self.http.json("PUT", f"{V2}/pages/{quote(page_id)}", json=payload)
        return check(updated, "confluence.Page", f"the updated page {title!r}")

    def page_version(self, page_id: str) -> int:
        page = check(
            self.http.json("GET", f"{V2}/pages/{quote(page_id)}"),
            "confluence.Page",
            f"the page {page_id}",
        )
        return int((page.get("version") or {}).get("number") or 1)

    def create_blogpost(self, *, space_id: str, title: str, body: str) -> dict:
        payload = {
            "spaceId": space_id,
            "status": "current",
            "title": title,
            "body": storage_body(body),
        }
        created = self.http.json("POST", f"{V2}/blogposts", json=payload)
        return check(created, "confluence.BlogPost", f"the created blog post {title!r}")

    def trash(self, kind: str, content_id: str) -> None:
        """Move a page or blog post to the trash (the API's delete without purge)."""
        self.http.json("DELETE", f"{V2}/{_plural(kind)}/{quote(content_id)}", expect=(204,))

    def add_footer_comment(self, kind: str, content_id: str, body: str) -> dict:
        field = "pageId" if kind == "page" else "blogPostId"
        created = self.http.json(
            "POST",
            f"{V2}/footer-comments",
            json={field: content_id, "body": storage_body(body)},
            expect=(200, 201),
        )
        return check(created, "confluence.Comment", "the created comment")

    def add_attachment(self, content_id: str, name: str, fileobj: BinaryIO) -> dict:
        created = self.http.json(
            "POST",
            f"{V1}/content/{quote(content_id)}/child/attachment",
            files={"file": (name, fileobj, "application/octet-stream")},
            data={"minorEdit": "true"},
            headers={"X-Atlassian-Token": "no-check"},
        )
        created = check(created, "confluence.ContentArray", "the uploaded attachment")
        results = created.get("results") or []
        if len(results) != 1:
            raise SiteBadResponse("The site did not answer an attachment upload with one file.")
        return check(results[0], "confluence.Content", "the uploaded attachment", require=("id",))

    def add_labels(self, content_id: str, names: list[str]) -> None:
        body = [{"prefix": "global", "name": name} for name in names]
        labels = self.http.json("POST", f"{V1}/content/{quote(content_id)}/label", json=body)
        check(labels, "confluence.LabelArray", "the added labels")

    def archive_pages(self, page_ids: list[str]) -> None:
        """Archive pages (a long task on the site, waited for), ARCHIVE_BATCH at a time."""
        for start in range(0, len(page_ids), ARCHIVE_BATCH):
            batch = page_ids[start : start + ARCHIVE_BATCH]
            task = self.http.json(
                "POST",
                f"{V1}/content/archive",
                json={"pages": [{"id": int(i)} for i in batch]},
                expect=(200, 202),
            )
            self._wait_for(task, f"archiving {len(batch)} page(s)")

    def set_space_status(self, *, key: str, name: str, status: str) -> None:
        space = self.http.json(
            "PUT", f"{V1}/space/{quote(key)}", json={"name": name, "status": status}
        )
        check(space, "confluence.SpaceV1", f"the space {key}", require=("key",))

    def delete_space(self, key: str) -> None:
        """Delete a space and everything in it at once (a long task, waited for)."""
        task = self.http.json("DELETE", f"{V1}/space/{quote(key)}", expect=(202, 204))
        self._wait_for(task, f"deleting the space {key}")

    def _wait_for(self, task, what: str) -> None:
        """Wait for a v1 long task, when the site says which (the API documents no body for
        these 202s; real sites send the task's id)."""
        if not isinstance(task, dict) or not task.get("id"):
            return
        deadline = time.monotonic() + TASK_WAIT
        delay = 0.05
        while True:
            status = check(
                self.http.json("GET", f"{V1}/longtask/{quote(str(task['id']))}"),
                "confluence.LongTaskStatus",
                f"the site's task {what}",
            )
            if status.get("finished"):
                if status.get("successful") is False:
                    words = "; ".join(
                        str((m or {}).get("translation") or m) for m in status.get("messages") or []
                    )
                    raise SiteRequestRefused(
                        f"The site could not finish {what}" + (f": {words}" if words else "."),
                        400,
                    )
                return
            if time.monotonic() > deadline:
                raise SiteError(f"The site did not finish {what} within {TASK_WAIT:.0f} s.")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _plural(kind: str) -> str:
    if kind not in ("page", "blogpost"):
        raise ValueError(f"Not a page or blog post: {kind!r}")
    return "pages" if kind == "page" else "blogposts"


__all__ = ["ConfluenceCloud", "body_text", "site_origin_of"]

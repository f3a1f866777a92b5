"""The Confluence Cloud REST API v2 operations the contract server plays (`/wiki/api/v2`), as a
mixin of its request handler.

Each `op_<method>_<path>` takes the caller's account, the path's parameters, the query, the
request body (parsed JSON) and the raw body, and returns (status, payload, headers). Lists
page by cursor: results in id order, a cursor naming the last id given (found again by
bisection, so a page costs what is on it), `_links.next` and a `Link` header while more
remain.
"""

import base64
import bisect
import heapq
import itertools
import re
from urllib.parse import urlencode, urlsplit

from .confluence_json import ConfluenceJson
from .confluence_site import Page, Space

MAX_LIMIT = 250
PAGE_STATUSES = {"current", "archived", "trashed", "deleted", "draft", "historical", "any"}
BLOGPOST_STATUSES = {"current", "trashed", "deleted", "draft", "historical", "any"}
SPACE_KEY = re.compile(r"[A-Za-z0-9]{1,255}")


def multi(query: dict, name: str) -> list[str]:
    """A parameter given repeated or comma-separated."""
    return [s for v in query.get(name, []) for s in v.split(",") if s]


def one(query: dict, name: str, default: str | None = None) -> str | None:
    return query.get(name, [default])[0]


class ConfluenceV2Operations(ConfluenceJson):
    """The v2 `op_*` methods."""

    # --- paging --------------------------------------------------------------------------

    def _paged(self, query: dict, id_lists: list[list[int]], keep, render) -> tuple:
        """One page of the items whose ids are in the ascending `id_lists` and that `keep`
        accepts, `render`ed; `_links.next` and `Link` when more remain."""
        try:
            limit = int(one(query, "limit", "25"))
        except ValueError:
            raise self._refuse(400, "limit must be an integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise self._refuse(400, f"limit must be between 1 and {MAX_LIMIT}")
        limit = min(limit, self.site.page_limit)
        after = 0
        if one(query, "cursor"):
            try:
                after = int(base64.urlsafe_b64decode(one(query, "cursor")).decode().split(":")[1])
            except (ValueError, IndexError):
                raise self._refuse(400, "The cursor is not valid.") from None
        with self.site.lock:
            runs = [ids[bisect.bisect_right(ids, after) :] for ids in id_lists]
            found = itertools.islice(
                (i for i in heapq.merge(*runs) if keep(i)),
                limit + 1,
            )
            items = list(found)
            results = [render(i) for i in items[:limit]]
        payload = {"results": results, "_links": {"base": self.site.wiki_url}}
        headers = {}
        if len(items) > limit:
            cursor = base64.urlsafe_b64encode(f"after:{items[limit - 1]}".encode()).decode()
            others = [(k, v) for k, values in query.items() if k != "cursor" for v in values]
            link = urlsplit(self.path).path + "?" + urlencode([("cursor", cursor), *others])
            payload["_links"]["next"] = link
            headers["Link"] = f'<{link}>; rel="next", <{self.site.wiki_url}>; rel="base"'
        return 200, payload, headers

    def _statuses(self, query: dict, allowed: set[str], default: set[str]) -> set[str]:
        wanted = set(multi(query, "status")) or default
        if wanted - allowed:
            raise self._refuse(400, f"Invalid status: {', '.join(sorted(wanted - allowed))}")
        if "any" in wanted:
            return allowed
        return wanted

    def _space_or_404(self, space_id: str) -> Space:
        space = self.site.spaces.get(space_id)
        if space is None:
            raise self._refuse(404, f"Space {space_id} was not found.")
        return space

    def _content_or_404(self, content_id: str, kind: str) -> Page:
        page = self.site.pages.get(content_id)
        if page is None or page.kind != kind:
            raise self._refuse(404, f"No {kind} with id {content_id} was found.")
        return page

    # --- spaces --------------------------------------------------------------------------

    def op_get_spaces(self, account, params, query, body, raw):
        keys, ids = set(multi(query, "keys")), set(multi(query, "ids"))
        types, statuses = set(multi(query, "type")), set(multi(query, "status"))
        if statuses - {"current", "archived"}:
            raise self._refuse(400, "status must be current or archived")

        def keep(i):
            s = self.site.spaces[str(i)]
            return (
                (not keys or s.key in keys)
                and (not ids or s.id in ids)
                and (not types or s.type in types)
                and (not statuses or s.status in statuses)
            )

        return self._paged(
            query, [self.site.space_ids], keep, lambda i: self._space(self.site.spaces[str(i)])
        )

    def op_post_spaces(self, account, params, query, body, raw):
        if not account.admin:
            raise self._refuse(403, "You do not have permission to create a space.")
        key = body.get("key")
        if not key or not SPACE_KEY.fullmatch(key):
            raise self._refuse(400, "A space key is letters and digits only (at most 255).")
        with self.site.lock:
            if self.site.space_by_key(key):
                raise self._refuse(400, f"A space with key {key} already exists.")
            description = (body.get("description") or {}).get("value", "")
            space = self.site.add_space(key, body["name"], author=account, description=description)
        return 201, {**self._space(space), "_links": self._base_links()}, None

    def _base_links(self, **links) -> dict:
        return {**links, "base": self.site.wiki_url}

    def op_get_spaces_id(self, account, params, query, body, raw):
        space = self._space_or_404(params["id"])
        out = self._space(space)
        out["_links"] = self._base_links(**out["_links"])
        return 200, out, None

    def op_get_spaces_id_pages(self, account, params, query, body, raw):
        space = self._space_or_404(params["id"])
        statuses = self._statuses(query, PAGE_STATUSES, {"current", "archived"})
        depth = one(query, "depth", "all")
        if depth not in ("all", "root"):
            raise self._refuse(400, "depth must be all or root")
        title = one(query, "title")
        body_format = one(query, "body-format")

        def keep(i):
            page = self.site.pages[str(i)]
            return (
                page.status in statuses
                and (depth == "all" or page.parent_id is None)
                and (title is None or page.title == title)
            )

        ids = self.site.content_ids.get((space.id, "page"), [])
        return self._paged(
            query, [ids], keep, lambda i: self._content(self.site.pages[str(i)], body_format)
        )

    def op_get_pages(self, account, params, query, body, raw):
        statuses = self._statuses(query, PAGE_STATUSES, {"current", "archived"})
        space_ids = multi(query, "space-id") or list(self.site.spaces)
        wanted_ids, title = set(multi(query, "id")), one(query, "title")
        body_format = one(query, "body-format")

        def keep(i):
            page = self.site.pages[str(i)]
            return (
                page.status in statuses
                and (not wanted_ids or page.id in wanted_ids)
                and (title is None or page.title == title)
            )

        lists = [self.site.content_ids.get((s, "page"), []) for s in space_ids]
        return self._paged(
            query, lists, keep, lambda i: self._content(self.site.pages[str(i)], body_format)
        )

    def op_get_spaces_id_blogposts(self, account, params, query, body, raw):
        space = self._space_or_404(params["id"])
        statuses = self._statuses(query, BLOGPOST_STATUSES, {"current"})
        body_format = one(query, "body-format")
        ids = self.site.content_ids.get((space.id, "blogpost"), [])
        return self._paged(
            query,
            [ids],
            lambda i: self.site.pages[str(i)].status in statuses,
            lambda i: self._content(self.site.pages[str(i)], body_format),
        )

    # --- pages and blog posts ------------------------------------------------------------

    def _single(self, page: Page, body_format: str | None = "storage") -> dict:
        out = self._content(page, body_format)
        out["_links"] = self._base_links(**out["_links"])
        return out

    def op_get_pages_id(self, account, params, query, body, raw):
        page = self._content_or_404(params["id"], "page")
        return 200, self._single(page, one(query, "body-format")), None

    def op_get_blogposts_id(self, account, params, query, body, raw):
        post = self._content_or_404(params["id"], "blogpost")
        return 200, self._single(post, one(query, "body-format")), None

    def _storage(self, body: dict) -> str:
        """The storage-format value of a body written either way, or a 400."""
        written = body.get("body") or {}
        if "storage" in written:
            written = written["storage"] or {}
        if written.get("representation") != "storage" or "value" not in written:
            raise self._refuse(400, "The body must be given in the storage representation.")
        return written["value"]

    def _new_content(self, account, body: dict, kind: str, parent: Page | None) -> Page:
        space = self._space_or_404(body["spaceId"])
        status = body.get("status", "current")
        title = body.get("title") or ""
        if status != "draft" and not title:
            raise self._refuse(400, "A title is required for a published page.")
        value = self._storage(body) if body.get("body") else ""
        with self.site.lock:
            if kind == "page" and status == "current" and self.site.title_taken(space.id, title):
                raise self._refuse(400, "A page already exists with the same TITLE in this space")
            return self.site.add_page(
                space, title, value, parent=parent, status=status, author=account, kind=kind
            )

    def op_post_pages(self, account, params, query, body, raw):
        root_level = one(query, "root-level", "false") == "true"
        space = self._space_or_404(body["spaceId"])
        parent_id = body.get("parentId")
        if root_level and parent_id:
            raise self._refuse(400, "parentId cannot be given with root-level=true.")
        parent = None
        if parent_id:
            parent = self.site.pages.get(parent_id)
            if parent is None or parent.kind != "page" or parent.space_id != space.id:
                raise self._refuse(400, f"The parent {parent_id} is not a page of this space.")
        elif not root_level and space.homepage_id in self.site.pages:
            parent = self.site.pages[space.homepage_id]
        page = self._new_content(account, body, "page", parent)
        return 200, self._single(page), None

    def op_post_blogposts(self, account, params, query, body, raw):
        post = self._new_content(account, body, "blogpost", None)
        return 200, self._single(post), None

    def op_put_pages_id(self, account, params, query, body, raw):
        page = self._content_or_404(params["id"], "page")
        if body["id"] != page.id:
            raise self._refuse(400, "The id in the body is not the page's.")
        number = (body.get("version") or {}).get("number")
        with self.site.lock:
            if page.status in ("trashed", "deleted") and body["status"] == "current":
                page.status = "current"  # restored from the trash: contents unchanged
                return 200, self._single(page), None
            if number != page.version + 1:
                raise self._refuse(
                    409, f"Version must be {page.version + 1} (the current one + 1)."
                )
            if body["title"] != page.title:
                if self.site.title_taken(page.space_id, body["title"], but=page.id):
                    raise self._refuse(
                        400, "A page already exists with the same TITLE in this space"
                    )
                self.site.retitle(page, body["title"])
            page.body = self._storage(body)
            page.version = number
            parent_id = body.get("parentId")
            if parent_id and parent_id != page.parent_id:
                parent = self.site.pages.get(parent_id)
                if parent is None or parent.kind != "page" or parent.space_id != page.space_id:
                    raise self._refuse(400, f"The parent {parent_id} is not a page of this space.")
                page.parent_id = parent_id
        return 200, self._single(page), None

    def _delete(self, page: Page, query: dict) -> tuple:
        purge = one(query, "purge", "false") == "true"
        with self.site.lock:
            if page.status in ("current", "archived", "draft") and not purge:
                page.status = "trashed"  # its children keep it as their parent
            elif page.status == "trashed" and purge:
                self.site.remove_content(page)
            elif purge:
                raise self._refuse(400, "Only a trashed page can be purged.")
            else:
                raise self._refuse(404, f"No {page.kind} with id {page.id} was found.")
        return 204, None, None

    def op_delete_pages_id(self, account, params, query, body, raw):
        return self._delete(self._content_or_404(params["id"], "page"), query)

    def op_delete_blogposts_id(self, account, params, query, body, raw):
        return self._delete(self._content_or_404(params["id"], "blogpost"), query)

    # --- comments, attachments, labels ---------------------------------------------------

    def _comments(self, kind: str, inline: bool, params: dict, query: dict) -> tuple:
        container = self._content_or_404(params["id"], kind)
        statuses = self._statuses(
            query, {"current", "deleted", "trashed", "historical", "draft"}, {"current"}
        )
        body_format = one(query, "body-format")

        def keep(i):
            comment = self.site.comments[str(i)]
            return comment.inline == inline and comment.status in statuses

        return self._paged(
            query,
            [self.site.comment_ids.get(container.id, [])],
            keep,
            lambda i: self._comment(self.site.comments[str(i)], body_format),
        )

    def op_get_pages_id_footer_comments(self, account, params, query, body, raw):
        return self._comments("page", False, params, query)

    def op_get_pages_id_inline_comments(self, account, params, query, body, raw):
        return self._comments("page", True, params, query)

    def op_get_blogposts_id_footer_comments(self, account, params, query, body, raw):
        return self._comments("blogpost", False, params, query)

    def op_get_blogposts_id_inline_comments(self, account, params, query, body, raw):
        return self._comments("blogpost", True, params, query)

    def op_post_footer_comments(self, account, params, query, body, raw):
        targets = [(k, body[k]) for k in ("pageId", "blogPostId") if body.get(k)]
        if len(targets) != 1 or any(body.get(k) for k in ("parentCommentId", "attachmentId")):
            raise self._refuse(400, "Give exactly one of pageId and blogPostId.")
        field, content_id = targets[0]
        container = self._content_or_404(content_id, "page" if field == "pageId" else "blogpost")
        comment = self.site.add_comment(container, self._storage(body), author=account)
        out = self._comment(comment, "storage")
        out["_links"] = self._base_links(**out["_links"])
        return 201, out, None

    def _attachments(self, kind: str, params: dict, query: dict) -> tuple:
        container = self._content_or_404(params["id"], kind)
        statuses = self._statuses(query, {"current", "archived", "trashed"}, {"current"})
        filename, media_type = one(query, "filename"), one(query, "mediaType")

        def keep(n):
            a = self.site.attachments[f"att{n}"]
            return (
                a.status in statuses
                and (filename is None or a.title == filename)
                and (media_type is None or a.media_type == media_type)
            )

        return self._paged(
            query,
            [self.site.attachment_ids.get(container.id, [])],
            keep,
            lambda n: self._attachment(self.site.attachments[f"att{n}"]),
        )

    def op_get_pages_id_attachments(self, account, params, query, body, raw):
        return self._attachments("page", params, query)

    def op_get_blogposts_id_attachments(self, account, params, query, body, raw):
        return self._attachments("blogpost", params, query)

    def _labels(self, kind: str, params: dict, query: dict) -> tuple:
        container = self._content_or_404(params["id"], kind)
        by_id = {int(self.site.label_id(name)): name for name in container.labels}
        return self._paged(query, [sorted(by_id)], lambda i: True, lambda i: self._label(by_id[i]))

    def op_get_pages_id_labels(self, account, params, query, body, raw):
        return self._labels("page", params, query)

    def op_get_blogposts_id_labels(self, account, params, query, body, raw):
        return self._labels("blogpost", params, query)

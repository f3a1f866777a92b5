"""The Confluence Cloud REST API v1 operations the contract server plays (`/wiki/rest/api`):
what v2 has no counterpart for (the current user's operations, attachment upload and
download, labels, archiving, a space's status and deletion, long tasks) and the v1 calls a
third-party client makes (spaces and content). Lists page by offset (`start`, `limit`).
"""

from .confluence_json import ConfluenceJson
from .confluence_site import Page
from .http_base import media_token, multipart_parts

ARCHIVE_LIMIT = 300  # pages per archive request


def _one(query: dict, name: str, default: str | None = None) -> str | None:
    return query.get(name, [default])[0]


def _expand(query: dict) -> set[str]:
    return {e for v in query.get("expand", []) for e in v.split(",") if e}


class ConfluenceV1Operations(ConfluenceJson):
    """The v1 `op_v1_*` methods."""

    def _content_v1_or_404(self, content_id: str) -> Page:
        page = self.site.pages.get(content_id)
        if page is None:
            raise self._refuse(404, f"No content found with id: ContentId{{id={content_id}}}")
        return page

    def _space_v1_or_404(self, key: str):
        space = self.site.space_by_key(key)
        if space is None:
            raise self._refuse(404, f"No space with key : {key}")
        return space

    def _offset_page(self, query: dict, items: list, default_limit: int = 25) -> dict:
        try:
            start = int(_one(query, "start", "0"))
            limit = min(int(_one(query, "limit", str(default_limit))), self.site.page_limit)
        except ValueError:
            raise self._refuse(400, "start and limit must be integers") from None
        page = items[start : start + limit]
        links = {"base": self.site.wiki_url, "context": "/wiki"}
        if start + limit < len(items):
            links["next"] = f"{self.path.split('?')[0]}?start={start + limit}&limit={limit}"
        return {"results": page, "start": start, "limit": limit, "size": len(page), "_links": links}

    # --- the current user ----------------------------------------------------------------

    def op_get_v1_user_current(self, account, params, query, body, raw):
        return 200, self._user_v1(account, _expand(query)), None

    # --- spaces --------------------------------------------------------------------------

    def op_get_v1_space(self, account, params, query, body, raw):
        keys = {k for v in query.get("spaceKey", []) for k in v.split(",") if k}
        status, kind = _one(query, "status"), _one(query, "type")
        with self.site.lock:
            spaces = [
                self._space_v1(s)
                for s in self.site.spaces.values()
                if (not keys or s.key in keys)
                and (status is None or s.status == status)
                and (kind is None or s.type == kind)
            ]
        return 200, self._offset_page(query, spaces), None

    def op_post_v1_space(self, account, params, query, body, raw):
        if not account.admin:
            raise self._refuse(403, "No permission to create spaces.")
        key = body["key"]
        if not key.isalnum():
            raise self._refuse(400, "Space key must be letters and digits only.")
        with self.site.lock:
            if self.site.space_by_key(key):
                raise self._refuse(400, f"A space already exists with key {key}")
            plain = ((body.get("description") or {}).get("plain") or {}).get("value", "")
            space = self.site.add_space(key, body["name"], author=account, description=plain)
        return 200, self._space_v1(space), None

    def op_get_v1_space_spaceKey(self, account, params, query, body, raw):
        return 200, self._space_v1(self._space_v1_or_404(params["spaceKey"])), None

    def op_put_v1_space_spaceKey(self, account, params, query, body, raw):
        space = self._space_v1_or_404(params["spaceKey"])
        status = body.get("status")
        if status not in (None, "current", "archived"):
            raise self._refuse(400, f"A space's status is current or archived, not {status}.")
        with self.site.lock:
            if body.get("name"):
                space.name = body["name"]
            if status:
                space.status = status
        return 200, self._space_v1(space), None

    def op_delete_v1_space_spaceKey(self, account, params, query, body, raw):
        space = self._space_v1_or_404(params["spaceKey"])
        if not account.admin:
            raise self._refuse(403, "No permission to delete this space.")
        self.site.remove_space(space)
        return 202, self._long_task("com.atlassian.confluence.space.delete"), None

    def op_get_v1_longtask_id(self, account, params, query, body, raw):
        task = self.site.tasks.get(params["id"])
        if task is None:
            raise self._refuse(404, f"No long task with id {params['id']}")
        status = {
            "id": params["id"],
            "name": {"key": task["name"], "args": []},
            "elapsedTime": 5,
            "percentageComplete": 100,
            "successful": True,
            "finished": True,
            "messages": [],
            "status": "COMPLETE",
            "_links": {"self": f"{self.site.wiki_url}/rest/api/longtask/{params['id']}"},
        }
        return 200, status, None

    # --- content -------------------------------------------------------------------------

    def op_post_v1_content(self, account, params, query, body, raw):
        kind = body["type"]
        if kind not in ("page", "blogpost"):
            raise self._refuse(
                400, f"The contract server creates pages and blog posts, not {kind}."
            )
        space = self.site.space_by_key(((body.get("space") or {}).get("key")) or "")
        if space is None:
            raise self._refuse(400, "A content's space must be given by its key.")
        title = body.get("title") or ""
        if not title:
            raise self._refuse(400, "A title is required.")
        storage = (body.get("body") or {}).get("storage") or {}
        if body.get("body") and storage.get("representation") != "storage":
            raise self._refuse(400, "The body must be given in the storage representation.")
        parent = None
        ancestors = body.get("ancestors") or []
        if ancestors and kind == "page":
            parent = self.site.pages.get(str(ancestors[-1].get("id")))
            if parent is None or parent.kind != "page" or parent.space_id != space.id:
                raise self._refuse(400, "The ancestor is not a page of this space.")
        with self.site.lock:
            if kind == "page" and self.site.title_taken(space.id, title):
                raise self._refuse(400, "A page with this title already exists")
            page = self.site.add_page(
                space, title, storage.get("value", ""), parent=parent, author=account, kind=kind
            )
        return 200, self._content_v1(page, {"body.storage"}), None

    def op_get_v1_content_id(self, account, params, query, body, raw):
        content_id = params["id"]
        if content_id in self.site.attachments:
            return 200, self._attachment_v1(self.site.attachments[content_id]), None
        page = self._content_v1_or_404(content_id)
        return 200, self._content_v1(page, _expand(query)), None

    def op_post_v1_content_archive(self, account, params, query, body, raw):
        wanted = [str(p["id"]) for p in body.get("pages") or []]
        if not wanted or len(wanted) > ARCHIVE_LIMIT:
            raise self._refuse(400, f"Archive between 1 and {ARCHIVE_LIMIT} pages at a time.")
        with self.site.lock:
            pages = [self.site.pages.get(i) for i in wanted]
            if any(p is None or p.kind != "page" or p.status != "current" for p in pages):
                raise self._refuse(400, "Only current pages can be archived.")
            for page in pages:
                page.status = "archived"
        return 202, self._long_task("com.atlassian.confluence.pages.archive"), None

    # --- labels --------------------------------------------------------------------------

    def op_get_v1_content_id_label(self, account, params, query, body, raw):
        page = self._content_v1_or_404(params["id"])
        return 200, self._labels_v1(page.labels), None

    def op_post_v1_content_id_label(self, account, params, query, body, raw):
        page = self._content_v1_or_404(params["id"])
        labels = body if isinstance(body, list) else [body]
        names = [label["name"] for label in labels]
        if any(not n or any(c.isspace() for c in n) for n in names):
            raise self._refuse(400, "A label's name is one word, without spaces.")
        with self.site.lock:
            for name in names:
                if name not in page.labels:
                    page.labels.append(name)
        return 200, self._labels_v1(page.labels), None

    # --- attachments ---------------------------------------------------------------------

    def op_get_v1_content_id_child_attachment(self, account, params, query, body, raw):
        page = self._content_v1_or_404(params["id"])
        filename = _one(query, "filename")
        with self.site.lock:
            found = [
                self._attachment_v1(self.site.attachments[f"att{n}"])
                for n in self.site.attachment_ids.get(page.id, [])
                if filename is None or self.site.attachments[f"att{n}"].title == filename
            ]
        return 200, self._offset_page(query, found, default_limit=50), None

    def op_post_v1_content_id_child_attachment(self, account, params, query, body, raw):
        page = self._content_v1_or_404(params["id"])
        if self.headers.get("X-Atlassian-Token") != "no-check":
            raise self._refuse(403, "XSRF check failed")
        parts = multipart_parts(self.headers.get("Content-Type", ""), raw)
        fields = {name: content for name, _, _, content in parts if name != "file"}
        files = [(fn or "file", ctype, data) for name, fn, ctype, data in parts if name == "file"]
        missing = [f for f, ok in (("file", files), ("minorEdit", "minorEdit" in fields)) if not ok]
        if missing:
            # The document's multipart schema requires both parts.
            problem = f"multipart/form-data: {' and '.join(missing)} is required"
            self.site.violations.append(f"request POST {self.path}: {problem}")
            raise self._refuse(400, problem)
        comment = fields.get("comment", b"").decode()
        with self.site.lock:
            taken = {
                self.site.attachments[f"att{n}"].title
                for n in self.site.attachment_ids.get(page.id, [])
            }
            for filename, _, _ in files:
                if filename in taken:
                    raise self._refuse(
                        400,
                        "Cannot add a new attachment with same file name as an existing "
                        f"attachment: {filename}",
                    )
            created = [
                self.site.add_attachment(
                    page, filename, data, ctype, author=account, comment=comment
                )
                for filename, ctype, data in files
            ]
        results = [self._attachment_v1(a) for a in created]
        return 200, self._offset_page({}, results, default_limit=50), None

    def op_get_v1_content_id_child_attachment_attachmentId_download(
        self, account, params, query, body, raw
    ):
        attachment = self.site.attachments.get(params["attachmentId"])
        if attachment is None or attachment.container_id != params["id"]:
            raise self._refuse(404, "No attachment found with this id on this content.")
        token = media_token(attachment.id)
        location = f"{self.site.media_url}/media/{attachment.id}?token={token}"
        return 302, None, {"Location": location}

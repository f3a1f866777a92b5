"""How the Confluence contract server shows its content: the JSON of spaces, pages, blog
posts, comments, attachments, labels and users, as the v2 and v1 APIs answer with them.
"""

from urllib.parse import quote

from .confluence_site import Attachment, Comment, ConfluenceSite, Page, Space, now_iso
from .http_base import Account, Answer

V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"


class ConfluenceJson:
    """The JSON-building helpers the operations inherit."""

    site: ConfluenceSite

    def _refuse(self, status: int, message: str) -> Answer:
        """The API's error answer (the handler's error_body), to raise from the depths of an
        operation."""
        return Answer(status, self.error_body(status, message), None)

    # --- v2 ------------------------------------------------------------------------------

    def _version(self, number: int, author_id: str | None, when: str) -> dict:
        version = {"createdAt": when, "message": "", "number": number, "minorEdit": False}
        if author_id:
            version["authorId"] = author_id
        return version

    def _space(self, space: Space) -> dict:
        out = {
            "id": space.id,
            "key": space.key,
            "name": space.name,
            "type": space.type,
            "status": space.status,
            "createdAt": space.created_at,
            "_links": {"webui": f"/spaces/{quote(space.key)}"},
        }
        if space.author_id:
            out["authorId"] = space.author_id
        if space.homepage_id:
            out["homepageId"] = space.homepage_id
        return out

    def _content(self, page: Page, body_format: str | None) -> dict:
        """A page (PageBulk/PageSingle) or a blog post (BlogPostBulk/BlogPostSingle)."""
        space = self.site.spaces[page.space_id]
        plural = "pages" if page.kind == "page" else "blog"
        out = {
            "id": page.id,
            "status": page.status,
            "title": page.title,
            "spaceId": page.space_id,
            "createdAt": page.created_at,
            "version": self._version(page.version, page.author_id, page.created_at),
            "body": {},
            "_links": {
                "webui": f"/spaces/{quote(space.key)}/{plural}/{page.id}",
                "editui": f"/pages/resumedraft.action?draftId={page.id}",
                "tinyui": f"/x/{page.id}",
            },
        }
        if page.author_id:
            out["authorId"] = page.author_id
            if page.kind == "page":
                out["ownerId"] = page.author_id
        if page.kind == "page" and page.parent_id:
            out["parentId"] = page.parent_id
            out["parentType"] = "page"
        if body_format == "storage":
            out["body"] = {"storage": {"representation": "storage", "value": page.body}}
        return out

    def _comment(self, comment: Comment, body_format: str | None) -> dict:
        container = self.site.pages[comment.container_id]
        out = {
            "id": comment.id,
            "status": comment.status,
            "title": f"Re: {container.title}",
            "pageId" if container.kind == "page" else "blogPostId": container.id,
            "version": self._version(1, comment.author_id, comment.created_at),
            "body": {},
            "_links": {
                "webui": f"/spaces/{self.site.spaces[container.space_id].key}/pages/"
                f"{container.id}?focusedCommentId={comment.id}"
            },
        }
        if body_format == "storage":
            out["body"] = {"storage": {"representation": "storage", "value": comment.body}}
        if comment.inline:
            out["resolutionStatus"] = "open"
            out["properties"] = {
                "inlineMarkerRef": f"marker-{comment.id}",
                "inlineOriginalSelection": container.title,
            }
        return out

    def _attachment(self, a: Attachment) -> dict:
        container = self.site.pages[a.container_id]
        download = (
            f"/download/attachments/{container.id}/{quote(a.title)}?version={a.version}&api=v2"
        )
        return {
            "id": a.id,
            "status": a.status,
            "title": a.title,
            "createdAt": a.created_at,
            "pageId" if container.kind == "page" else "blogPostId": container.id,
            "mediaType": a.media_type,
            "comment": a.comment,
            "fileId": f"file-{a.id.removeprefix('att')}",
            "fileSize": len(a.data),
            "webuiLink": f"/pages/viewpageattachments.action?pageId={container.id}",
            "downloadLink": download,
            "version": self._version(a.version, a.author_id, a.created_at),
            "_links": {"download": download},
        }

    def _label(self, name: str) -> dict:
        return {"id": self.site.label_id(name), "name": name, "prefix": "global"}

    # --- v1 ------------------------------------------------------------------------------

    def _links_v1(self, self_path: str, webui: str | None = None) -> dict:
        links = {
            "self": f"{self.site.wiki_url}/rest/api/{self_path}",
            "base": self.site.wiki_url,
            "context": "/wiki",
        }
        if webui:
            links["webui"] = webui
        return links

    def _user_v1(self, account: Account, expand: set[str]) -> dict:
        out = {
            "type": "known",
            "accountId": account.account_id,
            "accountType": "atlassian",
            "email": account.email,
            "publicName": account.display_name,
            "displayName": account.display_name,
            "isExternalCollaborator": False,
            "_expandable": {"details": "", "personalSpace": ""},
            "_links": self._links_v1(f"user?accountId={account.account_id}"),
        }
        if "operations" in expand:
            # What a site administrator may do (C1): administer the application.
            out["operations"] = [{"operation": "use", "targetType": "application"}]
            if account.admin:
                out["operations"].append({"operation": "administer", "targetType": "application"})
        else:
            out["_expandable"]["operations"] = ""
        return out

    def _space_v1(self, space: Space) -> dict:
        return {
            "id": int(space.id),
            "key": space.key,
            "name": space.name,
            "type": space.type,
            "status": space.status,
            "_expandable": {
                "settings": f"/rest/api/space/{space.key}/settings",
                "metadata": "",
                "operations": "",
                "lookAndFeel": f"/rest/api/settings/lookandfeel?spaceKey={space.key}",
                "permissions": "",
                "icon": "",
                "theme": f"/rest/api/space/{space.key}/theme",
                "history": "",
                "homepage": f"/rest/api/content/{space.homepage_id}" if space.homepage_id else "",
            },
            "_links": self._links_v1(f"space/{space.key}", f"/spaces/{space.key}"),
        }

    def _content_v1(self, page: Page, expand: set[str]) -> dict:
        space = self.site.spaces[page.space_id]
        out = {
            "id": page.id,
            "type": page.kind,
            "status": page.status,
            "title": page.title,
            "space": self._space_v1(space),
            "version": {"when": page.created_at, "number": page.version, "minorEdit": False},
            "_expandable": {"children": f"/rest/api/content/{page.id}/child"},
            "_links": self._links_v1(f"content/{page.id}", f"/spaces/{space.key}/pages/{page.id}"),
        }
        if any(e.startswith("body") for e in expand):
            out["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        if "ancestors" in expand:
            ancestors, parent = [], self.site.pages.get(page.parent_id or "")
            while parent is not None:
                ancestors.insert(0, {"id": parent.id, "type": "page", "status": parent.status})
                parent = self.site.pages.get(parent.parent_id or "")
            out["ancestors"] = ancestors
        return out

    def _attachment_v1(self, a: Attachment) -> dict:
        container = self.site.pages[a.container_id]
        download = (
            f"/download/attachments/{container.id}/{quote(a.title)}?version={a.version}&api=v2"
        )
        return {
            "id": a.id,
            "type": "attachment",
            "status": a.status,
            "title": a.title,
            "version": {"when": a.created_at, "number": a.version, "minorEdit": False},
            "container": {"id": container.id, "type": container.kind, "title": container.title},
            "metadata": {"mediaType": a.media_type, "comment": a.comment},
            "extensions": {
                "mediaType": a.media_type,
                "fileSize": len(a.data),
                "comment": a.comment,
                "fileId": f"file-{a.id.removeprefix('att')}",
            },
            "_expandable": {"space": f"/rest/api/space/{self.site.spaces[container.space_id].key}"},
            "_links": {
                **self._links_v1(f"content/{a.id}"),
                "download": download,
            },
        }

    def _labels_v1(self, names: list[str]) -> dict:
        return {
            "results": [
                {"prefix": "global", "name": n, "id": self.site.label_id(n), "label": n}
                for n in names
            ],
            "start": 0,
            "limit": 200,
            "size": len(names),
            "_links": {"base": self.site.wiki_url, "context": "/wiki"},
        }

    def _long_task(self, what: str) -> dict:
        """A long task, finished at once (202's body; its status at /longtask/{id})."""
        task_id = self.site.next_id()
        with self.site.lock:
            self.site.tasks[task_id] = {"name": what, "when": now_iso()}
        return {
            "ari": f"ari:cloud:confluence::task/{task_id}",
            "id": task_id,
            "links": {"status": f"/rest/api/longtask/{task_id}"},
        }

"""A Confluence Cloud site on 127.0.0.1: the contract server the connected-site tests talk to
when the product is Confluence (#12 item 5).

A real HTTP server (threads, keep-alive, http_base.py's, shared with the Jira site) that plays
Confluence Cloud's REST API v2 (`/wiki/api/v2`, cursor paging) and the v1 operations v2 has
no counterpart for (`/wiki/rest/api`: the current user's operations, attachment upload and
download, labels, archiving, a space's status and deletion, long tasks). It is stateful —
spaces with their home pages, pages in a hierarchy, blog posts, comments, labels, attachments
— so content can be backed up, wiped, restored into and compared. Every request body and
every response is validated against Atlassian's published OpenAPI documents
(confluence_schemas.py); a violation is recorded in `site.violations` and answered with 400
(a bad request) or kept from going out (500).

Faults are injected as on the Jira site (`site.fail(...)`); attachments download through a
302 to the media host (`localhost` instead of `127.0.0.1`: another origin, which must not be
sent the credentials).

The site lives in these modules: this one (state and test helpers), confluence_http.py (the
handler: routing, error formats), confluence_operations.py (v2) and
confluence_v1_operations.py (v1), confluence_json.py (the JSON they answer with) and
confluence_schemas*.py (the published schemas).
"""

import bisect
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .http_base import Account, BaseSite

__all__ = ["Account", "Attachment", "Comment", "ConfluenceSite", "Page", "Space"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Space:
    id: str
    key: str
    name: str
    type: str  # "global" | "personal"
    status: str  # "current" | "archived"
    homepage_id: str | None
    author_id: str | None
    created_at: str
    description: str = ""


@dataclass
class Page:
    """A page or a blog post (`kind`)."""

    id: str
    kind: str  # "page" | "blogpost"
    space_id: str
    title: str
    body: str  # storage format (XHTML)
    parent_id: str | None
    status: str  # "current" | "archived" | "trashed" (| "draft")
    version: int
    labels: list[str]
    created_at: str
    author_id: str | None


@dataclass
class Comment:
    id: str
    container_id: str
    inline: bool
    body: str
    status: str = "current"
    author_id: str | None = None
    created_at: str = field(default_factory=now_iso)


@dataclass
class Attachment:
    id: str  # "att<digits>"
    container_id: str
    title: str
    data: bytes
    media_type: str
    status: str = "current"
    author_id: str | None = None
    created_at: str = field(default_factory=now_iso)
    comment: str = ""
    version: int = 1  # a new version keeps the id (new_attachment_version)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class ConfluenceSite(BaseSite):
    """Start with `site.start()`; `site.wiki_url` is what a person types as the site's
    address, `site.url` its origin (the APIs' paths start with /wiki)."""

    def __init__(self, *, page_limit: int = 250):
        super().__init__(page_limit=page_limit)
        self._clear()

    def _clear(self) -> None:
        self.spaces: dict[str, Space] = {}
        self.pages: dict[str, Page] = {}  # pages and blog posts
        self.comments: dict[str, Comment] = {}
        self.attachments: dict[str, Attachment] = {}
        self.tasks: dict[str, dict] = {}  # long task id -> what it did
        # Ids in ascending order, for cursor paging in O(page): a cursor is the last id
        # given, found again by bisection.
        self.space_ids: list[int] = []
        self.content_ids: dict[tuple[str, str], list[int]] = {}  # (space id, kind) -> ids
        self.comment_ids: dict[str, list[int]] = {}  # container id -> comment ids
        self.attachment_ids: dict[str, list[int]] = {}  # container id -> "att<n>" as n
        self.label_ids: dict[str, str] = {}  # label name -> id, site-wide
        self.titles: dict[tuple[str, str], set[str]] = {}  # (space id, title) -> page ids

    def start(self, *, port: int = 0) -> "ConfluenceSite":
        """Serve on 127.0.0.1: on a free port (tests), or on `port` (make run's site)."""
        from .confluence_http import ConfluenceHandler  # here: it imports this module

        self._serve(ConfluenceHandler, port)
        return self

    @property
    def wiki_url(self) -> str:
        return self.url + "/wiki"

    def media_content(self, attachment_id: str) -> bytes | None:
        attachment = self.attachments.get(attachment_id)
        return attachment.data if attachment else None

    # --- test helpers --------------------------------------------------------------------

    def _author(self, author: Account | None) -> str | None:
        if author is not None:
            return author.account_id
        return next((a.account_id for a in self.accounts.values() if a.admin), None)

    def add_space(
        self,
        key: str,
        name: str,
        *,
        type: str = "global",  # noqa: A002 - the API's word
        status: str = "current",
        author: Account | None = None,
        description: str = "",
    ) -> Space:
        """A space and its home page "<name> Home", as POST /spaces makes them."""
        with self.lock:
            space = Space(
                id=self.next_id(),
                key=key,
                name=name,
                type=type,
                status=status,
                homepage_id=None,
                author_id=self._author(author),
                created_at=now_iso(),
                description=description,
            )
            self.spaces[space.id] = space
            self.space_ids.append(int(space.id))
            home = self.add_page(space, f"{name} Home", f"<p>Welcome to {name}.</p>")
            space.homepage_id = home.id
            return space

    def _space(self, space: "Space | str") -> Space:
        if isinstance(space, Space):
            return space
        return self.spaces.get(space) or self.space_by_key(space)

    def add_page(
        self,
        space: "Space | str",
        title: str,
        body: str | None = None,
        *,
        parent: Page | None = None,
        status: str = "current",
        labels=(),
        version: int = 1,
        author: Account | None = None,
        kind: str = "page",
    ) -> Page:
        """A page (top level when `parent` is None, not under the home page)."""
        space = self._space(space)
        with self.lock:
            page = Page(
                id=self.next_id(),
                kind=kind,
                space_id=space.id,
                title=title,
                body=f"<p>{title}</p>" if body is None else body,
                parent_id=parent.id if parent is not None else None,
                status=status,
                version=version,
                labels=list(labels),
                created_at=now_iso(),
                author_id=self._author(author),
            )
            self.pages[page.id] = page
            if kind == "page":
                self.titles.setdefault((space.id, title), set()).add(page.id)
            self.content_ids.setdefault((space.id, kind), []).append(int(page.id))
            return page

    def add_blogpost(
        self,
        space: "Space | str",
        title: str,
        body: str | None = None,
        *,
        status: str = "current",
        labels=(),
        author: Account | None = None,
    ) -> Page:
        return self.add_page(
            space, title, body, status=status, labels=labels, author=author, kind="blogpost"
        )

    def add_comment(
        self, container: Page, body: str, *, inline: bool = False, author: Account | None = None
    ) -> Comment:
        with self.lock:
            comment = Comment(
                id=self.next_id(),
                container_id=container.id,
                inline=inline,
                body=body,
                author_id=self._author(author),
            )
            self.comments[comment.id] = comment
            self.comment_ids.setdefault(container.id, []).append(int(comment.id))
            return comment

    def add_attachment(
        self,
        container: Page,
        filename: str,
        data: bytes,
        media_type: str = "application/octet-stream",
        *,
        author: Account | None = None,
        comment: str = "",
    ) -> Attachment:
        with self.lock:
            attachment = Attachment(
                id="att" + self.next_id(),
                container_id=container.id,
                title=filename,
                data=data,
                media_type=media_type,
                author_id=self._author(author),
                comment=comment,
            )
            self.attachments[attachment.id] = attachment
            number = int(attachment.id.removeprefix("att"))
            self.attachment_ids.setdefault(container.id, []).append(number)
            return attachment

    def new_attachment_version(self, attachment: Attachment, data: bytes) -> Attachment:
        """What uploading a file of the same name does on a real site: a new version of the
        attachment, with the same id and the next version number."""
        with self.lock:
            attachment.data = data
            attachment.version += 1
            return attachment

    def retitle(self, page: Page, title: str) -> None:
        with self.lock:
            self.titles.get((page.space_id, page.title), set()).discard(page.id)
            page.title = title
            self.titles.setdefault((page.space_id, title), set()).add(page.id)

    def title_taken(self, space_id: str, title: str, *, but: str | None = None) -> bool:
        """Is there a current page with this title in the space (other than `but`)?"""
        ids = self.titles.get((space_id, title), ())
        return any(i != but and self.pages[i].status == "current" for i in ids)

    def label_id(self, name: str) -> str:
        """A label's id: the same for the same name, site-wide, as Confluence's are."""
        with self.lock:
            return self.label_ids.setdefault(name, self.next_id())

    def space_by_key(self, key: str) -> Space | None:
        return next((s for s in self.spaces.values() if s.key == key), None)

    def remove_content(self, page: Page) -> None:
        """Purge a page or blog post with its comments and attachments (children keep their
        parent id, as the trash leaves them)."""
        with self.lock:
            del self.pages[page.id]
            ids = self.content_ids[(page.space_id, page.kind)]
            del ids[bisect.bisect_left(ids, int(page.id))]
            for comment_id in self.comment_ids.pop(page.id, []):
                del self.comments[str(comment_id)]
            for number in self.attachment_ids.pop(page.id, []):
                del self.attachments[f"att{number}"]
            self.titles.get((page.space_id, page.title), set()).discard(page.id)

    def remove_space(self, space: Space) -> None:
        """A space and everything in it, at once."""
        with self.lock:
            for kind in ("page", "blogpost"):
                for content_id in list(self.content_ids.get((space.id, kind), [])):
                    self.remove_content(self.pages[str(content_id)])
                self.content_ids.pop((space.id, kind), None)
            del self.spaces[space.id]
            self.space_ids.remove(int(space.id))

    def wipe(self) -> None:
        with self.lock:
            self._clear()

    def snapshot(self) -> dict:
        """What the site holds, for round-trip comparisons, ids left out."""
        with self.lock:
            paths: dict[str, str] = {}

            def path(page: Page) -> str:
                if page.id not in paths:
                    parent = self.pages.get(page.parent_id) if page.parent_id else None
                    paths[page.id] = (path(parent) + "/" if parent else "") + page.title
                return paths[page.id]

            spaces = {}
            for space in self.spaces.values():
                home = self.pages.get(space.homepage_id) if space.homepage_id else None
                content = []
                for kind in ("page", "blogpost"):
                    for content_id in self.content_ids.get((space.id, kind), []):
                        page = self.pages[str(content_id)]
                        content.append(
                            {
                                "kind": page.kind,
                                "path": path(page),
                                "status": page.status,
                                "body": page.body,
                                "labels": sorted(page.labels),
                                "comments": sorted(
                                    self.comments[str(c)].body
                                    for c in self.comment_ids.get(page.id, [])
                                ),
                                "attachments": sorted(
                                    (
                                        self.attachments[f"att{n}"].title,
                                        self.attachments[f"att{n}"].sha256,
                                    )
                                    for n in self.attachment_ids.get(page.id, [])
                                ),
                            }
                        )
                content.sort(key=lambda c: (c["kind"], c["path"], c["body"]))
                spaces[space.key] = {
                    "name": space.name,
                    "type": space.type,
                    "status": space.status,
                    "homepage": home.title if home else None,
                    "content": content,
                }
            return {"spaces": spaces}

"""A connected Confluence Cloud site as a product's home (SPEC §8, C4, C5).

A backup reads every space (global and personal as the policy says; current and archived)
through the Confluence client (backups/connectors/confluence.py): pages in every status with
their tree and storage-format bodies and version numbers, blog posts, footer and inline
comments, labels, attachments. Each space is read into a part of the spool of its own, and
joins the backup only when all of it was read: a space that cannot be read whole after the
client's retries is left out whole — its downloaded files deleted again — and named in the
missing list; the backup is INCOMPLETE (B5). Bad credentials or a lost permission stop the
backup: FAILED, saying what to fix.

The rows are those of an embedded Confluence product (productdata/confluence.py) plus what
only a site has (a space's home page, a comment's inline flag), so a connected backup restores
into an embedded product and back (C6).
"""

import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

from backups import storage
from backups.connectors.confluence import ConfluenceCloud, body_text
from backups.connectors.http import SiteAuthError, SiteBadResponse, SiteError

from .attachments import backup_path
from .base import ExportOptions
from .confluence_cloud_restore import NOT_SETTABLE, ConfluenceSiteRestore
from .connected import ConnectedData
from .parallel import in_parallel

BATCH = 256  # pages read side by side (their labels, comments and attachments)
STATES = {"current": "active", "archived": "archived", "trashed": "trashed"}


def site_time(value: str | None) -> str | None:
    """Confluence's times (2026-11-29T19:20:00.000Z) as ISO 8601 with an offset."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise SiteBadResponse(f"The site sent a time that is not ISO 8601: {value[:40]!r}.")


class _SpacePart:
    """One space's rows and files while it is read; joins the spool only when whole."""

    def __init__(self, folder: Path, content_types):
        self.folder = folder
        folder.mkdir()
        self.files = {ct: (folder / f"{ct}.jsonl").open("wb") for ct in content_types}
        self.counts: dict[str, int] = {}
        self.data_bytes = 0
        self.attachment_bytes = 0
        self.stored: list[str] = []  # names written to the backup's storage
        self.lock = threading.Lock()

    def write(self, content_type: str, row: dict) -> None:
        line = orjson.dumps(row) + b"\n"
        self.files[content_type].write(line)
        self.counts[content_type] = self.counts.get(content_type, 0) + 1
        if content_type in ("pages", "comments"):
            self.data_bytes += len(line)

    def close(self) -> None:
        for f in self.files.values():
            f.close()

    def append_to(self, spool_files: dict) -> None:
        self.close()
        for content_type, f in spool_files.items():
            with (self.folder / f"{content_type}.jsonl").open("rb") as part:
                shutil.copyfileobj(part, f)
        shutil.rmtree(self.folder, ignore_errors=True)

    def discard(self) -> None:
        self.close()
        for name in self.stored:
            storage.delete_object(name)
        shutil.rmtree(self.folder, ignore_errors=True)


class ConnectedConfluenceData(ConfluenceSiteRestore, ConnectedData):
    kind = "confluence"
    content_types = ("spaces", "pages", "comments", "attachments")
    items_type = "pages"
    owner_field = "space"

    # --- what is there -------------------------------------------------------------------

    def container_states(self, client) -> Iterator[str]:
        """R6: the site's spaces, asked now (a Confluence destination need not be empty; its
        keys decide what is skipped)."""
        return (STATES.get(s.get("status") or "current", "active") for s in client.spaces())

    def space_keys(self) -> set[str]:
        """The site's space keys now, in every state (R6)."""
        client = self.client()
        try:
            return set(client.space_keys())
        finally:
            client.http.close()

    def is_empty(self) -> bool:
        return not self.space_keys()

    # --- backup --------------------------------------------------------------------------

    def prepare_backup(self, *, prefix: str, options: ExportOptions, progress) -> list[dict]:
        """Read the whole site, space by space; return the spaces that could not be read."""
        missing: list[dict] = []
        client: ConfluenceCloud = self.client()
        files = self.open_spool()
        try:
            for n, space in enumerate(client.spaces()):
                personal = space.get("type") == "personal"
                if personal and not options.include_personal_spaces:
                    continue
                part = _SpacePart(self._spool / f"space-{n}", self.content_types)
                try:
                    self._read_space(client, space, part, prefix, options, progress)
                except SiteAuthError:
                    part.discard()
                    raise
                except SiteError as exc:
                    part.discard()
                    missing.append({"what": f"space {space['key']}", "reason": str(exc)})
                    continue
                part.append_to(files)
                for content_type, count in part.counts.items():
                    self.counts[content_type] = self.counts.get(content_type, 0) + count
                self.data_bytes += part.data_bytes
                self.attachment_bytes += part.attachment_bytes
                state = STATES.get(space.get("status") or "current", "active")
                self.states[state] = self.states.get(state, 0) + 1
                self.personal_spaces += personal
        finally:
            for f in files.values():
                f.close()
            client.http.close()
        return missing

    def _read_space(self, client, space: dict, part: _SpacePart, prefix, options, progress):
        key = space["key"]
        part.write(
            "spaces",
            {
                "key": key,
                "name": space["name"],
                "kind": "personal" if space.get("type") == "personal" else "global",
                "state": STATES.get(space.get("status") or "current", "active"),
                "homepage": space.get("homepageId"),
            },
        )
        progress(items=1)
        for kind, listing in (("page", client.pages), ("blogpost", client.blogposts)):
            batch: list[dict] = []
            for item in listing(space["id"]):
                batch.append(item)
                if len(batch) == BATCH:
                    self._read_batch(client, kind, key, batch, part, prefix, options, progress)
                    batch = []
            if batch:
                self._read_batch(client, kind, key, batch, part, prefix, options, progress)

    def _read_batch(self, client, kind, space_key, items, part, prefix, options, progress):
        """Labels, comments and attachments of a batch of pages, side by side; the rows are
        written here, in the listing's order."""
        found: dict[int, tuple] = {}

        def fetch(job: tuple[int, dict]) -> None:
            n, item = job
            labels = client.labels(kind, item["id"])
            comments = [(False, c) for c in client.comments(kind, item["id"], inline=False)]
            if kind == "page":
                comments += [(True, c) for c in client.comments(kind, item["id"], inline=True)]
            files = []
            if options.include_attachments:
                for attachment in client.attachments(kind, item["id"]):
                    files.append(
                        self._fetch_file(client, space_key, item, attachment, part, prefix)
                    )
            found[n] = (labels, comments, files)

        in_parallel(enumerate(items), work=fetch)
        for n, item in enumerate(items):
            labels, comments, files = found[n]
            version = item.get("version") or {}
            created = site_time(item.get("createdAt")) or _now()
            parent = item.get("parentId") if item.get("parentType") in (None, "page") else None
            part.write(
                "pages",
                {
                    "id": item["id"],
                    "space": space_key,
                    "kind": kind,
                    "title": item["title"],
                    "body": body_text(item),
                    "parent": parent if kind == "page" else None,
                    "version": int(version.get("number") or 1),
                    "state": STATES.get(item.get("status") or "current", "active"),
                    "labels": labels,
                    "created": created,
                    "updated": site_time(version.get("createdAt")) or created,
                },
            )
            progress(items=1)
            for inline, comment in comments:
                part.write(
                    "comments",
                    {
                        "page": item["id"],
                        "author": (comment.get("version") or {}).get("authorId") or "",
                        "body": body_text(comment),
                        "inline": inline,
                        "created": site_time((comment.get("version") or {}).get("createdAt"))
                        or created,
                    },
                )
                progress(items=1)
            for attachment, path, written in files:
                part.write(
                    "attachments",
                    {
                        "page": item["id"],
                        "space": space_key,
                        "name": attachment["title"],
                        "size": written.size,
                        "sha256": written.sha256,
                        "path": path,
                        "media_type": attachment.get("mediaType"),
                        "created": site_time(attachment.get("createdAt")) or created,
                    },
                )
                part.attachment_bytes += written.size
                progress(items=1, nbytes=written.size)

    def _fetch_file(self, client, space_key, item, attachment, part, prefix):
        """Download one attachment into the backup's storage; a file that cannot be read
        whole fails its space (SiteError)."""
        name = attachment["title"]
        path = backup_path(attachment["id"], name)
        what = f"{item['title']} / {name}"
        written, problem = self.download(
            lambda: client.attachment_chunks(item["id"], attachment["id"]), prefix + path, what
        )
        if written is None:
            raise SiteError(f"The attachment {what} could not be read: {problem['reason']}")
        with part.lock:
            part.stored.append(prefix + path)
        expected = attachment.get("fileSize")
        if expected is not None and written.size != expected:
            raise SiteError(
                f"The site sent {written.size} bytes of the attachment {what}, "
                f"which has {expected}."
            )
        return attachment, path, written


def _now() -> str:
    return datetime.now(UTC).isoformat()


__all__ = ["NOT_SETTABLE", "ConnectedConfluenceData"]

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
from backups.services.blobs import blobs_release

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

    def __init__(self, folder: Path, content_types, backup_id: int):
        self.folder = folder
        self.backup_id = backup_id
        folder.mkdir()
        self.files = {ct: (folder / f"{ct}.jsonl").open("wb") for ct in content_types}
        self.counts: dict[str, int] = {}
        self.data_bytes = 0
        self.attachment_bytes = 0
        self.pending: set[str] = set()  # files downloaded, not yet held by the backup
        self.held: list[str] = []  # the backup's paths this space's files hold
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
        """The space is left out (B5): its files' references go, and with them the copies
        only they held; a copy an earlier backup still holds stays (#16 item 2)."""
        self.close()
        for name in self.pending:
            storage.delete_object(name)
        blobs_release(backup_id=self.backup_id, paths=self.held)
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

    def prepare_backup(
        self, *, backup, prefix: str, options: ExportOptions, progress
    ) -> list[dict]:
        """Read the whole site, space by space; return the spaces that could not be read."""
        missing: list[dict] = []
        client: ConfluenceCloud = self.client()
        files = self.open_spool()
        try:
            for n, space in enumerate(client.spaces()):
                personal = space.get("type") == "personal"
                if personal and not options.include_personal_spaces:
                    continue
                part = _SpacePart(self._spool / f"space-{n}", self.content_types, backup.pk)
                try:
                    self._read_space(client, space, part, backup, options, progress)
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

    def _read_space(self, client, space: dict, part: _SpacePart, backup, options, progress):
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
                    self._read_batch(client, kind, key, batch, part, backup, options, progress)
                    batch = []
            if batch:
                self._read_batch(client, kind, key, batch, part, backup, options, progress)

    def _read_batch(self, client, kind, space_key, items, part, backup, options, progress):
        """Labels, comments and attachments of a batch of pages, side by side; the rows are
        written here, in the listing's order."""
        found: dict[int, tuple] = {}

        def fetch(job: tuple[int, dict]) -> None:
            n, item = job
            labels = client.labels(kind, item["id"])
            comments = [(False, c) for c in client.comments(kind, item["id"], inline=False)]
            if kind == "page":
                comments += [(True, c) for c in client.comments(kind, item["id"], inline=True)]
            listed = (
                list(client.attachments(kind, item["id"])) if options.include_attachments else []
            )
            found[n] = (labels, comments, listed)

        in_parallel(enumerate(items), work=fetch)
        files = self._hold_files(client, items, found, part, backup)
        for n, item in enumerate(items):
            labels, comments, _ = found[n]
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
            for attachment, path, sha256, size in files.get(n, ()):
                part.write(
                    "attachments",
                    {
                        "page": item["id"],
                        "space": space_key,
                        "name": attachment["title"],
                        "size": size,
                        "sha256": sha256,
                        "path": path,
                        "media_type": attachment.get("mediaType"),
                        "created": site_time(attachment.get("createdAt")) or created,
                    },
                )
                part.attachment_bytes += size
                progress(items=1, nbytes=size)

    def _hold_files(self, client, items, found, part, backup) -> dict[int, list[tuple]]:
        """The backup holds the attachments of a batch of pages (#16 item 2): a file whose
        id, version and size an earlier backup holds is not downloaded, the others are,
        side by side. By page: (attachment, path, SHA-256, size). A file that cannot be read
        whole fails its space (SiteError)."""
        entries = [
            (n, item, a, backup_path(a["id"], a["title"]), source_key(a))
            for n, item in enumerate(items)
            for a in found[n][2]
        ]
        known = self.held_before([e[4] for e in entries if e[4]])
        downloaded: dict[int, tuple] = {}

        def chunks(item, attachment):
            return lambda: client.attachment_chunks(item["id"], attachment["id"])

        def fetch(i: int) -> None:
            _, item, attachment, path, _ = entries[i]
            what = f"{item['title']} / {attachment['title']}"
            name = self.download_name(path)
            written, problem = self.download(chunks(item, attachment), name, what)
            if written is None:
                raise SiteError(f"The attachment {what} could not be read: {problem['reason']}")
            with part.lock:
                part.pending.add(name)
            expected = attachment.get("fileSize")
            if expected is not None and written.size != expected:
                raise SiteError(
                    f"The site sent {written.size} bytes of the attachment {what}, "
                    f"which has {expected}."
                )
            downloaded[i] = (name, written)

        in_parallel([i for i, e in enumerate(entries) if e[4] not in known], work=fetch)
        files: dict[int, list[tuple]] = {}
        for i, (n, item, attachment, path, skey) in enumerate(entries):
            if i in downloaded:
                name, written = downloaded[i]
                part.pending.discard(name)  # held now, or deleted by adopt if it fails
                self.adopt(backup, path, skey, name, written)
                sha256, size = written.sha256, written.size
            else:
                what = f"{item['title']} / {attachment['title']}"
                try:
                    self.keep(backup, path, skey, known[skey], chunks(item, attachment), what)
                except SiteAuthError:
                    raise
                except SiteError as exc:
                    raise SiteError(f"The attachment {what} could not be read: {exc}")
                sha256, size = known[skey]
            part.held.append(path)
            files.setdefault(n, []).append((attachment, path, sha256, size))
        return files


def source_key(attachment: dict) -> str | None:
    """A Confluence attachment's identity on its site: a new version of a file keeps its id,
    so the id, version number and size name its bytes (#16 item 2)."""
    number = (attachment.get("version") or {}).get("number")
    if attachment.get("id") is None or number is None or attachment.get("fileSize") is None:
        return None
    return f"confluence:{attachment['id']}:v{number}:{attachment['fileSize']}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


__all__ = ["NOT_SETTABLE", "ConnectedConfluenceData"]

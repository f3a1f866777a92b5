"""A connected Jira Cloud site as a product's home (SPEC §8, C4, C5).

A backup reads the site once, through the Jira client (backups/connectors/jira.py), into a
spool: one JSON-lines file per content type in a temporary folder, and each attachment
streamed straight into the backup's storage with its SHA-256 computed on the way. The backup
engine then reads the spool like any product's rows, so the backup format, the manifest and
everything after (files, downloads, restores) are the same as for an embedded product (C5).
Memory stays flat: one page of the API at a time, files on disk.

An item still unreadable after the client's retries (an issue's comments, an attachment, a
project's issue list) is left out and named in the backup's missing list: the backup is
INCOMPLETE (B5). Bad credentials or a lost permission stop the backup: FAILED, saying what to
fix.
"""

import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import orjson

from backups import storage
from backups.connectors.adf import adf_to_text
from backups.connectors.http import SiteAuthError, SiteError
from backups.connectors.jira import JiraCloud, project_state
from backups.credentials import CredentialError
from backups.services.errors import Refused

from .base import (
    AttachmentFile,
    ContentSummary,
    ExportOptions,
    ImportOptions,
    ImportReport,
    ProductData,
    RowSource,
    backup_path,
)
from .jira_cloud_restore import NOT_SETTABLE, SiteRestore
from .parallel import in_parallel

# Fields that go to their own entities files, or that the row names by key.
SEPARATE_FIELDS = ("comment", "attachment", "project")
DOWNLOAD_ATTEMPTS = 3  # tries of one attachment transfer
DOWNLOAD_BATCH = 32  # attachments downloaded side by side before their rows are written


def jira_time(value: str | None) -> str | None:
    """Jira's times (2026-11-29T19:20:00.000+0000) as ISO 8601 with a colon in the offset."""
    if not value:
        return value
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").isoformat()
    except ValueError:
        return datetime.fromisoformat(value).isoformat()


class ConnectedJiraData(SiteRestore, ProductData):
    kind = "jira"
    content_types = ("projects", "issues", "comments", "attachments")
    # The engine counts items while the site is read (prepare_backup), not again when the
    # spool is written out.
    counts_items_in_prepare = True

    def __init__(self, product, connection, client_factory: Callable[[], JiraCloud]):
        super().__init__(product)
        self.connection = connection
        self._client_factory = client_factory
        self._spool: Path | None = None
        self.counts: dict[str, int] = {}
        self.attachment_bytes = 0
        self.states: dict[str, int] = {}

    # --- what is there -------------------------------------------------------------------

    def summary(self) -> ContentSummary:
        """What the site held at its last backup (never a call to the site: pages show it)."""
        stored = self.connection.content_summary or {}
        return ContentSummary(
            kind=self.kind,
            containers_by_state=dict(stored.get("containers_by_state") or {}),
            items=stored.get("items", 0),
            comments=stored.get("comments", 0),
            attachments=stored.get("attachments", 0),
            attachment_bytes=stored.get("attachment_bytes", 0),
            data_bytes=stored.get("data_bytes", 0),
        )

    def live_summary(self) -> ContentSummary:
        """R6 for a restore into the site: its projects in every state, asked now. (Issues
        live in projects: a site without projects has none.)"""
        states: dict[str, int] = {}
        try:
            client = self._client_factory()
            try:
                for project in client.projects():
                    state = project_state(project)
                    states[state] = states.get(state, 0) + 1
            finally:
                client.http.close()
        except (SiteError, CredentialError, Refused) as exc:
            return ContentSummary(kind=self.kind, unreachable=str(exc))
        return ContentSummary(kind=self.kind, containers_by_state=states)

    def is_empty(self) -> bool:
        # R6 on the site itself: a project in any state (live, archived, in the trash).
        client = self._client_factory()
        try:
            return next(iter(client.projects()), None) is None
        finally:
            client.http.close()

    # --- backup: read the site into the spool --------------------------------------------

    def prepare_backup(
        self, *, prefix: str, options: ExportOptions, progress: Callable[..., None]
    ) -> list[dict]:
        """Read the whole site; return what could not be read (the missing list)."""
        self._spool = Path(tempfile.mkdtemp(prefix="backupsite-spool-"))
        missing: list[dict] = []
        client = self._client_factory()
        files = {ct: (self._spool / f"{ct}.jsonl").open("wb") for ct in self.content_types}
        data_bytes = 0

        def write(ct: str, row: dict) -> None:
            nonlocal data_bytes
            line = orjson.dumps(row) + b"\n"
            files[ct].write(line)
            self.counts[ct] = self.counts.get(ct, 0) + 1
            if ct in ("issues", "comments"):
                data_bytes += len(line)

        pending: list[tuple[str, dict]] = []  # attachments to download: (issue key, metadata)

        def download_pending() -> None:
            self._download_all(client, pending, prefix, write, missing, progress)
            pending.clear()

        try:
            for project in client.projects():
                state = project_state(project)
                self.states[state] = self.states.get(state, 0) + 1
                write("projects", {"key": project["key"], "name": project["name"], "state": state})
                progress(items=1)
                try:
                    for issue in client.issues(project["key"]):
                        self._backup_issue(client, issue, project["key"], write, missing, progress)
                        if options.include_attachments:
                            pending.extend(
                                (issue["key"], a) for a in issue["fields"].get("attachment") or []
                            )
                            if len(pending) >= DOWNLOAD_BATCH:
                                download_pending()
                except SiteAuthError:
                    raise
                except SiteError as exc:
                    missing.append({"what": f"project {project['key']}", "reason": str(exc)})
                download_pending()
        finally:
            for f in files.values():
                f.close()
            client.http.close()
        self.data_bytes = data_bytes
        return missing

    def _backup_issue(self, client, issue, project_key, write, missing, progress):
        fields = issue["fields"]
        key = issue["key"]
        write(
            "issues",
            {
                "key": key,
                "project": project_key,
                "summary": fields.get("summary") or "",
                "description": adf_to_text(fields.get("description")),
                "status": (fields.get("status") or {}).get("name", ""),
                "fields": {k: v for k, v in fields.items() if k not in SEPARATE_FIELDS},
                "created": jira_time(fields.get("created")),
                "updated": jira_time(fields.get("updated")),
            },
        )
        progress(items=1)
        inline = fields.get("comment") or {}
        comments = inline.get("comments")
        try:
            if comments is None or len(comments) < inline.get("total", 0):
                comments = client.comments(key) if inline.get("total", 1) else []
            for comment in comments:
                author = comment.get("author") or {}
                write(
                    "comments",
                    {
                        "issue": key,
                        "author": author.get("displayName") or author.get("accountId") or "",
                        "author_account_id": author.get("accountId"),
                        "body": adf_to_text(comment.get("body")),
                        "body_adf": comment.get("body"),
                        "created": jira_time(comment["created"]),
                    },
                )
                progress(items=1)
        except SiteAuthError:
            raise
        except SiteError as exc:
            missing.append({"what": f"{key} comments", "reason": str(exc)})

    def _download_all(self, client, jobs, prefix, write, missing, progress) -> None:
        """Download attachments side by side (WORKERS at once) into the backup's storage;
        record them here, in this thread (the spool, the missing list, progress)."""
        results: dict[int, tuple] = {}

        def fetch(job: tuple[int, str, dict]) -> None:
            n, key, attachment = job
            name = attachment.get("filename") or "file"
            path = backup_path(int(attachment["id"]), name)
            problems: list[dict] = []
            written = self._download(client, attachment["id"], prefix + path, key, name, problems)
            results[n] = (key, attachment, name, path, written, problems)

        numbered = [(n, key, a) for n, (key, a) in enumerate(jobs)]
        in_parallel(numbered, key=lambda job: job[0], work=fetch)
        for n in range(len(numbered)):
            key, attachment, name, path, written, problems = results[n]
            missing.extend(problems)
            if written is None:
                continue
            if attachment.get("size") is not None and written.size != attachment["size"]:
                storage.delete_object(prefix + path)
                missing.append(
                    {
                        "what": f"{key} / {name}",
                        "reason": f"the site sent {written.size} bytes of {attachment['size']}",
                    }
                )
                continue
            write(
                "attachments",
                {
                    "issue": key,
                    "name": name,
                    "size": written.size,
                    "sha256": written.sha256,
                    "path": path,
                    "created": jira_time(attachment.get("created")),
                },
            )
            self.attachment_bytes += written.size
            progress(items=1, nbytes=written.size)

    def _download(self, client, attachment_id, name_in_storage, key, name, missing):
        """Stream one attachment into the backup's storage; a transfer cut off midway is
        started again (the client retries only until the first byte). None when it could
        not be read: then it is named in `missing`."""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                return storage.write_chunks(
                    name_in_storage, client.attachment_chunks(attachment_id)
                )
            except SiteAuthError:
                storage.delete_object(name_in_storage)
                raise
            except SiteError as exc:
                storage.delete_object(name_in_storage)  # a partial copy may be there
                if attempt == DOWNLOAD_ATTEMPTS:
                    missing.append({"what": f"{key} / {name}", "reason": str(exc)})
        return None

    def rows(self, content_type: str, options: ExportOptions) -> Iterator[dict]:
        if self._spool is None:
            raise RuntimeError("prepare_backup() reads the site first")
        with (self._spool / f"{content_type}.jsonl").open("rb") as f:
            for line in f:
                yield orjson.loads(line)

    def attachments(self, options: ExportOptions) -> Iterator[tuple[dict, AttachmentFile]]:
        if not options.include_attachments or self._spool is None:
            return
        for row in self.rows("attachments", options):
            yield (
                row,
                AttachmentFile(
                    row["path"],
                    "",
                    row["size"],
                    row["sha256"],
                    row["issue"],
                    row["name"],
                    stored=True,
                ),
            )

    def finish_backup(self, *, completed: bool) -> None:
        """Drop the spool; after a finished backup, keep what the site held for the pages."""
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None
        if not completed:
            return
        from django.utils import timezone

        from backups.models import SiteConnection

        summary = {
            "containers_by_state": self.states,
            "items": self.counts.get("issues", 0),
            "comments": self.counts.get("comments", 0),
            "attachments": self.counts.get("attachments", 0),
            "attachment_bytes": self.attachment_bytes,
            "data_bytes": getattr(self, "data_bytes", 0),
        }
        SiteConnection.objects.filter(pk=self.connection.pk).update(
            content_summary=summary, summary_at=timezone.now()
        )

    def source_description(self) -> dict:
        """C5: where the backup came from, for its manifest."""
        return {
            "home": "connected",
            "site_url": self.connection.site_url,
            "account": self.connection.account_name,
        }

    def _import(self, source: RowSource, options: ImportOptions, report: ImportReport) -> None:
        raise SiteError("A connected site is restored with restore_into_site().")


__all__ = ["NOT_SETTABLE", "ConnectedJiraData", "jira_time"]

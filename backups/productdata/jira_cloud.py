"""A connected Jira Cloud site as a product's home (SPEC §8, C4, C5).

A backup reads the site once, through the Jira client (backups/connectors/jira.py), into the
spool of connected.py; the engine writes the backup from it like any product's rows. An
attachment an earlier backup of the product holds (same id, size and time) is not downloaded
again: Jira attachments never change in place (#16 item 2).

An item still unreadable after the client's retries (an issue's comments, an attachment, a
project's issue list) is left out and named in the backup's missing list: the backup is
INCOMPLETE (B5). Bad credentials or a lost permission stop the backup: FAILED, saying what to
fix.
"""

from collections.abc import Callable, Iterator
from datetime import datetime

import orjson

from backups import storage
from backups.connectors.adf import adf_to_text
from backups.connectors.http import SiteAuthError, SiteError
from backups.connectors.jira import project_state

from .attachments import backup_path
from .base import ExportOptions
from .connected import ConnectedData
from .jira_cloud_restore import NOT_SETTABLE, SiteRestore
from .parallel import in_parallel

# Fields that go to their own entities files, or that the row names by key.
SEPARATE_FIELDS = ("comment", "attachment", "project")
DOWNLOAD_BATCH = 32  # attachments downloaded side by side before their rows are written


def jira_time(value: str | None) -> str | None:
    """Jira's times (2026-11-29T19:20:00.000+0000) as ISO 8601 with a colon in the offset."""
    if not value:
        return value
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").isoformat()
    except ValueError:
        return datetime.fromisoformat(value).isoformat()


class ConnectedJiraData(SiteRestore, ConnectedData):
    kind = "jira"
    content_types = ("projects", "issues", "comments", "attachments")
    items_type = "issues"
    owner_field = "issue"

    def container_states(self, client) -> Iterator[str]:
        """R6: the site's projects in every state, asked now. (Issues live in projects: a
        site without projects has none.)"""
        return (project_state(project) for project in client.projects())

    def is_empty(self) -> bool:
        # R6 on the site itself: a project in any state (live, archived, in the trash).
        client = self._client_factory()
        try:
            return next(iter(client.projects()), None) is None
        finally:
            client.http.close()

    # --- backup: read the site into the spool --------------------------------------------

    def prepare_backup(
        self, *, backup, prefix: str, options: ExportOptions, progress: Callable[..., None]
    ) -> list[dict]:
        """Read the whole site; return what could not be read (the missing list)."""
        missing: list[dict] = []
        client = self._client_factory()
        files = self.open_spool()
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
            self._download_all(client, backup, pending, write, missing, progress)
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

    def _download_all(self, client, backup, jobs, write, missing, progress) -> None:
        """The attachments of a batch of issues: those unchanged since an earlier backup held
        by reference (#16 item 2), the others downloaded side by side (WORKERS at once) into
        blob objects of their own; recorded here, in this thread (the database, the spool,
        the missing list, progress)."""
        entries = []
        for key, attachment in jobs:
            name = attachment.get("filename") or "file"
            path = backup_path(int(attachment["id"]), name)
            entries.append((key, attachment, name, path, source_key(attachment)))
        known = self.held_before([e[4] for e in entries if e[4]])
        results: dict[int, tuple] = {}  # downloaded, not yet held: deleted if this stops

        def fetch(n: int) -> None:
            key, attachment, name, path, _ = entries[n]
            target = self.download_name(path)
            written, problem = self.download(
                lambda: client.attachment_chunks(attachment["id"]), target, f"{key} / {name}"
            )
            results[n] = (target, written, problem)

        try:
            in_parallel(
                [n for n, e in enumerate(entries) if e[4] not in known],
                work=fetch,
            )
            for n, (key, attachment, name, path, skey) in enumerate(entries):
                what = f"{key} / {name}"
                if n in results:
                    target, written, problem = results.pop(n)
                    if written is None:
                        missing.append(problem)
                        continue
                    if attachment.get("size") is not None and written.size != attachment["size"]:
                        storage.delete_object(target)
                        missing.append(
                            {
                                "what": what,
                                "reason": f"the site sent {written.size} bytes of "
                                f"{attachment['size']}",
                            }
                        )
                        continue
                    self.adopt(backup, path, skey, target, written)
                    sha256, size = written.sha256, written.size
                else:
                    sha256, size = known[skey]
                    try:
                        self.keep(
                            backup,
                            path,
                            skey,
                            known[skey],
                            lambda a=attachment: client.attachment_chunks(a["id"]),
                            what,
                        )
                    except SiteAuthError:
                        raise
                    except SiteError as exc:
                        missing.append({"what": what, "reason": str(exc)})
                        continue
                write(
                    "attachments",
                    {
                        "issue": key,
                        "name": name,
                        "size": size,
                        "sha256": sha256,
                        "path": path,
                        "created": jira_time(attachment.get("created")),
                    },
                )
                self.attachment_bytes += size
                progress(items=1, nbytes=size)
        finally:
            for target, written, _ in results.values():
                if written is not None:
                    storage.delete_object(target)


def source_key(attachment: dict) -> str | None:
    """A Jira attachment's identity on its site: its bytes never change (a new upload is a
    new id), so the id, with its size and time, names them (#16 item 2)."""
    if attachment.get("id") is None or attachment.get("size") is None:
        return None
    return f"jira:{attachment['id']}:{attachment['size']}:{attachment.get('created') or ''}"


__all__ = ["NOT_SETTABLE", "ConnectedJiraData", "jira_time"]

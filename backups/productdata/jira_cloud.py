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

import queue
import shutil
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import orjson

from backups import storage
from backups.connectors.adf import adf_to_text, text_to_adf
from backups.connectors.http import SiteAuthError, SiteError
from backups.connectors.jira import BULK, JiraCloud, project_state
from backups.credentials import CredentialError
from backups.services.errors import Refused

from .base import (
    AttachmentFile,
    AttachmentIntegrityError,
    ContentSummary,
    ExportOptions,
    ImportOptions,
    ImportReport,
    ProductData,
    RowSource,
    backup_path,
)
from .base import _HashingReader as HashingReader

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


class ConnectedJiraData(ProductData):
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

    # --- restore into the site -----------------------------------------------------------

    def restore_into_site(self, source: RowSource, options: ImportOptions) -> ImportReport:
        """C6, C7: write a Jira backup into this (empty) site through its API.

        Projects with their keys; issues in key order, so each gets its original key (a gap
        in the numbering is filled with a placeholder that is deleted again); comments;
        attachments (their bytes checked against the backup's SHA-256 on the way); then the
        projects' states. What the public API cannot set is reported. If anything fails, the
        projects created are deleted (with their issues) and the error goes on.
        """
        report = ImportReport(on_progress=options.on_progress)
        client = self._client_factory()
        created: list[str] = []
        try:
            problem = self.publish_problem_on_site(client)
            if problem:
                raise SiteError(problem)
            lead = client.myself().account_id
            states = {}
            for row in source.rows("projects"):
                client.create_project(key=row["key"], name=row["name"], lead_account_id=lead)
                created.append(row["key"])
                states[row["key"]] = row["state"]
                report.add(report.restored, "projects")
            keys = self._restore_issues(client, source, report)
            self._restore_statuses_and_links(client, source, keys, report)
            self._restore_comments(client, source, report)
            self._restore_attachments(client, source, options, report)
            for key, state in states.items():
                if state == "archived":
                    client.archive_project(key)
                elif state == "trashed":
                    client.trash_project(key)
        except BaseException:
            _remove_created(client, created, report)
            raise
        finally:
            client.http.close()
        report.not_restored = NOT_SETTABLE  # type: ignore[attr-defined]
        return report

    def publish_problem_on_site(self, client: JiraCloud) -> str | None:
        # R6/C7 just before writing: a project in any state (live, archived, in the trash).
        found = [p["key"] for p in client.projects()]
        if not found:
            return None
        return (
            f"{self.product} is no longer empty: the site has {len(found)} project(s) "
            f"({', '.join(found[:5])}{', …' if len(found) > 5 else ''}). A Jira restore needs "
            "an empty destination; nothing was written."
        )

    def _restore_issues(self, client: JiraCloud, source: RowSource, report: ImportReport):
        # Key order within each project. The rows are held as (number, row) per project:
        # Jira numbers a project's issues in creation order, so the order must be known first.
        by_project: dict[str, list[tuple[int, dict]]] = {}
        for row in source.rows("issues"):
            number = int(row["key"].rsplit("-", 1)[1])
            by_project.setdefault(row["project"], []).append((number, row))
        placeholders: list[str] = []
        for project, rows in by_project.items():
            rows.sort(key=lambda pair: pair[0])
            batch: list[tuple[str | None, dict]] = []  # (expected key or None, fields)
            next_number = 1
            for number, row in rows:
                while next_number < number:  # a gap: held by a placeholder, deleted below
                    batch.append((None, placeholder_fields(project)))
                    next_number += 1
                    if len(batch) == BULK:
                        _create_batch(client, batch, placeholders, report)
                batch.append((row["key"], issue_fields(row)))
                next_number += 1
                if len(batch) == BULK:
                    _create_batch(client, batch, placeholders, report)
            if batch:
                _create_batch(client, batch, placeholders, report)
        in_parallel(placeholders, key=lambda k: k, work=client.delete_issue)
        return {row["key"] for rows in by_project.values() for _, row in rows}

    def _restore_statuses_and_links(self, client, source, keys: set[str], report) -> None:
        """Statuses reached by the site's transitions (a status its workflow cannot reach is
        reported); links between issues of the backup, made once, from their outward side."""
        lock = threading.Lock()
        unreached: list[str] = []
        unlinked: list[str] = []
        initial: dict[str, str | None] = {}  # project -> the status its new issues start in

        def first_status(row: dict) -> str | None:
            # New issues of a project start in one status: asked once, of its first issue.
            with lock:
                if row["project"] not in initial:
                    initial[row["project"]] = client.status_of(row["key"])
                return initial[row["project"]]

        def restore(row: dict) -> None:
            fields = row.get("fields") or {}
            wanted = (fields.get("status") or {}).get("name") or row.get("status")
            if wanted and wanted != first_status(row):
                move = next(
                    (t for t in client.transitions(row["key"]) if t["to"].get("name") == wanted),
                    None,
                )
                if move is not None:
                    client.transition(row["key"], move["id"])
                elif client.status_of(row["key"]) != wanted:  # not already there
                    with lock:
                        unreached.append(f"{row['key']} ({wanted})")
            for link in fields.get("issuelinks") or []:
                other = (link.get("outwardIssue") or {}).get("key")
                kind = (link.get("type") or {}).get("name")
                if not other or not kind:
                    continue  # the inward side: made from the other issue
                if other not in keys:
                    with lock:
                        unlinked.append(f"{row['key']} {kind} {other}")
                    continue
                client.link_issues(type_name=kind, inward_key=row["key"], outward_key=other)
                with lock:
                    report.add(report.restored, "issue links")

        in_parallel(source.rows("issues"), key=lambda r: r["key"], work=restore)
        report.unreached_statuses = sorted(unreached)  # type: ignore[attr-defined]
        report.links_left_out = sorted(unlinked)  # type: ignore[attr-defined]

    def _restore_comments(self, client: JiraCloud, source: RowSource, report: ImportReport):
        # One issue's comments in their order (one worker each issue); issues side by side.
        lock = threading.Lock()

        def post(row: dict) -> None:
            client.add_comment(row["issue"], row.get("body_adf") or text_to_adf(row["body"]))
            with lock:
                report.add(report.restored, "comments")

        in_parallel(source.rows("comments"), key=lambda r: r["issue"], work=post)

    def _restore_attachments(self, client, source, options, report) -> None:
        lock = threading.Lock()

        def upload(row: dict) -> None:
            with source.open_attachment(row["path"]) as fileobj:
                reader = HashingReader(fileobj)
                client.add_attachment(row["issue"], row["name"], reader)
            if reader.sha256.hexdigest() != row["sha256"] or reader.size != row["size"]:
                raise AttachmentIntegrityError(
                    f"Attachment {row['name']!r} of {row['issue']} does not match its checksum "
                    f"in the backup ({row['size']} bytes expected, {reader.size} read)."
                )
            with lock:
                report.attachment_bytes += reader.size
                report.add(report.restored, "attachments")

        rows = source.rows("attachments")
        if not options.include_attachments:
            for _ in rows:
                report.add(report.skipped, "attachments")
            return
        in_parallel(rows, key=lambda r: r["issue"], work=upload)

    def _import(self, source: RowSource, options: ImportOptions, report: ImportReport) -> None:
        raise SiteError("A connected site is restored with restore_into_site().")


# What Jira's public REST API does not let a restore set: listed on the review page before a
# restore into a connected site starts, and in its report (C6).
NOT_SETTABLE = [
    "Who created issues and comments: the site records the connection's account.",
    "When issues and comments were created and last updated: the site records the restore's time.",
    "Statuses the site's workflow cannot reach from its first status: each one is named in the "
    "report (the others are reached by the site's transitions).",
    "Custom fields and assignees: kept in the backup, not written back.",
]


def _create_batch(client: JiraCloud, batch: list, placeholders: list, report) -> None:
    """Create a batch of issues in one call; check each got the key it must have."""
    made = client.create_issues([fields for _, fields in batch])
    for (expected, _), created in zip(batch, made, strict=True):
        if expected is None:
            placeholders.append(created["key"])
        elif created["key"] != expected:
            raise SiteError(
                f"The site gave the issue {expected} the key {created['key']}: the restore "
                "stops, so that no issue ends up under another's key."
            )
    report.add(report.restored, "issues", sum(1 for expected, _ in batch if expected))
    batch.clear()


WORKERS = 16  # calls to the site at once (SiteHTTP bounds them too: site_client gives 16)


def in_parallel(items, *, key, work, workers: int = WORKERS) -> None:
    """Run `work(item)` for every item on `workers` threads; items with the same `key` go to
    the same thread, in their order. Memory stays flat (bounded queues); the first error
    stops the rest and is raised here."""
    queues = [queue.Queue(maxsize=64) for _ in range(workers)]
    failures: list[BaseException] = []
    stop = threading.Event()

    def run(q: queue.Queue) -> None:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if stop.is_set():
                continue
            try:
                work(item)
            except BaseException as exc:
                failures.append(exc)
                stop.set()

    threads = [threading.Thread(target=run, args=(q,), daemon=True) for q in queues]
    for t in threads:
        t.start()
    try:
        for item in items:
            if stop.is_set():
                break
            queues[zlib.crc32(str(key(item)).encode()) % workers].put(item)
    finally:
        for q in queues:
            q.put(_DONE)
        for t in threads:
            t.join()
    if failures:
        raise failures[0]


_DONE = object()


def placeholder_fields(project: str) -> dict:
    return {
        "project": {"key": project},
        "summary": "Placeholder (backupsite restore keeps issue keys)",
        "issuetype": {"name": "Task"},
    }


def issue_fields(row: dict) -> dict:
    """The fields a restore sets on a new issue, from a backup row of either home."""
    source = row.get("fields") or {}
    description = source.get("description")
    if not isinstance(description, dict) and row.get("description"):
        description = text_to_adf(row["description"])
    fields = {
        "project": {"key": row["project"]},
        "summary": row["summary"] or row["key"],
        "issuetype": {"name": (source.get("issuetype") or {}).get("name") or "Task"},
    }
    if isinstance(description, dict):
        fields["description"] = description
    if isinstance(source.get("labels"), list):
        fields["labels"] = source["labels"]
    if isinstance(source.get("priority"), dict) and source["priority"].get("name"):
        fields["priority"] = {"name": source["priority"]["name"]}
    return fields


def _remove_created(client: JiraCloud, keys: list[str], report: ImportReport) -> None:
    """C7: a failed restore deletes the projects it created (their issues go with them)."""
    for key in reversed(keys):
        try:
            client.delete_project(key)
        except SiteError:
            report.cleanup_failed = key  # type: ignore[attr-defined]

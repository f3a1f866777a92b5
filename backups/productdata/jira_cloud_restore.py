"""Restores into a connected Jira Cloud site through its API (SPEC C6, C7).

A mixin of ConnectedJiraData (jira_cloud.py), which keeps the backup side: the two halves of
a connected site's data layer, one module each.
"""

import threading

from backups.connectors.adf import text_to_adf
from backups.connectors.http import SiteError
from backups.connectors.jira import BULK, JiraCloud

from .base import ImportOptions, ImportReport, RowSource
from .connected import upload_attachments
from .parallel import in_parallel


class SiteRestore:
    """restore_into_site() for ConnectedJiraData (needs its `product` and `_client_factory`)."""

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
        report.not_restored = (  # type: ignore[attr-defined]
            NOT_SETTABLE
            + [f"Status not reachable by a transition: {s}" for s in report.unreached_statuses]
            + [f"Link to an issue outside the backup: {link}" for link in report.links_left_out]
        )
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
        in_parallel(placeholders, work=client.delete_issue)
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

        in_parallel(source.rows("issues"), work=restore)
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
        upload_attachments(
            source,
            options,
            report,
            owner=lambda row: row["issue"],
            upload=client.add_attachment,
        )


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

"""Jira: projects, issues, comments and attachments as rows, and back.

Rows refer to each other by key (an issue names its project's key, a comment its issue's key),
never by database id: an import then needs no id map in memory, however many issues there are.
It looks up each batch's keys in the destination instead.
"""

from collections.abc import Iterator

from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, Length

from backups.models import JiraAttachment, JiraComment, JiraIssue, JiraProject, Product

from .base import (
    BATCH_SIZE,
    AttachmentFile,
    ContentSummary,
    ExportOptions,
    ImportOptions,
    ImportReport,
    RowSource,
    backup_path,
    batched,
    delete_files,
    iso,
    parse_dt,
    store_attachment,
)


class JiraData:
    kind = "jira"
    content_types = ("projects", "issues", "comments", "attachments")

    def __init__(self, product: Product):
        assert product.kind == self.kind, product.kind
        self.product = product

    # --- what is there -------------------------------------------------------------------

    def summary(self) -> ContentSummary:
        p = self.product
        by_state = dict(
            JiraProject.objects.filter(product=p)
            .values_list("state")
            .annotate(n=Count("id"))
            .order_by()
        )
        issues = JiraIssue.objects.filter(product=p).aggregate(
            n=Count("id"),
            text=Coalesce(Sum(Length("summary") + Length("description")), 0),
        )
        comments = JiraComment.objects.filter(issue__product=p).aggregate(
            n=Count("id"), text=Coalesce(Sum(Length("body")), 0)
        )
        files = JiraAttachment.objects.filter(product=p).aggregate(
            n=Count("id"), size=Coalesce(Sum("size"), 0)
        )
        return ContentSummary(
            kind=self.kind,
            containers_by_state=by_state,
            items=issues["n"],
            comments=comments["n"],
            attachments=files["n"],
            attachment_bytes=files["size"],
            data_bytes=issues["text"] + comments["text"],
        )

    def is_empty(self) -> bool:
        # R6: a project or an issue in any state (active, archived, trashed) is content.
        p = self.product
        return not (
            JiraProject.objects.filter(product=p).exists()
            or JiraIssue.objects.filter(product=p).exists()
        )

    # --- export --------------------------------------------------------------------------

    def rows(self, content_type: str, options: ExportOptions) -> Iterator[dict]:
        p = self.product
        if content_type == "projects":
            for key, name, state in (
                JiraProject.objects.filter(product=p)
                .order_by("id")
                .values_list("key", "name", "state")
                .iterator(BATCH_SIZE)
            ):
                yield {"key": key, "name": name, "state": state}
        elif content_type == "issues":
            qs = (
                JiraIssue.objects.filter(product=p)
                .order_by("id")
                .values_list(
                    "key",
                    "project__key",
                    "summary",
                    "description",
                    "status",
                    "fields",
                    "created",
                    "updated",
                )
            )
            for key, project, summary, description, status, fields, created, updated in qs.iterator(
                BATCH_SIZE
            ):
                yield {
                    "key": key,
                    "project": project,
                    "summary": summary,
                    "description": description,
                    "status": status,
                    "fields": fields,
                    "created": iso(created),
                    "updated": iso(updated),
                }
        elif content_type == "comments":
            qs = (
                JiraComment.objects.filter(issue__product=p)
                .order_by("id")
                .values_list("issue__key", "author", "body", "created")
            )
            for issue, author, body, created in qs.iterator(BATCH_SIZE):
                yield {"issue": issue, "author": author, "body": body, "created": iso(created)}
        elif content_type == "attachments":
            for row, _ in self.attachments(options):
                yield row
        else:
            raise ValueError(f"Unknown Jira content type {content_type!r}")

    def attachments(self, options: ExportOptions) -> Iterator[tuple[dict, AttachmentFile]]:
        if not options.include_attachments:
            return
        qs = (
            JiraAttachment.objects.filter(product=self.product)
            .order_by("id")
            .values_list("id", "issue__key", "name", "size", "sha256", "file", "created")
        )
        for pk, issue, name, size, sha256, storage_name, created in qs.iterator(BATCH_SIZE):
            path = backup_path(pk, name)
            row = {
                "issue": issue,
                "name": name,
                "size": size,
                "sha256": sha256,
                "path": path,
                "created": iso(created),
            }
            yield row, AttachmentFile(path, storage_name, size, sha256, issue, name)

    # --- import --------------------------------------------------------------------------

    def import_content(self, source: RowSource, options: ImportOptions) -> ImportReport:
        """Write the source's rows into this (empty) product, all or nothing.

        One transaction: a failure rolls every row back, and the attachment files already
        copied are deleted before the error goes on.
        """
        report = ImportReport(on_progress=options.on_progress)
        try:
            with transaction.atomic():
                self._import(source, options, report)
        except BaseException:
            delete_files(report.written_files)
            raise
        return report

    def _import(self, source: RowSource, options: ImportOptions, report: ImportReport) -> None:
        p = self.product
        projects = JiraProject.objects.bulk_create(
            JiraProject(product=p, key=r["key"], name=r["name"], state=r["state"])
            for r in source.rows("projects")
        )
        report.add(report.restored, "projects", len(projects))
        project_ids = {pr.key: pr.id for pr in projects}

        for batch in batched(source.rows("issues")):
            JiraIssue.objects.bulk_create(
                [
                    JiraIssue(
                        product=p,
                        project_id=project_ids[r["project"]],
                        key=r["key"],
                        summary=r["summary"],
                        description=r["description"],
                        status=r["status"],
                        fields=r["fields"],
                        created=parse_dt(r["created"]),
                        updated=parse_dt(r["updated"]),
                    )
                    for r in batch
                ]
            )
            report.add(report.restored, "issues", len(batch))

        for batch in batched(source.rows("comments")):
            issue_ids = self._issue_ids(r["issue"] for r in batch)
            JiraComment.objects.bulk_create(
                [
                    JiraComment(
                        issue_id=issue_ids[r["issue"]],
                        author=r["author"],
                        body=r["body"],
                        created=parse_dt(r["created"]),
                    )
                    for r in batch
                ]
            )
            report.add(report.restored, "comments", len(batch))

        for batch in batched(source.rows("attachments")):
            if not options.include_attachments:
                report.add(report.skipped, "attachments", len(batch))
                continue
            issue_ids = self._issue_ids(r["issue"] for r in batch)
            objs = []
            for r in batch:
                stored = store_attachment(
                    folder=options.file_folder or f"attachments/{p.id}",
                    name=r["name"],
                    source=lambda path=r["path"]: source.open_attachment(path),
                    expected_sha256=r["sha256"],
                    expected_size=r["size"],
                    report=report,
                )
                objs.append(
                    JiraAttachment(
                        product=p,
                        issue_id=issue_ids[r["issue"]],
                        name=r["name"],
                        size=r["size"],
                        sha256=r["sha256"],
                        file=stored,
                        created=parse_dt(r["created"]),
                    )
                )
            JiraAttachment.objects.bulk_create(objs)
            report.add(report.restored, "attachments", len(objs))

    def _issue_ids(self, keys) -> dict[str, int]:
        return dict(
            JiraIssue.objects.filter(product=self.product, key__in=set(keys)).values_list(
                "key", "id"
            )
        )

"""Jira: projects, issues, comments and attachments as rows, and back.

Rows refer to each other by key (an issue names its project's key, a comment its issue's key),
never by database id: an import then needs no id map in memory, however many issues there are.
It looks up each batch's keys in the destination instead.

A product's issues are those of its projects (`of_product`), never "the issues whose product
is this one": a restore writes its issues with the destination's product from the start (their
key is unique per product), under projects of its hidden staging product, and its publish
moves only the projects (#16: moving every issue was 30% of a restore on PostgreSQL). Until
then the destination shows none of them (R8).
"""

from collections.abc import Iterator
from contextlib import closing
from functools import partial

from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, Length

from backups import rules
from backups.models import JiraAttachment, JiraComment, JiraIssue, JiraProject, Product

from .attachments import export_attachments, import_attachments
from .base import (
    INSERT_SLICE,
    AttachmentFile,
    ContentSummary,
    ExportOptions,
    ImportOptions,
    ImportReport,
    KeysById,
    ProductData,
    RowSource,
    batched,
    delete_in_batches,
    export_paged,
    foreign_keys_checked_here,
    in_id_order,
    owned_rows,
    text_array,
)
from .jira_comments import CommentSlices, comments_joined_sqlite
from .parsed_rows import built_rows, parsers_started
from .slice_writer import slices_written, written_alongside
from .writes import model_slice_inserter, write_slices

# The text fields whose characters `summary` counts as data_bytes, per content type: an import
# adds them up as it writes (ImportReport.data_bytes).
SUMMED = {"issues": ("summary", "description"), "comments": ("body",)}


class JiraData(ProductData):
    kind = "jira"
    content_types = ("projects", "issues", "comments", "attachments")
    # The product a restore's staged issues are written with (`JiraIssue.product`, whose
    # (product, key) is unique): its destination's, set by the restore engine, so that the
    # publish moves the projects and not every issue. None: this product (an import, a
    # verification's trial restore).
    issues_product = None

    # --- what is there -------------------------------------------------------------------

    def summary(self) -> ContentSummary:
        p = self.product
        by_state = dict(
            JiraProject.objects.filter(product=p)
            .values_list("state")
            .annotate(n=Count("id"))
            .order_by()
        )
        issues = of_product(p).aggregate(
            n=Count("id"), text=Coalesce(Sum(_length(SUMMED["issues"])), 0)
        )
        comments = JiraComment.objects.filter(issue__project__product=p).aggregate(
            n=Count("id"), text=Coalesce(Sum(_length(SUMMED["comments"])), 0)
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
        return not (JiraProject.objects.filter(product=p).exists() or of_product(p).exists())

    # --- export --------------------------------------------------------------------------

    def rows(self, content_type: str, options: ExportOptions) -> Iterator[dict]:
        p = self.product
        if content_type == "projects":
            for key, name, state in export_paged(
                JiraProject.objects.filter(product=p), "key", "name", "state"
            ):
                yield {"key": key, "name": name, "state": state}
        elif content_type == "issues":
            projects = KeysById(JiraProject.objects.filter(product=p), "key")
            rows = export_paged(
                issues_in_id_order(p),
                "key",
                "project_id",
                "summary",
                "description",
                "status",
                "fields",
                "created",
                "updated",
            )
            for key, project, summary, description, status, fields, created, updated in rows:
                yield {
                    "key": key,
                    "project": projects[project],
                    "summary": summary,
                    "description": description,
                    "status": status,
                    "fields": fields,
                    "created": created,
                    "updated": updated,
                }
        elif content_type == "comments":
            comments, bounds = owned_rows(JiraComment, "issue", issues_in_id_order(p), "key")
            rows = export_paged(
                comments, "export_owner", "author", "body", "created", bounds=bounds, owned=True
            )
            for issue, author, body, created in rows:
                yield {"issue": issue, "author": author, "body": body, "created": created}
        elif content_type == "attachments":
            for row, _ in self.attachments(options):
                yield row
        else:
            raise ValueError(f"Unknown Jira content type {content_type!r}")

    def attachments(self, options: ExportOptions) -> Iterator[tuple[dict, AttachmentFile]]:
        if options.include_attachments:
            yield from export_attachments(
                JiraAttachment.objects.filter(product=self.product),
                owners={"issue": "issue__key"},
                reported="issue",
            )

    # --- import --------------------------------------------------------------------------

    def _import(self, source: RowSource, options: ImportOptions, report: ImportReport) -> None:
        # The issues' and the comments' rows are parsed by processes of their own, both
        # started now: their ~30 ms start passes while the projects go in (#16).
        with parsers_started(source, ("issues", "comments")) as parsers:
            self._import_rows(source, report, parsers)
        import_attachments(
            source,
            options,
            report,
            product=self.product,
            model=JiraAttachment,
            owner="issue",
            owner_ids=lambda rows: self._issue_ids(r["issue"] for r in rows),
        )

    def _import_rows(self, source: RowSource, report: ImportReport, parsers: dict) -> None:
        """Projects, issues and comments."""
        p = self.product
        issues_product = self._issues_product_id()
        projects = JiraProject.objects.bulk_create(
            JiraProject(product=p, key=r["key"], name=r["name"], state=r["state"])
            for r in source.rows("projects")
        )
        report.add(report.restored, "projects", len(projects))
        for pr in projects:
            report.containers_by_state[pr.state] = report.containers_by_state.get(pr.state, 0) + 1
        project_ids = {pr.key: pr.id for pr in projects}

        # Built by a process of their own (parsed_rows, #16), stopped at once if the inserts
        # fail.
        issues = built_rows(
            source,
            "issues",
            "jira_issues",
            report,
            SUMMED["issues"],
            started=parsers,
            product=issues_product,
            projects=project_ids,
        )
        write_issues = model_slice_inserter(
            JiraIssue,
            ["product", "project", "key", "summary", "description", "status", "fields"]
            + ["created", "updated"],
            # Each issue points at its product and one of the projects just made (#16).
            points_at={
                Product._meta.db_table: [issues_product],
                JiraProject._meta.db_table: project_ids.values(),
            },
            ready=True,
        )
        with closing(issues):
            if connection.vendor == "postgresql":
                # Issues and comments written at once, each on a connection of its own (#16).
                rows = built_rows(
                    source, "comments", "jira_comments", report, SUMMED["comments"], started=parsers
                )
                with closing(rows):
                    self._write_issues_and_comments(write_issues, issues, rows)
                return
            write_slices(write_issues, issues)
        # SQLite: the comments once every issue is written, on the one connection.
        rows = built_rows(
            source, "comments", "jira_comments_staged", report, SUMMED["comments"], started=parsers
        )
        with closing(rows):
            comments_joined_sqlite(rows, self._issues_product_id())

    def _write_issues_and_comments(self, write_issues, issues, comment_rows) -> None:
        """PostgreSQL: the issues' and the comments' slices written at once
        (slice_writer.written_alongside, #16), or one table after the other where that
        cannot be (inside an import's transaction, no connection to spare)."""
        comments = batched(comment_rows, INSERT_SLICE)
        write_comments = CommentSlices(self)
        if not written_alongside(
            batched(issues, INSERT_SLICE), write_issues, comments, write_comments
        ):
            write_slices(write_issues, issues)
            with slices_written() as submit:
                for batch in comments:
                    submit(partial(write_comments, batch))
        write_comments.raise_missing()

    # --- a restore's staging product ----------------------------------------------------

    def publish_problem(self, destination) -> str | None:
        # R6 again, at the moment of writing: nothing may have appeared in the destination.
        found = type(self)(destination).summary()
        still = rules.destination_still_empty(
            product_name=str(destination), containers=found.containers, items=found.items
        )
        return None if still else still.reason

    def move_content_to(self, destination) -> None:
        # Every row moved points at the destination (locked by the caller) and nothing else
        # changes: one check for the destination, not one per row (#16). The issues of a
        # restore already have the destination's product (`issues_product`): their UPDATE
        # finds none; it moves those of a staging product imported without one.
        with foreign_keys_checked_here({Product._meta.db_table: [destination.pk]}):
            for model in (JiraProject, JiraIssue, JiraAttachment):
                model.objects.filter(product=self.product).update(product=destination)

    def delete_content(self) -> None:
        p = self.product
        delete_in_batches(JiraComment.objects.filter(issue__project__product=p))
        delete_in_batches(JiraAttachment.objects.filter(product=p))
        delete_in_batches(of_product(p))
        delete_in_batches(JiraProject.objects.filter(product=p))

    def _issues_product_id(self) -> int:
        return (self.issues_product or self.product).pk

    def _issue_ids(self, keys, *, lock: bool = False) -> dict[str, int]:
        """The ids of this product's issues with these keys; `lock`: FOR KEY SHARE them
        (PostgreSQL). Plain queries: the ORM's building of an IN of 2,000 keys cost more
        than the lookup itself."""
        keys = list(set(keys))
        issues = connection.ops.quote_name(JiraIssue._meta.db_table)
        pg = connection.vendor == "postgresql"
        found: dict[str, int] = {}
        # Under SQLite's limit of bound variables (32,766), and one query for a slice.
        step = INSERT_SLICE if pg else 5_000
        with connection.cursor() as cursor:
            for start in range(0, len(keys), step):
                part = keys[start : start + step]
                if pg:
                    # One probe of the (product, key) index per key, whatever the planner
                    # knows: with "product_id = %s AND key = ANY(%s)" it read the product's
                    # whole index range and filtered it by the keys when the statistics
                    # had no rows of the product (a restore's destination): every slice
                    # then cost the size of the product, quadratic in all (#16). A LATERAL
                    # subquery with OFFSET 0 is a fence the planner does not join across.
                    cursor.execute(
                        "SELECT i.key, i.id FROM unnest(%s::text[]) AS k (key), LATERAL "  # noqa: S608
                        f"(SELECT key, id FROM {issues} WHERE product_id = %s "
                        f"AND key = k.key OFFSET 0{' FOR KEY SHARE' if lock else ''}) AS i",
                        [text_array(part), self._issues_product_id()],
                    )
                else:
                    marks = ", ".join(["%s"] * len(part))
                    cursor.execute(
                        f"SELECT key, id FROM {issues} WHERE product_id = %s "  # noqa: S608
                        f"AND key IN ({marks})",
                        [self._issues_product_id(), *part],
                    )
                found.update(cursor.fetchall())
        return found


def _length(fields):
    """LENGTH(a) + LENGTH(b) + ... of a row: the characters `summary` counts (SUMMED)."""
    first, *rest = fields
    return sum((Length(f) for f in rest), Length(first))


def of_product(product):
    """A product's issues: those of its projects (see the module's docstring)."""
    return JiraIssue.objects.filter(project__product=product)


def issues_in_id_order(product):
    """A product's issues to page in id order (`in_id_order`): by their projects' ids, as
    Confluence pages by their spaces'."""
    projects = JiraProject.objects.filter(product=product).values("id")
    return in_id_order(JiraIssue, "project_id", projects, many=True)

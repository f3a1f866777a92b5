"""Confluence: spaces, pages and blog posts, comments and attachments as rows, and back.

Spaces are named by key. Pages have no natural key, so page rows carry their source id and
their parent's source id; an import keeps a map of source page id -> new id (two integers per
page) to link the tree and to attach comments and files. Spaces whose key already exists in
the destination are skipped with everything in them (R6).
"""

from collections.abc import Iterator
from contextlib import closing
from functools import partial

from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, Length

from backups.models import Page, PageAttachment, PageComment, Product, Space

from .attachments import export_attachments, import_attachments
from .base import (
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
    insert_rows,
    owned_rows,
)
from .confluence_pages import PageSlices, linked
from .parsed_rows import built_rows, parsers_started
from .slice_writer import slices_written
from .writes import INSERT_SLICE, SQLITE_SLICE, staged_slice


def _slice() -> int:
    """Rows per slice: a COPY's on PostgreSQL, a transaction's on SQLite (writes)."""
    return INSERT_SLICE if connection.vendor == "postgresql" else SQLITE_SLICE


class ConfluenceData(ProductData):
    kind = "confluence"
    content_types = ("spaces", "pages", "comments", "attachments")

    # --- what is there -------------------------------------------------------------------

    def summary(self) -> ContentSummary:
        p = self.product
        by_state = dict(
            Space.objects.filter(product=p).values_list("state").annotate(n=Count("id")).order_by()
        )
        pages = Page.objects.filter(space__product=p).aggregate(
            n=Count("id"), text=Coalesce(Sum(Length("title") + Length("body")), 0)
        )
        comments = PageComment.objects.filter(page__space__product=p).aggregate(
            n=Count("id"), text=Coalesce(Sum(Length("body")), 0)
        )
        files = PageAttachment.objects.filter(product=p).aggregate(
            n=Count("id"), size=Coalesce(Sum("size"), 0)
        )
        return ContentSummary(
            kind=self.kind,
            containers_by_state=by_state,
            items=pages["n"],
            comments=comments["n"],
            attachments=files["n"],
            attachment_bytes=files["size"],
            data_bytes=pages["text"] + comments["text"],
            personal_spaces=Space.objects.filter(product=p, kind=Space.Kind.PERSONAL).count(),
        )

    def is_empty(self) -> bool:
        p = self.product
        return not (
            Space.objects.filter(product=p).exists()
            or Page.objects.filter(space__product=p).exists()
        )

    def space_keys(self) -> set[str]:
        return set(Space.objects.filter(product=self.product).values_list("key", flat=True))

    # --- export --------------------------------------------------------------------------

    def _spaces(self, options: ExportOptions):
        qs = Space.objects.filter(product=self.product)
        if not options.include_personal_spaces:
            qs = qs.exclude(kind=Space.Kind.PERSONAL)
        if options.skip_space_keys:
            qs = qs.exclude(key__in=options.skip_space_keys)
        return qs

    def rows(self, content_type: str, options: ExportOptions) -> Iterator[dict]:
        spaces = self._spaces(options)
        if content_type == "spaces":
            rows = export_paged(spaces, "key", "name", "kind", "state", "homepage_id")
            for key, name, kind, state, homepage in rows:
                yield {"key": key, "name": name, "kind": kind, "state": state, "homepage": homepage}
        elif content_type == "pages":
            space_keys = KeysById(spaces, "key")
            rows = export_paged(
                in_id_order(Page, "space_id", spaces.values("id"), many=True),
                "id",
                "space_id",
                "kind",
                "title",
                "body",
                "parent_id",
                "version",
                "state",
                "labels",
                "created",
                "updated",
            )
            for (
                pk,
                space,
                kind,
                title,
                body,
                parent,
                version,
                state,
                labels,
                created,
                updated,
            ) in rows:
                yield {
                    "id": pk,
                    "space": space_keys[space],
                    "kind": kind,
                    "title": title,
                    "body": body,
                    "parent": parent,
                    "version": version,
                    "state": state,
                    "labels": labels,
                    "created": created,
                    "updated": updated,
                }
        elif content_type == "comments":
            pages = in_id_order(Page, "space_id", spaces.values("id"), many=True)
            comments, bounds = owned_rows(PageComment, "page", pages, "id")
            rows = export_paged(
                comments, "export_owner", "author", "body", "created", bounds=bounds, owned=True
            )
            for page, author, body, created in rows:
                yield {"page": page, "author": author, "body": body, "created": created}
        elif content_type == "attachments":
            for row, _ in self.attachments(options):
                yield row
        else:
            raise ValueError(f"Unknown Confluence content type {content_type!r}")

    def attachments(self, options: ExportOptions) -> Iterator[tuple[dict, AttachmentFile]]:
        if options.include_attachments:
            yield from export_attachments(
                in_id_order(
                    PageAttachment, "page__space_id", self._spaces(options).values("id"), many=True
                ),
                owners={"page": "page_id", "space": "page__space__key"},
                reported="space",
            )

    # --- import --------------------------------------------------------------------------

    def _import(self, source: RowSource, options: ImportOptions, report: ImportReport) -> None:
        # The pages' and the comments' rows are parsed by processes of their own, both
        # started now: their ~30 ms start passes while the spaces go in (parsed_rows, #16).
        with parsers_started(source, ("pages", "comments")) as parsers:
            page_ids = self._import_rows(source, options, report, parsers)
        import_attachments(
            source,
            options,
            report,
            product=self.product,
            model=PageAttachment,
            owner="page",
            owner_ids=lambda rows: page_ids,
            keep=lambda r: r["page"] in page_ids,  # a page of a skipped space (R6) is not here
        )

    def _import_rows(self, source, options, report, parsers) -> dict[int, int]:
        """Spaces, pages and comments; returns the pages' {source id: new id}."""
        # R6: spaces whose key the destination already has are skipped, with all they hold.
        p = self.product
        existing = (
            self.space_keys()
            if options.existing_space_keys is None
            else set(options.existing_space_keys)
        )
        new_spaces = []
        homepages = {}  # space key -> its home page's id in the source
        for r in source.rows("spaces"):
            if r["key"] in existing:
                report.skipped_space_keys.append(r["key"])
                report.add(report.skipped, "spaces")
                continue
            new_spaces.append(
                Space(product=p, key=r["key"], name=r["name"], kind=r["kind"], state=r["state"])
            )
            if r.get("homepage") is not None:
                homepages[r["key"]] = r["homepage"]
        Space.objects.bulk_create(new_spaces)
        report.add(report.restored, "spaces", len(new_spaces))
        for space in new_spaces:  # what `summary` counts of them (ImportReport, #16)
            states = report.containers_by_state
            states[space.state] = states.get(space.state, 0) + 1
            report.personal_spaces += space.kind == Space.Kind.PERSONAL
        space_ids = {s.key: s.id for s in Space.objects.filter(product=p)}

        page_ids = self._import_pages(source, report, parsers, space_ids)
        for key, homepage in homepages.items():
            if homepage in page_ids:
                Space.objects.filter(id=space_ids[key]).update(homepage_id=page_ids[homepage])
        self._import_comments(source, report, parsers, page_ids)
        return page_ids

    def _import_pages(self, source, report, parsers, space_ids) -> dict[int, int]:
        """Pages go in a slice at a time, their ids taken first, each with its parent's new
        id when the parent came before it (confluence_pages, #16); a parent that comes after
        its child (a page moved under a newer one) is linked once every page has an id."""
        pages = PageSlices(space_ids)
        # A page of a skipped space (R6) is counted skipped where it is parsed, not built.
        skip = frozenset(report.skipped_space_keys)
        rows = built_rows(
            source,
            "pages",
            "confluence_pages",
            report,
            ("title", "body"),
            started=parsers,
            skip=skip,
        )
        with closing(rows), slices_written() as submit:
            for batch in batched(rows, _slice()):
                submit(partial(pages, batch))
        for batch in batched(linked(pages.links, pages.ids)):
            Page.objects.bulk_update(
                [Page(id=child, parent_id=parent) for child, parent in batch], ["parent"]
            )
        return pages.ids

    def _import_comments(self, source, report, parsers, page_ids: dict[int, int]) -> None:
        """Comments of the pages written (not of a skipped space's), each slice written on a
        connection of its own while the next is read (#16)."""

        def write(values: list[tuple]) -> None:
            with staged_slice():
                insert_rows(
                    PageComment,
                    ["page", "author", "body", "created"],
                    values,
                    # One lock per page of the batch, not a trigger per comment (#16).
                    points_at={Page._meta.db_table: [v[0] for v in values]},
                    ready=True,
                )

        # A comment of a page not written (a skipped space's, R6, or one the backup lacks) is
        # counted skipped where it is parsed, not built.
        rows = built_rows(
            source,
            "comments",
            "confluence_comments",
            report,
            ("body",),
            started=parsers,
            pages=frozenset(page_ids),
        )
        with closing(rows), slices_written() as submit:
            for batch in batched(rows, _slice()):
                submit(partial(write, [(page_ids[page], *rest) for page, *rest in batch]))

    # --- a restore's staging product ----------------------------------------------------

    def publish_problem(self, destination) -> str | None:
        # R6 again, at the moment of writing: a space key that appeared in the destination
        # since the restore started would now be a duplicate.
        clash = sorted(self.space_keys() & type(self)(destination).space_keys())
        if not clash:
            return None
        return (
            f"{destination} now has space(s) {', '.join(clash)}, which this restore was "
            f"writing; nothing was restored. Run the restore again to skip them."
        )

    def move_content_to(self, destination) -> None:
        # The moved rows point at the destination (locked by the caller) and nothing else
        # changes: one check for the destination, not one per row (#16).
        with foreign_keys_checked_here({Product._meta.db_table: [destination.pk]}):
            Space.objects.filter(product=self.product).update(product=destination)
            PageAttachment.objects.filter(product=self.product).update(product=destination)

    def delete_content(self) -> None:
        p = self.product
        pages = Page.objects.filter(space__product=p)
        # Unlink the trees first, so that deleting a batch of pages never cascades into
        # pages of later batches.
        while True:
            ids = list(pages.filter(parent__isnull=False).values_list("id", flat=True)[:10_000])
            if not ids:
                break
            Page.objects.filter(id__in=ids).update(parent=None)
        delete_in_batches(PageComment.objects.filter(page__space__product=p))
        delete_in_batches(PageAttachment.objects.filter(product=p))
        delete_in_batches(pages)
        delete_in_batches(Space.objects.filter(product=p))

"""Restores into a connected Confluence Cloud site through its API (SPEC C6, C7, R6).

A mixin of ConnectedConfluenceData (confluence_cloud.py), which keeps the backup side. Any
Confluence backup restores here, embedded or connected: the rows are the same.
"""

import threading
from dataclasses import dataclass

from backups.connectors.confluence import ConfluenceCloud
from backups.connectors.http import SiteError

from .base import ImportOptions, ImportReport, RowSource
from .connected import upload_attachments
from .parallel import in_parallel

# What Confluence's public REST API does not let a restore set: listed on the review page
# before a restore into a connected site starts, and in its report (C6).
NOT_SETTABLE = [
    "Who created pages, blog posts, comments and attachments: the site records the "
    "connection's account.",
    "When they were created and last updated: the site records the restore's time.",
    "Version numbers and page history: each page starts again at version 1 (a space's home "
    "page at 2) with the backup's last version as its content.",
    "Personal spaces: the API cannot create a person's personal space; each one is named in "
    "the report and left out.",
    "Inline comments: restored as footer comments (the API cannot tie a new comment to the "
    "text it was made on).",
]


@dataclass
class _NewSpace:
    id: str
    homepage_id: str | None
    row: dict


class ConfluenceSiteRestore:
    """restore_into_site() for ConnectedConfluenceData (needs `product` and `client()`)."""

    def restore_into_site(self, source: RowSource, options: ImportOptions) -> ImportReport:
        """C6, C7: write a Confluence backup into this site through its API.

        The destination's space keys are read again just before writing: a space whose key
        the site has is skipped and reported (R6). The others are created with their keys;
        pages parents first so the tree is the same (the backup's home page becomes the new
        space's home page); blog posts, labels, comments, attachments; then the pages' and
        spaces' states. If anything fails, the spaces created are deleted (with everything
        in them) and the error goes on.
        """
        report = ImportReport(on_progress=options.on_progress)
        client: ConfluenceCloud = self.client()
        created: list[str] = []
        notes: list[str] = []
        try:
            existing = set(client.space_keys())
            spaces: dict[str, _NewSpace] = {}
            for row in source.rows("spaces"):
                if row["key"] in existing:
                    report.skipped_space_keys.append(row["key"])
                    report.add(report.skipped, "spaces")
                    continue
                if row.get("kind") == "personal":
                    notes.append(f"Personal space {row['key']} ({row['name']}): left out.")
                    report.add(report.skipped, "spaces")
                    continue
                made = client.create_space(key=row["key"], name=row["name"])
                created.append(row["key"])
                spaces[row["key"]] = _NewSpace(made["id"], made.get("homepageId"), row)
                report.add(report.restored, "spaces")
            ids = self._restore_pages(client, source, spaces, report, notes)
            self._restore_comments(client, source, ids, report, notes)
            upload_attachments(
                source,
                options,
                report,
                owner=lambda row: (ids.get(str(row["page"])) or (None, None))[1],
                upload=client.add_attachment,
            )
            self._restore_states(client, source, ids, spaces, notes)
        except BaseException:
            _remove_created(client, created, report)
            raise
        finally:
            client.http.close()
        report.not_restored = NOT_SETTABLE + notes  # type: ignore[attr-defined]
        return report

    # --- pages and blog posts ------------------------------------------------------------

    def _restore_pages(self, client, source, spaces, report, notes) -> dict[str, tuple]:
        """Every page and blog post of the created spaces, parents before children; returns
        the backup's page id -> (kind, the site's id)."""
        homepages = {str(s.row["homepage"]) for s in spaces.values() if s.row.get("homepage")}
        # Pass 1: the tree only (a few strings per page), to know each page's depth.
        parents: dict[str, str | None] = {}
        for row in source.rows("pages"):
            if row["space"] in spaces:
                parents[str(row["id"])] = None if row["parent"] is None else str(row["parent"])
        depths = _depths(parents)
        ids: dict[str, tuple[str, str]] = {}
        lock = threading.Lock()

        def create(row: dict) -> None:
            space = spaces[row["space"]]
            source_id = str(row["id"])
            if row["kind"] == "blogpost":
                made = client.create_blogpost(
                    space_id=space.id, title=row["title"], body=row["body"]
                )
            elif source_id in homepages and space.homepage_id:
                version = client.page_version(space.homepage_id) + 1
                made = client.update_page(
                    page_id=space.homepage_id, title=row["title"], body=row["body"], version=version
                )
            else:
                parent = parents.get(source_id)
                with lock:
                    parent_id = ids[parent][1] if parent in ids else None
                made = client.create_page(
                    space_id=space.id, title=row["title"], body=row["body"], parent_id=parent_id
                )
            if row.get("labels"):
                client.add_labels(made["id"], list(row["labels"]))
            with lock:
                ids[source_id] = (row["kind"], made["id"])
                report.add(report.restored, "pages")

        for depth in range(max(depths.values(), default=-1) + 1):
            # Siblings in their order (one worker per parent), so they keep their positions.
            rows = (
                r
                for r in source.rows("pages")
                if r["space"] in spaces and depths.get(str(r["id"])) == depth
            )
            in_parallel(rows, key=_creation_order, work=create)
        skipped = sum(1 for r in source.rows("pages") if r["space"] not in spaces)
        if skipped:
            report.add(report.skipped, "pages", skipped)
        for key, space in spaces.items():
            if not space.row.get("homepage") and space.homepage_id:
                notes.append(
                    f"Space {key}: the backup names no home page, so the site's own new home "
                    "page was kept."
                )
        return ids

    def _restore_comments(self, client, source, ids, report, notes) -> None:
        lock = threading.Lock()
        inline = 0

        def post(row: dict) -> None:
            nonlocal inline
            target = ids.get(str(row["page"]))
            if target is None:
                with lock:
                    report.add(report.skipped, "comments")
                return
            client.add_footer_comment(target[0], target[1], row["body"])
            with lock:
                inline += bool(row.get("inline"))
                report.add(report.restored, "comments")

        in_parallel(source.rows("comments"), key=lambda r: str(r["page"]), work=post)
        if inline:
            notes.append(f"{inline} inline comment(s) restored as footer comments.")

    # --- states --------------------------------------------------------------------------

    def _restore_states(self, client, source, ids, spaces, notes) -> None:
        """Archived pages archived, pages and blog posts in the trash trashed (children
        before their parents), archived spaces archived: last, as nothing more can be added
        to content in those states."""
        archive: list[str] = []
        trash: list[tuple[int, str, str]] = []  # (depth, kind, site id)
        parents: dict[str, str | None] = {}
        for row in source.rows("pages"):
            target = ids.get(str(row["id"]))
            if target is None:
                continue
            parents[str(row["id"])] = None if row["parent"] is None else str(row["parent"])
            state = row.get("state") or "active"
            if state == "archived" and row["kind"] == "page":
                archive.append(target[1])
            elif state == "archived":
                notes.append(f"Blog post {row['title']!r} is current: blog posts are not archived.")
            elif state == "trashed":
                trash.append((str(row["id"]), *target))
        if archive:
            client.archive_pages(archive)
        depths = _depths(parents)
        trash.sort(key=lambda item: -depths.get(item[0], 0))
        for _, kind, site_id in trash:
            client.trash(kind, site_id)
        for key, space in spaces.items():
            if space.row.get("state") == "archived":
                client.set_space_status(key=key, name=space.row["name"], status="archived")
            elif space.row.get("state") == "trashed":
                notes.append(f"Space {key} is current: the API cannot move a space to the trash.")


def _creation_order(row: dict) -> str:
    """Pages under one parent are created by one worker, in the backup's order, so siblings
    keep their positions; blog posts have none to keep."""
    if row["kind"] == "blogpost":
        return str(row["id"])
    return f"{row['space']}/{row['parent']}"


def _depths(parents: dict[str, str | None]) -> dict[str, int]:
    """Each page's depth in its tree (0: no parent in the backup). A parent the backup does
    not hold, or a loop in the data, puts the page at the top."""
    depths: dict[str, int] = {}
    for start in parents:
        chain = []
        node: str | None = start
        while node is not None and node not in depths and node in parents and node not in chain:
            chain.append(node)
            node = parents[node]
        base = depths[node] + 1 if node is not None and node in depths else 0
        for offset, page in enumerate(reversed(chain)):
            depths[page] = base + offset
    return depths


def _remove_created(client: ConfluenceCloud, keys: list[str], report: ImportReport) -> None:
    """C7: a failed restore deletes the spaces it created (with everything in them)."""
    for key in reversed(keys):
        try:
            client.delete_space(key)
        except SiteError:
            report.cleanup_failed = key  # type: ignore[attr-defined]

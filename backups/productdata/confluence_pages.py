"""A Confluence restore's pages written as plain rows, their ids taken first (#16).

Pages have no natural key: a restore needs each page's new id, to link the tree and to attach
comments, files and home pages (confluence.py keeps the map of source id -> new id). They went
in by bulk_create, which builds, checks and adapts a model instance per row and reads the ids
back: a Confluence restore ran at 22k rows/s on SQLite where a Jira one ran at 128k. Here each
slice takes its ids from the table's own sequence in its transaction (`allocated_ids`), then
goes in by one COPY or executemany, like a Jira restore's issues, each page with its parent's
new id when the parent came before it or in the same slice.
"""

from collections.abc import Iterable

from django.db import connection

from backups.models import Page, Space

from .writes import model_slice_inserter, staged_slice

COLUMNS = ["id", "space", "kind", "title", "body", "parent", "version", "state", "labels"]
COLUMNS += ["created", "updated"]


def allocated_ids(model, n: int) -> list[int]:
    """`n` new ids of `model`'s table, ascending, never given to any other row. In the
    transaction that writes those rows: on SQLite it holds the one write lock (nobody else
    inserts until it ends), and the ids are those SQLite's AUTOINCREMENT would give next (an
    id once used, even by a row since deleted, is not given again); on PostgreSQL they are
    taken from the id's sequence, as each row's default would take them."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), n],
            )
            return sorted(pk for (pk,) in cursor.fetchall())
        assert connection.in_atomic_block, "the ids are this transaction's"
        cursor.execute(
            f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
            f"coalesce((SELECT max(id) FROM {connection.ops.quote_name(table)}), 0))",
            [table],
        )
        last = cursor.fetchone()[0]
        return list(range(last + 1, last + 1 + n))


class PageSlices:
    """Writes a slice of a restore's pages (a job of slice_writer's): rows of
    row_process.confluence_pages (source id, space key, kind, title, body, parent's source id,
    version, state, labels, created, updated), the values ready for this database.

    `ids` gets each page's new id; `links` the pages whose parent was not written before
    them (a page moved under a newer one), as (new id, parent's source id), for the caller
    to link once every page has an id. Slices run one after the other (on the writer's
    thread, or here): each sees the ids of those before it."""

    def __init__(self, space_ids: dict[str, int]):
        self.space_ids = space_ids
        self.ids: dict[int, int] = {}
        self.links: list[tuple[int, int]] = []

    def __call__(self, rows: list[tuple]) -> None:
        with staged_slice():
            new = allocated_ids(Page, len(rows))
            here = dict(zip((r[0] for r in rows), new, strict=True))
            if len(here) != len(rows) or not self.ids.keys().isdisjoint(here):
                # The tree, the comments and the files would not agree on which page it is.
                raise ValueError(f"The backup's pages hold an id twice: {_twice(rows, self.ids)}.")
            values = []
            earlier = set()  # parents written by an earlier slice
            for r, pk in zip(rows, new, strict=True):
                parent = r[5]
                if parent is not None:
                    if parent in here:  # in this slice: written by the same statement
                        parent = here[parent]
                    elif parent in self.ids:
                        parent = self.ids[parent]
                        earlier.add(parent)
                    else:
                        self.links.append((pk, parent))
                        parent = None
                values.append((pk, self.space_ids[r[1]], r[2], r[3], r[4], parent, *r[6:]))
            write = model_slice_inserter(
                Page,
                COLUMNS,
                # Each page points at its space and its parent. The parents of this slice
                # are rows of the same statement (they exist when it ends); the others are
                # locked as their foreign keys would (#16).
                points_at={
                    Space._meta.db_table: {v[1] for v in values},
                    Page._meta.db_table: earlier,
                },
                ready=True,
            )
            write(values)
        self.ids.update(here)


def _twice(rows: list[tuple], earlier: dict) -> int:
    seen = set(earlier)
    for r in rows:
        if r[0] in seen:
            return r[0]
        seen.add(r[0])
    raise AssertionError("no id twice")


def linked(links: Iterable[tuple[int, int]], ids: dict[int, int]) -> list[tuple[int, int]]:
    """(child's new id, parent's new id) of the links whose parent the backup holds: a parent
    it does not hold (a connected site's page whose parent was purged, or is a folder or a
    whiteboard) leaves its child at the top of the tree."""
    return [(child, ids[parent]) for child, parent in links if parent in ids]

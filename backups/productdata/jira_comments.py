"""A Jira restore's comments, which name their issue by key, written with the issue's id
(#16): on PostgreSQL a slice at a time, each slice's issues looked up in one query
(`CommentSlices`, beside the issues' writer); on SQLite through a temporary table joined on
the key (`comments_joined_sqlite`). Neither holds a key -> id map of the whole product in
memory, however many issues there are. Split out of jira.py.
"""

from collections.abc import Iterable
from contextlib import suppress
from typing import TYPE_CHECKING

from django.db import DatabaseError, connection, transaction

from backups.models import JiraComment, JiraIssue

from .writes import SQLITE_SLICE, insert_into_temporary, insert_rows, sqlite_gap, staged_slice

if TYPE_CHECKING:
    from .jira import JiraData

STAGING = "backupsite_restore_comments"  # SQLite: see comments_joined_sqlite


class CommentSlices:
    """Writes a slice of a restore's comments on PostgreSQL (a job of slice_writer's). Comments
    name their issue by key: each slice looks its issues up in one query (the (product, key)
    index), then goes in by one COPY. No key -> id map of the whole product in memory,
    however many issues there are, and each comment written once (#16: it went through a
    staging table before, written twice and joined by a plan that depended on fresh
    statistics). Comments whose issue is not found are counted (`raise_missing`)."""

    def __init__(self, data: "JiraData"):
        self._data = data
        self.missing = 0  # written by one writer thread, read once it has stopped

    def __call__(self, batch: list[tuple], issues=None, after: int = 0) -> None:
        """`issues`: the writer of the issues, still writing (slice_writer.written_alongside):
        wait for its first `after` slices, then for more while a key is not found."""
        keys = {row[0] for row in batch}
        seen = None if issues is None else issues.wait_past(at_least=after)
        while True:
            # The lookup and the COPY share a transaction: on PostgreSQL the lookup locks each
            # issue FOR KEY SHARE, what each comment's foreign key trigger would do, so the
            # COPY skips the triggers (points_at={}: nothing more to lock).
            with staged_slice():
                ids = self._data._issue_ids(keys, lock=True)
                if len(ids) == len(keys) or seen is None:  # found, or never will be
                    self._write(batch, ids)
                    return
            # Waited for with no transaction open (no snapshot or idle session held); then
            # looked up again, the issues committed since seen by the new transaction.
            seen = issues.wait_past(seen)

    def _write(self, batch: list[tuple], ids: dict[str, int]) -> None:
        try:  # one lookup per comment; the filtered way only when one is missing
            values = [(ids[key], *rest) for key, *rest in batch]
        except KeyError:
            values = [(ids[key], *rest) for key, *rest in batch if key in ids]
        self.missing += len(batch) - len(values)
        columns = ["issue", "author", "body", "created"]
        insert_rows(JiraComment, columns, values, points_at={}, ready=True)

    def raise_missing(self) -> None:
        if self.missing:
            raise ValueError(
                f"{self.missing} comment(s) of the backup name an issue that is not in it."
            )


def comments_joined_sqlite(rows: Iterable[tuple], issues_product: int) -> None:
    """SQLite: `rows` (row_process.jira_comments_staged) go into a temporary table, then
    into their table with one INSERT ... SELECT joined on (product, key) per slice. SQLite
    plans that join by the index whatever it knows, and it measured faster than a lookup
    per slice (#16: 76k against 71k rows/s for 100k issues + comments), and than an
    executemany of an INSERT ... SELECT per comment (1.45 -> 1.76 s of CPU per 200k rows).
    The temporary table is written in a transaction that leaves the site's write lock free
    (`insert_into_temporary`); only the joins take it, a slice at a time."""
    comments = connection.ops.quote_name(JiraComment._meta.db_table)
    issues = connection.ops.quote_name(JiraIssue._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGING} (seq integer PRIMARY KEY, "
            f"issue_key varchar(40), author varchar(200), body text, created text)"
        )
    try:
        staged = insert_into_temporary(
            STAGING, ["seq", "issue_key", "author", "body", "created"], rows
        )
        inserted = 0
        # In slices of the staged sequence, each its own transaction outside a restore's
        # atomic block: SQLite's write lock is never held for all the comments at once.
        for start in range(0, staged, SQLITE_SLICE):
            with transaction.atomic(savepoint=False), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {comments} (issue_id, author, body, created) "  # noqa: S608
                    f"SELECT i.id, s.author, s.body, s.created FROM {STAGING} s "
                    f"JOIN {issues} i ON i.product_id = %s AND i.key = s.issue_key "
                    f"WHERE s.seq >= %s AND s.seq < %s ORDER BY s.seq",
                    [issues_product, start, start + SQLITE_SLICE],
                )
                inserted += cursor.rowcount
            sqlite_gap()
    finally:  # the staged rows are this connection's until it closes: dropped, whatever came
        # (not in a transaction an error has doomed; never in place of the error raised)
        if not connection.needs_rollback:
            with suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
    if inserted != staged:
        raise ValueError(
            f"{staged - inserted} comment(s) of the backup name an issue that is not in it."
        )

"""Import: rows written fast into the database (#16) — COPY (binary on PostgreSQL) or one
executemany, timestamps passed as the text the database stores, foreign keys checked once per
slice instead of per row. Split out of base.py; base re-exports every name. The binary
COPY's values are binary_copy.py's.
"""

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING

from django.db import connection, transaction

from backups.row_process import (
    BATCH,
    json_text,
    jsonb_binary,
    sqlite_datetime_text,
    sqlite_text_length,
    utc_micros,
)
from backups.row_process import text_length as pg_text_length

from .binary_copy import binary_type, binary_writer, micros_of_text, register_bytes_dumper
from .export import parse_dt
from .slice_writer import slices_written

if TYPE_CHECKING:
    pass

BATCH_SIZE = BATCH  # rows counted at a time, here and by a restore's parsing process
INSERT_SLICE = 10_000  # rows per COPY: large enough to amortize it, small enough for memory
# Rows per transaction on SQLite, whose one write lock a slice holds: about a tenth of a
# second, so the site's logins and saves never wait long behind a restore.
SQLITE_SLICE = 2_000
SQLITE_GAP = 0.001  # seconds the write lock is left free after each of those (sqlite_gap)


def batched(iterable: Iterable, size: int = BATCH_SIZE) -> Iterator[list]:
    # islice fills each list in C: a Python loop appending row by row was 3-4% of a restore.
    items = iter(iterable)
    while batch := list(islice(items, size)):
        yield batch


def insert_rows(
    model,
    columns: list[str],
    rows: Iterable[tuple],
    *,
    points_at: "PointsAt | None" = None,
    ready: bool = False,
) -> None:
    """Insert plain rows of database-ready values, fast: COPY on PostgreSQL, one executemany
    elsewhere. For restores of many rows whose ids nobody needs back (issues, comments);
    bulk_create builds, checks and adapts a model instance per row, which costs more than
    the insert itself. `points_at`: see `foreign_keys_checked_here`. `ready`: the rows'
    timestamps and JSON values are already what this database takes (`datetime_adapter`,
    `json_adapter`), so no value is converted again row by row (#16)."""
    write_slices(model_slice_inserter(model, columns, points_at=points_at, ready=ready), rows)


def insert_into(
    table: str,
    columns: list[str],
    rows: Iterable[tuple],
    *,
    points_at: "PointsAt | None" = None,
    binary_types: "list[str] | None" = None,
    ready: bool = False,
) -> None:
    """Insert a stream of rows in large slices, each one COPY (or one executemany).

    A slice is read in full before its COPY starts: a source that reads the database itself
    (ProductRowSource) must not query the connection while it is in COPY mode. Outside a
    transaction on PostgreSQL (a staged restore) each slice goes in on a connection of its
    own while the next is read (`slice_writer`, #16). With
    `points_at`, each slice's foreign keys are checked once for the slice, not per row
    (`foreign_keys_checked_here`). With `binary_types` (see `binary_copy.BINARY`), PostgreSQL's COPY
    is binary: the server parses no timestamps or numbers (#16).
    """
    write_slices(
        slice_inserter(table, columns, points_at=points_at, binary_types=binary_types, ready=ready),
        rows,
    )


def write_slices(write: Callable[[list[tuple]], None], rows: Iterable[tuple]) -> None:
    """Hand `rows` to `write` (a `slice_inserter`) a slice (a list) at a time. A staged
    import's slices go in on a connection of their own while the next is read
    (slice_writer, #16); elsewhere one after the other, here."""
    size = INSERT_SLICE if connection.vendor == "postgresql" else SQLITE_SLICE
    with slices_written() as submit:
        for chunk in batched(rows, size):
            submit(partial(write, chunk))


def insert_into_temporary(table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    """Insert `rows` into a temporary table of this SQLite connection; return how many.

    Outside a transaction each slice goes in by a transaction of its own begun DEFERRED,
    which locks only what it writes: a temporary table is this connection's alone, so
    nobody's write waits for it, and no `sqlite_gap` follows (#16: a restore's staged
    comments took the site's write lock a slice at a time). The rows are read between those
    transactions, never in one: what reading them writes on this connection (a job's
    progress, its heartbeat) commits at once, as it would anywhere else, instead of holding
    the site's write lock until the slice's COMMIT; and no read pins a snapshot of the
    database. Inside a transaction (an atomic import), in it."""
    assert connection.vendor == "sqlite", "BEGIN DEFERRED and temporary tables: SQLite's"
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(columns))
    insert = f"INSERT INTO {qn(table)} ({', '.join(map(qn, columns))}) VALUES ({marks})"  # noqa: S608
    own = not connection.in_atomic_block and connection.get_autocommit()
    written = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows, SQLITE_SLICE):
            if own:  # IMMEDIATE, Django's for this database, would take the main database's lock
                with _deferred(cursor):
                    cursor.executemany(insert, chunk)
            else:
                cursor.executemany(insert, chunk)
            written += len(chunk)
    return written


@contextmanager
def _deferred(cursor):
    """A transaction begun DEFERRED by hand, which Django does not know of: committed at the
    end, and rolled back when anything stops it (an error, an interrupt, a failed COMMIT), so
    the connection is never left in it. SQLite rolls back by itself on some errors (a full
    disk): then there is nothing to roll back, and the error raised is the one that
    stopped it, not the ROLLBACK's."""
    raw = connection.connection
    cursor.execute("BEGIN DEFERRED")
    try:
        yield
        cursor.execute("COMMIT")
    finally:
        if raw.in_transaction:
            with suppress(Exception):
                raw.rollback()


def model_slice_inserter(
    model, columns: list[str], *, points_at: "PointsAt | None" = None, ready: bool = False
) -> Callable[[list[tuple]], None]:
    """`slice_inserter` for these fields of a model (see insert_rows)."""
    fields = [model._meta.get_field(c) for c in columns]
    types = [binary_type(f) for f in fields]
    return slice_inserter(
        model._meta.db_table,
        [f.column for f in fields],
        points_at=points_at,
        binary_types=None if None in types else types,
        ready=ready,
    )


def slice_inserter(
    table: str,
    columns: list[str],
    *,
    points_at: "PointsAt | None" = None,
    binary_types: "list[str] | None" = None,
    ready: bool = False,
) -> Callable[[list[tuple]], None]:
    """The job that writes one slice of rows (a list) on the connection of the thread that
    runs it, in a transaction of its own when none is open (see insert_into)."""
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    pg = connection.vendor == "postgresql"
    binary = binary_writer(binary_types, ready) if pg and binary_types else None
    if ready and pg and not binary:  # json_adapter's values are jsonb's binary form
        raise ValueError(f"{table}: rows made for a binary COPY, which its columns do not allow")
    sql = f"COPY {qn(table)} ({cols}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")

    def write(chunk: list[tuple]) -> None:
        # One transaction per slice when no transaction is open (a staged restore): SQLite's
        # one write lock is held for one slice, not for the whole import.
        with staged_slice(), connection.cursor() as cursor:
            if pg:
                if binary:
                    register_bytes_dumper(cursor.cursor)
                with foreign_keys_checked_here(points_at), cursor.cursor.copy(sql) as copy:
                    if binary:
                        binary(copy, chunk)
                    else:
                        for row in chunk:
                            copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                insert = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608
                cursor.executemany(insert, chunk)

    return write


@contextmanager
def staged_slice():
    """A slice's transaction (`transaction.atomic(savepoint=False)`). When it is its own
    transaction (a staged restore's, not inside an import's one atomic block), PostgreSQL
    commits it without waiting for its WAL to reach the disk: a slice's COMMIT was 5% of a
    restore (#16). R8 holds: the publish commits as ever, and its flush writes the WAL of
    every slice before it; a crash before then loses only staged rows of a restore that
    then fails and is discarded, never a row anybody saw."""
    own = not connection.in_atomic_block
    with transaction.atomic(savepoint=False):
        if own and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        yield
    if own:
        sqlite_gap()


def sqlite_gap() -> None:
    """After a staged slice's commit on SQLite, leave the one write lock free a moment.

    Others' writes (a login, a policy saved) wait for it in SQLite's busy handler, which
    tries again at times of its own (1, 2, 5, ... then every 100 ms), and get it only when
    a try falls where nobody holds it. A restore whose next slice is ready at once (its rows
    parsed by a process of their own, #16) took the lock back within microseconds: a write
    every 20 ms during a restore of 200k issues + comments waited up to 331-533 ms (p90
    35-106 ms), and a third of a second behind one of 60,000 (tests/sqlite_concurrency).
    With 1 ms after each ~7 ms slice: max 106-182 ms, p90 10-11 ms, as when the rows were
    parsed in this process; the restore 13% slower (210k -> 182k rows/s, still faster than
    before the parsing process). 2 ms: max 12-55 ms but 26% slower."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(SQLITE_GAP)


# --- foreign keys checked once, not per row (#16) ----------------------------------------------
#
# Django makes every foreign key on PostgreSQL DEFERRABLE INITIALLY DEFERRED: each inserted
# row queues a trigger that, at COMMIT, looks its referenced row up and locks it FOR KEY
# SHARE. For a restore that is one lookup per row and per key (an issue has two), about half
# of the time of writing the row (100k issues: 1.2 s to insert, 1.1 s to commit). The
# restore knows what its rows point at (the staging product, the projects it just made), so
# it takes the same locks itself, once per slice, checks that every target is there, and
# runs the slice with session_replication_role = replica, which skips the per-row triggers.
# The guarantee is the foreign key's: while the slice's transaction is open nobody can delete
# a target (the FOR KEY SHARE locks), and a target already gone fails the slice. Only a role
# allowed to set that parameter (a superuser, or GRANT SET ON PARAMETER) takes this road;
# any other role keeps the per-row checks. Unique and check constraints are indexes and
# constraints, not triggers: they are enforced as ever.

# {table name: the ids the rows point at in it}.
PointsAt = dict[str, Iterable[int]]


class ReferenceGone(Exception):
    """A row a restore's rows point at was deleted while the restore ran."""


def may_skip_row_triggers() -> bool:
    """Whether this connection's role may set session_replication_role (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return False
    cached = getattr(connection, "_backupsite_may_skip_triggers", None)
    if cached is None or cached[0] is not connection.connection:
        with connection.cursor() as cursor:
            if connection.pg_version >= 150000:
                cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
            else:
                cursor.execute("SELECT current_setting('is_superuser') = 'on'")
            cached = (connection.connection, bool(cursor.fetchone()[0]))
        connection._backupsite_may_skip_triggers = cached
    return cached[1]


@contextmanager
def foreign_keys_checked_here(points_at: dict[str, Iterable[int]] | None):
    """Inside a transaction: lock every row `points_at` names FOR KEY SHARE (what each row's
    foreign key trigger would do), fail if one is gone, and skip the per-row triggers for
    what runs in the block. The caller promises that the rows it writes point at nothing
    else; every foreign key column of the table must be covered."""
    if points_at is None or not may_skip_row_triggers():
        yield
        return
    assert connection.in_atomic_block, "SET LOCAL needs the slice's transaction"
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, ids in points_at.items():
            wanted = sorted(set(ids))
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {qn(table)} "  # noqa: S608 - quoted
                f"WHERE id = ANY(%s) FOR KEY SHARE) AS locked",
                [wanted],
            )
            found = cursor.fetchone()[0]
            if found != len(wanted):
                raise ReferenceGone(
                    f"{len(wanted) - found} row(s) of {table} this restore writes into were "
                    f"deleted while it ran."
                )
        cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    with connection.cursor() as cursor:  # the rest of the transaction checks as ever
        cursor.execute("SET LOCAL session_replication_role = origin")


def text_length(texts: Iterable[str]) -> int:
    """The characters of these texts, summed as the database's LENGTH() counts them: the
    data_bytes of `ProductData.summary`, added up as a restore writes its rows instead of
    read again after it (#16). Summed in C: 0.03 s per million texts, 0.06 s on SQLite.
    Python's len counts PostgreSQL's characters (its text holds no NUL); SQLite's length()
    stops at a text's first NUL."""
    return (sqlite_text_length if connection.vendor == "sqlite" else pg_text_length)(texts)


def datetime_adapter() -> Callable[[str], object]:
    """How an ISO 8601 time from a backup row goes into insert_rows (ready=True), for this
    database."""
    if connection.vendor == "postgresql":
        # timestamptz's binary form, for a binary COPY; in UTC the same function a restore's
        # parsing process uses (row_process, #16).
        return utc_micros if connection.timezone_name == "UTC" else micros_of_text
    adapt = connection.ops.adapt_datetimefield_value

    def slow(value: str):
        return adapt(parse_dt(value))

    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        return slow
    # The text Django stores, without parsing what is already that text: the same function
    # the SQLite import's parsing process uses (row_process, #16).
    return sqlite_datetime_text


def text_array(values: list[str]) -> str:
    """PostgreSQL's text form of an array of these strings, to pass as one `%s::text[]`.
    psycopg dumps a list of str element by element in Python (under cProfile, 75 ms a slice
    of 10,000 keys); this is a join and two replaces each in C. Paired runs without the
    profiler show no measurable gain in a whole restore (#16), but it costs nothing.
    Every element is quoted, so no key is read as NULL or split at a comma or a brace.
    Keys rarely hold a quote or a backslash: when the joined text shows none beyond its own
    separators, it is the answer as it is, without two replaces per key."""
    if not values:
        return "{}"
    joined = '","'.join(values)
    if "\\" not in joined and joined.count('"') == 2 * (len(values) - 1):
        return '{"' + joined + '"}'
    return '{"' + '","'.join(v.replace("\\", "\\\\").replace('"', '\\"') for v in values) + '"}'


db_json = json_text  # a JSON value's text, as a JSONField keeps it on SQLite


def json_adapter() -> Callable[[object], object]:
    """How a JSON value from a backup row goes into insert_rows (ready=True), for this
    database: jsonb's binary form from orjson's bytes on PostgreSQL, not decoded to text and
    encoded back (#16); the JSON text elsewhere."""
    return jsonb_binary if connection.vendor == "postgresql" else db_json


def delete_in_batches(qs) -> None:
    """Delete the rows of `qs` a batch at a time, each batch its own short transaction."""
    size = INSERT_SLICE if connection.vendor == "postgresql" else SQLITE_SLICE
    while True:
        ids = list(qs.values_list("id", flat=True)[:size])
        if not ids:
            return
        with transaction.atomic():
            qs.model.objects.filter(id__in=ids).delete()

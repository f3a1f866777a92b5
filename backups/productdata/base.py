"""What every product kind's data layer offers, and the pieces they share.

The product data layer is the only door through which backups and restores touch product
content. Export streams rows (plain JSON-ready dicts) per content type, in an order that lets
import write them back in one pass per type; import writes rows into another product of the
same kind with new ids and the same keys.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

import orjson
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models, transaction
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from backups import rules, storage

BATCH_SIZE = 1000
EXPORT_PAGE = 2000  # rows per keyset page of an export (see `paged`)
INSERT_SLICE = 10_000  # rows per COPY: large enough to amortize it, small enough for memory
# Rows per transaction on SQLite, whose one write lock a slice holds: about a tenth of a
# second, so the site's logins and saves never wait long behind a restore.
SQLITE_SLICE = 2_000
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class ExportOptions:
    include_attachments: bool = True
    include_personal_spaces: bool = True  # Confluence only
    skip_space_keys: frozenset[str] = frozenset()  # Confluence only: spaces left out


@dataclass(frozen=True)
class ImportOptions:
    include_attachments: bool = True
    # Where new attachment files go in STORAGES["default"] (default attachments/<product>/).
    # A restore gives each run its own folder, so a crashed run's files can be found later.
    file_folder: str = ""
    # Called with the number of rows handled after each batch: progress and heartbeat.
    on_progress: Callable[[int], None] | None = None
    # Confluence (R6): the space keys to skip. None: the keys this product already has. A
    # restore imports into a staging product and passes its destination's keys.
    existing_space_keys: frozenset[str] | None = None


@dataclass(frozen=True)
class AttachmentFile:
    """One attachment file of a product: where it is now, and where it goes in a backup."""

    path: str  # inside a backup: attachments/<source id>/<name>
    storage_name: str  # in STORAGES["default"]
    size: int
    sha256: str
    owner: str  # the issue key or the space key it belongs to, for reports
    name: str
    # Already in the backup's storage at `path` (a connected site's attachment, written there
    # as it was downloaded): nothing to copy.
    stored: bool = False


@dataclass
class ContentSummary:
    """Counts of a product's content, in every state (R6: all three count)."""

    kind: str
    containers_by_state: dict[str, int] = field(default_factory=dict)
    items: int = 0
    comments: int = 0
    attachments: int = 0
    attachment_bytes: int = 0
    data_bytes: int = 0
    personal_spaces: int = 0
    # A connected site that could not be asked just now: why (R6 cannot be judged then).
    unreachable: str = ""

    @property
    def containers(self) -> int:
        return sum(self.containers_by_state.values())

    @property
    def is_empty(self) -> bool:
        return rules.content_empty(containers=self.containers, items=self.items)

    @property
    def container_label(self) -> str:
        return "project" if self.kind == "jira" else "space"

    @property
    def item_label(self) -> str:
        return "issue" if self.kind == "jira" else "page"

    # Stored (Product.content_summary, SiteConnection.content_summary): the same keys both ways.
    STORED = (
        "containers_by_state",
        "items",
        "comments",
        "attachments",
        "attachment_bytes",
        "data_bytes",
        "personal_spaces",
    )

    def stored(self) -> dict:
        """The counts as a JSON-ready dict, to keep on a row (#13 item 11)."""
        return {name: getattr(self, name) for name in self.STORED}

    @classmethod
    def from_stored(cls, kind: str, data: dict) -> "ContentSummary":
        """The summary a row keeps (see `stored`); missing keys count as 0."""
        values = {name: data[name] for name in cls.STORED if name in data}
        values["containers_by_state"] = dict(values.get("containers_by_state") or {})
        return cls(kind=kind, **values)


@dataclass
class ImportReport:
    """What an import wrote and what it skipped, per content type."""

    restored: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_space_keys: list[str] = field(default_factory=list)
    attachment_bytes: int = 0
    # Names written to STORAGES["default"]: a caller whose transaction fails deletes them.
    written_files: list[str] = field(default_factory=list)

    on_progress: Callable[[int], None] | None = field(default=None, repr=False)

    def add(self, bucket: dict[str, int], content_type: str, n: int = 1) -> None:
        bucket[content_type] = bucket.get(content_type, 0) + n
        if self.on_progress and n:
            self.on_progress(n)

    def as_dict(self) -> dict:
        return {
            "restored": self.restored,
            "skipped": self.skipped,
            "skipped_space_keys": self.skipped_space_keys,
            "attachment_bytes": self.attachment_bytes,
        }


class RowSource(Protocol):
    """Where an import reads from: a stored backup, an uploaded file, or a live product."""

    def rows(self, content_type: str) -> Iterator[dict]: ...

    def open_attachment(self, path: str) -> BinaryIO: ...


class AttachmentIntegrityError(Exception):
    """An attachment's bytes do not match the SHA-256 or size its row gives."""


def iso(value: datetime) -> str:
    return value.isoformat()


def parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def paged(qs, *fields: str, size: int = EXPORT_PAGE) -> Iterator[tuple]:
    """The `fields` of every row of `qs`, in id order, read one page at a time.

    Each page is read whole by its own short query (keyset: id > the last id seen), so no read
    statement stays open while the caller writes. On SQLite in WAL mode an open read pins a
    snapshot: once another connection commits, a write on the reading connection fails at
    once with "database is locked" (SQLITE_BUSY_SNAPSHOT), whatever the busy timeout, and the
    backup engine writes its progress between rows. It also lets the WAL be checkpointed
    while a long export runs.
    """
    last = None
    while True:
        page_qs = qs if last is None else qs.filter(id__gt=last)
        page = list(page_qs.order_by("id").values_list("id", *fields)[:size])
        for row in page:
            yield row[1:]
        if len(page) < size:
            return
        last = page[-1][0]


# --- export: rows read as the text the backup holds (#16) ---------------------------------------
#
# Django turns every timestamp it reads into a datetime (on PostgreSQL through psycopg's
# timestamptz loader, on SQLite through parse_datetime and make_aware) and every JSON value
# into Python through json.loads; the export then turns the datetime straight back into text
# with isoformat. Those conversions were most of an export's time (40% on PostgreSQL, 32% on
# SQLite). So `export_paged` asks the database for each timestamp as text already in UTC, and
# rewrites it into isoformat's exact spelling with string slicing; the few values not in the
# expected shape take the old road (parse, then isoformat), so the bytes never differ.


class TimestampText(models.Func):
    """A timestamp column read as text: on PostgreSQL in UTC with six fraction digits
    (YYYY-MM-DDTHH:MM:SS.ffffff), on SQLite as stored (Django writes naive UTC text)."""

    output_field = models.TextField()
    template = "CAST(%(expressions)s AS text)"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=(
                "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
            ),
            **extra_context,
        )


def _iso_slow(value: str) -> str:
    """What Django's reading of the column then isoformat make of `value` (any shape)."""
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"{value!r} is not a timestamp")
    if moment.tzinfo is None:  # as Django's make_aware: naive text is in the connection's zone
        moment = moment.replace(tzinfo=connection.timezone)
    return moment.isoformat()


def _iso_from_pg(value: str | None) -> str | None:
    # to_char always writes six fraction digits; isoformat leaves them out when all are zero.
    if value is None:
        return None
    if len(value) == 26:
        return (value[:19] if value.endswith(".000000") else value) + "+00:00"
    return _iso_slow(value)


def _iso_from_sqlite(value: str | None) -> str | None:
    # Django writes "YYYY-MM-DD HH:MM:SS" and ".ffffff" only when not zero (str(datetime)).
    if value is None:
        return None
    n = len(value)
    if value[10:11] == " " and (
        n == 19 or (n == 26 and value[19] == "." and not value.endswith(".000000"))
    ):
        return f"{value[:10]}T{value[11:]}+00:00"
    return _iso_slow(value)


def _json_from_text(value: str | None):
    """JSON text as Django's JSONField would give it (json.loads), through orjson when it
    can (the same values; it refuses what json.loads accepts and orjson cannot write back)."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def _timestamp_reader() -> Callable[[str | None], str | None]:
    if connection.vendor == "postgresql":
        return _iso_from_pg
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        return _iso_from_sqlite
    return lambda value: None if value is None else _iso_slow(value)


def _model_field(model, name: str):
    if "__" in name:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def in_id_order(model, column: str, value, *, many: bool = False):
    """The rows of `model` whose `column` (a foreign key across a join, like
    "issue__product_id") is `value` (or in `value` when `many`), to be paged in id order.

    On SQLite the planner would start from the join's index on that column and sort every
    remaining row for each page (a temporary B-tree): each page cost the whole rest of the
    table, quadratic in all. `+ 0` hides that index, so it walks the table's own id order and
    stops at the page's end. PostgreSQL plans this well from its statistics as it is.
    """
    lookup = "in" if many else "exact"
    if connection.vendor != "sqlite":
        return model.objects.filter(**{f"{column}__{lookup}": value})
    return model.objects.alias(export_owner=models.F(column) + 0).filter(
        **{f"export_owner__{lookup}": value}
    )


def export_paged(qs, *fields: str, size: int = EXPORT_PAGE) -> Iterator[tuple]:
    """`paged`, but each timestamp field comes as its isoformat text (in UTC) and each JSON
    field as its value, read without Django's conversions (see above): what a backup row
    holds, byte for byte as `iso(value)` and the JSONField would make it."""
    annotations: dict[str, object] = {}
    names: list[str] = []
    converters: list[tuple[int, Callable]] = []
    for i, name in enumerate(fields):
        found = _model_field(qs.model, name)
        alias = f"export_{name}"
        if isinstance(found, models.DateTimeField):
            annotations[alias] = TimestampText(name)
            converters.append((i, _timestamp_reader()))
        elif isinstance(found, models.JSONField):
            annotations[alias] = Cast(name, models.TextField())
            converters.append((i, _json_from_text))
        else:
            names.append(name)
            continue
        names.append(alias)
    if not converters:
        yield from paged(qs, *fields, size=size)
        return
    for row in paged(qs.annotate(**annotations), *names, size=size):
        values = list(row)
        for i, convert in converters:
            values[i] = convert(values[i])
        yield tuple(values)


def batched(iterable: Iterable, size: int = BATCH_SIZE) -> Iterator[list]:
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_rows(
    model, columns: list[str], rows: Iterable[tuple], *, points_at: "PointsAt | None" = None
) -> None:
    """Insert plain rows of database-ready values, fast: COPY on PostgreSQL, one executemany
    elsewhere. For restores of many rows whose ids nobody needs back (issues, comments);
    bulk_create builds, checks and adapts a model instance per row, which costs more than
    the insert itself. `points_at`: see `foreign_keys_checked_here`."""
    fields = [model._meta.get_field(c) for c in columns]
    types = [_binary_type(f) for f in fields]
    insert_into(
        model._meta.db_table,
        [f.column for f in fields],
        rows,
        points_at=points_at,
        binary_types=None if None in types else types,
    )


def insert_into(
    table: str,
    columns: list[str],
    rows: Iterable[tuple],
    *,
    points_at: "PointsAt | None" = None,
    binary_types: "list[str] | None" = None,
) -> None:
    """Insert a stream of rows in large slices, each one COPY (or one executemany).

    A slice is read in full before its COPY starts: a source that reads the database itself
    (ProductRowSource) must not query the connection while it is in COPY mode. With
    `points_at`, each slice's foreign keys are checked once for the slice, not per row
    (`foreign_keys_checked_here`). With `binary_types` (see `_BINARY`), PostgreSQL's COPY
    is binary: the server parses no timestamps or numbers (#16).
    """
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    pg = connection.vendor == "postgresql"
    size = INSERT_SLICE if pg else SQLITE_SLICE
    binary = _binary_writer(binary_types) if pg and binary_types else None
    sql = f"COPY {qn(table)} ({cols}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
    for chunk in batched(rows, size):
        # One transaction per slice when no transaction is open (a staged restore): SQLite's
        # one write lock is held for one slice, not for the whole import.
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            if pg:
                with foreign_keys_checked_here(points_at), cursor.cursor.copy(sql) as copy:
                    if binary:
                        binary(copy, chunk)
                    else:
                        for row in chunk:
                            copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608 - quoted
                cursor.executemany(sql, chunk)


# --- binary COPY (#16) --------------------------------------------------------------------------
#
# Text COPY makes the server parse every value of every row; "finishing the COPYs" was 16% of
# a restore on PostgreSQL. In binary the rows' values go in PostgreSQL's own representation.
# Callers keep passing what text COPY took (ISO 8601 text for a timestamp, JSON text for a
# JSON column); the writer converts the two that differ: a timestamp becomes a datetime
# (psycopg writes its microseconds), JSON text becomes jsonb's binary form, which is a
# version byte (1) and the same text, sent as raw bytes (bytea's binary form).

# A Django field's internal type -> the type psycopg writes it as in a binary COPY.
_BINARY = {
    "AutoField": "int4",
    "BigAutoField": "int8",
    "IntegerField": "int4",
    "BigIntegerField": "int8",
    "PositiveIntegerField": "int4",
    "PositiveBigIntegerField": "int8",
    "CharField": "text",  # varchar's binary form is text's (its length is still checked)
    "TextField": "text",
    "DateTimeField": "timestamptz",
    "JSONField": "jsonb",
}


def _binary_type(field) -> str | None:
    if field.is_relation:
        field = field.target_field
    return _BINARY.get(field.get_internal_type())


def _timestamptz(value):
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)
    # Naive text is in the connection's zone, as PostgreSQL would read it (UTC under Django).
    return moment if moment.tzinfo else moment.replace(tzinfo=connection.timezone)


def _jsonb(value):
    if value is None:
        return None
    return b"\x01" + (value.encode() if isinstance(value, str) else value)


def _binary_writer(types: list[str]) -> Callable:
    converters = [
        (i, _timestamptz if t == "timestamptz" else _jsonb)
        for i, t in enumerate(types)
        if t in ("timestamptz", "jsonb")
    ]
    wire = ["bytea" if t == "jsonb" else t for t in types]

    def write(copy, chunk: list[tuple]) -> None:
        copy.set_types(wire)
        for row in chunk:
            if converters:
                row = list(row)
                for i, convert in converters:
                    row[i] = convert(row[i])
            copy.write_row(row)

    return write


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


def counted(rows: Iterable, report: "ImportReport", content_type: str) -> Iterator:
    """Pass rows through, adding them to the report (and so to progress) every batch."""
    n = 0
    for row in rows:
        yield row
        n += 1
        if n == BATCH_SIZE:
            report.add(report.restored, content_type, n)
            n = 0
    if n:
        report.add(report.restored, content_type, n)


def datetime_adapter() -> Callable[[str], object]:
    """How an ISO 8601 time from a backup row goes into insert_rows, for this database."""
    if connection.vendor == "postgresql":
        return str  # PostgreSQL parses ISO 8601 with its offset itself
    adapt = connection.ops.adapt_datetimefield_value

    def slow(value: str):
        return adapt(parse_dt(value))

    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        return slow

    def to_sqlite_text(value: str):
        # SQLite keeps the text Django writes, str() of the naive UTC datetime: isoformat's
        # UTC spelling is the same text with a space for the "T" and no offset. Parsing it
        # to write it back was half a restore's time on SQLite (#16); any other shape (an
        # offset, .000000, a short fraction) takes Django's road, so the stored text is
        # exactly what it always was.
        n = len(value)
        if (
            value[10:11] == "T"
            and value.endswith("+00:00")
            and (n == 25 or (n == 32 and value[19] == "." and value[20:26] != "000000"))
        ):
            return f"{value[:10]} {value[11:-6]}"
        return slow(value)

    return to_sqlite_text


def db_json(value) -> str:
    return orjson.dumps(value).decode()


class ProductData:
    """What the two kinds share. A kind sets `kind` and `content_types` and writes `_import`."""

    kind: str
    content_types: tuple[str, ...]

    def __init__(self, product):
        assert product.kind == self.kind, product.kind
        self.product = product

    def import_content(
        self, source: RowSource, options: ImportOptions, *, atomic: bool = True
    ) -> ImportReport:
        """Write the source's rows into this product.

        atomic=True: one transaction, all or nothing. atomic=False: many short transactions
        (one per slice of rows), for a staging product that nobody sees: a restore imports
        there, then moves the content into its destination at once (`move_content_to`), or
        drops it (`delete_content`). Either way a failure deletes the attachment files already
        copied before the error goes on.
        """
        report = ImportReport(on_progress=options.on_progress)
        try:
            if atomic:
                with transaction.atomic():
                    self._import(source, options, report)
            else:
                self._import(source, options, report)
        except BaseException:
            for name in report.written_files:  # nothing an import that failed copied stays
                storage.attachment_delete(name)
            raise
        return report

    def _import(self, source: RowSource, options: ImportOptions, report: ImportReport) -> None:
        raise NotImplementedError

    def move_content_to(self, destination) -> None:
        """Hand every container (project, space) of this product, with all it holds, to
        `destination`. Call it inside the transaction that publishes a restore."""
        raise NotImplementedError

    def publish_problem(self, destination) -> str | None:
        """Why this product's content may not move into `destination` now (R6), or None."""
        raise NotImplementedError

    def delete_content(self) -> None:
        """Delete everything this product holds, in short transactions (a staging product)."""
        raise NotImplementedError

    # The tables a restore fills in bulk (see `analyze`).
    bulk_models: tuple = ()

    def analyze(self) -> None:
        """PostgreSQL: gather the statistics of the tables a restore filled, outside any
        transaction. Until autovacuum gets to them the planner guesses: after a bulk load
        the export's page query (2,000 rows by id) was a hash join and a sort of the whole
        table, 200 ms a page and so quadratic; with statistics, 3.6 ms (#16). Only the ids
        and foreign keys the pages and joins filter on: the text columns would double the
        time (a sample of 30,000 rows is sorted per column)."""
        if connection.vendor != "postgresql" or not self.bulk_models:
            return
        qn = connection.ops.quote_name
        tables = ", ".join(
            f"{qn(m._meta.db_table)} ("
            + ", ".join(
                qn(f.column) for f in m._meta.concrete_fields if f.primary_key or f.is_relation
            )
            + ")"
            for m in self.bulk_models
        )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")


def delete_in_batches(qs) -> None:
    """Delete the rows of `qs` a batch at a time, each batch its own short transaction."""
    size = INSERT_SLICE if connection.vendor == "postgresql" else SQLITE_SLICE
    while True:
        ids = list(qs.values_list("id", flat=True)[:size])
        if not ids:
            return
        with transaction.atomic():
            qs.model.objects.filter(id__in=ids).delete()


class ProductRowSource:
    """A RowSource that reads a live product: lets a product be copied into another directly."""

    def __init__(self, data, options: ExportOptions):
        self._data = data
        self._options = options
        self._files: dict[str, str] | None = None

    def rows(self, content_type: str) -> Iterator[dict]:
        return self._data.rows(content_type, self._options)

    def open_attachment(self, path: str) -> BinaryIO:
        if self._files is None:
            self._files = {f.path: f.storage_name for _, f in self._data.attachments(self._options)}
        return storage.open_attachment(self._files[path])

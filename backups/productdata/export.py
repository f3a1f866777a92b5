"""Export: a product's rows read as the text a backup holds (#16). Timestamps come from the
database as UTC text and JSON as text (orjson), in the spelling the entities files already
use, instead of through Django's model field conversions, which were most of an export's time.
Split out of base.py; base re-exports every name, so `from .base import paged` still works.
"""

import json
from collections.abc import Callable, Iterator
from datetime import datetime

import orjson
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

EXPORT_PAGE = 2000  # rows per keyset page of an export (see `paged`)


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

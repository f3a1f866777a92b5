"""Export: timestamps and JSON read as the text a backup holds (#16), for `export_paged`.

Django turns every timestamp it reads into a datetime (on PostgreSQL through psycopg's
timestamptz loader, on SQLite through parse_datetime and make_aware) and every JSON value
into Python through json.loads; the export then turns the datetime straight back into text
with isoformat. Those conversions were most of an export's time (40% on PostgreSQL, 32% on
SQLite). So `export_paged` asks the database for each timestamp as text already in UTC, and
rewrites it into isoformat's exact spelling; the few values not in the expected shape take
the old road (parse, then isoformat), so the bytes never differ. Split out of export.py.
"""

import json
import re
from collections.abc import Callable, Iterable
from functools import partial

import orjson
from django.db import connection, models
from django.utils.dateparse import parse_datetime


class TimestampText(models.Func):
    """A timestamp column read as text: on PostgreSQL in UTC (see `as_postgresql`), on
    SQLite as stored (Django writes naive UTC text)."""

    output_field = models.TextField()
    template = "CAST(%(expressions)s AS text)"

    def as_postgresql(self, compiler, connection, **extra_context):
        # A time datetime cannot hold (years outside 1-9999, infinity) fails the export, as
        # reading it into Python would: the cast of its text to integer raises, naming it.
        held = (
            "CASE WHEN %(expressions)s >= '0001-01-01 00:00:00+00' "
            "AND %(expressions)s < '10000-01-01 00:00:00+00' THEN {} WHEN %(expressions)s "
            "IS NOT NULL THEN CAST(CAST('not a time a backup can hold: ' || "
            "%(expressions)s::text AS integer) AS text) END"
        )
        if _iso_datestyle(connection):
            # Its own text, the fraction padded to six digits, for `_iso_from_pg` (#16:
            # to_char per value was a fifth of the backend's time of an export).
            text = "rpad(CAST(%(expressions)s AT TIME ZONE 'UTC' AS text), 26, '0')"
        else:  # another DateStyle's text: isoformat's spelling made by to_char
            text = (
                "replace(to_char(%(expressions)s AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), '.000000+', '+')"
            )
        return self.as_sql(compiler, connection, template=held.format(text), **extra_context)


def _iso_datestyle(connection) -> bool:
    """Whether the session writes a timestamp "YYYY-MM-DD HH:MM:SS[.ffffff]" (DateStyle
    ISO, the default; the server reports the setting, so this asks nothing)."""
    connection.ensure_connection()
    style = connection.connection.info.parameter_status("DateStyle") or ""
    return style.upper().startswith("ISO")


def _iso_from_pg(column: tuple) -> list:
    """isoformat's text of a page's column of PostgreSQL `TimestampText` values, each
    "YYYY-MM-DD HH:MM:SS.ffffff", or "...HH:MM:SS0000000" when the fraction is zero (rpad's
    zeros), by a few operations on the whole column, not a call per value (#16). A line
    ends in seven zeros only then: a fraction's last seven characters start with its dot."""
    if None in column:
        return [None if value is None else _iso_from_pg((value,))[0] for value in column]
    text = "\n".join(column) + "\n"
    if len(text) != 27 * len(column):
        raise ValueError(f"not timestamps as the export asked for them: {column[:3]!r}")
    text = text.replace("0000000\n", "\n").replace("\n", "+00:00\n").replace(" ", "T")
    values = text.split("\n")
    values.pop()  # after the last line's end
    return values


def _iso_slow(value: str) -> str:
    """What Django's reading of the column then isoformat make of `value` (any shape)."""
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"{value!r} is not a timestamp")
    if moment.tzinfo is None:  # as Django's make_aware: naive text is in the connection's zone
        moment = moment.replace(tzinfo=connection.timezone)
    return moment.isoformat()


def _iso_from_sqlite(value: str | None) -> str | None:
    # Django writes "YYYY-MM-DD HH:MM:SS" and ".ffffff" only when not zero (str(datetime)).
    # (Made by SQLite's substr and GLOB instead, with a bit per row for the other shapes,
    # an export ran 15% more instructions.)
    if value is None:
        return None
    n = len(value)
    if value[10:11] == " " and (
        n == 19 or (n == 26 and value[19] == "." and not value.endswith(".000000"))
    ):
        return f"{value[:10]}T{value[11:]}+00:00"
    return _iso_slow(value)


# A page's column of SQLite timestamps, joined by "\n", in the one shape `_iso_from_sqlite` takes
# its fast road for: each line one space, after ten characters, then eight, and maybe a dot
# and six. Lines ending ".000000" are left to it too (see `_isos_from_sqlite`).
_SQLITE_STORED = re.compile(r"(?:[^ \n]{10} [^ \n]{8}(?:\.[^ \n]{6})?\n)*")


def _isos_from_sqlite(column: tuple) -> Iterable:
    """`_iso_from_sqlite` of each value of a page's column, by a few operations on the whole
    column when every value has the shape it rewrites (one regular expression over the
    column, then two replaces), else value by value. Either way the same text: the column
    is rewritten only where each value is one `_iso_from_sqlite` rewrites the same way
    (#16: 0.96 -> 0.35 ms per 2,000 values, a tenth of an export's CPU on SQLite)."""
    if None not in column:
        text = "\n".join(column) + "\n"
        # A line per value (none holds a line's end of its own), each in that shape.
        lines = text.count("\n") == len(column)
        if lines and ".000000\n" not in text and _SQLITE_STORED.fullmatch(text):
            values = text.replace(" ", "T").replace("\n", "+00:00\n").split("\n")
            values.pop()  # after the last line's end
            return values
    return map(_iso_from_sqlite, column)


def json_from_text(value: str | None):
    """JSON text as Django's JSONField would give it (json.loads), through orjson when it
    can (the same values; it refuses what json.loads accepts and orjson cannot write back)."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def timestamp_reader() -> Callable[[tuple], Iterable] | None:
    """How a page's column of TimestampText values becomes isoformat's text (None: it is)."""
    if connection.vendor == "postgresql":
        return _iso_from_pg if _iso_datestyle(connection) else None
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        return _isos_from_sqlite
    return partial(map, lambda value: None if value is None else _iso_slow(value))

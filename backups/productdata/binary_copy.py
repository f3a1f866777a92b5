"""Binary COPY (#16): a restore's rows in PostgreSQL's own representation. Split out of
writes.py, whose `slice_inserter` uses `binary_writer` when a table's columns allow it.
"""

from collections.abc import Callable
from datetime import datetime

from django.db import connection

from backups.row_process import MICROSECOND, PG_EPOCH

_fromisoformat = datetime.fromisoformat

# Text COPY makes the server parse every value of every row; "finishing the COPYs" was 16% of
# a restore on PostgreSQL. In binary the rows' values go in PostgreSQL's own representation.
# Callers may pass what text COPY took (ISO 8601 text for a timestamp, JSON text for a JSON
# column); the writer converts the two that differ: a timestamp becomes a datetime (psycopg
# writes its microseconds), JSON text becomes jsonb's binary form, which is a version byte
# (1) and the same text, sent as raw bytes (bytea's binary form). A restore's rows come
# `ready` (datetime_adapter, json_adapter): parsed and dumped once as the row is built (a
# timestamp as the int8 of microseconds since 2000 that is timestamptz's binary form), and
# written as they are (#16: without a list, a loop and a str round trip per row, building and
# writing 100k issues' rows took 0.18 s of Python instead of 0.23 s).

# jsonb goes as bytea's binary form, raw bytes. psycopg's dumper of bytea by type is the
# DB-API's, in Python (it unwraps psycopg.Binary), a call per row; a COPY's cursor is given
# the C dumper of plain bytes instead (#16: 100k rows' COPY 0.061 -> 0.035 s of Python).

# A Django field's internal type -> the type psycopg writes it as in a binary COPY.
BINARY = {
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


def binary_type(field) -> str | None:
    if field.is_relation:
        field = field.target_field
    return BINARY.get(field.get_internal_type())


def _timestamptz(value):
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)
    # Naive text is in the connection's zone, as PostgreSQL would read it (UTC under Django).
    return moment if moment.tzinfo else moment.replace(tzinfo=connection.timezone)


def micros_of_text(value: str) -> int:
    """row_process.utc_micros on a connection in another zone than UTC."""
    moment = _fromisoformat(value)
    # Naive text is in the connection's zone, as PostgreSQL would read it (UTC under Django).
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=connection.timezone)
    return (moment - PG_EPOCH) // MICROSECOND


def _jsonb(value):
    if value is None:
        return None
    return b"\x01" + (value.encode() if isinstance(value, str) else value)


def binary_writer(types: list[str], ready: bool = False) -> Callable:
    converters = [
        (i, _timestamptz if t == "timestamptz" else _jsonb)
        for i, t in enumerate(types)
        if t in ("timestamptz", "jsonb") and not ready
    ]
    # Ready timestamps are timestamptz's binary form already: an int8 (row_process.utc_micros).
    wire = [
        "bytea" if t == "jsonb" else "int8" if ready and t == "timestamptz" else t for t in types
    ]

    def write(copy, chunk: list[tuple]) -> None:
        copy.set_types(wire)
        if not converters:
            for row in chunk:
                copy.write_row(row)
            return
        for row in chunk:
            row = list(row)
            for i, convert in converters:
                row[i] = convert(row[i])
            copy.write_row(row)

    return write


def register_bytes_dumper(cursor) -> None:
    """jsonb goes as bytea's binary form (see above): this COPY's cursor dumps plain bytes
    with psycopg's C dumper. Its own adapters: nothing else on the connection changes.
    (Imported here: SQLite's processes need not load psycopg, ~10 MB.)"""
    from psycopg.types.string import BytesBinaryDumper

    cursor.adapters.register_dumper(bytes, BytesBinaryDumper)

"""A backup's entities rows parsed in a process of their own, for a restore (#16).

SQLite runs inside the restoring process, so parsing each JSON line and building its row took
turns with SQLite's inserts on one core: the GIL is let go only for each row's step, and a
parsing *thread* measured slower (106.7k -> 97.8k rows/s). Here a child process reads the
entities file's bytes from its stdin, parses each line, builds its database row with the same
builder the in-process path uses (BUILDERS), and sends the rows back a batch at a time, with
the batch's count and characters (what ImportReport adds up), and the file's SHA-256 at the
end. The restoring process only inserts (productdata/parsed_rows.py is its side).

On PostgreSQL too: the server takes the rows on a connection of its own
(productdata/slice_writer.py), and on a slower machine the restoring process's Python, which
parsed and built every row, was the bound (#16: 2.1-2.4 s of its CPU per 200k rows on one
core, the server waiting; with the child 1.3 s, and 51.3k -> 58.9k rows/s).

This module imports no Django, so the child starts in ~30 ms; what both sides must agree on
(the text SQLite stores for a timestamp, a JSON value's text, SQLite's LENGTH of a text,
PostgreSQL's binary forms) is here, once.
"""

import hashlib
import pickle
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import count
from operator import itemgetter

import orjson

# Rows per message: the report's progress step (base.BATCH_SIZE), and ~70 KB of pickle.
BATCH = 1000
PROTOCOL = pickle.HIGHEST_PROTOCOL


def json_text(value) -> str:
    """A JSON value as the text a JSONField keeps on SQLite."""
    return orjson.dumps(value).decode()


def sqlite_datetime_text(value: str) -> str:
    """The text Django's SQLite backend stores for the ISO 8601 time `value` (USE_TZ, the
    connection in UTC): str() of the naive UTC datetime. isoformat's UTC spelling is the same
    text with a space for the "T" and no offset: parsing it to write it back was half a
    restore's time on SQLite (#16). Any other shape (an offset, .000000, a short fraction)
    takes adapt_datetimefield_value's road, so the stored text is exactly what it always was.
    The cheapest tests first, and a concatenation: 0.18 s instead of 0.27 s for 300,000
    values (an f-string and endswith cost more than slicing)."""
    if value[-6:] == "+00:00" and value[10:11] == "T":
        n = len(value)
        if n == 25 or (n == 32 and value[19] == "." and value[20:26] != "000000"):
            return value[:10] + " " + value[11:-6]
    parsed = datetime.fromisoformat(value)
    if parsed.utcoffset() is not None:  # timezone.make_naive(value, UTC)
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return str(parsed)


_fromisoformat = datetime.fromisoformat
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def utc_micros(value: str) -> int:
    """An ISO 8601 time as PostgreSQL's binary timestamptz: microseconds since 2000-01-01 UTC,
    which a binary COPY writes as an int8 (productdata.writes). Naive text is UTC, the zone
    Django's connections use. An int, not a datetime: pickling a row's two datetimes took
    3.3 us and an int's 0.3 (#16), and psycopg writes an int8 with no arithmetic."""
    moment = _fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - PG_EPOCH) // MICROSECOND


def jsonb_binary(value) -> bytes:
    """A JSON value as jsonb's binary form: version 1, then the JSON text."""
    return b"\x01" + orjson.dumps(value)


def text_length(texts: Iterable[str]) -> int:
    """The characters of these texts as PostgreSQL's LENGTH() counts them (its text holds no
    NUL): Python's len, summed in C."""
    return sum(map(len, texts))


def sqlite_text_length(texts: Iterable[str]) -> int:
    """The characters of these texts as SQLite's LENGTH() counts them: it stops at a text's
    first NUL. A join and one search in C: cheaper than a test per text."""
    texts = list(texts)
    total = sum(map(len, texts))
    if "\0" in "".join(texts):
        total -= sum(len(t) - t.index("\0") for t in texts if "\0" in t)
    return total


# --- how a backup's row becomes a database row, for the rows inserted in bulk ----------------
# Each takes the database's adapters (dt: an ISO 8601 text; js: a JSON value) and the import's
# context (ids it made), and returns the function of one row. KeyError for a name the context
# lacks, as the import's own lookups raise.


def jira_issues(dt, js, *, product: int, projects: dict[str, int]) -> Callable[[dict], tuple]:
    def build(r: dict) -> tuple:
        return (
            product,
            projects[r["project"]],
            r["key"],
            r["summary"],
            r["description"],
            r["status"],
            js(r["fields"]),
            dt(r["created"]),
            dt(r["updated"]),
        )

    return build


def jira_comments(dt, js) -> Callable[[dict], tuple]:
    """A comment with the key of its issue (PostgreSQL's import looks the ids up per slice)."""
    return lambda r: (r["issue"], r["author"], r["body"], dt(r["created"]))


def jira_comments_staged(dt, js) -> Callable[[dict], tuple]:
    """A comment as a row of the SQLite import's temporary table: its place in the file, the
    key of its issue, its fields."""
    seq = count()
    return lambda r: (next(seq), r["issue"], r["author"], r["body"], dt(r["created"]))


def confluence_pages(dt, js, *, skip: frozenset = frozenset()) -> Callable[[dict], tuple]:
    """A page with its space's key and its parent's source id, which the import maps
    (productdata.confluence_pages.PageSlices); None for a page of a space in `skip` (R6),
    which is not built at all. Files made before pages kept their state and labels have
    none."""

    def build(r: dict) -> tuple | None:
        if r["space"] in skip:
            return None
        return (
            r["id"],
            r["space"],
            r["kind"],
            r["title"],
            r["body"],
            r["parent"],
            page_version(r),
            r.get("state") or "active",
            js(r.get("labels") or []),
            dt(r["created"]),
            dt(r["updated"]),
        )

    return build


def page_version(r: dict) -> int:
    """As the model's field took it ("3" is 3): a binary COPY writes only an int as int4."""
    try:
        return int(r["version"])
    except (TypeError, ValueError):
        raise ValueError(
            f"Page {r['id']} of the backup has version {r['version']!r}, which is not a number."
        ) from None


def confluence_comments(dt, js, *, pages: frozenset) -> Callable[[dict], tuple]:
    """A comment with its page's source id, which the import maps; None for a comment of a
    page not written (`pages`: the source ids of those written), not built at all."""
    return lambda r: (
        (r["page"], r["author"], r["body"], dt(r["created"])) if r["page"] in pages else None
    )


BUILDERS = {
    "jira_issues": jira_issues,
    "jira_comments": jira_comments,
    "jira_comments_staged": jira_comments_staged,
    "confluence_pages": confluence_pages,
    "confluence_comments": confluence_comments,
}

# A database's adapters, as its import passes them (productdata.writes.datetime_adapter,
# json_adapter, text_length): the child builds what that database takes.
ADAPTERS = {
    "sqlite": (sqlite_datetime_text, json_text, sqlite_text_length),
    "postgresql": (utc_micros, jsonb_binary, text_length),
}


def built_batch(build, batch: list[dict], getters, length) -> tuple[list[tuple], int, int, int]:
    """A batch of parsed rows built: (their database rows, how many, the length of their
    `getters`' texts, how many rows were left out). A builder returns None for a row the
    import leaves out (R6: a skipped space's): it is counted as skipped, never built."""
    rows = [build(r) for r in batch]  # first: a refused row fails before its batch counts
    kept = batch
    if None in rows:
        kept = [r for r, built in zip(batch, rows, strict=True) if built is not None]
        rows = [built for built in rows if built is not None]
    chars = sum(length(map(get, kept)) for get in getters)
    return rows, len(kept), chars, len(batch) - len(kept)


# --- the child ----------------------------------------------------------------------------------
# Messages, each one pickle on stdout:
#   ("ready",)                          once started: the parent then sends the job and the bytes
#   ("rows", rows, n, characters, out)  a batch: its database rows, how many, their texts' length,
#                                       how many rows were left out (built_batch)
#   ("damaged", line_number)            a line that is not JSON: nothing more is sent
#   ("error", exception)                a row its builder refused (KeyError, TypeError, ...)
#   ("end", sha256_hex)                 every line parsed; the file's SHA-256


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def send(message: tuple) -> None:
        pickle.dump(message, stdout, PROTOCOL)
        stdout.flush()

    send(("ready",))
    job = pickle.load(stdin)  # noqa: S301 - the parent's own, on a pipe only it holds
    dt, js, length = ADAPTERS[job["database"]]
    build = BUILDERS[job["builder"]](dt, js, **job["context"])
    getters = [itemgetter(name) for name in job["summed"]]
    digest = hashlib.sha256()
    batch: list[dict] = []

    def flush() -> None:
        send(("rows", *built_batch(build, batch, getters, length)))
        batch.clear()

    try:
        for number, line in enumerate(stdin, 1):
            digest.update(line)
            try:
                batch.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                send(("damaged", number))
                return
            if len(batch) == BATCH:
                flush()
        if batch:
            flush()
    except BrokenPipeError:
        return  # the parent stopped reading (its import failed): nothing to say
    except Exception as exc:  # noqa: BLE001 - a builder's refusal, raised again in the parent
        try:
            pickle.dumps(exc, PROTOCOL)
        except Exception:  # noqa: BLE001
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        send(("error", exc))
        return
    send(("end", digest.hexdigest()))


if __name__ == "__main__":
    main()

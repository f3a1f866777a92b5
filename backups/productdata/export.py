"""Export: a product's rows read as the text a backup holds (#16). Timestamps come from the
database as UTC text and JSON as text (orjson), in the spelling the entities files already
use, instead of through Django's model field conversions, which were most of an export's time.
Split out of base.py; base re-exports every name, so `from .base import paged` still works.
The values' text is export_text.py's; pages read ahead on a connection of their own (PostgreSQL),
pages_ahead.py's.
"""

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from operator import itemgetter

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import OperationalError, connections, models
from django.db.models.functions import Cast

from .export_text import TimestampText, json_from_text, timestamp_reader
from .pages_ahead import PagesAhead, can_read_ahead

EXPORT_PAGE = 2000  # rows per keyset page of an export (see `paged`)

# Stand-ins for a page's bounds in its SQL, compiled once (see `_PageQuery`).
_LO, _HI = -(2**62) + 7, -(2**62) + 11
_first = itemgetter(0)


def iso(value: datetime) -> str:
    return value.isoformat()


def parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


class _PageQuery:
    """A page's query (`qs`'s `names` in one range of ids), compiled once: a page is then the
    same SQL with its two bounds as parameters, read whole (#16: Django's building and
    compiling of a queryset for each page, and its iteration of the rows, were 4% of a
    PostgreSQL export's instructions). The rows are what the queryset's values_list gives:
    the compiler's converters run when it has any; a query whose bounds cannot be found
    among its parameters takes the ORM's way."""

    def __init__(self, qs, names):
        values = qs.order_by("id").filter(id__gte=_LO, id__lt=_HI).values_list(*names)
        self.values = values
        self.compiler = values.query.get_compiler(using=values.db)
        self.sql = None
        try:
            sql, params = self.compiler.as_sql()
        except EmptyResultSet:
            self.empty = True
            return
        self.empty = False
        self.params = list(params)
        fields = [s[0] for s in self.compiler.select[: self.compiler.col_count]]
        self.plain = not (
            self.compiler.get_converters(fields) or self.compiler.has_composite_fields(fields)
        )
        if (
            self.params.count(_LO) == 1
            and self.params.count(_HI) == 1
            and not self.compiler.has_extra_select
        ):
            self.sql = sql
            self.at = self.params.index(_LO), self.params.index(_HI)

    def read(self, lo: int, hi: int) -> list[tuple]:
        if self.empty:
            return []
        if self.sql is None:  # a query this does not know how to reuse: the ORM's way
            return list(self.values.filter(id__gte=lo, id__lt=hi))
        with connections[self.values.db].cursor() as cursor:
            cursor.execute(*self.bound(lo, hi))
            return self.rows(cursor.fetchall())

    def bound(self, lo: int, hi: int) -> tuple[str, list]:
        self.params[self.at[0]], self.params[self.at[1]] = lo, hi
        return self.sql, self.params

    def rows(self, fetched: list[tuple]) -> list[tuple]:
        if self.plain:
            return fetched
        return list(self.compiler.results_iter(results=[fetched], tuple_expected=True))


def _id_range(qs) -> tuple:
    """The smallest and largest id of `qs` (None, None when it has no rows): each the first
    row from an end of the primary key (#16: MIN and MAX in one query scanned every row of
    the table that `in_id_order` hides the index from, 0.05-0.07 s per 200k issues)."""
    if isinstance(qs, OwnersRange):
        return qs.id_range()
    ids = qs.values_list("id", flat=True)
    lo = ids.order_by("id").first()
    return (None, None) if lo is None else (lo, ids.order_by("-id").first())


def _pages(qs, names, size: int, bounds, owned: bool) -> Iterator[list[tuple]]:
    lo, hi = _id_range(qs if bounds is None else bounds)
    if lo is None:
        return
    query = _PageQuery(qs, names)  # compiled here, for the caller's connection
    owner = qs.query.annotations.get(names[0]) if owned else None
    owner_keys = _OwnerKeys(owner) if isinstance(owner, _OwnerKey) else None
    if query.sql is None or hi - lo < 4 * size or not can_read_ahead(qs.db):
        yield from _walk(query, owner_keys, owned, lo, hi, size)  # a few pages: as they come
        return
    try:
        ahead = PagesAhead(qs.db)
    except OperationalError:  # no connection to spare (the server's max_connections)
        yield from _walk(query, owner_keys, owned, lo, hi, size)
        return
    try:
        yield from _walk_ahead(query, owner_keys, owned, lo, hi, size, ahead)
    finally:
        ahead.close()


def _walk(query, owner_keys, owned: bool, lo: int, hi: int, size: int) -> Iterator[list]:
    span = size
    while lo <= hi:
        page = query.read(lo, lo + span)
        lo += span
        span = _span(span, len(page), size)
        yield _owned(page, owner_keys, owned)


def _walk_ahead(query, owner_keys, owned: bool, lo: int, hi: int, size: int, ahead):
    """`_walk`, each page's query sent on `ahead` before the page before it is handed over,
    with the keys of that page's owners (a range's: `_OwnerKeys.range_query`) in the same
    round trip; a page whose keys come that way is handed over one page later (#16: waiting
    for them on the caller's connection was ~0.12 s of the backend's per 200k comments)."""
    span = size
    page = query.read(lo, lo + span)
    lo += span
    held = None  # a page and its owners' keys, handed over after the page after it is asked for
    while True:
        span = _span(span, len(page), size)
        keys_query = owner_keys.range_query(page) if owner_keys else None
        queries = [keys_query] if keys_query else []
        more = lo <= hi
        if more:  # the next page's query runs while this one's read
            queries.append(query.bound(lo, lo + span))
            lo += span
        if queries:
            ahead.send(queries)
        if held:
            yield owner_keys.keyed(*held)
            held = None
        if not keys_query:
            yield _owned(page, owner_keys, owned)
        if not queries:
            return
        fetched = ahead.fetch()
        if keys_query:
            held = page, dict(owner_keys.by_range.rows(fetched.pop(0)))
        if not more:
            if held:
                yield owner_keys.keyed(*held)
            return
        page = query.rows(fetched[0])


def _span(span: int, rows: int, size: int) -> int:
    if rows > size and span > size:
        return span // 2
    if rows < size // 4 and span < 16 * size:
        return span * 2
    return span


def _owned(page: list[tuple], owner_keys, owned: bool) -> list[tuple]:
    if owner_keys:
        return owner_keys.keyed(page)
    if owned and None in map(_first, page):
        return [row for row in page if row[0] is not None]
    return page


def paged(
    qs, *fields: str, size: int = EXPORT_PAGE, bounds=None, owned: bool = False
) -> Iterator[tuple]:
    """The `fields` of every row of `qs`, in id order, read one page at a time.

    Each page is read whole by its own short query, so no read statement stays open while
    the caller writes. On SQLite in WAL mode an open read pins a snapshot: once another
    connection commits, a write on the reading connection fails at once with "database is
    locked" (SQLITE_BUSY_SNAPSHOT), whatever the busy timeout, and the backup engine writes
    its progress between rows. It also lets the WAL be checkpointed while a long export runs.

    A page is a range of ids (`id >= lo AND id < lo + span`) walked from the rows' smallest
    id to their largest (those of `bounds`, default `qs`), not "id > last ORDER BY id LIMIT
    size": on a PostgreSQL table that was never analyzed (a bulk-loaded product, autovacuum
    off) the planner read that as "all of the product's rows after `last`, sorted": a bitmap
    of the product's whole index, or a scan of the whole table, for every page, quadratic in
    all (200k issues + 200k comments: 63 s). A range of the primary key has one plan
    whatever the statistics, that range of the index, as long as the query offers no other
    index (`in_id_order`, `owned_rows`). Where the rows are sparse among other products'
    ids the span doubles (up to 16 pages' worth); it halves again where they are dense, so
    a page stays near `size` rows. `owned`: the first field is the owner's key that
    `owned_rows` reads, None for a row of another owner, which is left out.
    """
    for page in _pages(qs, fields, size, bounds, owned):
        yield from page


def _model_field(model, name: str):
    if "__" in name:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def in_id_order(model, column: str, value, *, many: bool = False):
    """The rows of `model` whose `column` (a foreign key, maybe across a join, like
    "issue__product_id") is `value` (or in `value` when `many`), to be paged in id order.

    `+ 0` hides the index on that column from the planner, so a page's one way in is its
    range of the table's own ids (see `paged`). Without it SQLite started from the column's
    index and sorted every remaining row for each page (a temporary B-tree), and PostgreSQL
    without statistics ANDed that index's every entry for the product with the page's range:
    each page cost the whole product, quadratic in all.
    """
    lookup = "in" if many else "exact"
    return model.objects.alias(export_owner=models.F(column) + 0).filter(
        **{f"export_owner__{lookup}": value}
    )


class KeysById(dict):
    """{id: key} of a few owners (a product's projects or spaces), read once, to name each
    row's owner by a dict lookup instead of a join: a join's plan depends on the statistics
    (without them PostgreSQL joined every project of every product to each page's issues
    row by row). An id not among them (a row pointing into another product) is looked up
    alone, so the text is what the join gave."""

    def __init__(self, owners, key: str):
        super().__init__(owners.order_by().values_list("pk", key))
        self._model, self._key = owners.model, key

    def __missing__(self, pk):
        value = self[pk] = self._model.objects.values_list(self._key, flat=True).get(pk=pk)
        return value


class _OwnerKey(models.Func):
    """A row's foreign key, read in place of its owner's key: `_pages` looks the keys up a
    page at a time among `owners` (see `owned_rows`). Read as the database gives it (an
    integer field's output would be converted in Python row by row)."""

    template = "%(expressions)s"
    output_field = models.Field()

    def __init__(self, column: str, owners, key: str):
        super().__init__(models.F(column))
        self.owners, self.key = owners, key


class _OwnerKeys:
    """{owner id: key} of the owners a page's rows point at, read by one query per page."""

    def __init__(self, owner: _OwnerKey):
        self.owners, self.key = owner.owners, owner.key
        self.by_range = _PageQuery(owner.owners, ("pk", owner.key))

    def of(self, ids: set) -> dict:
        if not ids:
            return {}
        lo, hi = min(ids), max(ids)
        if hi - lo < 4 * len(ids):  # mostly the page's own owners: read their range
            return dict(self.by_range.read(lo, hi + 1))
        found: dict = {}
        ordered = sorted(ids)
        for at in range(0, len(ordered), 500):  # within every database's count of parameters
            wanted = self.owners.filter(pk__in=ordered[at : at + 500])
            found.update(wanted.order_by().values_list("pk", self.key))
        return found

    def range_query(self, page: list[tuple]) -> tuple[str, list] | None:
        """The query of the keys of `page`'s owners when they are mostly a range's (as `of`
        reads them), to send beside the next page's (`_walk_ahead`); else None."""
        ids = set(map(_first, page))
        ids.discard(None)
        if not ids or self.by_range.sql is None or max(ids) - min(ids) >= 4 * len(ids):
            return None
        return self.by_range.bound(min(ids), max(ids) + 1)

    def keyed(self, page: list[tuple], keys: dict | None = None) -> list[tuple]:
        """`page` with each row's owner id replaced by the owner's key (from `keys`, else
        read here), and without the rows whose owner is not one of `owners`."""
        if not page:
            return page
        columns = _columns(page)
        ids = set(columns[0])
        ids.discard(None)
        if keys is None:
            keys = self.of(ids)
        columns[0] = list(map(keys.get, columns[0]))
        if len(keys) == len(ids) and None not in columns[0]:
            return list(zip(*columns, strict=True))
        return [row for row in zip(*columns, strict=True) if row[0] is not None]


def _columns(page: list[tuple]) -> list:
    """`page`'s columns, each a list (#16: itemgetter a column at a time took a quarter of the
    time of zip(*page), which makes an iterator per row)."""
    return [list(map(itemgetter(i), page)) for i in range(len(page[0]))]


class OwnersRange:
    """`paged`'s bounds of the rows of `model` whose `column` lies in the range of `owners`'
    ids: all of theirs, maybe a few of another owner's, which `owned` leaves out. (#16: the
    bounds of the rows of `owners` alone, a semi-join, were 0.43 s of a 2.2 s export of 200k
    issues and comments on PostgreSQL; this range's ends come from the primary key's.)"""

    def __init__(self, model, column: str, owners):
        self.model, self.column, self.owners = model, column, owners

    def id_range(self) -> tuple:
        lo, hi = _id_range(self.owners)
        if lo is None:
            return None, None
        rows = self.model.objects.filter(**{f"{self.column}__gte": lo, f"{self.column}__lte": hi})
        return _id_range(rows)


def owned_rows(model, foreign_key: str, owners, key: str):
    """The rows of `model` to page (`export_paged(..., bounds=..., owned=True)`) whose
    `foreign_key` points at one of `owners`, each with `export_owner`: that owner's `key`.

    Returns (rows, bounds). A page's query is the range of `model`'s ids alone, with no join
    for the planner to choose: joined, PostgreSQL without statistics chose a hash join over
    every owner of every product for each page once the comments outnumbered the issues
    about three to one (#16). On PostgreSQL the owners' keys are read after it, one query
    per page (`_OwnerKeys`: the range of the page's owners' ids, or those ids), not by a
    subquery per row (a Jira product's issues are those of its projects: that subquery
    joined the projects for each comment, 0.78 s of the backend's time per 200k comments,
    against 0.45 s for the issue alone). On SQLite a subquery per row costs less than
    reading the keys into Python. A row whose owner is not one of `owners` (another
    product's, in the same id range) has no key and is left out.
    """
    field = model._meta.get_field(foreign_key)
    if connections[owners.db].vendor == "postgresql":
        owner_key = _OwnerKey(field.attname, owners, key)
    else:
        owner_key = models.Subquery(
            owners.filter(pk=models.OuterRef(field.attname)).order_by().values(key)
        )
    rows = model.objects.annotate(export_owner=owner_key)
    return rows, OwnersRange(model, field.attname, owners)


def export_paged(
    qs, *fields: str, size: int = EXPORT_PAGE, bounds=None, owned: bool = False
) -> Iterator[tuple]:
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
            if reader := timestamp_reader():
                converters.append((i, reader))
        elif isinstance(found, models.JSONField):
            annotations[alias] = Cast(name, models.TextField())
            converters.append((i, partial(map, json_from_text)))
        else:
            names.append(name)
            continue
        names.append(alias)
    pages = _pages(qs.annotate(**annotations), names, size, bounds, owned)
    if not converters:
        for page in pages:
            yield from page
        return
    for page in pages:
        if not page:  # a range of ids with none of the rows (they are sparse there)
            continue
        # A column at a time (rebuilding each row's tuple cost more), and lazily where the
        # values are objects: each JSON value made as its row is taken, as a whole page of
        # them made at once kept the garbage collector busy (full collections of every
        # object the process has); the timestamps' text is not the collector's.
        columns = _columns(page)
        for i, convert in converters:
            columns[i] = convert(columns[i])
        yield from zip(*columns, strict=True)

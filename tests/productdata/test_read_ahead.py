"""Rows read ahead on a thread (#16, productdata/read_ahead.py): the same rows in the same order,
what the reading raises raised where the rows stop (D1's words unchanged), and no thread or
open file left when the reader stops early."""

import gc
import threading
import time
from functools import partial

import orjson
import pytest

from backups import archive, storage
from backups.productdata.read_ahead import read_ahead
from backups.services import restores
from backups.services.restores import StoredBackupSource, UploadedFileSource
from backups.services.uploads import upload_chunk, upload_start, upload_validate
from tests.factories import jira_product, org_with_admin
from tests.services.helpers import backup_file_bytes, run_backup_of


class Counted:
    """An endless iterator that records how far it was read, on which thread, and whether it
    was closed."""

    def __init__(self):
        self.made = 0
        self.threads: set[str] = set()
        self.closed = threading.Event()

    def __iter__(self):
        try:
            while True:
                self.threads.add(threading.current_thread().name)
                yield self.made
                self.made += 1
        finally:
            self.closed.set()


def settled(counted: Counted) -> int:
    """How many items the thread made once it stopped making more (blocked: the chunks ahead
    are full), or a number past any bound if it did not stop."""
    before = -1
    while counted.made != before and counted.made < 100_000:
        before = counted.made
        time.sleep(0.05)
    return counted.made


def test_items_come_in_order_from_another_thread():
    items = list(range(10_007))
    seen: set[str] = set()

    def source():
        for item in items:
            seen.add(threading.current_thread().name)
            yield item

    assert list(read_ahead(source(), chunk=100, in_flight=3)) == items
    assert seen == {"read-ahead"}  # read on its thread, not the caller's


def test_it_reads_only_a_few_chunks_ahead():
    counted = Counted()
    rows = read_ahead(iter(counted), chunk=100, in_flight=3)
    assert next(rows) == 0
    # in_flight chunks waiting, the one being read, and the one the thread holds at its put
    assert 300 < settled(counted) <= 500
    assert list(zip(range(1_000), rows, strict=False))[-1] == (999, 1_000)
    rows.close()


def test_what_the_source_raises_comes_after_the_rows_before_it():
    def source():
        yield from range(250)
        raise OSError(5, "Input/output error")

    rows = read_ahead(source(), chunk=100, in_flight=2)
    got = []
    with pytest.raises(OSError, match="Input/output error") as raised:
        for row in rows:
            got.append(row)
    assert got == list(range(250))
    assert raised.value.errno == 5


@pytest.mark.parametrize("stop", ["close", "forget", "fail"])
def test_a_reader_that_stops_early_leaves_no_thread(stop):
    threads = threading.active_count()
    counted = Counted()
    rows = read_ahead(iter(counted), chunk=50, in_flight=2)

    def importing():
        for row in rows:
            if row == 120:
                raise ValueError("an import failed")

    if stop == "fail":  # the import's exception, its generator then let go
        with pytest.raises(ValueError, match="an import failed"):
            importing()
    else:
        assert next(rows) == 0
    assert threading.active_count() == threads + 1
    assert settled(counted) < 1_000  # the thread waits, its chunks ahead full
    if stop == "close":
        rows.close()
    else:
        del rows
        gc.collect()
    # The thread has ended, and the source's `finally` has run, by the time close returns.
    assert counted.closed.is_set()
    assert threading.active_count() == threads
    assert counted.threads == {"read-ahead"}


def test_a_reader_never_started_starts_no_thread():
    threads = threading.active_count()
    counted = Counted()
    rows = read_ahead(iter(counted))
    time.sleep(0.05)
    assert threading.active_count() == threads
    assert counted.made == 0
    rows.close()


# --- a restore's rows, read ahead whatever the database (SQLite's restores do not, #16) ------


@pytest.fixture
def reads_ahead(monkeypatch):
    monkeypatch.setattr(restores, "READ_AHEAD_VENDORS", frozenset({"postgresql", "sqlite"}))


def stored_backup(issues: int):
    org, admin = org_with_admin()
    return run_backup_of(jira_product(org, issues=issues, comments=1), admin)


def change_stored_entities(backup, content_type: str, change) -> None:
    name = storage.resolve(backup.storage_prefix + f"entities/{content_type}.jsonl")
    with storage.open_object(name) as f:
        data = f.read()
    storage.delete_object(name)
    storage.write_chunks(name, [change(data)])


@pytest.mark.django_db
def test_a_stored_backup_reads_the_same_rows_ahead(reads_ahead):
    backup = stored_backup(issues=30)
    source = StoredBackupSource(backup)
    info = source.manifest["entities"]["issues"]
    with storage.open_object(backup.storage_prefix + info["file"]) as f:
        expected = list(archive.entities_rows(f, info))

    threads = threading.active_count()
    rows = source.rows("issues")
    assert [r["key"] for r in rows] == [r["key"] for r in expected] != []
    assert threading.active_count() == threads


@pytest.mark.django_db
def test_a_damaged_row_fails_with_the_same_words_after_the_rows_before_it(reads_ahead):
    backup = stored_backup(issues=5)

    def damage_third_line(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        lines[2] = b"\x00\xffnot a row\n"
        return b"".join(lines)

    change_stored_entities(backup, "issues", damage_third_line)
    got = []
    with pytest.raises(archive.EntitiesFileDamaged) as raised:
        for row in StoredBackupSource(backup).rows("issues"):
            got.append(row["key"])
    assert str(raised.value) == (
        "The backup's entities/issues.jsonl is damaged (line 3 is not a row): it does not "
        "match its checksum."
    )
    assert got == ["P1-1", "P1-2"]


@pytest.mark.django_db
def test_a_changed_row_fails_its_checksum_after_every_row(reads_ahead):
    backup = stored_backup(issues=5)

    def change_last_summary(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        row = orjson.loads(lines[-1])
        row["summary"] = "Changed after the backup"
        lines[-1] = orjson.dumps(row) + b"\n"
        return b"".join(lines)

    change_stored_entities(backup, "issues", change_last_summary)
    got = []
    with pytest.raises(archive.EntitiesFileDamaged, match="does not match its checksum"):
        for row in StoredBackupSource(backup).rows("issues"):
            got.append(row["summary"])
    assert len(got) == 5
    assert got[-1] == "Changed after the backup"


@pytest.mark.django_db
def test_a_restore_stopped_early_closes_its_file_and_thread(reads_ahead, monkeypatch):
    backup = stored_backup(issues=30)
    opened = []
    real_opener = storage.object_opener

    def recording_opener():
        open_object = real_opener()

        def opening(name):
            f = open_object(name)
            opened.append(f)
            return f

        return opening

    monkeypatch.setattr(storage, "object_opener", recording_opener)
    # Two rows a chunk, one chunk waiting: the thread is still reading when the reader stops.
    monkeypatch.setattr(restores, "read_ahead", partial(read_ahead, chunk=2, in_flight=1))
    threads = threading.active_count()
    rows = StoredBackupSource(backup).rows("issues")
    assert next(rows)["key"] == "P1-1"
    assert threading.active_count() == threads + 1
    assert [f.closed for f in opened] == [False]
    rows.close()
    assert threading.active_count() == threads
    assert [f.closed for f in opened] == [True]


@pytest.mark.django_db
def test_an_uploaded_file_reads_its_rows_ahead_from_its_zip(reads_ahead, monkeypatch):
    org, admin = org_with_admin()
    data, backup = backup_file_bytes(jira_product(org, issues=30, comments=1), admin)
    upload = upload_start(organization=org, actor=admin, file_name="b.zip", size=len(data))
    upload_chunk(upload=upload, offset=0, data=data)
    upload_validate(upload_id=upload.pk)
    upload.refresh_from_db()
    monkeypatch.setattr(restores, "read_ahead", partial(read_ahead, chunk=2, in_flight=1))
    threads = threading.active_count()
    source = UploadedFileSource(upload)

    keys = [r["key"] for r in source.rows("issues")]
    rows = source.rows("comments")
    first = next(rows)
    assert threading.active_count() == threads + 1
    rows.close()

    assert keys == [r["key"] for r in StoredBackupSource(backup).rows("issues")]
    assert len(keys) == 30
    assert first["issue"] == "P1-1"
    assert threading.active_count() == threads
    source.close()

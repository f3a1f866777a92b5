"""#16: on SQLite a Jira restore stages its comments in a temporary table in one transaction
begun DEFERRED, which takes none of the site's write lock: a save made meanwhile goes through
at once (and no slice, commit or pause of the lock is spent on them). A source that fails
halfway leaves nothing staged and the connection out of any transaction."""

import threading

import pytest
from django.db import connection, transaction

from backups.models import Organization
from backups.productdata.writes import insert_into_temporary

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's temporary tables"),
    pytest.mark.django_db(transaction=True),
]

TABLE = "test_staged_rows"


@pytest.fixture
def staging():
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {TABLE} (seq integer PRIMARY KEY, word text)")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def staged() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, word FROM {TABLE} ORDER BY seq")  # noqa: S608
        return cursor.fetchall()


def save_elsewhere(name: str) -> str:
    """What a login or a policy saved does meanwhile: a write on another connection."""
    outcome = []

    def write():
        try:
            Organization.objects.create(name=name)
            outcome.append("saved")
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcome.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()  # this thread's own

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(30)
    return outcome[0]


def test_a_save_elsewhere_goes_through_while_rows_are_staged(staging, monkeypatch):
    monkeypatch.setattr("backups.productdata.writes.SQLITE_SLICE", 3)  # several executemany
    outcomes = []

    def rows():
        for n in range(10):
            if n == 5:  # the staging transaction is open, its first slices written
                outcomes.append(save_elsewhere("Saved meanwhile"))
            yield (n, f"word {n}")

    assert insert_into_temporary(TABLE, ["seq", "word"], rows()) == 10

    assert outcomes == ["saved"]
    assert Organization.objects.filter(name="Saved meanwhile").exists()
    assert staged() == [(n, f"word {n}") for n in range(10)]


def test_a_source_failing_halfway_leaves_nothing_staged(staging, monkeypatch):
    monkeypatch.setattr("backups.productdata.writes.SQLITE_SLICE", 3)

    def rows():
        for n in range(7):
            yield (n, f"word {n}")
        raise ValueError("line 8 of entities/comments.jsonl is not JSON")

    with pytest.raises(ValueError, match="line 8"):
        insert_into_temporary(TABLE, ["seq", "word"], rows())

    assert staged() == []
    assert connection.in_atomic_block is False
    with transaction.atomic():  # the connection is in no transaction of ours
        Organization.objects.create(name="After")
    assert Organization.objects.filter(name="After").exists()

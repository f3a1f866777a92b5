"""#16: on SQLite a Jira restore stages its comments in a temporary table by transactions begun
DEFERRED, which take none of the site's write lock: a save made meanwhile goes through at once,
also when the job writes its progress on its own connection as it reads the rows. A source
that fails halfway, or a temporary table that fills up, raises its own error and leaves the
connection in no transaction."""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from backups.models import Organization
from backups.productdata.jira_comments import STAGING, comments_joined_sqlite
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
            Organization.objects.create(name=name, slug=name.lower().replace(" ", "-"))
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
            if n == 5:  # its first slices staged
                # What a job's progress does as it reads (jobs.Progress): a write on the job's
                # own connection, which must commit at once, not wait for the staging's COMMIT.
                Organization.objects.create(name="Progress", slug="progress")
                outcomes.append(save_elsewhere("Saved meanwhile"))
            yield (n, f"word {n}")

    assert insert_into_temporary(TABLE, ["seq", "word"], rows()) == 10

    assert outcomes == ["saved"]
    assert set(Organization.objects.values_list("name", flat=True)) >= {
        "Progress",
        "Saved meanwhile",
    }
    assert staged() == [(n, f"word {n}") for n in range(10)]


def in_no_transaction() -> None:
    assert not connection.connection.in_transaction
    with transaction.atomic():  # Django's own transactions work as ever
        Organization.objects.create(name="After", slug="after")
    assert Organization.objects.filter(name="After").exists()


def test_a_source_failing_halfway_raises_its_error_and_leaves_no_transaction(staging, monkeypatch):
    monkeypatch.setattr("backups.productdata.writes.SQLITE_SLICE", 3)

    def rows():
        for n in range(7):
            yield (n, f"word {n}")
        raise ValueError("line 8 of entities/comments.jsonl is not JSON")

    with pytest.raises(ValueError, match="line 8"):
        insert_into_temporary(TABLE, ["seq", "word"], rows())

    in_no_transaction()


def test_a_full_temporary_database_is_the_error_raised(staging):
    # SQLite rolls the transaction back itself when it is full: the error is "full", not the
    # ROLLBACK's "no transaction is active".
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp.max_page_count = 20")
    rows = ((n, "y" * 500) for n in range(3000))

    with pytest.raises(OperationalError, match="full"):
        insert_into_temporary(TABLE, ["seq", "word"], rows)

    in_no_transaction()


def test_comments_staged_for_a_restore_that_fails_leave_no_staging_table(monkeypatch):
    monkeypatch.setattr("backups.productdata.writes.SQLITE_SLICE", 3)

    def rows():
        for n in range(7):
            yield (n, "P-1", "Ann", f"comment {n}", "2026-09-01 09:00:00")
        raise ValueError("line 8 of entities/comments.jsonl is not JSON")

    with pytest.raises(ValueError, match="line 8"):
        comments_joined_sqlite(rows(), issues_product=1)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM temp.sqlite_master WHERE name = %s", [STAGING])
        assert cursor.fetchone()[0] == 0
    in_no_transaction()

"""#16: a restore's issue and comment rows are parsed and built by a process of their own
(productdata/parsed_rows.py, backups/row_process.py) while the restoring process inserts, on
SQLite and on PostgreSQL.
What is stored must be what the rows built here store; a damaged file, a row the import
refuses and a parsing process that dies each stop the import with words that say so; and no
process or thread outlives the import, however it ends."""

import hashlib
import io
import logging
import os
import signal
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from django.db import connection

from backups.models import JiraComment, JiraIssue, Product, Restore
from backups.productdata import ImportOptions, parsed_rows
from backups.productdata.jira import JiraData
from backups.row_process import sqlite_datetime_text
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.factories import jira_product, org_with_admin

from .test_import_values import FIELDS, TIMES

pytestmark = pytest.mark.django_db

needs_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the text SQLite stores for a time"
)


class Files:
    """A RowSource of entities files held in memory: rows() as a stored backup's, and their
    bytes for a parsing process (entities_file), with the SHA-256 a manifest records."""

    def __init__(self, **rows: list[dict]):
        self.data = {t: b"".join(orjson.dumps(r) + b"\n" for r in rs) for t, rs in rows.items()}

    def info(self, content_type: str) -> dict:
        data = self.data[content_type]
        return {
            "file": f"entities/{content_type}.jsonl",
            "sha256": hashlib.sha256(data).hexdigest(),
        }

    def rows(self, content_type):
        from backups.archive import entities_rows

        if content_type not in self.data:
            return iter(())
        return entities_rows(io.BytesIO(self.data[content_type]), self.info(content_type))

    @contextmanager
    def entities_file(self, content_type):
        yield (
            (io.BytesIO(self.data[content_type]), self.info(content_type))
            if (content_type in self.data)
            else None
        )

    def open_attachment(self, path):
        raise AssertionError("no attachments here")


# SQLite's LENGTH() stops at the NUL: data_bytes counts 6. PostgreSQL's text holds no NUL.
NUL_TEXT = "before\0after é☃" if connection.vendor == "sqlite" else "before after é☃"


def odd_rows(issues: int = 2500) -> Files:
    """Issues and comments with every timestamp spelling (TIMES: offsets, naive, Z, .000000),
    JSON values of every kind, and a text with a NUL: more than one batch of each."""
    issue_rows, comment_rows = [], []
    for n in range(issues):
        text, _ = TIMES[n % len(TIMES)]
        issue_rows.append(
            {
                "key": f"P-{n}",
                "project": "P",
                "summary": NUL_TEXT if n == 7 else f"Issue {n}",
                "description": "é☃ 😀" * (n % 3),
                "status": "To Do",
                "fields": FIELDS[n % len(FIELDS)],
                "created": text,
                "updated": TIMES[-1 - n % len(TIMES)][0],
            }
        )
        comment_rows.append({"issue": f"P-{n}", "author": "Ann", "body": NUL_TEXT, "created": text})
    comment_rows.append({"issue": "P-0", "author": "Bob", "body": "two", "created": TIMES[0][0]})
    projects = [{"key": "P", "name": "P", "state": "active"}]
    return Files(projects=projects, issues=issue_rows, comments=comment_rows)


def stored(product) -> tuple[list, list]:
    """The rows as the database holds them: on SQLite a timestamp's text (CAST: no converter
    of its declared type parses it), not the moment Django reads from it; SQLite compares and
    orders the text."""
    issues, comments = JiraIssue._meta.db_table, JiraComment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key, summary, description, status, fields, CAST(created AS text), "  # noqa: S608
            f"CAST(updated AS text) "
            f"FROM {issues} WHERE product_id = %s ORDER BY key",
            [product.pk],
        )
        issue_rows = cursor.fetchall()
        cursor.execute(
            f"SELECT i.key, c.author, c.body, CAST(c.created AS text) FROM {comments} c "  # noqa: S608
            f"JOIN {issues} i ON i.id = c.issue_id WHERE i.product_id = %s ORDER BY i.key, c.id",
            [product.pk],
        )
        return issue_rows, cursor.fetchall()


def imported(source, name: str, process: bool, monkeypatch, caplog):
    """The source imported into a new product, its rows parsed by a process or here; the
    log's word for each process that parsed rows."""
    org = Product.objects.get(name="Unrelated").organization
    product = Product.objects.create(organization=org, kind="jira", name=name)
    monkeypatch.setattr(parsed_rows, "USE_PROCESS", process)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=parsed_rows.__name__):
        report = JiraData(product).import_content(source, ImportOptions(), atomic=False)
    started = [r.message for r in caplog.records if r.message.startswith("Rows parsed by process")]
    return product, report, started


def children_pids() -> list[str]:
    return [
        pid
        for task in Path("/proc/self/task").iterdir()
        if (task / "children").exists()
        for pid in (task / "children").read_text().split()
        if "row_process" in (Path("/proc") / pid / "cmdline").read_bytes().decode(errors="replace")
    ]


def wchan(pid: int) -> str:
    """What the process waits in, in the kernel."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def children() -> list[str]:
    """This process's children that parse rows (or play one), as Linux lists them: not the
    S3 server other tests leave running."""
    lines = [
        (Path("/proc") / pid / "cmdline").read_bytes().decode(errors="replace")
        for task in Path("/proc/self/task").iterdir()
        if (task / "children").exists()
        for pid in (task / "children").read_text().split()
    ]
    return [line for line in lines if "row_process" in line or "pickle.dump" in line]


def test_rows_built_by_the_parsing_process_are_stored_as_the_rows_built_here(monkeypatch, caplog):
    org, _ = org_with_admin()
    jira_product(org, "Unrelated")  # rows of another product around the imported ones
    source = odd_rows()

    here, here_report, none = imported(source, "Here", False, monkeypatch, caplog)
    apart, apart_report, started = imported(source, "Apart", True, monkeypatch, caplog)

    assert none == [] and len(started) == 2  # issues and comments, each by a process
    assert stored(apart) == stored(here)
    assert len(stored(apart)[0]) == 2500 and len(stored(apart)[1]) == 2501
    assert (
        apart_report.restored
        == here_report.restored
        == {
            "projects": 1,
            "issues": 2500,
            "comments": 2501,
        }
    )
    assert apart_report.data_bytes == here_report.data_bytes
    assert JiraData(apart).summary().data_bytes == apart_report.data_bytes
    assert children() == []


@needs_sqlite
def test_the_text_stored_for_a_time_is_djangos():
    """The child has no Django: its text for every spelling is what Django's SQLite adapter
    writes for the parsed moment, on a connection in UTC (a naive time is taken as UTC)."""
    from django.db.backends.sqlite3.operations import DatabaseOperations

    class UTCConnection:
        timezone = UTC

    ops = DatabaseOperations(UTCConnection())
    spellings = [text for text, _ in TIMES] + ["2026-09-01T09:00:00.000000+00:00"]
    for text in spellings + ["2026-09-01T09:00:00.5+00:00", "2026-09-01 09:00:00+00:00"]:
        expected = ops.adapt_datetimefield_value(datetime.fromisoformat(text))
        assert sqlite_datetime_text(text) == expected, text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda data: data + b"not a row\n",
            "The backup's entities/issues.jsonl is damaged (line 2501 is not a row): it does not "
            "match its checksum.",
        ),
        (lambda data: data.replace(b'"project":"P"', b'"project":"Q"', 1), "'Q'"),
    ],
    ids=["not json", "unknown project"],
)
def test_a_row_the_import_refuses_stops_it_with_the_same_words_both_ways(
    change, words, monkeypatch, caplog
):
    org, _ = org_with_admin()
    jira_product(org, "Unrelated")  # rows of another product around the imported ones
    source = odd_rows()
    source.data["issues"] = change(source.data["issues"])
    failures = []
    for process in (False, True):
        with pytest.raises(Exception) as raised:
            imported(source, f"P{process}", process, monkeypatch, caplog)
        failures.append((type(raised.value), str(raised.value)))
    assert failures[0] == failures[1]
    assert words in failures[1][1]
    assert children() == []


def test_a_parsing_process_that_dies_fails_the_restore_and_says_so(monkeypatch):
    """A real process that says it is ready, then dies as a killed one would: the restore
    fails with the exit code and its last words, and the destination is as it was (R8)."""
    org, admin = org_with_admin()
    product = jira_product(org, issues=3, comments=1)
    from tests.services.helpers import run_backup_of

    backup = run_backup_of(product, admin)
    target = Product.objects.create(organization=org, kind="jira", name="Empty")
    dies = (
        "import pickle, sys; pickle.dump(('ready',), sys.stdout.buffer); sys.stdout.flush(); "
        "sys.stdin.buffer.read(1); print('Killed', file=sys.stderr); sys.exit(137)"
    )
    monkeypatch.setattr(parsed_rows, "_COMMAND", [sys.executable, "-c", dies])
    r = restore_request(backup=backup, destination=target, actor=admin)

    assert restore_execute(restore_id=r.pk) == Restore.Status.FAILED
    r.refresh_from_db()
    assert r.failure_reason == (
        "The process parsing the backup's rows ended early (exit code 137: Killed)."
    )
    assert JiraData(target).is_empty()
    assert children() == []


def test_an_import_that_stops_early_leaves_no_process_behind():
    org_with_admin()
    source = odd_rows(issues=5000)  # more than the pipes hold: the child is still writing
    rows = parsed_rows.built_rows(
        source, "issues", "jira_issues", _Report(), (), product=1, projects={"P": 1}
    )
    first = next(rows)
    assert first[:3] == (1, 1, "P-0")
    assert len(children()) == 1
    rows.close()  # the import failed in SQLite, say: the generator is closed
    assert children() == []


class _Report:
    """What built_rows adds to: an ImportReport's counts."""

    def __init__(self):
        self.restored: dict = {}
        self.data_bytes = 0

    def add(self, bucket, content_type, n=1):
        bucket[content_type] = bucket.get(content_type, 0) + n


def test_with_no_process_to_be_had_the_rows_are_built_here(monkeypatch, caplog):
    org, _ = org_with_admin()
    jira_product(org, "Unrelated")  # rows of another product around the imported ones
    monkeypatch.setattr(parsed_rows, "_COMMAND", ["/nonexistent/python"])
    source = odd_rows(issues=10)
    with caplog.at_level(logging.WARNING, logger=parsed_rows.__name__):
        _, report, started = imported(source, "Here", True, monkeypatch, caplog)
    assert started == []
    assert report.restored["issues"] == 10
    assert any("no process could start" in r.message for r in caplog.records)


def issue_rows(n: int) -> Files:
    """`n` issues of ~600 bytes: 60,000 are more than the pipes hold (the child blocks)."""
    rows = [
        {
            "key": f"P-{k}",
            "project": "P",
            "summary": "s" * 200,
            "description": "d" * 300,
            "status": "To Do",
            "fields": {"n": k},
            "created": TIMES[0][0],
            "updated": TIMES[0][0],
        }
        for k in range(n)
    ]
    return Files(projects=[{"key": "P", "name": "P", "state": "active"}], issues=rows)


def test_a_parser_killed_in_the_middle_of_a_batch_is_said_to_have_been_killed():
    """Killed while it waits for the restore to read (its batch half written to a full pipe):
    the refusal says so, not that a pickle was truncated."""
    rows = parsed_rows.built_rows(
        issue_rows(60_000), "issues", "jira_issues", _Report(), (), product=1, projects={"P": 1}
    )
    next(rows)
    (pid,) = [int(p) for p in children_pids()]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "pipe_write" not in wchan(pid):
        time.sleep(0.01)  # until it waits on the full pipe, in the middle of a message
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(parsed_rows.RowProcessFailed) as failed:
        for _ in rows:
            pass
    assert str(failed.value) == (
        "The process parsing the backup's rows ended early (killed by signal 9)."
    )
    assert children() == []


class FailingRead(io.RawIOBase):
    """A source whose second read fails, as a stream that broke would."""

    def __init__(self, first: bytes):
        self.first, self.reads = first, 0

    def readable(self):
        return True

    def read(self, size=-1):
        self.reads += 1
        if self.reads == 1:
            return self.first
        raise ValueError("I/O operation on closed file.")


def test_a_source_that_fails_to_read_stops_the_import_with_its_own_error():
    source = issue_rows(3)
    data = source.data["issues"]

    @contextmanager
    def failing(content_type):
        yield FailingRead(data[: len(data) // 2]), source.info(content_type)

    source.entities_file = failing
    rows = parsed_rows.built_rows(
        source, "issues", "jira_issues", _Report(), (), product=1, projects={"P": 1}
    )
    with pytest.raises(ValueError, match="I/O operation on closed file"):
        list(rows)  # not a wait for bytes that never come
    assert children() == []


def test_an_import_whose_inserts_fail_stops_its_parser_at_once(monkeypatch):
    """The caller closes the rows (contextlib.closing): the parser does not wait for the
    garbage collector, which a kept traceback would hold off."""
    from backups.productdata import jira

    def failing_inserter(model, columns, **kwargs):
        def write(chunk):  # a slice of the issues, read from the parser
            assert chunk
            raise RuntimeError("the database refused")

        return write

    monkeypatch.setattr(jira, "model_slice_inserter", failing_inserter)
    org, _ = org_with_admin()
    product = Product.objects.create(organization=org, kind="jira", name="Target")
    with pytest.raises(RuntimeError) as raised:
        JiraData(product).import_content(issue_rows(5000), ImportOptions(), atomic=False)
    kept = raised.value  # the traceback, and the frames in it, still held here
    assert children() == [], kept

"""#16: a staged import's slices are written on a connection of their own while the next is
read (productdata/slice_writer); inside a transaction, or on SQLite, on the caller's."""

import threading
import time

import psycopg
import pytest
from django.db import connection, connections, transaction
from django.db.backends.signals import connection_created

from backups.models import JiraComment, JiraIssue, JiraProject, Page, PageComment, Product
from backups.productdata import ExportOptions, ImportOptions, ProductRowSource
from backups.productdata.confluence import ConfluenceData
from backups.productdata.jira import JiraData
from backups.productdata.slice_writer import slices_written
from tests.components import need_postgres
from tests.factories import CREATED, confluence_product, jira_product, org_with_admin
from tests.productdata.test_jira_comments_import import Rows, comment, issue


def backend() -> int | None:
    """The server process of this thread's connection (None on SQLite)."""
    connection.ensure_connection()
    if connection.vendor != "postgresql":
        return None
    return connection.connection.info.backend_pid


def small_slices(monkeypatch, rows: int) -> None:
    """Slices of `rows` rows: a few rows make many slices."""
    for name in ("writes.INSERT_SLICE", "jira.INSERT_SLICE"):
        monkeypatch.setattr(f"backups.productdata.{name}", rows)


def session_gone(pid: int) -> bool:
    """Whether the server process `pid` has ended (a closed connection's ends just after)."""
    for _ in range(50):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if not cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_jobs_run_in_order_on_another_connection_which_is_closed():
    need_postgres()
    threads = threading.active_count()
    ran = []

    with slices_written() as submit:
        for n in range(5):
            submit(lambda n=n: ran.append((n, backend())))

    assert [n for n, _ in ran] == [0, 1, 2, 3, 4]
    writer = {pid for _, pid in ran}
    assert len(writer) == 1
    assert backend() not in writer
    assert session_gone(writer.pop())
    assert threading.active_count() == threads


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failing_job_is_raised_to_the_caller_and_the_jobs_after_it_do_not_run():
    need_postgres()
    ran = []

    def fail():
        raise ValueError("2 comment(s) of the backup name an issue that is not in it.")

    with pytest.raises(ValueError) as failed, slices_written() as submit:
        submit(lambda: ran.append(1))
        submit(fail)
        for n in range(2, 6):
            submit(lambda n=n: ran.append(n))

    assert str(failed.value) == "2 comment(s) of the backup name an issue that is not in it."
    assert ran == [1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failure_of_the_caller_stops_the_writer_and_leaves_no_thread_or_session():
    need_postgres()
    threads = threading.active_count()
    started, release, ran, writer = threading.Event(), threading.Event(), [], []

    def slow():
        writer.append(backend())
        started.set()
        release.wait(5)
        ran.append("slow")

    failure = pytest.raises(RuntimeError, match="the backup's file could not be read")
    with failure, slices_written() as submit:
        submit(slow)
        started.wait(5)
        release.set()
        submit(lambda: ran.append("queued"))
        raise RuntimeError("the backup's file could not be read")

    assert ran == ["slow"]  # the running job ends; the one waiting never runs
    assert session_gone(writer[0])
    assert threading.active_count() == threads


@pytest.mark.django_db
def test_inside_a_transaction_the_jobs_run_here_at_once():
    ran = []
    with transaction.atomic(), slices_written() as submit:
        submit(lambda: ran.append(backend()))
        assert ran == [backend()]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_staged_import_of_many_slices_writes_every_row_as_an_atomic_one_does(monkeypatch):
    need_postgres()
    small_slices(monkeypatch, 7)
    org, _ = org_with_admin()
    keys = [f"P-{i}" for i in range(1, 31)]
    comments = [comment(keys[(n * 7) % 30], n) for n in range(50)]

    def source():
        return Rows(
            projects=[{"key": "P", "name": "P", "state": "active"}],
            issues=[issue(k) for k in keys],
            comments=comments,
        )

    staged = jira_product(org, "Staged", projects=0)
    atomic = jira_product(org, "Atomic", projects=0)
    threads = threading.active_count()
    report = JiraData(staged).import_content(source(), ImportOptions(), atomic=False)
    JiraData(atomic).import_content(source(), ImportOptions())

    assert report.restored == {"projects": 1, "issues": 30, "comments": 50}

    def stored(product):
        issues = list(
            JiraIssue.objects.filter(product=product).order_by("id").values_list("key", "summary")
        )
        notes = list(
            JiraComment.objects.filter(issue__product=product)
            .order_by("id")
            .values_list("issue__key", "body")
        )
        return issues, notes

    assert stored(staged) == stored(atomic)
    assert stored(staged)[1] == [(c["issue"], c["body"]) for c in comments]
    assert threading.active_count() == threads


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_staged_import_whose_comment_names_no_issue_fails_with_the_same_words(monkeypatch):
    need_postgres()
    small_slices(monkeypatch, 2)
    org, _ = org_with_admin()
    target = jira_product(org, projects=0)
    source = Rows(
        projects=[{"key": "P", "name": "P", "state": "active"}],
        issues=[issue("P-1"), issue("P-2")],
        comments=[comment("P-1", 1), comment("P-404", 2), comment("P-2", 3), comment("P-1", 4)],
    )

    with pytest.raises(ValueError) as failed:
        JiraData(target).import_content(source, ImportOptions(), atomic=False)

    assert str(failed.value) == "1 comment(s) of the backup name an issue that is not in it."
    # A staged import's slices stay until the staging product is discarded (restore_engine).
    JiraData(target).delete_content()
    assert not JiraProject.objects.filter(product=target).exists()
    assert not JiraComment.objects.filter(issue__product=target).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_a_connection_to_spare_the_jobs_run_here(monkeypatch, caplog):
    need_postgres()
    backend()  # the caller's connection is open; a new one goes to a port nobody listens on
    monkeypatch.setitem(connections.settings["default"], "PORT", "1")
    ran = []

    with slices_written() as submit:
        submit(lambda: ran.append(backend()))

    assert ran == [backend()]
    assert "No database connection to spare for a restore's writes" in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_staged_confluence_import_writes_its_slices_on_one_connection_of_its_own_per_table(
    monkeypatch,
):
    need_postgres()
    monkeypatch.setattr("backups.productdata.confluence.INSERT_SLICE", 1_000)
    org, _ = org_with_admin()
    source = confluence_product(org, "Source", pages=3)
    pages = list(Page.objects.filter(space__product=source).order_by("id"))
    PageComment.objects.bulk_create(  # three slices of comments
        PageComment(page=pages[n % 4], author="Ann", body=f"Comment {n}", created=CREATED)
        for n in range(2_500)
    )
    writers: set[int] = set()

    def seen(sender, connection, **kwargs):
        writers.add(connection.connection.info.backend_pid)

    staged = Product.objects.create(organization=org, kind="confluence", name="Staged")
    atomic = Product.objects.create(organization=org, kind="confluence", name="Atomic")
    threads = threading.active_count()
    connection_created.connect(seen)
    try:
        report = ConfluenceData(staged).import_content(
            ProductRowSource(ConfluenceData(source), ExportOptions()), ImportOptions(), atomic=False
        )
    finally:
        connection_created.disconnect(seen)
    ConfluenceData(atomic).import_content(
        ProductRowSource(ConfluenceData(source), ExportOptions()), ImportOptions()
    )

    def stored(product):
        return list(
            PageComment.objects.filter(page__space__product=product)
            .order_by("id")
            .values_list("page__title", "body")
        )

    assert report.restored["comments"] == 2_500
    assert stored(staged) == stored(atomic) == stored(source)
    # One writer for the pages' slices, then one for the comments' (#16), not one per slice.
    assert len(writers) == 2
    assert backend() not in writers
    assert threading.active_count() == threads


def writer_threads(run) -> set[str]:
    """The names of the threads that opened a database connection while `run` ran."""
    names: set[str] = set()

    def seen(sender, connection, **kwargs):
        names.add(threading.current_thread().name)

    connection_created.connect(seen)
    try:
        run()
    finally:
        connection_created.disconnect(seen)
    return names


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_issues_and_comments_go_in_at_once_each_table_in_the_files_order(monkeypatch):
    """slice_writer.written_alongside: one writer per table, so each table's ids follow its
    file; a comment slice whose issues come in later slices waits for them (#16)."""
    need_postgres()
    small_slices(monkeypatch, 5)
    org, _ = org_with_admin()
    keys = [f"P-{i}" for i in range(1, 31)]
    # The last issues' comments first: their slices wait for the issues' last slices.
    comments = [comment(keys[-1 - n], n) for n in range(10)]
    comments += [comment(keys[n % 30], 10 + n) for n in range(30)]
    source = Rows(
        projects=[{"key": "P", "name": "P", "state": "active"}],
        issues=[issue(k) for k in keys],
        comments=comments,
    )
    target = jira_product(org, "Staged", projects=0)
    threads = threading.active_count()
    reports = []

    names = writer_threads(
        lambda: reports.append(
            JiraData(target).import_content(source, ImportOptions(), atomic=False)
        )
    )

    assert names == {"restore-slices", "restore-slices-2"}
    assert reports[0].restored == {"projects": 1, "issues": 30, "comments": 40}
    by_id = JiraIssue.objects.filter(product=target).order_by("id")
    assert list(by_id.values_list("key", flat=True)) == keys
    stored = JiraComment.objects.filter(issue__product=target).order_by("id")
    assert list(stored.values_list("issue__key", "body")) == [
        (c["issue"], c["body"]) for c in comments
    ]
    assert threading.active_count() == threads


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_an_issue_slice_the_database_refuses_fails_the_import_with_its_own_words(monkeypatch):
    """The comments' writer waits for issues that never come: it stops, and the error is the
    issues' writer's, not that the other writer stopped."""
    need_postgres()
    small_slices(monkeypatch, 5)
    org, _ = org_with_admin()
    issues = [issue(f"P-{i}") for i in range(1, 21)]
    issues[-1]["summary"] = "x" * 501  # JiraIssue.summary holds 500
    source = Rows(
        projects=[{"key": "P", "name": "P", "state": "active"}],
        issues=issues,
        # More comments than the writers hold: the reading is still handing them over when
        # the comments' writer stops.
        comments=[comment("P-20", n) for n in range(12)] + [comment("P-1", n) for n in range(60)],
    )
    target = jira_product(org, "Staged", projects=0)
    threads = threading.active_count()

    # psycopg's own error: a COPY runs on psycopg's cursor, which Django does not wrap.
    with pytest.raises(psycopg.errors.DataError, match="value too long for type character varying"):
        JiraData(target).import_content(source, ImportOptions(), atomic=False)

    assert not JiraComment.objects.filter(issue__product=target).exists()
    assert threading.active_count() == threads


class FailingIssues(Rows):
    """A source whose issues stop with an error after `good` of them, as a backup file that
    cannot be read to its end."""

    def __init__(self, good: int, **rows):
        super().__init__(**rows)
        self.good = good

    def rows(self, content_type):
        rows = super().rows(content_type)
        if content_type != "issues":
            return rows

        def failing():
            for n, row in enumerate(rows):
                if n == self.good:
                    raise RuntimeError("the backup's file could not be read")
                yield row

        return failing()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_source_that_fails_among_the_issues_stops_both_writers(monkeypatch):
    need_postgres()
    small_slices(monkeypatch, 5)
    org, _ = org_with_admin()
    keys = [f"P-{i}" for i in range(1, 31)]
    source = FailingIssues(
        12,
        projects=[{"key": "P", "name": "P", "state": "active"}],
        issues=[issue(k) for k in keys],
        comments=[comment(keys[-1 - n], n) for n in range(30)],  # waiting for later issues
    )
    target = jira_product(org, "Staged", projects=0)
    threads = threading.active_count()

    with pytest.raises(RuntimeError, match="the backup's file could not be read"):
        JiraData(target).import_content(source, ImportOptions(), atomic=False)

    assert threading.active_count() == threads

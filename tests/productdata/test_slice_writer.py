"""#16: a staged import's slices are written on a connection of their own while the next is
read (productdata/slice_writer); inside a transaction, or on SQLite, on the caller's."""

import threading
import time

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
def test_a_staged_confluence_import_writes_its_comment_batches_on_one_connection_of_its_own():
    need_postgres()
    org, _ = org_with_admin()
    source = confluence_product(org, "Source", pages=3)
    pages = list(Page.objects.filter(space__product=source).order_by("id"))
    PageComment.objects.bulk_create(  # three batches of comments (BATCH_SIZE is 1,000)
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
    assert len(writers) == 1  # one writer for every batch, not one per batch
    assert backend() not in writers
    assert threading.active_count() == threads

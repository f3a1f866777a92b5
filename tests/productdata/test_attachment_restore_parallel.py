"""An import writes its attachment files on a pool while its rows go in (#16,
productdata/files_ahead.py): every file arrives intact, a file that does not match still stops
the import and leaves nothing (R8), and a skipped space's files never stay (R6)."""

import threading

import pytest
from django.core.files.storage import default_storage

from backups import storage
from backups.models import JiraAttachment, JiraIssue, Page, PageAttachment, Restore, Space
from backups.productdata import (
    AttachmentIntegrityError,
    ExportOptions,
    ImportOptions,
    ImportReport,
    copy_product,
    files_ahead,
    for_product,
)
from backups.productdata.attachments import import_attachments
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.factories import attach, confluence_product, jira_product, org_with_admin
from tests.productdata.helpers import jira_snapshot
from tests.services.helpers import run_backup_of


@pytest.fixture
def small_pool(monkeypatch):
    """A pool that fills up: few files open at once, few rows read ahead, pumped often."""
    monkeypatch.setattr(files_ahead, "OPEN_FILES", 3)
    monkeypatch.setattr(files_ahead, "READ_AHEAD", 5)
    monkeypatch.setattr(files_ahead, "PUMP_EVERY", 2)


def media_files(tmp_path) -> set:
    return {p.relative_to(tmp_path) for p in (tmp_path / "media").rglob("*") if p.is_file()}


def stored_files(model, product) -> set:
    return {
        f"media/{name}"
        for name in model.objects.filter(product=product).values_list("file", flat=True)
    }


def corrupt(attachment) -> None:
    with default_storage.open(attachment.file.name, "wb") as f:
        f.write(b"not what the backup recorded")


@pytest.fixture
def products(db):
    org, _ = org_with_admin()
    source = jira_product(org, "Source", projects=2, issues=15, comments=1, attachments=2)
    return source, jira_product(org, "Target", projects=0)


def test_more_files_than_the_pool_holds_all_arrive_intact(products, small_pool, tmp_path):
    source, target = products
    before = jira_snapshot(source)
    files_before = media_files(tmp_path)

    report = copy_product(source, target)

    assert jira_snapshot(target) == before  # each file's stored SHA-256 too
    assert report.restored["attachments"] == 60
    assert report.attachment_bytes == sum(a[2] for a in before["attachments"])
    # Exactly one new file per restored row: none written twice, none left over.
    new = media_files(tmp_path) - files_before
    assert {str(p) for p in new} == stored_files(JiraAttachment, target)


@pytest.mark.parametrize("which", [0, 29, -1])
def test_a_file_that_does_not_match_stops_the_import_and_leaves_nothing(
    products, small_pool, tmp_path, which
):
    source, target = products
    victim = list(JiraAttachment.objects.filter(product=source).order_by("id"))[which]
    corrupt(victim)
    files_before = media_files(tmp_path)

    with pytest.raises(AttachmentIntegrityError, match=f"Attachment '{victim.name}' does not"):
        copy_product(source, target)

    assert not JiraIssue.objects.filter(product=target).exists()
    assert media_files(tmp_path) == files_before


def test_the_first_file_that_does_not_match_in_the_rows_order_is_the_one_named(
    products, small_pool
):
    source, target = products
    attachments = list(JiraAttachment.objects.filter(product=source).order_by("id"))
    for a in (attachments[40], attachments[7]):
        corrupt(a)
    with pytest.raises(AttachmentIntegrityError, match=f"'{attachments[7].name}'"):
        copy_product(source, target)


def test_an_error_on_a_pool_thread_reaches_the_caller_and_its_files_go(
    products, small_pool, tmp_path, monkeypatch
):
    source, target = products
    files_before = media_files(tmp_path)
    save = storage.attachment_save
    calls = []
    lock = threading.Lock()

    def failing_save(name, fileobj):
        with lock:
            calls.append(name)
            if len(calls) == 10:
                raise storage.StorageError("The attachment storage is full.")
        return save(name, fileobj)

    monkeypatch.setattr(storage, "attachment_save", failing_save)

    with pytest.raises(storage.StorageError, match="is full"):
        copy_product(source, target)

    assert threading.current_thread() is threading.main_thread()
    assert not JiraIssue.objects.filter(product=target).exists()
    assert media_files(tmp_path) == files_before


def test_a_skipped_spaces_files_are_not_left_and_do_not_fail_the_import(db, small_pool, tmp_path):
    org, _ = org_with_admin()
    source = confluence_product(org, "Source", spaces=2, pages=4)
    for page in Page.objects.filter(space__product=source):
        for n in range(3):
            attach(PageAttachment, source, f"{page.title}-{n}.txt", page=page)
    # S1 exists in the destination (R6): its pages and files are skipped, even a corrupt one.
    corrupt(PageAttachment.objects.filter(product=source, page__space__key="S1").first())
    target = confluence_product(org, "Target", spaces=1, pages=0)
    files_before = media_files(tmp_path)

    report = copy_product(source, target)

    assert report.skipped_space_keys == ["S1"]
    assert report.skipped["attachments"] == 15
    assert report.restored["attachments"] == 15
    restored = PageAttachment.objects.filter(product=target)
    assert set(restored.values_list("page__space__key", flat=True)) == {"S2"}
    new = media_files(tmp_path) - files_before
    assert {str(p) for p in new} == stored_files(PageAttachment, target)


def test_a_row_whose_file_was_not_written_ahead_is_written_when_kept(db, tmp_path):
    """A row of a space the report lists as skipped is not written ahead; if the import keeps
    it after all, its file is written then."""
    org, _ = org_with_admin()
    source = confluence_product(org, "Source", spaces=1, pages=1)
    page = Page.objects.filter(space__product=source).first()
    attach(PageAttachment, source, "kept.txt", page=page)
    target = confluence_product(org, "Target", spaces=1, pages=0)
    new_page = Page.objects.filter(space__product=target).first()
    data = for_product(source)

    class Source:
        def rows(self, content_type):
            return data.rows(content_type, ExportOptions())

        def open_attachment(self, path):
            files = {f.path: f.storage_name for _, f in data.attachments(ExportOptions())}
            return storage.open_attachment(files[path])

    report = ImportReport(skipped_space_keys=["S1"])
    files = files_ahead.FilesAhead(Source(), ImportOptions(), report, folder="attachments/t")
    with files:
        import_attachments(
            files,
            ImportOptions(),
            report,
            product=target,
            model=PageAttachment,
            owner="page",
            owner_ids=lambda rows: {r["page"]: new_page.id for r in rows},
        )

    restored = PageAttachment.objects.get(product=target)
    assert default_storage.open(restored.file.name).read() == b"contents of kept.txt\n"
    assert report.restored == {"attachments": 1}
    assert Space.objects.filter(product=target).count() == 1


def test_a_restore_writes_every_file_from_the_pool_on_a_folder_and_on_s3(
    storage_backend, demo, small_pool
):
    """The pool's threads write through the storage on their own (S3: a client per thread)."""
    before = jira_snapshot(demo.jira)
    backup = run_backup_of(demo.jira, demo.alice)
    objects_before = set(storage.attachment_list("attachments/"))

    r = restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    restore_execute(restore_id=r.pk)
    r.refresh_from_db()

    assert r.status == Restore.Status.COMPLETE, r.failure_reason
    assert jira_snapshot(demo.jira_sandbox) == before
    new = set(storage.attachment_list("attachments/")) - objects_before
    assert new == set(
        JiraAttachment.objects.filter(product=demo.jira_sandbox).values_list("file", flat=True)
    )

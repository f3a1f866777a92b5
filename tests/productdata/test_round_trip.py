"""Issue #2 item 4: export a demo product and import it into an empty one of the same kind."""

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError

from backups.models import (
    JiraAttachment,
    JiraIssue,
    JiraProject,
    Page,
    Space,
)
from backups.productdata import (
    AttachmentIntegrityError,
    ExportOptions,
    ImportOptions,
    ProductRowSource,
    copy_product,
    for_product,
)
from tests.productdata.helpers import confluence_snapshot, jira_snapshot


def test_jira_round_trip_copies_every_state_and_attachment_bytes(demo):
    before = jira_snapshot(demo.jira)
    assert {p[2] for p in before["projects"]} == {"active", "archived", "trashed"}
    assert before["comments"] and before["attachments"]

    report = copy_product(demo.jira, demo.jira_sandbox)

    assert jira_snapshot(demo.jira_sandbox) == before
    assert jira_snapshot(demo.jira) == before  # the source is untouched
    assert report.restored == {
        "projects": len(before["projects"]),
        "issues": len(before["issues"]),
        "comments": len(before["comments"]),
        "attachments": len(before["attachments"]),
    }
    # New rows, new files: nothing is shared with the source.
    src_files = set(JiraAttachment.objects.filter(product=demo.jira).values_list("file", flat=True))
    dst_files = set(
        JiraAttachment.objects.filter(product=demo.jira_sandbox).values_list("file", flat=True)
    )
    assert src_files.isdisjoint(dst_files)
    assert not set(JiraIssue.objects.filter(product=demo.jira).values_list("id", flat=True)) & set(
        JiraIssue.objects.filter(product=demo.jira_sandbox).values_list("id", flat=True)
    )


def test_jira_round_trip_without_attachments(demo):
    report = copy_product(
        demo.jira, demo.jira_sandbox, options=ExportOptions(include_attachments=False)
    )
    assert not JiraAttachment.objects.filter(product=demo.jira_sandbox).exists()
    assert "attachments" not in report.restored
    assert JiraIssue.objects.filter(product=demo.jira_sandbox).count() == (
        JiraIssue.objects.filter(product=demo.jira).count()
    )


def test_confluence_round_trip_keeps_page_trees_blog_posts_and_personal_spaces(demo):
    before = confluence_snapshot(demo.confluence)
    assert {s[2] for s in before["spaces"]} == {"global", "personal"}
    assert any(p[1] == "blogpost" for p in before["pages"])
    assert any(p[2].count(" / ") == 2 for p in before["pages"])  # three levels deep

    copy_product(demo.confluence, demo.confluence_sandbox)

    assert confluence_snapshot(demo.confluence_sandbox) == before


def test_confluence_export_leaves_out_personal_spaces_when_asked(demo):
    copy_product(
        demo.confluence,
        demo.confluence_sandbox,
        options=ExportOptions(include_personal_spaces=False),
    )
    after = confluence_snapshot(demo.confluence_sandbox)
    assert after == confluence_snapshot(demo.confluence, space_filter={"kind": "global"})
    assert not Space.objects.filter(product=demo.confluence_sandbox, kind="personal").exists()


def test_confluence_import_skips_spaces_whose_key_exists(demo):
    """R6: spaces of the backup whose key exists in the destination are skipped and reported."""
    existing = Space.objects.create(product=demo.confluence_sandbox, key="ENG", name="Our ENG")
    Page.objects.create(
        space=existing, title="Keep me", created="2026-01-01T00:00Z", updated="2026-01-01T00:00Z"
    )
    eng_pages = Page.objects.filter(space__product=demo.confluence, space__key="ENG").count()

    report = copy_product(demo.confluence, demo.confluence_sandbox)

    assert report.skipped_space_keys == ["ENG"]
    assert report.skipped["pages"] == eng_pages
    existing.refresh_from_db()
    assert existing.name == "Our ENG"
    assert list(existing.pages.values_list("title", flat=True)) == ["Keep me"]
    restored_keys = set(
        Space.objects.filter(product=demo.confluence_sandbox).values_list("key", flat=True)
    )
    assert restored_keys == {"ENG", "HR", "OLDWIKI", "~alice", "~bob"}


def test_is_empty_counts_every_state(demo):
    """R6: archived and trashed content make a product non-empty."""
    data = for_product(demo.jira_sandbox)
    assert data.is_empty()
    project = JiraProject.objects.create(
        product=demo.jira_sandbox, key="T", name="Trash", state="trashed"
    )
    assert not data.is_empty()
    summary = data.summary()
    assert summary.containers_by_state == {"trashed": 1}
    project.delete()
    assert for_product(demo.confluence_sandbox).is_empty()
    Space.objects.create(product=demo.confluence_sandbox, key="A", name="A", state="archived")
    assert not for_product(demo.confluence_sandbox).is_empty()


def test_failed_import_writes_nothing_and_removes_copied_files(demo, isolated_storage):
    """A corrupt attachment midway: no row stays and no file written by the import remains."""
    src = for_product(demo.jira)
    options = ExportOptions()
    victim = list(src.attachments(options))[-1][1]
    # Corrupt the last attachment's stored bytes: its checksum no longer matches.
    with default_storage.open(victim.storage_name, "wb") as f:
        f.write(b"corrupted")
    media = isolated_storage / "media"
    files_before = {p for p in media.rglob("*") if p.is_file()}

    with pytest.raises(AttachmentIntegrityError, match=victim.name):
        for_product(demo.jira_sandbox).import_content(
            ProductRowSource(src, options), ImportOptions()
        )

    assert for_product(demo.jira_sandbox).is_empty()
    assert not JiraAttachment.objects.filter(product=demo.jira_sandbox).exists()
    assert {p for p in media.rglob("*") if p.is_file()} == files_before


def test_keys_are_unique_per_product(demo):
    with pytest.raises(IntegrityError):
        JiraProject.objects.create(product=demo.jira, key="ACME", name="Again")

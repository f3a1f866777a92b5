"""The backup engine (issue #3): what it writes, INCOMPLETE and FAILED, redelivery (B2, B5, B8)."""

import hashlib

from django.core import mail
from django.core.files.storage import default_storage

from backups import storage
from backups.models import (
    AttachmentBlob,
    AuditEvent,
    Backup,
    BackupBlob,
    JiraAttachment,
    JiraComment,
    JiraIssue,
    JiraProject,
    Page,
    PageAttachment,
    Space,
)
from backups.services.backup_engine import backup_execute
from backups.tasks import backup_task

from .helpers import read_manifest, read_rows, run_backup_of


def sha256_of(name: str) -> str:
    with storage.open_object(name) as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_b2_jira_backup_holds_every_project_issue_comment_and_file(demo):
    backup = run_backup_of(demo.jira, demo.alice)

    assert backup.status == Backup.Status.COMPLETE
    manifest = read_manifest(backup)
    expected_rows = {
        "projects": JiraProject.objects.filter(product=demo.jira).count(),
        "issues": JiraIssue.objects.filter(product=demo.jira).count(),
        "comments": JiraComment.objects.filter(issue__product=demo.jira).count(),
        "attachments": JiraAttachment.objects.filter(product=demo.jira).count(),
        "groups": demo.acme.groups.count(),
    }
    assert {t: e["rows"] for t, e in manifest["entities"].items()} == expected_rows
    # B2: every state is in the backup.
    assert {r["state"] for r in read_rows(backup, "projects")} == {"active", "archived", "trashed"}
    # Every entities file is as the manifest says: bytes and SHA-256. It is held like an
    # attachment (#16: an unchanged one is stored once), read at its path in the backup.
    for entry in manifest["entities"].values():
        name = backup.storage_prefix + entry["file"]
        assert sha256_of(name) == entry["sha256"]
        assert default_storage is not storage.backup_storage()
        assert storage.object_size(name) == entry["bytes"]
        held = BackupBlob.objects.get(backup=backup, path=entry["file"]).blob
        assert (held.sha256, held.size) == (entry["sha256"], entry["bytes"])
    # Each attachment is held in the organization's attachment store (#16 item 2) and reads,
    # at its path in the backup, as the product's bytes.
    attachments = BackupBlob.objects.filter(backup=backup, path__startswith="attachments/")
    assert attachments.count() == expected_rows["attachments"]
    for row in read_rows(backup, "attachments"):
        att = JiraAttachment.objects.get(
            product=demo.jira, issue__key=row["issue"], name=row["name"]
        )
        assert sha256_of(backup.storage_prefix + row["path"]) == att.sha256 == row["sha256"]
    assert manifest["attachments"] == {
        "count": expected_rows["attachments"],
        "bytes": sum(
            JiraAttachment.objects.filter(product=demo.jira).values_list("size", flat=True)
        ),
    }
    # B8: the record says who, what options, when, how much.
    assert backup.created_by == demo.alice
    assert backup.options == {
        "include_attachments": True,
        "include_users_and_groups": True,
        "storage": "service",
    }
    assert backup.completed_at >= backup.started_at
    assert backup.counts["issues"]["rows"] == expected_rows["issues"]
    # B8: its own objects, and the attachments it holds (stored once, counted in each backup).
    assert backup.total_bytes == sum(
        storage.backup_storage().size(n) for n in storage.list_prefix(backup.storage_prefix)
    ) + sum(BackupBlob.objects.filter(backup=backup).values_list("blob__size", flat=True))
    assert backup.progress_percent == 100
    assert manifest["status"] == "COMPLETE" and manifest["missing"] == []
    assert manifest["organization"] == {"id": demo.acme.id, "name": "Acme"}
    assert manifest["product"] == {"id": demo.jira.id, "kind": "jira", "name": "Acme Jira"}
    # The admin hears about it.
    assert mail.outbox[-1].to == [demo.alice.email]
    assert "Complete" in mail.outbox[-1].subject


def test_b2_confluence_backup_with_users_and_groups(demo):
    backup = run_backup_of(demo.confluence, demo.alice)
    assert backup.status == Backup.Status.COMPLETE
    assert {r["key"] for r in read_rows(backup, "spaces")} == {
        "ENG",
        "HR",
        "OLDWIKI",
        "~alice",
        "~bob",
    }
    groups = {g["name"]: g for g in read_rows(backup, "groups")}
    assert groups["confluence-users"]["product_access"] == {"approved": True}
    assert groups["jira-users"]["product_access"] is None  # no access to this product
    assert [m["username"] for m in groups["confluence-users"]["members"]] == ["alice", "bob"]
    pages = read_rows(backup, "pages")
    assert len(pages) == Page.objects.filter(space__product=demo.confluence).count()
    assert {p["kind"] for p in pages} == {"page", "blogpost"}


def test_p2_attachments_excluded_when_the_policy_says_so(demo):
    backup = run_backup_of(demo.jira, demo.alice, include_attachments=False)
    assert backup.status == Backup.Status.COMPLETE
    names = storage.list_prefix(backup.storage_prefix)
    assert not [n for n in names if "/attachments/" in n]
    assert not BackupBlob.objects.filter(backup=backup, path__startswith="attachments/").exists()
    # The store holds its entities files only.
    assert set(storage.list_prefix("blobs/")) == set(
        BackupBlob.objects.filter(backup=backup).values_list("blob__storage_name", flat=True)
    )
    assert all("/written/" in n for n in storage.list_prefix("blobs/"))
    assert read_rows(backup, "attachments") == []
    assert read_manifest(backup)["attachments"] == {"count": 0, "bytes": 0}


def test_p2_personal_spaces_and_groups_excluded_when_the_policy_says_so(demo):
    backup = run_backup_of(
        demo.confluence, demo.alice, include_personal_spaces=False, include_users_and_groups=False
    )
    assert {r["space"] for r in read_rows(backup, "pages")} == {"ENG", "HR", "OLDWIKI"}
    assert {r["space"] for r in read_rows(backup, "attachments")} == {"ENG", "HR", "OLDWIKI"}
    assert "groups" not in read_manifest(backup)["entities"]
    assert not storage.exists(backup.storage_prefix + "entities/groups.jsonl")


def test_b5_unreadable_jira_attachment_makes_the_backup_incomplete_and_names_it(demo):
    victim = JiraAttachment.objects.filter(product=demo.jira).select_related("issue").first()
    default_storage.delete(victim.file.name)

    backup = run_backup_of(demo.jira, demo.alice)

    assert backup.status == Backup.Status.INCOMPLETE
    assert backup.missing == [
        {
            "what": f"{victim.issue.key} / {victim.name}",
            "reason": "the file is missing from the product's storage",
        }
    ]
    rows = read_rows(backup, "attachments")
    assert victim.name not in {r["name"] for r in rows if r["issue"] == victim.issue.key}
    assert len(rows) == JiraAttachment.objects.filter(product=demo.jira).count() - 1
    manifest = read_manifest(backup)
    assert manifest["status"] == "INCOMPLETE" and manifest["missing"] == backup.missing
    assert victim.name in mail.outbox[-1].body


def test_b5_confluence_space_with_an_unreadable_file_is_left_out_whole(demo):
    victim = PageAttachment.objects.get(page__space__key="HR", name="notes.txt")
    with default_storage.open(victim.file.name, "wb") as f:
        f.write(b"not what was uploaded")  # its SHA-256 no longer matches

    backup = run_backup_of(demo.confluence, demo.alice)

    assert backup.status == Backup.Status.INCOMPLETE
    assert [m["what"] for m in backup.missing] == ["space HR"]
    assert "notes.txt" in backup.missing[0]["reason"]
    assert "HR" not in {r["key"] for r in read_rows(backup, "spaces")}
    assert "HR" not in {r["space"] for r in read_rows(backup, "pages")}
    assert "HR" not in {r["space"] for r in read_rows(backup, "attachments")}
    # No file of the left-out space stays in the backup.
    hr_paths = {
        f"attachments/{a.id}/{a.name}" for a in PageAttachment.objects.filter(page__space__key="HR")
    }
    assert (
        not {
            n.removeprefix(backup.storage_prefix)
            for n in storage.list_prefix(backup.storage_prefix)
        }
        & hr_paths
    )
    assert not BackupBlob.objects.filter(backup=backup, path__in=hr_paths).exists()
    assert not [p for p in hr_paths if storage.exists(backup.storage_prefix + p)]
    # The HR files copied before the bad one were let go of: no stored copy outlives them.
    held = set(
        BackupBlob.objects.filter(backup=backup).values_list("blob__storage_name", flat=True)
    )
    assert set(AttachmentBlob.objects.values_list("storage_name", flat=True)) == held
    assert set(storage.list_prefix("blobs/")) == held
    assert Space.objects.filter(product=demo.confluence, key="HR").exists()  # untouched


def test_b5_storage_error_midway_fails_the_backup_and_removes_what_it_wrote(demo, backups_root):
    from backups.models import BackupPolicy
    from backups.services.backups import backup_request

    BackupPolicy.objects.create(product=demo.jira)
    nxt = backup_request(product=demo.jira, actor=demo.alice)
    # A real fault, no mock: a folder stands where the manifest must go, so writing
    # manifest.json fails after the attachments and the entities files were written.
    (backups_root / nxt.storage_prefix / "manifest.json").mkdir(parents=True)

    assert backup_execute(backup_id=nxt.id) == Backup.Status.FAILED

    nxt.refresh_from_db()
    assert nxt.status == Backup.Status.FAILED
    assert nxt.failure_reason.startswith("The backup storage (folder ")
    assert "manifest.json" in nxt.failure_reason
    assert storage.list_prefix(nxt.storage_prefix) == []
    # Its attachments and entities files were written into the store first; no other backup
    # held them, so they went.
    assert not BackupBlob.objects.exists() and not AttachmentBlob.objects.exists()
    assert storage.list_prefix("blobs/") == []
    assert AuditEvent.objects.filter(action="backup.failed", target=str(nxt)).exists()
    assert "Failed" in mail.outbox[-1].subject


def test_b6_a_backup_that_crosses_the_data_limit_while_running_fails(demo, settings):
    from backups.productdata import content_summary

    # The estimate before the start is under the limit; the JSON written is larger.
    estimate = content_summary(demo.jira).data_bytes
    settings.BACKUP_LIMITS = {
        **settings.BACKUP_LIMITS,
        "jira": {"data": estimate, "attachments": 10**12},
    }

    backup = run_backup_of(demo.jira, demo.alice)

    assert backup.status == Backup.Status.FAILED
    assert backup.failure_reason.startswith("The backup crossed the Jira data limit of ")
    assert storage.list_prefix(backup.storage_prefix) == []
    assert storage.list_prefix("blobs/") == []


def test_a_second_delivery_of_the_task_does_not_run_a_second_copy(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    events = AuditEvent.objects.count()
    objects = storage.list_prefix(backup.storage_prefix)
    completed_at = backup.completed_at

    assert backup_task(backup.id) is None

    backup.refresh_from_db()
    assert (backup.status, backup.completed_at) == (Backup.Status.COMPLETE, completed_at)
    assert storage.list_prefix(backup.storage_prefix) == objects
    assert AuditEvent.objects.count() == events


def test_a_claimed_backup_still_running_is_not_run_again(demo):
    from django.utils import timezone

    from backups.models import BackupPolicy
    from backups.services.backups import backup_request

    BackupPolicy.objects.create(product=demo.jira)
    backup = backup_request(product=demo.jira, actor=demo.alice)
    Backup.objects.filter(pk=backup.pk).update(claimed_at=timezone.now())  # a worker has it

    assert backup_task(backup.id) is None
    backup.refresh_from_db()
    assert backup.status == Backup.Status.IN_PROGRESS
    assert storage.list_prefix(backup.storage_prefix) == []


def test_a_backup_failed_by_staff_before_the_worker_starts_never_runs(demo):
    from backups.models import BackupPolicy
    from backups.services.backups import backup_fail, backup_request

    BackupPolicy.objects.create(product=demo.jira)
    backup = backup_request(product=demo.jira, actor=demo.alice)
    assert backup_fail(backup_id=backup.pk, reason="Marked failed by staff", actor=demo.staff)
    assert backup_task(backup.id) is None
    backup.refresh_from_db()
    assert (backup.status, backup.failure_reason) == (
        Backup.Status.FAILED,
        "Marked failed by staff",
    )
    assert not backup_fail(backup_id=backup.pk, reason="again")  # B5: no transition from FAILED


def test_b6_a_backup_whose_attachments_cross_the_limit_while_running_fails_at_that_file(
    demo, settings
):
    from backups.models import BackupPolicy
    from backups.productdata import ExportOptions, for_product
    from backups.rules.words import human_bytes
    from backups.services.backups import backup_request

    BackupPolicy.objects.create(product=demo.jira)
    backup = backup_request(product=demo.jira, actor=demo.alice)
    # Files grew after the request (the estimate was under the limit): the limit now lets
    # the first three in, in the order the engine copies them, and the fourth crosses it.
    files = [f for _, f in for_product(demo.jira).attachments(ExportOptions())]
    assert len(files) >= 5
    limit = sum(f.size for f in files[:3])
    settings.BACKUP_LIMITS = {
        **settings.BACKUP_LIMITS,
        "jira": {"data": 10**12, "attachments": limit},
    }

    assert backup_execute(backup_id=backup.pk) == Backup.Status.FAILED

    backup.refresh_from_db()
    assert backup.failure_reason == (
        f"The backup crossed the Jira attachment limit of {human_bytes(limit)} while it ran "
        f"({human_bytes(limit + files[3].size)} copied)."
    )
    assert storage.list_prefix(backup.storage_prefix) == []
    assert storage.list_prefix("blobs/") == []
    assert not AttachmentBlob.objects.exists()

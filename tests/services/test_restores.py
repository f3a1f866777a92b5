"""Restores from the service's storage (issue #5): round trips, skips, refusals by rule id."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.storage import default_storage
from django.db import connections
from django.utils import timezone

from backups.models import (
    AuditEvent,
    Backup,
    BackupPolicy,
    JiraIssue,
    JiraProject,
    OrgGroup,
    Page,
    PageComment,
    ProductAccess,
    Restore,
    Space,
)
from backups.services.backups import backup_request
from backups.services.errors import Refused
from backups.services.restore_engine import restore_execute, restore_fail
from backups.services.restores import restore_request
from tests.components import need_postgres
from tests.productdata.helpers import confluence_snapshot, jira_snapshot

from .helpers import run_backup_of


def restore(backup, destination, actor, **options) -> Restore:
    r = restore_request(backup=backup, destination=destination, actor=actor, **options)
    restore_execute(restore_id=r.pk)
    r.refresh_from_db()
    return r


def media_files(root):
    return {p for p in (root / "media").rglob("*") if p.is_file()}


def test_jira_round_trip_into_the_empty_jira(demo):
    before = jira_snapshot(demo.jira)
    backup = run_backup_of(demo.jira, demo.alice)

    r = restore(backup, demo.jira_sandbox, demo.alice)

    assert r.status == Restore.Status.COMPLETE, r.failure_reason
    assert jira_snapshot(demo.jira_sandbox) == before
    assert r.report["restored"] == {
        "projects": len(before["projects"]),
        "issues": len(before["issues"]),
        "comments": len(before["comments"]),
        "attachments": len(before["attachments"]),
    }
    assert r.progress_percent == 100
    assert AuditEvent.objects.filter(action="restore.completed").count() == 1
    assert "Complete" in mail.outbox[-1].subject


def test_confluence_round_trip_with_page_trees_blog_posts_and_personal_spaces(demo):
    before = confluence_snapshot(demo.confluence)
    backup = run_backup_of(demo.confluence, demo.alice)
    r = restore(backup, demo.confluence_sandbox, demo.alice)
    assert r.status == Restore.Status.COMPLETE, r.failure_reason
    assert confluence_snapshot(demo.confluence_sandbox) == before


def test_personal_spaces_follow_the_backup_options(demo):
    backup = run_backup_of(demo.confluence, demo.alice, include_personal_spaces=False)
    restore(backup, demo.confluence_sandbox, demo.alice)
    assert set(
        Space.objects.filter(product=demo.confluence_sandbox).values_list("kind", flat=True)
    ) == {"global"}


def test_r7_attachments_can_be_left_out(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    r = restore(backup, demo.jira_sandbox, demo.alice, include_attachments=False)
    assert r.options["include_attachments"] is False
    assert not demo.jira_sandbox.jira_issues.filter(attachments__isnull=False).exists()
    assert r.report["skipped"]["attachments"] > 0


def test_r6_confluence_skips_spaces_whose_key_exists_and_leaves_them_untouched(demo):
    eng = Space.objects.create(product=demo.confluence_sandbox, key="ENG", name="Our ENG")
    hr = Space.objects.create(product=demo.confluence_sandbox, key="HR", name="Our HR")
    Page.objects.create(space=eng, title="Ours", created=timezone.now(), updated=timezone.now())
    backup = run_backup_of(demo.confluence, demo.alice)

    r = restore(backup, demo.confluence_sandbox, demo.alice)

    assert r.status == Restore.Status.COMPLETE
    assert r.report["skipped_space_keys"] == ["ENG", "HR"]
    assert r.report["restored"]["spaces"] == 3
    # The pages and comments of the skipped spaces are counted skipped, the others restored
    # (#16: counted as their rows were parsed, then passed over).
    for model, space in ((Page, "space__key__in"), (PageComment, "page__space__key__in")):
        of_backup = model.objects.filter(**{space.replace("key__in", "product"): demo.confluence})
        skipped = of_backup.filter(**{space: ["ENG", "HR"]}).count()
        name = "pages" if model is Page else "comments"
        assert skipped > 0
        assert r.report["skipped"][name] == skipped
        assert r.report["restored"][name] == of_backup.count() - skipped
    eng.refresh_from_db()
    hr.refresh_from_db()
    assert (eng.name, hr.name) == ("Our ENG", "Our HR")
    assert list(eng.pages.values_list("title", flat=True)) == ["Ours"]
    assert not hr.pages.exists()
    assert set(
        Space.objects.filter(product=demo.confluence_sandbox).values_list("key", flat=True)
    ) == {"ENG", "HR", "OLDWIKI", "~alice", "~bob"}


def test_r7_groups_restored_with_access_awaiting_approval(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    # The groups are gone from the organization since the backup.
    OrgGroup.objects.filter(organization=demo.acme, name__in=["jira-users", "site-admins"]).delete()

    r = restore(backup, demo.jira_sandbox, demo.alice)

    groups = r.report["groups"]
    assert sorted(groups["restored"]) == ["jira-users", "site-admins"]
    assert groups["skipped"] == ["confluence-users"]
    assert sorted(groups["access_awaiting_approval"]) == ["jira-users", "site-admins"]
    jira_users = OrgGroup.objects.get(organization=demo.acme, name="jira-users")
    assert set(jira_users.members.values_list("username", flat=True)) == {"alice", "bob"}
    access = ProductAccess.objects.get(group=jira_users)
    assert (access.product, access.approved) == (demo.jira_sandbox, False)


def test_r7_users_and_groups_can_be_left_out(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    OrgGroup.objects.filter(organization=demo.acme, name="jira-users").delete()
    r = restore(backup, demo.jira_sandbox, demo.alice, include_users_and_groups=False)
    assert "groups" not in r.report
    assert not OrgGroup.objects.filter(name="jira-users").exists()


@pytest.mark.parametrize("state", ["active", "archived", "trashed"])
def test_r6_a_jira_destination_with_content_in_any_state_is_refused(demo, state):
    backup = run_backup_of(demo.jira, demo.alice)
    project = JiraProject.objects.create(product=demo.jira_sandbox, key="X", name="X", state=state)
    JiraIssue.objects.create(
        product=demo.jira_sandbox,
        project=project,
        key="X-1",
        summary="s",
        status="To Do",
        created=timezone.now(),
        updated=timezone.now(),
    )
    with pytest.raises(Refused) as refused:
        restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    detail = {"active": "", "archived": " (1 archived)", "trashed": " (1 in trash)"}[state]
    assert refused.value.reason.startswith(
        f"Acme Jira sandbox has 1 project{detail} and 1 issue. A Jira backup can only be "
        "restored into an empty Jira site"
    )
    assert not Restore.objects.exists()


@pytest.mark.parametrize(
    "status, reason",
    [
        ("FAILED", "A failed backup cannot be restored."),
        ("IN_PROGRESS", "The backup is still running; it can be restored once it is complete."),
        ("EXPIRED", "The backup expired on "),
    ],
)
def test_r2_only_complete_and_incomplete_backups_restore(demo, status, reason):
    backup = run_backup_of(demo.jira, demo.alice)
    Backup.objects.filter(pk=backup.pk).update(status=status)
    backup.refresh_from_db()
    with pytest.raises(Refused) as refused:
        restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    assert refused.value.reason.startswith(reason)


def test_r3_a_stored_backup_restores_until_it_expires(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    expiry = backup.started_at + timedelta(days=14)
    with (
        time_machine.travel(expiry, tick=False),
        pytest.raises(Refused, match="The backup expired on"),
    ):
        restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    with time_machine.travel(backup.started_at + timedelta(days=14, seconds=-1), tick=False):
        assert restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)


def test_r2_an_incomplete_backup_restores(demo):
    victim = demo.jira.jira_issues.filter(attachments__isnull=False).first().attachments.first()
    default_storage.delete(victim.file.name)
    backup = run_backup_of(demo.jira, demo.alice)
    assert backup.status == Backup.Status.INCOMPLETE
    assert restore(backup, demo.jira_sandbox, demo.alice).status == Restore.Status.COMPLETE


def test_r5_once_in_7_days_per_backup_and_failed_restores_do_not_count(demo):
    backup = run_backup_of(demo.confluence, demo.alice)
    first = restore_request(backup=backup, destination=demo.confluence_sandbox, actor=demo.alice)
    assert restore_fail(restore_id=first.pk, reason="test")
    # A failed restore does not count.
    second = restore(backup, demo.confluence_sandbox, demo.alice)
    assert second.status == Restore.Status.COMPLETE

    with pytest.raises(Refused) as refused:
        restore_request(backup=backup, destination=demo.confluence_sandbox, actor=demo.alice)
    assert "a backup can be restored once in 7 days" in refused.value.reason
    assert refused.value.decision.not_before == second.started_at + timedelta(days=7)

    # A different backup of the same product can be restored meanwhile.
    Backup.objects.filter(pk=backup.pk).update(completed_at=timezone.now() - timedelta(days=8))
    other = run_backup_of(demo.confluence, demo.alice)
    assert other.pk != backup.pk
    assert restore(other, demo.confluence_sandbox, demo.alice).status == Restore.Status.COMPLETE


def test_r6_destination_busy_with_a_backup_or_a_restore(demo):
    backup = run_backup_of(demo.confluence, demo.alice)
    BackupPolicy.objects.create(product=demo.confluence_sandbox)
    running = backup_request(product=demo.confluence_sandbox, actor=demo.alice)
    with pytest.raises(Refused, match="A backup of Acme Confluence sandbox is in progress"):
        restore_request(backup=backup, destination=demo.confluence_sandbox, actor=demo.alice)
    Backup.objects.filter(pk=running.pk).update(status="FAILED", completed_at=timezone.now())

    restore_request(backup=backup, destination=demo.confluence_sandbox, actor=demo.alice)
    # Another backup of the same product (a week later), into the same busy destination.
    Backup.objects.filter(pk=backup.pk).update(completed_at=timezone.now() - timedelta(days=8))
    other = run_backup_of(demo.confluence, demo.alice)
    with pytest.raises(Refused, match="A restore into Acme Confluence sandbox is already"):
        restore_request(backup=other, destination=demo.confluence_sandbox, actor=demo.alice)
    # B4: and no backup of a product while a restore into it runs.
    with pytest.raises(Refused, match="A restore into Acme Confluence sandbox is in progress"):
        backup_request(product=demo.confluence_sandbox, actor=demo.alice)


def test_r1_wrong_kind_and_other_organization(demo, make_org):
    backup = run_backup_of(demo.jira, demo.alice)
    with pytest.raises(
        Refused, match="Acme Confluence sandbox is a Confluence site; this is a Jira"
    ):
        restore_request(backup=backup, destination=demo.confluence_sandbox, actor=demo.alice)
    with pytest.raises(Refused, match="Only org admins of the backup's organization"):
        restore_request(backup=backup, destination=demo.globex_jira, actor=demo.alice)
    with pytest.raises(Refused, match="Only org admins"):
        restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.bob)


def test_r8_an_error_after_part_of_the_content_leaves_the_destination_as_it_was(
    demo, isolated_storage
):
    before_spaces = list(Space.objects.filter(product=demo.confluence_sandbox).values_list("key"))
    backup = run_backup_of(demo.confluence, demo.alice)
    # Corrupt the stored copy of the last attachment: spaces, pages, comments and the first
    # attachments are written before the restore meets it.
    from backups import storage
    from tests.services.helpers import read_rows

    last = read_rows(backup, "attachments")[-1]
    with storage.open_object(backup.storage_prefix + last["path"], "wb") as f:
        f.write(b"tampered")
    files_before = media_files(isolated_storage)

    r = restore(backup, demo.confluence_sandbox, demo.alice)

    assert r.status == Restore.Status.FAILED
    assert last["name"] in r.failure_reason and "checksum" in r.failure_reason
    assert list(Space.objects.filter(product=demo.confluence_sandbox).values_list("key")) == (
        before_spaces
    )
    assert not Page.objects.filter(space__product=demo.confluence_sandbox).exists()
    assert media_files(isolated_storage) == files_before
    assert "Nothing was changed" in mail.outbox[-1].body


def test_a_second_delivery_of_the_restore_task_does_nothing(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    r = restore(backup, demo.jira_sandbox, demo.alice)
    issues = JiraIssue.objects.filter(product=demo.jira_sandbox).count()
    assert restore_execute(restore_id=r.pk) is None
    assert JiraIssue.objects.filter(product=demo.jira_sandbox).count() == issues


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_restore_requests_into_one_destination_start_exactly_one(demo):
    need_postgres()
    backup = run_backup_of(demo.confluence, demo.alice)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def click():
        try:
            barrier.wait()
            restore_request(backup=backup, destination=demo.confluence_sandbox, actor=demo.alice)
            outcomes.append("started")
        except Refused as exc:
            outcomes.append(exc.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("started") == 1
    assert Restore.objects.filter(destination=demo.confluence_sandbox).count() == 1
    # The seven others were told why: busy, or already restored this week.
    assert all(o == "started" or "restore" in o.lower() for o in outcomes)

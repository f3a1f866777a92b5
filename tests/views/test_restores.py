"""Restores as an org admin sees them: the wizard, the restores table, a restore's page and
Review product access (R1-R8, SPEC §8).

Every assertion is on what the page says or does: the words, the counts, the reasons.
"""

import html
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from backups.models import (
    Backup,
    JiraProject,
    OrgGroup,
    Product,
    ProductAccess,
    Restore,
    Space,
)
from backups.rules import format_when
from backups.services.restore_engine import live_progress_key, restore_fail
from backups.services.restores import restore_request
from backups.tasks import restore_task
from tests.services.helpers import run_backup_of
from tests.views.helpers import element, messages_of, radio, text, url

pytestmark = pytest.mark.django_db

NON_EMPTY_JIRA = (
    "Acme Jira has 4 projects (1 archived, 1 in trash) and 30 issues. A Jira backup can only "
    "be restored into an empty Jira site: no projects or issues, archived and trashed ones "
    "included."
)
APPROVAL_NOTE = (
    "The restored groups' access to Acme Jira sandbox is not applied until an org admin "
    "approves it on Review product access, because it can affect billing."
)


@pytest.fixture
def alice(client, demo):
    client.force_login(demo.alice)
    return client


@pytest.fixture
def jira_backup(demo):
    return run_backup_of(demo.jira, demo.alice)


def expire(backup):
    Backup.objects.filter(pk=backup.pk).update(
        started_at=backup.started_at - timedelta(days=20),
        completed_at=backup.completed_at - timedelta(days=20),
    )
    backup.refresh_from_db()


# --- The wizard, step by step ----------------------------------------------------------------


def test_the_wizard_from_the_product_to_a_complete_restore_and_its_report(
    alice, demo, jira_backup, sync_tasks, django_capture_on_commit_callbacks
):
    b = jira_backup.pk
    # The group is gone from the organization since the backup: the restore brings it back.
    OrgGroup.objects.filter(organization=demo.acme, name="jira-users").delete()

    org_page = alice.get(url("org"))
    assert f'href="{url("restore_new")}"' in org_page.content.decode()
    assert "No restores yet." in text(org_page.content)

    # 1. The product: only products that have backups.
    page = alice.get(url("restore_new"))
    assert page.status_code == 200
    assert "Which product's backup do you want to restore?" in text(page.content)
    assert "Acme Jira Jira 1 backup · latest taken" in text(page.content)
    assert "Acme Confluence" not in text(page.content)
    assert "checked" in radio(page.content, "product", demo.jira.pk)
    assert f'action="{url("restore_backup")}"' in page.content.decode()

    # 2. The backup: status, taken, expiry, size; the restorable one is chosen.
    page = alice.get(url("restore_backup", product=demo.jira.pk))
    choice = text(element(page.content, f"choice-backup-{b}"))
    assert choice.startswith(f"Backup #{b} Complete Taken ")
    assert "Expires in 13 days" in choice
    assert "KB" in choice
    assert "checked" in radio(page.content, "backup", b)
    assert f'action="{url("restore_options")}"' in page.content.decode()

    # 3. Options: both, as the backup has both; product access waits for approval (R7).
    page = alice.get(url("restore_options", backup=b))
    words = text(page.content)
    assert "Restore attachments" in words
    assert "Restore users and groups" in words
    assert "Their access to the product waits for an org admin's approval" in words
    assert 'name="attachments" value="1" id="id_attachments" checked' in page.content.decode()

    # 4. Destination: the empty sandbox first and chosen; Acme Jira shown, disabled, with why.
    page = alice.get(url("restore_destination", backup=b, attachments=1, groups=1))
    words = text(page.content)
    assert words.index("Acme Jira sandbox") < words.index(NON_EMPTY_JIRA)
    assert "checked" in radio(page.content, "destination", demo.jira_sandbox.pk)
    assert "disabled" in radio(page.content, "destination", demo.jira.pk)
    assert NON_EMPTY_JIRA in text(element(page.content, f"choice-destination-{demo.jira.pk}"))
    assert "Acme Confluence" not in words

    # 5. Review: what will be restored, nothing skipped, the approval note, the Restore button.
    review = url(
        "restore_review", backup=b, attachments=1, groups=1, destination=demo.jira_sandbox.pk
    )
    page = alice.get(review)
    words = text(page.content)
    assert (
        "What will be restored Content In the backup Projects 4 Issues 30 Comments 48 "
        "Attachments 18 Groups 3"
    ) in words
    assert "What will be skipped Nothing: everything in the backup is restored." in words
    assert APPROVAL_NOTE in words
    assert "If it fails, nothing is changed in Acme Jira sandbox." in words
    assert "incomplete" not in words
    form = element(page.content, "main")
    assert f'action="{url("restore_start")}"' in form
    assert re.search(r'<button type="submit" class="button button--primary">Restore</button>', form)

    # Restore (POST): the task runs here, inline.
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(
            url("restore_start"),
            {"backup": b, "attachments": "1", "groups": "1", "destination": demo.jira_sandbox.pk},
        )
    restore = Restore.objects.get()
    assert response.status_code == 302
    assert response.url == url("restore_detail", restore.pk)
    assert restore.status == Restore.Status.COMPLETE
    assert restore.options == {"include_attachments": True, "include_users_and_groups": True}

    page = alice.get(response.url)
    words = text(page.content)
    # It ran inline and ended before its page was shown: no "started… this page follows it"
    # banner on a restore that is over (#13 item 5).
    assert messages_of(page) == []
    assert "this page follows it" not in words
    assert "Restore into Acme Jira sandbox" in words
    assert f"Source Acme Jira, backup #{b} taken" in words
    assert "Started by alice" in words
    assert "Options Attachments, users and groups" in words
    assert (
        "What was restored Content Restored Skipped Projects 4 0 Issues 30 0 Comments 48 0 "
        "Attachments 18 0"
    ) in words
    assert "Attachment files restored: 44.2 KB." in words
    assert "Groups restored: jira-users (2 members added)." in words
    assert "Already in Acme, left as they are: confluence-users, site-admins." in words
    assert "The access of jira-users to Acme Jira sandbox is not applied" in words
    assert f'href="{url("product_access_review")}"' in page.content.decode()
    assert "hx-trigger" not in page.content.decode()

    # The org page: the restores table and the pending access.
    words = text(alice.get(url("org")).content)
    assert (
        f"Complete Acme Jira, backup #{b} taken {jira_backup.started_at:%-d %b %Y, %H:%M} UTC "
        "Acme Jira sandbox"
    ) in words
    assert "Restored product access of 1 group awaits approval. Review product access" in words


def test_a_step_with_an_earlier_choice_links_back_to_it(alice, demo, jira_backup):
    page = alice.get(
        url(
            "restore_review",
            backup=jira_backup.pk,
            attachments=0,
            groups=1,
            destination=demo.jira_sandbox.pk,
        )
    )
    steps = element(page.content, "main")
    for name in ("restore_options", "restore_destination"):
        assert (
            html.escape(
                url(
                    name,
                    backup=jira_backup.pk,
                    attachments=0,
                    groups=1,
                    destination=demo.jira_sandbox.pk,
                )
            )
            in steps
        )
    # Coming back to the options: what was chosen, not the defaults.
    page = alice.get(url("restore_options", backup=jira_backup.pk, attachments=0, groups=1))
    assert 'id="id_attachments" aria' in page.content.decode()
    assert 'id="id_groups" checked' in page.content.decode()
    assert 'name="destination"' not in page.content.decode()


def test_the_product_step_says_what_to_do_when_there_is_no_backup(alice):
    words = text(alice.get(url("restore_new")).content)
    assert "There is nothing to restore yet." in words
    assert "Run a backup of a product" in words


def test_options_offer_only_what_the_backup_has(alice, demo):
    backup = run_backup_of(
        demo.jira, demo.alice, include_attachments=False, include_users_and_groups=False
    )
    words = text(alice.get(url("restore_options", backup=backup.pk)).content)
    assert "Restore attachments" not in words
    assert "Restore users and groups" not in words
    assert "This backup has no attachments: its backup policy left them out." in words
    assert "This backup has no users and groups: its backup policy left them out." in words
    # A forged flag changes nothing: the backup has no attachments to restore.
    words = text(
        alice.get(
            url(
                "restore_review",
                backup=backup.pk,
                attachments=1,
                groups=1,
                destination=demo.jira_sandbox.pk,
            )
        ).content
    )
    assert "Options No attachments; no users and groups" in words
    assert "Attachments" not in words.split("What will be restored")[1]


def test_leaving_attachments_out_is_listed_as_skipped(alice, demo, jira_backup):
    words = text(
        alice.get(
            url(
                "restore_review",
                backup=jira_backup.pk,
                attachments=0,
                groups=0,
                destination=demo.jira_sandbox.pk,
            )
        ).content
    )
    assert "Projects 4 Issues 30 Comments 48 Into Acme Jira sandbox" in words
    assert "18 attachments (44.2 KB): you chose not to restore attachments." in words
    assert "3 groups: you chose not to restore users and groups." in words
    assert "not applied until an org admin approves it" not in words


# --- What cannot be restored, and why --------------------------------------------------------


@pytest.mark.parametrize(
    "status, reason",
    [
        ("FAILED", "A failed backup cannot be restored."),
        ("EXPIRED", "The backup expired on "),
        ("IN_PROGRESS", "The backup is still running; it can be restored once it is complete."),
    ],
)
def test_a_backup_that_cannot_be_restored_is_shown_with_why_and_cannot_be_posted(
    alice, demo, jira_backup, status, reason
):
    good = run_backup_of(demo.confluence, demo.alice)  # another product: not listed below
    Backup.objects.filter(pk=jira_backup.pk).update(status=status)

    page = alice.get(url("restore_backup", product=demo.jira.pk))
    choice = text(element(page.content, f"choice-backup-{jira_backup.pk}"))
    assert reason in choice
    assert "disabled" in radio(page.content, "backup", jira_backup.pk)
    assert "None of these backups can be restored now; each says why." in text(page.content)
    assert re.search(r"<button [^>]*disabled>Continue</button>", page.content.decode())
    assert f"Backup #{good.pk}" not in text(page.content)

    # Further steps send the user back to choose, where the backup's row says why (once).
    sent_back = [f"Acme Jira, backup #{jira_backup.pk} cannot be restored now; see why below."]
    page = alice.get(url("restore_destination", backup=jira_backup.pk), follow=True)
    assert page.redirect_chain[-1][0] == url(
        "restore_backup", product=demo.jira.pk, backup=jira_backup.pk
    )
    assert messages_of(page) == sent_back
    assert text(page.content).count(reason) == 1
    assert reason in text(element(page.content, f"choice-backup-{jira_backup.pk}"))

    # A forged Restore is refused by the service; the page it lands on says why, once.
    page = alice.post(
        url("restore_start"),
        {"backup": jira_backup.pk, "destination": demo.jira_sandbox.pk},
        follow=True,
    )
    assert messages_of(page) == sent_back
    assert text(page.content).count(reason) == 1
    assert reason in text(element(page.content, f"choice-backup-{jira_backup.pk}"))
    assert not Restore.objects.exists()


def test_an_expired_backup_names_its_expiry(alice, demo, jira_backup):
    expire(jira_backup)
    page = alice.get(url("restore_backup", product=demo.jira.pk))
    choice = text(element(page.content, f"choice-backup-{jira_backup.pk}"))
    assert "Expired" in choice
    assert (
        f"The backup expired on {format_when(jira_backup.started_at + timedelta(days=14))}; "
        "restore it from its downloaded backup file instead"
    ) in choice


def test_a_backup_restored_this_week_says_until_when(alice, demo, jira_backup):
    first = restore_request(backup=jira_backup, destination=demo.jira_sandbox, actor=demo.alice)
    page = alice.get(url("restore_backup", product=demo.jira.pk))
    choice = text(element(page.content, f"choice-backup-{jira_backup.pk}"))
    assert (
        "a backup can be restored once in 7 days. It can be restored again after "
        f"{format_when(first.started_at + timedelta(days=7))}."
    ) in choice


def test_the_non_empty_jira_destination_is_disabled_and_a_forged_post_is_refused(
    alice, demo, jira_backup
):
    page = alice.get(url("restore_destination", backup=jira_backup.pk, attachments=1, groups=1))
    assert "disabled" in radio(page.content, "destination", demo.jira.pk)
    assert NON_EMPTY_JIRA in text(page.content)

    # The review of a forged URL shows the refusal and no working Restore button.
    page = alice.get(url("restore_review", backup=jira_backup.pk, destination=demo.jira.pk))
    assert f"This restore cannot start. {NON_EMPTY_JIRA}" in text(page.content)
    assert re.search(r"<button [^>]*disabled>Restore</button>", page.content.decode())

    response = alice.post(
        url("restore_start"),
        {"backup": jira_backup.pk, "attachments": "1", "groups": "1", "destination": demo.jira.pk},
    )
    assert response.url == url(
        "restore_review",
        backup=jira_backup.pk,
        attachments=1,
        groups=1,
        destination=demo.jira.pk,
    )
    page = alice.get(response.url)
    assert messages_of(page) == []  # the review shows the refusal itself: once
    assert f"This restore cannot start. {NON_EMPTY_JIRA}" in text(element(page.content, "refusal"))
    assert text(page.content).count(NON_EMPTY_JIRA) == 1
    assert not Restore.objects.exists()


def expired_reason(backup) -> str:
    return (
        f"The backup expired on {format_when(backup.started_at + timedelta(days=14))}; restore "
        "it from its downloaded backup file instead (possible for 60 days after it was taken)."
    )


def restored_this_week_reason(restore) -> str:
    return (
        f"This backup was restored on {format_when(restore.started_at)}; a backup can be "
        "restored once in 7 days. It can be restored again after "
        f"{format_when(restore.started_at + timedelta(days=7))}."
    )


@pytest.mark.parametrize("refusal", ["expired", "restored this week"])
def test_a_refused_restore_says_why_once_from_the_review_and_from_restore(
    alice, demo, jira_backup, refusal
):
    # #10 item 11: the Restore POST and the review step each added the same refusal, so the
    # page it ended on said it twice (and the backup's row a third time).
    if refusal == "expired":
        expire(jira_backup)
        reason = expired_reason(jira_backup)
    else:
        first = restore_request(backup=jira_backup, destination=demo.jira_sandbox, actor=demo.alice)
        reason = restored_this_week_reason(first)
    chosen = {"backup": jira_backup.pk, "attachments": 1, "groups": 1}
    back_to_choose = url("restore_backup", product=demo.jira.pk, backup=jira_backup.pk)
    restores_before = Restore.objects.count()

    page = alice.get(url("restore_review", **chosen, destination=demo.jira_sandbox.pk), follow=True)
    assert text(page.content).count(reason) == 1
    assert page.redirect_chain[-1][0] == back_to_choose
    assert reason in text(element(page.content, f"choice-backup-{jira_backup.pk}"))

    page = alice.post(
        url("restore_start"), {**chosen, "destination": demo.jira_sandbox.pk}, follow=True
    )
    assert text(page.content).count(reason) == 1
    assert page.redirect_chain[-1][0] == back_to_choose
    assert reason in text(element(page.content, f"choice-backup-{jira_backup.pk}"))
    assert messages_of(page) == [
        f"Acme Jira, backup #{jira_backup.pk} cannot be restored now; see why below."
    ]
    assert Restore.objects.count() == restores_before


def test_a_restore_refused_for_its_destination_says_why_once_on_the_review(
    alice, demo, jira_backup
):
    other = run_backup_of(demo.confluence_sandbox, demo.alice)
    conf = run_backup_of(demo.confluence, demo.alice)
    restore_request(backup=conf, destination=demo.confluence_sandbox, actor=demo.alice)
    reason = "A restore into Acme Confluence sandbox is already in progress."

    page = alice.post(
        url("restore_start"),
        {"backup": other.pk, "destination": demo.confluence_sandbox.pk},
        follow=True,
    )
    assert page.redirect_chain[-1][0] == url(
        "restore_review", backup=other.pk, destination=demo.confluence_sandbox.pk
    )
    assert text(page.content).count(reason) == 1
    assert f"This restore cannot start. {reason}" in text(element(page.content, "refusal"))
    assert messages_of(page) == []
    assert Restore.objects.count() == 1


def test_a_destination_busy_with_a_restore_is_disabled(alice, demo, jira_backup):
    other = run_backup_of(demo.confluence_sandbox, demo.alice)
    conf = run_backup_of(demo.confluence, demo.alice)
    restore_request(backup=conf, destination=demo.confluence_sandbox, actor=demo.alice)
    page = alice.get(url("restore_destination", backup=other.pk))
    assert "disabled" in radio(page.content, "destination", demo.confluence_sandbox.pk)
    assert "A restore into Acme Confluence sandbox is already in progress." in text(page.content)
    assert "checked" in radio(page.content, "destination", demo.confluence.pk)


def test_no_destination_for_a_kind_the_organization_has_one_of(alice, demo, jira_backup):
    JiraProject.objects.create(product=demo.jira_sandbox, key="X", name="X", state="trashed")
    page = alice.get(url("restore_destination", backup=jira_backup.pk))
    assert "No product can take this backup now; each says why." in text(page.content)
    assert "Acme Jira sandbox has 1 project (1 in trash) and 0 issues." in text(page.content)
    assert re.search(r"<button [^>]*disabled>Continue</button>", page.content.decode())


# --- Confluence and INCOMPLETE backups -------------------------------------------------------


def test_the_confluence_review_lists_the_space_keys_that_will_be_skipped(
    alice, demo, sync_tasks, django_capture_on_commit_callbacks
):
    Space.objects.create(product=demo.confluence_sandbox, key="ENG", name="Our ENG")
    Space.objects.create(product=demo.confluence_sandbox, key="HR", name="Our HR")
    backup = run_backup_of(demo.confluence, demo.alice)

    page = alice.get(url("restore_destination", backup=backup.pk, attachments=1, groups=0))
    # A non-empty Confluence site can take it; the backup's own product too (all skipped).
    assert "disabled" not in radio(page.content, "destination", demo.confluence_sandbox.pk)
    assert "2 spaces, 0 pages" in text(
        element(page.content, f"choice-destination-{demo.confluence_sandbox.pk}")
    )

    params = {"backup": backup.pk, "attachments": 1, "groups": 0}
    page = alice.get(url("restore_review", destination=demo.confluence_sandbox.pk, **params))
    assert text(element(page.content, "skipped-spaces")) == (
        "ENG, HR are skipped: Acme Confluence sandbox already has spaces with these keys. "
        "Their pages, blog posts, comments and attachments are not restored, and the existing "
        "spaces are left as they are."
    )
    assert "Spaces 5 Pages and blog posts 60 Comments 40 Attachments 10" in text(page.content)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(
            url("restore_start"), {"destination": demo.confluence_sandbox.pk, **params}
        )
    page = alice.get(response.url)
    assert text(element(page.content, "skipped-spaces")) == (
        "ENG, HR were skipped: the destination already has spaces with these keys. Their "
        "pages, comments and attachments were skipped with them."
    )
    assert "Spaces 3 2" in text(page.content)
    assert "Users and groups were not restored, as chosen." in text(page.content)


def test_an_incomplete_backup_warns_and_names_what_is_missing(alice, demo):
    from django.core.files.storage import default_storage

    victim = demo.jira.jira_issues.filter(attachments__isnull=False).first().attachments.first()
    default_storage.delete(victim.file.name)
    backup = run_backup_of(demo.jira, demo.alice)
    assert backup.status == Backup.Status.INCOMPLETE
    what = backup.missing[0]["what"]
    assert victim.name in what

    page = alice.get(url("restore_backup", product=demo.jira.pk))
    assert "Incomplete: 1 item could not be copied. It can be restored without it." in text(
        page.content
    )
    page = alice.get(
        url("restore_review", backup=backup.pk, attachments=1, destination=demo.jira_sandbox.pk)
    )
    warning = text(element(page.content, "missing"))
    assert warning.startswith(
        "This backup is incomplete: 1 item could not be copied when it was taken, so it is not "
        "restored."
    )
    assert f"{what} — {backup.missing[0]['reason']}" in warning
    assert re.search(
        r'<button type="submit" class="button button--primary">Restore</button>',
        (page.content.decode()),
    )


# --- The restores table and a restore's page -------------------------------------------------


def test_a_running_restore_shows_its_progress_and_the_table_polls_until_it_ends(
    alice, demo, jira_backup
):
    restore = restore_request(backup=jira_backup, destination=demo.jira_sandbox, actor=demo.alice)
    assert restore.items_total == 103

    page = alice.get(url("org"))
    row = text(element(page.content, f"restore-{restore.pk}"))
    assert row.startswith("In progress Waiting to start…")
    table = element(page.content, "restores-table")
    polled = url("org", tab="overview", fragment="restores").replace("&", "&amp;")
    assert f'hx-get="{polled}" hx-trigger="every 2s"' in table

    # The worker took it and reports progress in the cache; the row is written at the end.
    Restore.objects.filter(pk=restore.pk).update(claimed_at=timezone.now())
    cache.set(live_progress_key(restore.pk), {"items_done": 50, "heartbeat_at": "x"})
    fragment = alice.get(url("org", tab="overview", fragment="restores"))
    assert "In progress 48% · 50 of 103 items" in text(fragment.content)
    assert 'value="48"' in fragment.content.decode()
    detail = alice.get(url("restore_detail", restore.pk))
    assert "48% · 50 of 103 items" in text(detail.content)
    assert f'hx-get="{url("restore_detail_fragment", restore.pk)}"' in detail.content.decode()
    assert "Completed Not yet" in text(detail.content)

    Restore.objects.filter(pk=restore.pk).update(claimed_at=None)
    cache.delete(live_progress_key(restore.pk))
    restore_task(restore.pk)
    fragment = alice.get(url("org", tab="overview", fragment="restores"))
    assert "hx-trigger" not in fragment.content.decode()
    assert text(element(fragment.content, f"restore-{restore.pk}")).startswith("Complete Acme Jira")
    body = alice.get(url("restore_detail_fragment", restore.pk))
    assert "hx-trigger" not in body.content.decode()
    assert "Projects 4 0 Issues 30 0" in text(body.content)


def test_a_failed_restore_says_why_and_that_nothing_was_changed(alice, demo, jira_backup):
    restore = restore_request(backup=jira_backup, destination=demo.jira_sandbox, actor=demo.alice)
    restore_fail(restore_id=restore.pk, reason="The worker stopped sending a heartbeat.")
    words = text(alice.get(url("restore_detail", restore.pk)).content)
    assert (
        "This restore failed. The worker stopped sending a heartbeat. Nothing was changed in "
        "the destination: Acme Jira sandbox is as it was before the restore."
    ) in words
    assert "What was restored" not in words


# --- Review product access (R7) --------------------------------------------------------------


@pytest.fixture
def restored_access(demo, jira_backup):
    """jira-users and site-admins restored into the sandbox: their access awaits approval."""
    OrgGroup.objects.filter(organization=demo.acme, name__in=["jira-users", "site-admins"]).delete()
    restore = restore_request(backup=jira_backup, destination=demo.jira_sandbox, actor=demo.alice)
    restore_task(restore.pk)
    return {
        a.group.name: a
        for a in ProductAccess.objects.filter(approved=False).select_related("group")
    }


def test_review_product_access_approve_and_deny(alice, demo, restored_access):
    jira_users, site_admins = restored_access["jira-users"], restored_access["site-admins"]
    page = alice.get(url("product_access_review"))
    words = text(page.content)
    assert "approving gives every member of the group access to the product" in words
    assert "which may affect your billing" in words
    assert "jira-users Acme Jira sandbox 2 members" in text(
        element(page.content, f"access-{jira_users.pk}")
    )
    assert "site-admins Acme Jira sandbox 1 member" in words

    page = alice.post(url("product_access_approve", jira_users.pk), follow=True)
    assert messages_of(page) == ["Approved: jira-users now has access to Acme Jira sandbox."]
    assert "jira-users Acme Jira sandbox 2 members Approved" in text(
        element(page.content, "approved")
    )
    assert "jira-users" not in text(element(page.content, "pending"))
    jira_users.refresh_from_db()
    assert jira_users.approved is True

    page = alice.post(url("product_access_approve", jira_users.pk), follow=True)
    assert messages_of(page) == ["This product access was already reviewed."]

    page = alice.post(url("product_access_deny", site_admins.pk), follow=True)
    assert messages_of(page)[0].startswith(
        "Denied: site-admins does not get access to Acme Jira sandbox."
    )
    assert not ProductAccess.objects.filter(pk=site_admins.pk).exists()
    assert OrgGroup.objects.filter(organization=demo.acme, name="site-admins").exists()
    assert "Nothing awaits approval." in text(page.content)
    # Nothing pending: the org page does not point there any more.
    assert "Review product access" not in text(alice.get(url("org")).content)


# --- Who may: another organization (404), a plain member (403), the method (405) -------------


@pytest.fixture
def initech(make_org):
    """Another enrolled organization, with a Jira product, a backup, a restore and access."""
    org, admin = make_org("initech")
    jira = Product.objects.create(organization=org, kind="jira", name="Initech Jira")
    now = timezone.now()
    backup = Backup.objects.create(
        product=jira, status=Backup.Status.COMPLETE, started_at=now, completed_at=now
    )
    restore = Restore.objects.create(
        backup=backup,
        source_backup_id=backup.pk,
        source_product_name=jira.name,
        source_taken_at=now,
        destination=jira,
        status=Restore.Status.COMPLETE,
        started_at=now,
        completed_at=now,
    )
    group = OrgGroup.objects.create(organization=org, name="initech-users")
    access = ProductAccess.objects.create(group=group, product=jira, approved=False)
    return {
        "admin": admin,
        "jira": jira,
        "backup": backup,
        "restore": restore,
        "access": access,
    }


def test_another_organizations_objects_are_not_found(alice, demo, jira_backup, initech):
    theirs = {"backup": initech["backup"].pk}
    gets = [
        url("restore_backup", product=initech["jira"].pk),
        url("restore_options", **theirs),
        url("restore_destination", **theirs),
        url("restore_review", destination=demo.jira_sandbox.pk, **theirs),
        url("restore_destination", backup=jira_backup.pk, destination=initech["jira"].pk),
        url("restore_review", backup=jira_backup.pk, destination=initech["jira"].pk),
        url("restore_detail", initech["restore"].pk),
        url("restore_detail_fragment", initech["restore"].pk),
    ]
    for address in gets:
        assert alice.get(address).status_code == 404, address
    posts = [
        (url("restore_start"), {"destination": demo.jira_sandbox.pk, **theirs}),
        (url("restore_start"), {"backup": jira_backup.pk, "destination": initech["jira"].pk}),
        (url("product_access_approve", initech["access"].pk), {}),
        (url("product_access_deny", initech["access"].pk), {}),
    ]
    for address, data in posts:
        assert alice.post(address, data).status_code == 404, address
    assert not Restore.objects.filter(destination__organization=demo.acme).exists()
    initech["access"].refresh_from_db()
    assert initech["access"].approved is False


def test_another_organizations_admin_gets_404_on_every_restore_page(client, demo, initech):
    client.force_login(initech["admin"])
    restore = Restore.objects.create(
        source_backup_id=1,
        source_product_name="Acme Jira",
        source_taken_at=timezone.now(),
        destination=demo.jira_sandbox,
        started_at=timezone.now(),
    )
    access = ProductAccess.objects.create(
        group=OrgGroup.objects.get(organization=demo.acme, name="jira-users"),
        product=demo.jira_sandbox,
        approved=False,
    )
    for address in every_get_url(demo, restore):
        assert client.get(address).status_code == 404, address
    for address in every_post_url(access):
        assert client.post(address).status_code == 404, address


def every_get_url(demo, restore) -> list[str]:
    return [
        url("restore_new"),
        url("restore_backup", product=demo.jira.pk),
        url("restore_options", backup=1),
        url("restore_destination", backup=1),
        url("restore_review", backup=1, destination=demo.jira_sandbox.pk),
        url("restore_detail", restore.pk),
        url("restore_detail_fragment", restore.pk),
        url("product_access_review"),
    ]


def every_post_url(access) -> list[str]:
    return [
        url("restore_start"),
        url("product_access_approve", access.pk),
        url("product_access_deny", access.pk),
        url("product_access_revoke", access.pk),
    ]


def test_a_plain_member_gets_403_with_the_admins_only_page(client, demo, restored_access):
    client.force_login(demo.bob)
    restore = Restore.objects.get()
    access = restored_access["jira-users"]
    for address in every_get_url(demo, restore):
        response = client.get(address)
        assert response.status_code == 403, address
        assert "ask the org admin of Acme: alice" in text(response.content)
    for address in every_post_url(access):
        assert client.post(address).status_code == 403, address
    access.refresh_from_db()
    assert access.approved is False


def test_a_garbled_wizard_url_is_not_found(alice):
    assert alice.get(url("restore_options", backup="x")).status_code == 404
    assert alice.get(url("restore_options", backup=1, attachments="yes")).status_code == 404


def test_get_on_the_post_endpoints_is_405(alice, demo, restored_access):
    # A product access decision answers GET with its confirmation page (R7,
    # tests/views/test_access_review.py); starting a restore is POST only.
    assert alice.get(url("restore_start")).status_code == 405
    for address in (url("restore_new"), url("product_access_review")):
        assert alice.post(address).status_code == 405, address


def test_the_backup_detail_page_offers_restore_or_says_why_not(client, demo):

    from backups.services.restores import restore_request
    from tests.services.helpers import run_backup_of

    backup = run_backup_of(demo.jira, demo.alice)
    client.force_login(demo.alice)
    url = reverse("backup_detail", args=["acme", backup.pk])
    page = client.get(url).content.decode()
    assert f'restores/new/options/?backup={backup.pk}"' in page

    restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    page = client.get(url).content.decode()
    assert "a backup can be restored once in 7 days" in page
    assert f'restores/new/options/?backup={backup.pk}"' not in page

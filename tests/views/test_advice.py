"""Advice that leads somewhere (issue #13, item 5): each page that says what to do next says
when it becomes possible (from the rules' own dates) and whom to ask, by name."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.messages import SUCCESS
from django.contrib.messages.storage.cookie import CookieStorage
from django.urls import reverse

from backups.models import Membership, Restore, Upload
from backups.rules import Decision, next_backup_words, refuse, restore_again_advice_words
from backups.views.files import _next_backup_words
from backups.views.restores import DROP_BANNER
from tests.services.helpers import run_backup_of

pytestmark = pytest.mark.django_db

TAKEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def text(fragment: str | bytes) -> str:
    if isinstance(fragment, bytes):
        fragment = fragment.decode()
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    fragment = re.sub(r"</?a\b[^>]*>", "", fragment)  # a link is part of its sentence
    fragment = re.sub(r"<[^>]+>", " ", fragment)
    return re.sub(r"\s+", " ", html.unescape(fragment)).strip()


# --- All downloads used: when can a new backup run? (B3) ------------------------------------


def test_next_backup_words_say_when_from_the_rules_date():
    wait = refuse("…", not_before=datetime(2026, 12, 9, 14, 5, tzinfo=UTC))
    assert next_backup_words("Acme Jira", wait) == (
        "A new backup of Acme Jira can run after 9 Dec 2026, 14:05 UTC (7 days after its last "
        "complete backup): run one then to download its data again."
    )
    assert next_backup_words("Acme Jira", Decision(True)) == (
        "To download its data again, run a new backup of Acme Jira."
    )
    assert next_backup_words(
        "Acme Jira", refuse("A backup of Acme Jira is already in progress.")
    ) == (
        "A backup of Acme Jira is already in progress. Once it has ended, run a new backup to "
        "download its data again."
    )


def test_the_used_up_page_dates_the_next_backup_seven_days_after_the_last_complete(demo):
    with time_machine.travel(TAKEN, tick=False):
        backup = run_backup_of(demo.jira, demo.alice)
    backup.refresh_from_db()
    with time_machine.travel(TAKEN + timedelta(days=1), tick=False):
        words = _next_backup_words(demo.jira)
    next_at = backup.completed_at + timedelta(days=7)
    assert words.startswith(
        f"A new backup of Acme Jira can run after {next_at.day} {next_at:%b %Y, %H:%M} UTC"
    )
    with time_machine.travel(TAKEN + timedelta(days=8), tick=False):
        assert _next_backup_words(demo.jira) == (
            "To download its data again, run a new backup of Acme Jira."
        )


# --- A restored (deleted) upload: when can its backup be restored again? (R4, R5) ------------


@pytest.mark.parametrize(
    "now, last, expected",
    [
        (
            TAKEN + timedelta(days=2),
            TAKEN + timedelta(days=1),
            "This backup was restored on 2 Dec 2026, 09:00 UTC; a backup can be restored once in 7 "
            "days. It can be restored again after 9 Dec 2026, 09:00 UTC. Then, to restore it "
            "again, upload its file again (possible until 30 Jan 2027, 09:00 UTC, 60 days after "
            "the backup was taken).",
        ),
        (
            TAKEN + timedelta(days=10),
            TAKEN + timedelta(days=1),
            "To restore this backup again, upload its file again (possible until 30 Jan 2027, "
            "09:00 UTC, 60 days after the backup was taken).",
        ),
        (
            TAKEN + timedelta(days=56),
            TAKEN + timedelta(days=55),
            "This backup was restored on 25 Jan 2027, 09:00 UTC; a backup can be restored once in "
            "7 days. It can be restored again after 1 Feb 2027, 09:00 UTC. That is after its file "
            "can be restored (until 30 Jan 2027, 09:00 UTC, 60 days after the backup was taken), "
            "so this backup cannot be restored from its file again.",
        ),
        (
            TAKEN + timedelta(days=61),
            TAKEN + timedelta(days=1),
            "This backup can no longer be restored from its file: that was possible until 30 Jan "
            "2027, 09:00 UTC, 60 days after the backup was taken.",
        ),
    ],
    ids=["waiting for R5", "allowed", "R5 ends after R4", "R4 passed"],
)
def test_restore_again_advice_words(now, last, expected):
    assert restore_again_advice_words(taken_at=TAKEN, last_restore_started_at=last, now=now) == (
        expected
    )


def test_a_restored_uploads_page_says_when_it_can_be_restored_again(client, demo):
    restored_at = TAKEN + timedelta(days=1)
    upload = Upload.objects.create(
        organization=demo.acme,
        created_by=demo.alice,
        file_name="acme-jira.zip",
        declared_size=1000,
        received_bytes=1000,
        storage_name="uploads/1",
        status=Upload.Status.DELETED,
        deleted_reason="it was restored",
        created_at=restored_at,
        updated_at=restored_at,
    )
    Restore.objects.create(
        upload=upload,
        source_backup_id=4242,
        source_product_name="Acme Jira",
        source_taken_at=TAKEN,
        destination=demo.jira_sandbox,
        status=Restore.Status.COMPLETE,
        started_at=restored_at,
        completed_at=restored_at,
    )
    client.force_login(demo.alice)
    with time_machine.travel(TAKEN + timedelta(days=2), tick=False):
        page = client.get(reverse("upload_detail", args=["acme", upload.pk])).content
    words = text(page)
    assert "It can be restored again after 9 Dec 2026, 09:00 UTC. Then, to restore it again" in (
        words
    )
    assert "upload its file again (possible until 30 Jan 2027, 09:00 UTC" in words
    assert "To restore this backup again, upload its file again." not in words


# --- A restore's page: "this page follows it" only while it runs ----------------------------


def restore_of(demo, status):
    now = TAKEN
    return Restore.objects.create(
        source_backup_id=1,
        source_product_name="Acme Jira",
        source_taken_at=now,
        destination=demo.jira_sandbox,
        status=status,
        started_at=now,
        completed_at=None if status == Restore.Status.IN_PROGRESS else now,
    )


def with_started_message(client, restore):
    """The message restore_start leaves for the restore's page, as the browser brings it back."""
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    storage = CookieStorage(request)
    started = (
        "Restore of Acme Jira backup into Acme Jira sandbox started. It runs in the background; "
        "this page follows it."
    )
    storage.add(SUCCESS, started)
    from django.http import HttpResponse

    response = HttpResponse()
    storage.update(response)
    client.cookies["messages"] = response.cookies["messages"].value
    return started


def test_a_finished_restores_page_drops_the_following_banner(client, demo, settings):
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
    client.force_login(demo.alice)
    done = restore_of(demo, Restore.Status.COMPLETE)
    started = with_started_message(client, done)
    page = client.get(reverse("restore_detail", args=["acme", done.pk]))
    assert started not in text(page.content)

    running = restore_of(demo, Restore.Status.IN_PROGRESS)
    Restore.objects.filter(pk=done.pk).delete()  # one restore in progress per destination
    started = with_started_message(client, running)
    page = client.get(reverse("restore_detail", args=["acme", running.pk]))
    assert started in text(page.content)


def test_the_last_poll_of_an_ended_restore_removes_the_banner(client, demo):
    client.force_login(demo.alice)
    running = restore_of(demo, Restore.Status.IN_PROGRESS)
    fragment = reverse("restore_detail_fragment", args=["acme", running.pk])
    assert DROP_BANNER not in client.get(fragment).content.decode()
    Restore.objects.filter(pk=running.pk).update(status=Restore.Status.COMPLETE, completed_at=TAKEN)
    assert DROP_BANNER in client.get(fragment).content.decode()


# --- Whom to ask --------------------------------------------------------------------------------


def test_a_plain_member_is_told_the_org_admins_by_name(client, demo):
    client.force_login(demo.bob)
    page = client.get(reverse("org", args=["acme"]))
    assert page.status_code == 403
    words = text(page.content)
    assert (
        "If you need a backup or a restore, ask the org admin of Acme: alice (alice@example.com)."
    ) in words
    zed = get_user_model().objects.create_user(
        "zed", email="zed@example.com", first_name="Zed", last_name="Zimmer"
    )
    Membership.objects.create(user=zed, organization=demo.acme, role=Membership.Role.ADMIN)
    words = text(client.get(reverse("org", args=["acme"])).content)
    assert (
        "ask one of the org admins of Acme: alice (alice@example.com), Zed Zimmer "
        "(zed@example.com)."
    ) in words


def test_a_not_enrolled_organizations_admin_gets_a_contact(client, demo, settings):
    client.force_login(demo.carol)
    settings.EARLY_ACCESS_CONTACT = "early-access@backupsite.example"
    page = client.get(reverse("org", args=["globex"]))
    assert page.status_code == 403
    assert (
        "To use it for your organization, contact your account representative at "
        "early-access@backupsite.example."
    ) in text(page.content)
    assert 'href="mailto:early-access@backupsite.example"' in page.content.decode()


def test_the_early_access_contact_defaults_to_the_sites_from_address():
    from django.conf import settings

    assert settings.EARLY_ACCESS_CONTACT == settings.DEFAULT_FROM_EMAIL

"""Backup policies and backups as an org admin sees them (P1-P3, B1-B8, SPEC §8).

Every assertion is on what the page says: the words, the dates, the sizes, the reasons.
"""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from backups.models import Backup, BackupPolicy, JiraAttachment
from backups.rules import format_when, human_bytes
from backups.services.backups import backup_request
from tests.services.helpers import run_backup_of
from tests.views.helpers import text

pytestmark = pytest.mark.django_db

SEVEN_DAY_REASON = (
    "The next backup can run after 2 Dec 2026, 14:05 UTC — 7 days after the last complete backup."
)


def table(page: bytes | str, css_class: str) -> str:
    """The HTML of the table with class `css_class` (policies, backups, counts-table)."""
    if isinstance(page, bytes):
        page = page.decode()
    found = re.findall(rf'<table class="[^"]*\b{css_class}\b[^"]*">.*?</table>', page, flags=re.S)
    assert len(found) == 1, f"expected one {css_class} table, found {len(found)}"
    return found[0]


def rows(page: bytes | str, css_class: str) -> list[str]:
    """The body rows of a table, as the HTML of each row."""
    body = re.search(r"<tbody>(.*?)</tbody>", table(page, css_class), flags=re.S).group(1)
    return re.findall(r"<tr\b.*?</tr>", body, flags=re.S)


def row_for(page, css_class: str, product_name: str) -> str:
    matching = [r for r in rows(page, css_class) if f">{html.escape(product_name)}<" in r]
    assert len(matching) == 1, f"expected one row for {product_name!r}, found {len(matching)}"
    return matching[0]


def when(moment: datetime) -> str:
    return format_when(moment)


def org_url(slug="acme"):
    return reverse("org", args=[slug])


def create_url(slug="acme"):
    return reverse("policy_create", args=[slug])


def edit_url(policy, slug="acme"):
    return reverse("policy_edit", args=[slug, policy.pk])


def run_url(product, slug="acme"):
    return reverse("backup_run", args=[slug, product.pk])


def detail_url(backup, slug="acme"):
    return reverse("backup_detail", args=[slug, backup.pk])


def progress_url(backup, slug="acme"):
    return reverse("backup_detail_fragment", args=[slug, backup.pk])


def table_url(slug="acme"):
    """What the page's backups table polls while a backup runs: the page's own fragment."""
    return reverse("org", args=[slug]) + "?tab=overview&fragment=backups"


def options_offered(page: bytes) -> list[str]:
    select = re.search(r'<select name="product".*?</select>', page.decode(), flags=re.S).group(0)
    return [text(o) for o in re.findall(r"<option\b.*?</option>", select, flags=re.S)]


@pytest.fixture
def alice(client, demo):
    client.force_login(demo.alice)
    return client


# --- Create backup policy ----------------------------------------------------------------


def test_create_policy_offers_only_products_without_a_policy(alice, demo):
    BackupPolicy.objects.create(product=demo.jira)
    response = alice.get(create_url())
    assert response.status_code == 200
    assert options_offered(response.content) == [
        "Choose a product…",
        "Acme Confluence (Confluence)",
        "Acme Confluence sandbox (Confluence)",
        "Acme Jira sandbox (Jira)",
    ]
    page = text(response.content)
    assert "Create backup policy" in page
    assert (
        "Storage Backups are stored in this service's storage and kept there for 14 days." in page
    )
    assert "Include personal spaces (Confluence only)" in page
    assert "Ignored for a Jira product." in page


def test_create_policy_form_starts_with_every_option_checked(alice, demo):
    page = alice.get(create_url()).content.decode()
    for name in ("include_attachments", "include_personal_spaces", "include_users_and_groups"):
        assert re.search(rf'<input type="checkbox" name="{name}" id="id_{name}" checked', page)
    # The storage is a sentence, not a field: there is one place to store backups for now.
    assert 'name="storage"' not in page


def test_create_policy_saves_the_chosen_options_and_lists_the_policy(alice, demo):
    response = alice.post(
        create_url(),
        {
            "product": demo.confluence.pk,
            "include_attachments": "on",
            "include_users_and_groups": "on",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == org_url() + "#policies"
    policy = BackupPolicy.objects.get(product=demo.confluence)
    assert policy.options() == {
        "include_attachments": True,
        "include_personal_spaces": False,
        "include_users_and_groups": True,
        "storage": "service",
    }
    assert policy.created_by == demo.alice

    page = alice.get(org_url()).content
    assert "Backup policy of Acme Confluence created. You can now run a backup." in text(page)
    row = text(row_for(page, "policies", "Acme Confluence"))
    assert row == (
        "Acme Confluence Attachments, users and groups; no personal spaces Manual None yet Now "
        "Run backup of Acme Confluence Edit policy of Acme Confluence"
    )


def test_a_jira_policy_never_includes_personal_spaces(alice, demo):
    alice.post(create_url(), {"product": demo.jira.pk, "include_personal_spaces": "on"})
    policy = BackupPolicy.objects.get(product=demo.jira)
    assert policy.include_attachments is False
    assert policy.include_personal_spaces is False
    assert policy.include_users_and_groups is False
    row = text(row_for(alice.get(org_url()).content, "policies", "Acme Jira"))
    assert row.startswith("Acme Jira No attachments, no users and groups Manual None yet Now")


def test_create_policy_needs_a_product(alice, demo):
    response = alice.post(create_url(), {"include_attachments": "on"})
    assert response.status_code == 200
    assert "This field is required." in text(response.content)
    assert not BackupPolicy.objects.exists()


def test_a_product_that_got_its_policy_meanwhile_shows_the_services_refusal(alice, demo):
    # Another admin created the policy after this form was shown (P1).
    BackupPolicy.objects.create(product=demo.jira, include_attachments=False)
    response = alice.post(create_url(), {"product": demo.jira.pk, "include_attachments": "on"})
    assert response.status_code == 200
    assert "Acme Jira already has a backup policy." in text(response.content)
    assert BackupPolicy.objects.get(product=demo.jira).include_attachments is False


def test_another_organizations_product_cannot_be_chosen(alice, demo):
    response = alice.post(create_url(), {"product": demo.globex_jira.pk})
    assert response.status_code == 200
    assert "Select a valid choice." in text(response.content)
    assert not BackupPolicy.objects.exists()


def test_create_button_shows_only_while_a_product_has_no_policy(alice, demo):
    page = alice.get(org_url()).content.decode()
    assert f'href="{create_url()}"' in page
    assert "No product has a backup policy yet." in text(page)

    for product in (demo.jira, demo.confluence, demo.jira_sandbox):
        BackupPolicy.objects.create(product=product)
    page = text(alice.get(org_url()).content)
    assert "Acme Confluence sandbox has no backup policy yet, so it cannot be backed up." in page
    assert "Create backup policy" in page

    BackupPolicy.objects.create(product=demo.confluence_sandbox)
    page = alice.get(org_url()).content.decode()
    assert f'href="{create_url()}"' not in page
    assert "Create backup policy" not in text(page)
    page = text(alice.get(create_url()).content)
    assert "Every product of Acme already has a backup policy." in page


# --- Edit policy ---------------------------------------------------------------------------


def test_edit_policy_of_jira_has_no_personal_spaces_and_says_edits_apply_later(alice, demo):
    policy = BackupPolicy.objects.create(product=demo.jira, include_attachments=False)
    response = alice.get(edit_url(policy))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Edit policy" in text(page)
    assert "Changes apply to later backups only." in text(page)
    assert 'name="include_personal_spaces"' not in page
    assert re.search(r'name="include_attachments" id="id_include_attachments"(?! checked)', page)
    assert 'name="include_users_and_groups" id="id_include_users_and_groups" checked' in page


def test_edit_policy_of_confluence_offers_personal_spaces(alice, demo):
    policy = BackupPolicy.objects.create(product=demo.confluence)
    page = alice.get(edit_url(policy)).content.decode()
    assert 'name="include_personal_spaces" id="id_include_personal_spaces" checked' in page
    assert "Include personal spaces" in text(page)


def test_edit_policy_saves_and_a_running_backup_keeps_its_options(alice, demo):
    policy = BackupPolicy.objects.create(product=demo.confluence)
    running = backup_request(product=demo.confluence, actor=demo.alice)
    page = text(alice.get(edit_url(policy)).content)
    assert "the backup of Acme Confluence running now is not changed" in page

    response = alice.post(edit_url(policy), {"include_attachments": "on"})
    assert response.status_code == 302
    assert response["Location"] == org_url() + "#policies"
    policy.refresh_from_db()
    assert (policy.include_attachments, policy.include_personal_spaces) == (True, False)
    assert policy.include_users_and_groups is False

    page = alice.get(org_url()).content
    assert "Backup policy of Acme Confluence saved. Later backups use these options." in text(page)
    row = text(row_for(page, "policies", "Acme Confluence"))
    assert row.startswith("Acme Confluence Attachments; no personal spaces, no users and groups")
    # P3: the backup that was running keeps the options it started with.
    detail = text(alice.get(detail_url(running)).content)
    assert "Includes Attachments, personal spaces, users and groups" in detail


# --- Run backup ----------------------------------------------------------------------------


def test_run_backup_runs_it_and_the_page_shows_it_complete(
    alice, demo, sync_tasks, django_capture_on_commit_callbacks
):
    BackupPolicy.objects.create(product=demo.jira)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(run_url(demo.jira))
    assert response.status_code == 302
    assert response["Location"] == org_url() + "#backups"

    backup = Backup.objects.get(product=demo.jira)
    assert backup.status == Backup.Status.COMPLETE
    assert backup.created_by == demo.alice

    page = alice.get(org_url()).content
    assert "Backup of Acme Jira started." in text(page)
    # The policy verifies by default (A3): with tasks run inline, it has been verified.
    verified = backup.verification.completed_at
    assert text(row_for(page, "backups", "Acme Jira")) == (
        f"Complete Verified {when(verified)} Acme Jira {when(backup.started_at)} "
        f"{when(backup.completed_at)} "
        f"{human_bytes(backup.total_bytes)} in 13 days alice "
        f"Details of the backup of Acme Jira started {when(backup.started_at)}"
    )
    assert f'href="{detail_url(backup)}"' in row_for(page, "backups", "Acme Jira")
    # Nothing runs: the table does not poll.
    assert "hx-trigger" not in page.decode()


def test_run_backup_shows_it_in_progress_with_a_progress_bar_that_polls(alice, demo):
    BackupPolicy.objects.create(product=demo.jira)
    alice.post(run_url(demo.jira))
    backup = Backup.objects.get(product=demo.jira)
    Backup.objects.filter(pk=backup.pk).update(items_done=30, items_total=120)

    page = alice.get(org_url()).content.decode()
    row = row_for(page, "backups", "Acme Jira")
    assert text(row).startswith("In progress 25% · 30 of 120 items Acme Jira")
    assert '<progress class="progress" max="100" value="25"' in row
    polled = table_url().replace("&", "&amp;")
    assert f'hx-get="{polled}" hx-trigger="every 2s" hx-swap="outerHTML"' in page
    # The policy row says why Run backup is disabled (B4).
    policy_row = row_for(page, "policies", "Acme Jira")
    assert "disabled" in policy_row
    assert "A backup of Acme Jira is already in progress." in text(policy_row)
    assert "When the running backup has ended" in text(policy_row)


def test_a_double_click_makes_one_backup(alice, demo):
    BackupPolicy.objects.create(product=demo.jira)
    first = alice.post(run_url(demo.jira), follow=True)
    second = alice.post(run_url(demo.jira), follow=True)
    assert Backup.objects.filter(product=demo.jira).count() == 1
    assert "Backup of Acme Jira started." in text(first.content)
    assert second.redirect_chain[-1][0] == org_url() + "#policies"
    page = text(second.content)
    assert "A backup of Acme Jira is already in progress." in page
    assert "Backup of Acme Jira started." not in page


def test_run_backup_without_a_policy_says_to_create_one(alice, demo):
    response = alice.post(run_url(demo.jira), follow=True)
    assert "Acme Jira has no backup policy yet: create one first." in text(response.content)
    assert not Backup.objects.exists()


def test_run_backup_is_disabled_for_seven_days_after_a_complete_backup(alice, demo):
    taken = datetime(2026, 11, 25, 14, 5, tzinfo=UTC)
    with time_machine.travel(taken, tick=False):
        backup = run_backup_of(demo.jira, demo.alice)
    assert backup.status == Backup.Status.COMPLETE
    assert backup.completed_at == taken

    with time_machine.travel(taken + timedelta(days=7) - timedelta(seconds=1), tick=False):
        page = alice.get(org_url()).content
        row = row_for(page, "policies", "Acme Jira")
        assert re.search(r"<button type=\"submit\"[^>]* disabled", row)
        assert text(row) == (
            "Acme Jira Attachments, users and groups Manual "
            f"Complete {when(taken)} After 2 Dec 2026, 14:05 UTC "
            f"Run backup of Acme Jira Edit policy of Acme Jira {SEVEN_DAY_REASON}"
        )
        # Pressing it anyway (a stale page) is refused with the same words.
        refused = alice.post(run_url(demo.jira), follow=True)
        assert SEVEN_DAY_REASON in text(refused.content)
        assert Backup.objects.filter(product=demo.jira).count() == 1

    with time_machine.travel(taken + timedelta(days=7), tick=False):
        row = row_for(alice.get(org_url()).content, "policies", "Acme Jira")
        assert "disabled" not in row
        assert "Now" in text(row)


def test_get_on_run_backup_is_not_allowed(alice, demo):
    BackupPolicy.objects.create(product=demo.jira)
    assert alice.get(run_url(demo.jira)).status_code == 405
    assert not Backup.objects.exists()


# --- Backups table -------------------------------------------------------------------------


def test_empty_states_say_what_to_do_next(alice, demo):
    page = text(alice.get(org_url()).content)
    assert "No backups yet. Create a backup policy for a product, then click Run backup" in page
    BackupPolicy.objects.create(product=demo.jira)
    page = text(alice.get(org_url()).content)
    assert "No backups yet. Click Run backup beside a product's policy above" in page


def make_backup(product, status, *, started_at=None, **fields):
    started_at = started_at or timezone.now()
    if status != Backup.Status.IN_PROGRESS:
        fields.setdefault("completed_at", started_at + timedelta(minutes=3))
    return Backup.objects.create(product=product, status=status, started_at=started_at, **fields)


def test_each_status_has_its_own_badge_and_expiry(alice, demo):
    now = timezone.now()
    make_backup(demo.jira, Backup.Status.COMPLETE, started_at=now - timedelta(days=1))
    make_backup(demo.confluence, Backup.Status.INCOMPLETE, started_at=now - timedelta(days=2))
    make_backup(demo.jira_sandbox, Backup.Status.FAILED, failure_reason="Disk full")
    make_backup(demo.confluence_sandbox, Backup.Status.EXPIRED, started_at=now - timedelta(days=20))
    page = alice.get(org_url()).content

    expected = {
        "Acme Jira": ("complete", "Complete", "in 12 days"),
        "Acme Confluence": ("incomplete", "Incomplete", "in 11 days"),
        "Acme Jira sandbox": ("failed", "Failed", "—"),
        "Acme Confluence sandbox": ("expired", "Expired", "Expired"),
    }
    for name, (css, word, expires) in expected.items():
        row = row_for(page, "backups", name)
        assert f'<span class="status status--{css}">{word}</span>' in row
        cells = re.findall(r"<td\b.*?</td>", row, flags=re.S)
        assert text(cells[4]) == expires, name  # the Expires column


def test_the_table_fragment_returns_just_the_table(alice, demo):
    BackupPolicy.objects.create(product=demo.jira)
    backup = backup_request(product=demo.jira, actor=demo.alice)
    response = alice.get(table_url(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "<h1" not in body and "Products" not in text(body)
    assert body.lstrip().startswith('<div id="backups-table"')
    assert 'hx-trigger="every 2s"' in body
    assert text(row_for(body, "backups", "Acme Jira")).startswith("In progress Starting… Acme Jira")
    # The policies table rides along out of band, so Run backup follows the backup's state.
    assert '<div id="policies-table" hx-swap-oob="true">' in body

    Backup.objects.filter(pk=backup.pk).update(
        status=Backup.Status.COMPLETE, completed_at=timezone.now()
    )
    body = alice.get(table_url(), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in body  # the polling stops
    assert text(row_for(body, "backups", "Acme Jira")).startswith("Complete Acme Jira")
    assert "7 days after the last complete backup" in text(row_for(body, "policies", "Acme Jira"))


# --- Backup detail -------------------------------------------------------------------------


def test_detail_of_a_complete_backup_shows_what_it_holds(alice, demo):
    backup = run_backup_of(demo.jira, demo.alice, include_attachments=True)
    assert backup.status == Backup.Status.COMPLETE
    response = alice.get(detail_url(backup))
    assert response.status_code == 200
    page = text(response.content)
    assert "Backup of Acme Jira" in page
    assert (
        f"Product Acme Jira Jira Run by alice Includes Attachments, users and groups "
        f"Started {when(backup.started_at)} Completed {when(backup.completed_at)} "
        f"Expires {when(backup.expires_at)} (in 13 days) "
        f"Total size {human_bytes(backup.total_bytes)}"
    ) in page

    counts = rows(response.content, "counts-table")
    shown = [text(r) for r in counts]
    c = backup.counts
    assert shown == [
        f"Projects {c['projects']['rows']} {human_bytes(c['projects']['bytes'])} —",
        f"Issues {c['issues']['rows']} {human_bytes(c['issues']['bytes'])} —",
        f"Comments {c['comments']['rows']} {human_bytes(c['comments']['bytes'])} —",
        f"Attachments {c['attachments']['rows']} {human_bytes(c['attachments']['bytes'])} "
        f"{human_bytes(c['attachments']['files_bytes'])}",
        f"Groups {c['groups']['rows']} {human_bytes(c['groups']['bytes'])} —",
    ]
    assert c["projects"]["rows"] == 4 and c["attachments"]["files_bytes"] > 0
    assert "hx-trigger" not in response.content.decode()
    assert "Backup file" in page  # the place the next issue fills


def test_detail_of_an_incomplete_backup_lists_what_is_missing_and_why(alice, demo):
    lost = JiraAttachment.objects.filter(product=demo.jira).order_by("pk").first()
    default_storage.delete(lost.file.name)
    backup = run_backup_of(demo.jira, demo.alice)
    assert backup.status == Backup.Status.INCOMPLETE
    assert len(backup.missing) == 1

    page = text(alice.get(detail_url(backup)).content)
    item = backup.missing[0]
    assert "This backup is incomplete: 1 item could not be copied." in page
    assert f"{item['what']} — {item['reason']}" in page
    assert item["what"] == f"{lost.issue.key} / {lost.name}"


def test_detail_of_a_failed_backup_says_why(alice, demo):
    backup = make_backup(
        demo.jira,
        Backup.Status.FAILED,
        failure_reason="The backup crossed the Jira data limit of 40 GB while it ran.",
        created_by=demo.alice,
    )
    page = text(alice.get(detail_url(backup)).content)
    assert (
        "This backup failed. The backup crossed the Jira data limit of 40 GB while it ran. "
        "Nothing from it is kept."
    ) in page
    assert "Expires — Total size —" in page


def test_detail_of_a_running_backup_polls_its_progress(alice, demo):
    BackupPolicy.objects.create(product=demo.confluence)
    backup = backup_request(product=demo.confluence, actor=demo.alice)
    Backup.objects.filter(pk=backup.pk).update(
        items_done=5, items_total=20, bytes_done=2_000_000, bytes_total=8_000_000
    )
    response = alice.get(detail_url(backup))
    body = response.content.decode()
    assert f'hx-get="{progress_url(backup)}" hx-trigger="every 2s"' in body
    page = text(body)
    assert "In progress" in page
    assert "25% · 5 of 20 items" in page and "2 MB of 8 MB copied." in page
    assert "Completed Not yet" in page

    fragment = alice.get(progress_url(backup), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="backup-detail"')
    assert "<html" not in fragment and "hx-trigger" in fragment

    Backup.objects.filter(pk=backup.pk).update(
        status=Backup.Status.FAILED, completed_at=timezone.now(), failure_reason="Worker died."
    )
    fragment = alice.get(progress_url(backup), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment
    assert "This backup failed. Worker died." in text(fragment)


# --- Who may see what (P3, B1) -------------------------------------------------------------


@pytest.fixture
def acme_objects(demo):
    policy = BackupPolicy.objects.create(product=demo.jira)
    backup = make_backup(demo.jira, Backup.Status.COMPLETE, created_by=demo.alice)
    return policy, backup


def every_url(demo, policy, backup, slug="acme"):
    """(method, url) of every page and action this issue adds."""
    return [
        ("get", create_url(slug)),
        ("post", create_url(slug)),
        ("get", edit_url(policy, slug)),
        ("post", edit_url(policy, slug)),
        ("post", run_url(demo.jira, slug)),
        ("get", detail_url(backup, slug)),
        ("get", progress_url(backup, slug)),
        ("get", table_url(slug)),
    ]


def request(client, method, url):
    data = {"product": "1", "include_attachments": "on"} if method == "post" else None
    return getattr(client, method)(url, data)


def test_a_plain_member_is_told_only_org_admins_manage_backups(client, demo, acme_objects):
    client.force_login(demo.bob)
    for method, url in every_url(demo, *acme_objects):
        response = request(client, method, url)
        assert response.status_code == 403, (method, url)
        assert "Only org admins of Acme manage backups." in text(response.content)
    assert Backup.objects.count() == 1
    assert BackupPolicy.objects.count() == 1


def test_another_organizations_admin_gets_not_found(client, demo, make_org, acme_objects):
    _, initech_admin = make_org("initech")
    demo.globex.enrolled = True
    demo.globex.save()
    for user in (initech_admin, demo.carol):
        client.force_login(user)
        for method, url in every_url(demo, *acme_objects):
            response = request(client, method, url)
            assert response.status_code == 404, (user, method, url)
            assert "Acme Jira" not in text(response.content)
    assert Backup.objects.count() == 1
    policy = BackupPolicy.objects.get()
    assert policy.include_users_and_groups is True  # the edit POSTs changed nothing


def test_an_admin_cannot_reach_another_organizations_objects_through_their_own(
    client, demo, acme_objects
):
    """alice's own organization in the URL, Globex's ids after it: still not found."""
    globex_policy = BackupPolicy.objects.create(product=demo.globex_jira)
    globex_backup = make_backup(demo.globex_jira, Backup.Status.COMPLETE)
    client.force_login(demo.alice)
    for method, url in [
        ("get", edit_url(globex_policy)),
        ("post", edit_url(globex_policy)),
        ("post", run_url(demo.globex_jira)),
        ("get", detail_url(globex_backup)),
        ("get", progress_url(globex_backup)),
    ]:
        assert request(client, method, url).status_code == 404, (method, url)
    # And under Globex's own address, of which alice is not a member.
    for method, url in every_url(demo, globex_policy, globex_backup, slug="globex"):
        assert request(client, method, url).status_code == 404, (method, url)
    assert Backup.objects.filter(product=demo.globex_jira).count() == 1


def test_a_not_enrolled_organizations_admin_sees_early_access(client, demo):
    policy = BackupPolicy.objects.create(product=demo.globex_jira)
    backup = make_backup(demo.globex_jira, Backup.Status.COMPLETE)
    client.force_login(demo.carol)
    for method, url in every_url(demo, policy, backup, slug="globex"):
        if url == run_url(demo.jira, "globex"):
            url = run_url(demo.globex_jira, "globex")
        response = request(client, method, url)
        assert response.status_code == 403, (method, url)
        assert "Backup and restore is in early access" in text(response.content)
    assert Backup.objects.count() == 1


def test_anonymous_is_sent_to_login(client, demo, acme_objects):
    for method, url in every_url(demo, *acme_objects):
        response = request(client, method, url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("login"))

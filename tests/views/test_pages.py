"""The server-rendered pages as each demo user sees them: login, home, Backup and restore.

Expected counts come from the database (queries independent of content_summary), never
from numbers written here, so the page is checked against what is really stored.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.urls import reverse

from backups.models import (
    JiraAttachment,
    JiraComment,
    JiraIssue,
    JiraProject,
    Page,
    PageAttachment,
    PageComment,
    Product,
    Space,
)
from backups.rules import format_when, human_bytes
from tests.views.helpers import ORG_URL, row_text, text

pytestmark = pytest.mark.django_db


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def size(n: int) -> str:
    return human_bytes(n)


def states(by_state: dict[str, int], personal: int = 0) -> str:
    parts = [f"{personal} personal"] if personal else []
    if by_state.get("archived"):
        parts.append(f"{by_state['archived']} archived")
    if by_state.get("trashed"):
        parts.append(f"{by_state['trashed']} in trash")
    return f" ({', '.join(parts)})" if parts else ""


def count_by_state(queryset) -> dict[str, int]:
    result: dict[str, int] = {}
    for state in queryset.values_list("state", flat=True):
        result[state] = result.get(state, 0) + 1
    return result


def expected_jira_counts(product) -> str:
    by_state = count_by_state(JiraProject.objects.filter(product=product))
    attachments = JiraAttachment.objects.filter(product=product)
    projects = sum(by_state.values())
    assert projects and by_state.get("archived") and by_state.get("trashed"), "demo data changed"
    return " · ".join(
        [
            plural(projects, "project") + states(by_state),
            plural(JiraIssue.objects.filter(product=product).count(), "issue"),
            plural(JiraComment.objects.filter(issue__product=product).count(), "comment"),
            plural(attachments.count(), "attachment")
            + f" ({size(attachments.aggregate(s=Sum('size'))['s'] or 0)})",
        ]
    )


def expected_confluence_counts(product) -> str:
    spaces = Space.objects.filter(product=product)
    by_state = count_by_state(spaces)
    personal = spaces.filter(kind=Space.Kind.PERSONAL).count()
    attachments = PageAttachment.objects.filter(product=product)
    assert personal and by_state.get("archived"), "demo data changed"
    return " · ".join(
        [
            plural(spaces.count(), "space") + states(by_state, personal),
            plural(Page.objects.filter(space__product=product).count(), "page"),
            plural(PageComment.objects.filter(page__space__product=product).count(), "comment"),
            plural(attachments.count(), "attachment")
            + f" ({size(attachments.aggregate(s=Sum('size'))['s'] or 0)})",
        ]
    )


# --- Login and logout --------------------------------------------------------------------


def test_login_page_shows_a_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    page = text(response.content)
    assert "Log in" in page
    assert "Username" in page and "Password" in page


def test_login_with_the_right_password_lands_on_home(client, demo):
    response = client.post(
        reverse("login"), {"username": "alice", "password": demo.password}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    page = text(response.content)
    assert "Your organizations" in page
    assert "Acme" in page
    assert "alice" in page and "Log out" in page


def test_login_with_a_wrong_password_shows_an_error(client, demo):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in text(response.content)
    assert not response.wsgi_request.user.is_authenticated


def test_log_out_is_a_post_form_and_logs_out(client, demo):
    client.force_login(demo.alice)
    home = client.get(reverse("home")).content.decode()
    assert re.search(r'<form method="post" action="/accounts/logout/"', home)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "Log out" not in text(response.content)
    assert client.get(reverse("home")).status_code == 302


# --- Home --------------------------------------------------------------------------------


def test_home_lists_the_users_organizations_with_role_and_enrolment(client, demo):
    client.force_login(demo.alice)
    response = client.get(reverse("home"))
    page = text(response.content)
    assert "Acme Org admin Enrolled Backup and restore" in page
    assert "Globex" not in page
    assert f'href="{ORG_URL.format("acme")}"' in response.content.decode()


def test_home_shows_early_access_and_member_roles(client, demo):
    client.force_login(demo.carol)
    assert "Globex Org admin Early access" in text(client.get(reverse("home")).content)
    client.force_login(demo.bob)
    assert "Acme Member Enrolled" in text(client.get(reverse("home")).content)


def test_home_without_an_organization_shows_an_empty_state(client, db):
    user = get_user_model().objects.create_user("loner", password="x-loner-password")
    client.force_login(user)
    page = text(client.get(reverse("home")).content)
    assert "You are not a member of any organization yet." in page


def test_anonymous_is_sent_to_login(client, demo):
    for url in (reverse("home"), ORG_URL.format("acme")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"
    page = text(client.get(ORG_URL.format("acme"), follow=True).content)
    assert "Log in" in page and "Acme Jira" not in page


# --- Backup and restore page -------------------------------------------------------------


def test_org_admin_sees_products_with_their_content_counts(client, demo):
    client.force_login(demo.alice)
    response = client.get(ORG_URL.format("acme"))
    assert response.status_code == 200
    page = text(response.content)
    assert "Backup and restore" in page and "Acme" in page
    assert "<h1>Backup and restore</h1>" in response.content.decode()

    # The counts are stored when the page first needs them, and say when (#13 item 11).
    jira = row_text(response.content, "Acme Jira")
    assert jira == (
        f"Acme Jira Jira Embedded {demo.jira.url} {expected_jira_counts(demo.jira)} "
        f"As of {counted_at(demo.jira)} ."
    )
    confluence = row_text(response.content, "Acme Confluence")
    assert confluence == (
        f"Acme Confluence Confluence Embedded {demo.confluence.url} "
        f"{expected_confluence_counts(demo.confluence)} As of {counted_at(demo.confluence)} ."
    )


def counted_at(product) -> str:
    return format_when(Product.objects.get(pk=product.pk).summary_at)


def test_empty_products_say_empty(client, demo):
    client.force_login(demo.alice)
    response = client.get(ORG_URL.format("acme"))
    for product in (demo.jira_sandbox, demo.confluence_sandbox):
        assert row_text(response.content, product.name).endswith(
            f" Empty As of {counted_at(product)} ."
        )
    assert " Empty " not in row_text(response.content, "Acme Jira")


def test_org_page_shows_only_this_organizations_products(client, demo):
    client.force_login(demo.alice)
    page = text(client.get(ORG_URL.format("acme")).content)
    assert "Globex Jira" not in page


def test_org_page_has_the_sections_to_come(client, demo):
    client.force_login(demo.alice)
    page = text(client.get(ORG_URL.format("acme")).content)
    for heading in ("Products", "Backup policies", "Backups", "Restores"):
        assert heading in page
    assert "once a week" in page and "14 days" in page


def test_plain_member_is_told_only_org_admins_manage_backups(client, demo):
    client.force_login(demo.bob)
    response = client.get(ORG_URL.format("acme"))
    assert response.status_code == 403
    page = text(response.content)
    assert "Only org admins of Acme manage backups." in page
    assert "Acme Jira" not in page


def test_not_enrolled_org_admin_sees_early_access(client, demo):
    client.force_login(demo.carol)
    response = client.get(ORG_URL.format("globex"))
    assert response.status_code == 403
    page = text(response.content)
    assert "Backup and restore is in early access" in page
    assert "contact your account representative" in page
    assert "Globex Jira" not in page


@pytest.mark.parametrize(
    ("username", "slug"),
    [("alice", "globex"), ("carol", "acme"), ("bob", "globex"), ("alice", "no-such-org")],
)
def test_another_or_missing_organization_is_not_found(client, demo, username, slug):
    client.force_login(getattr(demo, username))
    response = client.get(ORG_URL.format(slug))
    assert response.status_code == 404
    page = text(response.content)
    assert "Page not found" in page
    assert "Acme Jira" not in page and "Globex Jira" not in page
    assert "early access" not in page and "Only org admins" not in page


def test_a_polling_fragment_after_the_session_ended_sends_the_page_to_login(client, demo):
    """htmx follows redirects: without this the login form would land inside the table."""
    from django.urls import reverse

    url = reverse("org", args=["acme"]) + "?tab=backups&fragment=backups"
    response = client.get(
        url,
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/orgs/acme/backup-and-restore/",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/orgs/acme/backup-and-restore/"
    # A plain request is redirected as usual.
    assert client.get(url).status_code == 302


def test_the_backups_table_polls_while_a_worker_verifies_a_backup_and_stops_after(client, demo):
    """A3: "Verifying…" turns to "Verified" without a reload while a worker is on the check;
    a check waiting its turn, or done, costs no polling."""
    from django.utils import timezone

    from backups.models import BackupVerification
    from tests.services.helpers import run_backup_of

    client.force_login(demo.alice)
    backup = run_backup_of(demo.jira, demo.alice)
    now = timezone.now()
    BackupVerification.objects.update_or_create(
        backup=backup, defaults={"status": "IN_PROGRESS", "requested_at": now, "claimed_at": None}
    )
    url = reverse("org", args=["acme"]) + "?tab=backups"
    polls = 'hx-trigger="every 2s"'
    assert polls not in client.get(url).content.decode()  # waiting its turn

    BackupVerification.objects.filter(backup=backup).update(claimed_at=now, heartbeat_at=now)
    page = client.get(url).content.decode()
    assert polls in page
    assert "?tab=backups&amp;fragment=backups" in page

    BackupVerification.objects.filter(backup=backup).update(status="VERIFIED", completed_at=now)
    assert polls not in client.get(url).content.decode()


def test_a_scheduled_and_a_retried_backup_say_who_ran_them(client, demo):
    """A1, A2: "Run by" names the schedule or the automatic retry, not a person (nor "—")."""
    from backups.models import Backup
    from tests.services.helpers import run_backup_of

    client.force_login(demo.alice)
    scheduled = run_backup_of(demo.jira, demo.alice)
    retried = run_backup_of(demo.confluence, demo.alice)
    Backup.objects.filter(pk=scheduled.pk).update(trigger="schedule", created_by=None)
    Backup.objects.filter(pk=retried.pk).update(trigger="retry", created_by=None)
    page = client.get(reverse("org", args=["acme"]) + "?tab=backups").content
    assert "in 13 days Schedule Details" in row_text(page, "Acme Jira")
    assert "in 13 days Automatic retry Details" in row_text(page, "Acme Confluence")

"""Django admin for connected sites (#11 item 1, SPEC C1, C2): staff see the connections and
check them; the token never shows, neither in clear nor encrypted."""

import pytest
from django.urls import reverse

from backups import credentials
from backups.demo import seed_local_site_connection
from backups.devsite import local_site
from backups.models import AuditEvent, SiteConnection
from backups.services.connections import SiteDetails, connection_create
from tests.contract.conftest import ADMIN_EMAIL, ADMIN_TOKEN, jira_site  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:backups_siteconnection_changelist")


def change_url(connection) -> str:
    return reverse("admin:backups_siteconnection_change", args=[connection.pk])


@pytest.fixture
def staff_client(client, demo):
    client.force_login(demo.staff)
    return client


@pytest.fixture
def connected(demo, jira_site):  # noqa: F811 - the fixture imported above
    """A connection made through the service, checked against the contract server."""
    return connection_create(
        organization=demo.acme,
        actor=demo.alice,
        details=SiteDetails(
            kind="jira",
            name="Acme Jira Cloud",
            site_url=jira_site.url,
            email=ADMIN_EMAIL,
            token=ADMIN_TOKEN,
        ),
    )


def assert_no_token(page: str, *connections) -> None:
    assert "token_encrypted" not in page
    assert "Token encrypted" not in page
    for connection in connections:
        assert connection.token_encrypted  # there is one to leak
        assert connection.token_encrypted not in page
        token = credentials.decrypt(connection.token_encrypted)
        assert token not in page


def test_the_list_shows_connections_and_never_a_token(staff_client, demo, connected):
    seed_local_site_connection(demo.acme, demo.alice)  # as `make run`'s demo has it
    response = staff_client.get(LIST_URL)
    assert response.status_code == 200
    page = response.content.decode()
    rows = list(response.context["cl"].result_list)
    assert {c.product.name for c in rows} == {
        "Acme Jira Cloud",
        "Acme Jira Cloud (local test site)",
    }
    assert connected.site_url in page and ADMIN_EMAIL in page
    assert local_site.URL in page and local_site.ADMIN_EMAIL in page
    assert_no_token(page, *SiteConnection.objects.all())


def test_the_change_page_shows_the_check_and_never_the_token(staff_client, connected):
    response = staff_client.get(change_url(connected))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Connected as Site Admin, an administrator of the site." in page
    assert connected.site_url in page
    assert "token" not in response.context["adminform"].form.fields
    assert_no_token(page, connected)
    # View only: connections change through the org admins' pages (services, audit).
    assert staff_client.post(change_url(connected), {"site_url": "https://x.atlassian.net"})
    connected.refresh_from_db()
    assert connected.site_url != "https://x.atlassian.net"


def test_staff_cannot_add_or_delete_a_connection(staff_client, connected):
    assert staff_client.get(reverse("admin:backups_siteconnection_add")).status_code == 403
    url = reverse("admin:backups_siteconnection_delete", args=[connected.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert SiteConnection.objects.filter(pk=connected.pk).exists()


def test_check_now_checks_the_site_and_says_what_it_found(staff_client, connected, jira_site):  # noqa: F811
    jira_site.revoke(ADMIN_EMAIL)
    response = staff_client.post(
        LIST_URL,
        {"action": "check_now", "_selected_action": [connected.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert ("Acme Jira Cloud: not working. The site refused the email and API token (401).") in page
    connected.refresh_from_db()
    assert not connected.check_ok
    assert connected.check_message.startswith("The site refused the email and API token (401)")
    assert_no_token(page, connected)

    jira_site.add_account(ADMIN_EMAIL, ADMIN_TOKEN, name="Site Admin")  # a new token issued
    page = staff_client.post(
        LIST_URL, {"action": "check_now", "_selected_action": [connected.pk]}, follow=True
    ).content.decode()
    assert "Acme Jira Cloud: working. Connected as Site Admin, an administrator of the site." in (
        page
    )
    assert_no_token(page, connected)
    assert ADMIN_TOKEN not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def test_an_org_admin_who_is_not_staff_cannot_see_connections(client, demo, connected):
    client.force_login(demo.alice)
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))

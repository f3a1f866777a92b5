"""Connect a site, check it, edit it, disconnect it (SPEC C1, C2), through the pages, against
the contract server; the token is never shown, logged or recorded."""

import io
import logging

import pytest
from django.test import override_settings
from django.urls import reverse

from backups import credentials
from backups.models import AuditEvent, Membership, Product, SiteConnection

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN

pytestmark = pytest.mark.django_db


def connect(client, org, site, **overrides):
    data = {
        "kind": "jira",
        "name": "Acme Jira Cloud",
        "site_url": site.url,
        "email": ADMIN_EMAIL,
        "token": ADMIN_TOKEN,
        **overrides,
    }
    return client.post(reverse("connection_new", args=[org.slug]), data, follow=True)


@pytest.fixture
def admin_client(client, make_org):
    org, admin = make_org("initech")
    client.force_login(admin)
    client.org, client.admin = org, admin
    return client


def test_connecting_a_site_checks_it_and_says_so(admin_client, jira_site, caplog):
    caplog.set_level(logging.DEBUG)
    response = connect(admin_client, admin_client.org, jira_site)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Acme Jira Cloud: Connected as Site Admin, an administrator of the site." in text
    connection = SiteConnection.objects.get(product__name="Acme Jira Cloud")
    assert connection.check_ok and connection.account_name == "Site Admin"
    assert connection.product.kind == "jira" and connection.product.organization == admin_client.org
    # C2: stored encrypted, readable with the key, and nowhere in clear.
    assert ADMIN_TOKEN not in connection.token_encrypted
    assert credentials.decrypt(connection.token_encrypted) == ADMIN_TOKEN
    event = AuditEvent.objects.get(action="connection.created")
    assert ADMIN_TOKEN not in str(event.details)
    assert ADMIN_TOKEN not in text
    assert ADMIN_TOKEN not in caplog.text
    # The check used the site's API: myself and the ADMINISTER permission.
    assert ("GET", "/rest/api/3/mypermissions", 200) in jira_site.requests


def test_a_wrong_token_is_saved_with_what_to_fix(admin_client, jira_site):
    response = connect(admin_client, admin_client.org, jira_site, token="not-the-token")
    text = response.content.decode()
    assert (
        "Acme Jira Cloud is saved, but it cannot be used yet: The site refused the email and "
        "API token (401)."
    ) in text
    assert "not-the-token" not in text
    assert not SiteConnection.objects.get().check_ok


def test_an_account_that_is_not_a_site_admin_is_named(admin_client, jira_site):
    jira_site.add_account("dev@example.com", "dev-token", admin=False, name="Dev")
    response = connect(
        admin_client, admin_client.org, jira_site, email="dev@example.com", token="dev-token"
    )
    assert "The account Dev can sign in, but it does not administer this Jira site" in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://intranet.example.com", "connects to Atlassian Cloud sites only"),
        ("http://acme.atlassian.net", "connects to Atlassian Cloud sites only"),
        ("https://acme.atlassian.net/secure", "without a path"),
        ("https://user:pw@acme.atlassian.net", "address alone"),
    ],
)
def test_only_atlassian_cloud_addresses_are_accepted(admin_client, jira_site, url, words):
    with override_settings(CONNECTED_SITE_EXTRA_HOSTS=[]):
        response = connect(admin_client, admin_client.org, jira_site, site_url=url)
    assert words in response.content.decode()
    assert not Product.objects.filter(name="Acme Jira Cloud").exists()
    assert jira_site.requests == []  # nothing was called


def test_edit_keeps_the_token_when_left_empty_and_never_shows_it(admin_client, jira_site):
    connect(admin_client, admin_client.org, jira_site)
    connection = SiteConnection.objects.get()
    url = reverse("connection_edit", args=[admin_client.org.slug, connection.pk])
    page = admin_client.get(url).content.decode()
    assert ADMIN_TOKEN not in page and connection.token_encrypted not in page
    stored = connection.token_encrypted
    admin_client.post(url, {"site_url": jira_site.url + "/", "email": ADMIN_EMAIL, "token": ""})
    connection.refresh_from_db()
    assert connection.token_encrypted == stored
    assert connection.site_url == jira_site.url  # the trailing slash is dropped
    assert connection.check_ok


def test_a_revoked_token_shows_on_the_next_check(admin_client, jira_site):
    connect(admin_client, admin_client.org, jira_site)
    connection = SiteConnection.objects.get()
    jira_site.revoke(ADMIN_EMAIL)
    response = admin_client.post(
        reverse("connection_check", args=[admin_client.org.slug, connection.pk]), follow=True
    )
    assert "cannot be used yet: The site refused the email and API token (401)" in (
        response.content.decode()
    )


def test_disconnect_deletes_the_token_and_keeps_the_product(admin_client, jira_site):
    connect(admin_client, admin_client.org, jira_site)
    connection = SiteConnection.objects.get()
    admin_client.post(reverse("connection_disconnect", args=[admin_client.org.slug, connection.pk]))
    connection.refresh_from_db()
    assert connection.token_encrypted == "" and not connection.check_ok
    assert Product.objects.filter(pk=connection.product_id).exists()
    response = admin_client.post(
        reverse("connection_check", args=[admin_client.org.slug, connection.pk]), follow=True
    )
    assert "is disconnected: connect it again (Edit connection) to use it." in (
        response.content.decode()
    )


def test_another_orgs_admin_gets_404_and_a_member_cannot_connect(
    client, make_org, jira_site, admin_client
):
    connect(admin_client, admin_client.org, jira_site)
    connection = SiteConnection.objects.get()
    other_org, other_admin = make_org("globex")
    client.force_login(other_admin)
    for name in ("connection_edit", "connection_check", "connection_disconnect"):
        url = reverse(name, args=[other_org.slug, connection.pk])
        assert client.post(url).status_code == 404
        url = reverse(name, args=[admin_client.org.slug, connection.pk])
        assert client.post(url).status_code == 404
    Membership.objects.create(user=other_admin, organization=admin_client.org, role="member")
    response = client.get(reverse("connection_new", args=[admin_client.org.slug]))
    assert response.status_code == 403
    connection.refresh_from_db()
    assert connection.token_encrypted  # untouched


def test_keys_rotate_without_losing_a_token(settings):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [old]
    stored = credentials.encrypt("secret-token")
    settings.CREDENTIAL_KEYS = [new, old]
    rotated = credentials.rotate(stored)
    settings.CREDENTIAL_KEYS = [new]
    assert credentials.decrypt(rotated) == "secret-token"
    with pytest.raises(credentials.CredentialError, match="cannot be decrypted"):
        credentials.decrypt(stored)


def test_rotate_credentials_re_encrypts_every_token(admin_client, jira_site, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old = settings.CREDENTIAL_KEYS[0]
    connect(admin_client, admin_client.org, jira_site)
    new = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_credentials", stdout=out)
    assert out.getvalue() == "Re-encrypted the API token of 1 connected site(s).\n"
    settings.CREDENTIAL_KEYS = [new]  # the old key removed: the token still reads
    assert credentials.decrypt(SiteConnection.objects.get().token_encrypted) == ADMIN_TOKEN

"""The API tokens page (SPEC K2, issue #15): an org admin makes a token and sees it once, the
list shows name, prefix, dates, last use and status, Revoke… revokes it; members and other
organizations' admins never reach it; each change is audited."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from backups.api.tokens import api_token_authenticate, api_token_create, token_hash
from backups.models import ApiToken, AuditEvent, Membership
from backups.rules import format_when
from tests.factories import member_of, org_with_admin
from tests.views.helpers import element, text, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    org, admin = org_with_admin("acme")
    return org, admin


def test_an_org_admin_makes_a_token_and_sees_it_once(client, acme):
    org, admin = acme
    client.force_login(admin)
    page = client.get(url("api_tokens"))
    assert page.status_code == 200
    assert "No tokens yet." in text(page.content)

    made = client.post(url("api_tokens"), {"name": "nightly check", "lifetime": "30"})
    assert made.status_code == 200
    token = text(element(made.content, "api-token"))
    assert re.fullmatch(r"bks_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", token)
    assert "it is shown only once" in text(made.content)

    stored = ApiToken.objects.get()
    # K2: only the hash is kept; the secret is nowhere in the row.
    assert stored.token_hash == token_hash(token)
    assert token.split("_", 2)[2] not in repr(vars(stored))
    assert stored.prefix == token.split("_")[1]
    assert stored.expires_at - stored.created_at == timedelta(days=30)

    listed = client.get(url("api_tokens"))
    table = text(element(listed.content, "api-tokens"))
    assert f"nightly check bks_{stored.prefix}_…" in table
    assert "Never Active" in table
    # Shown once: the list never has it again.
    assert token not in listed.content.decode()

    event = AuditEvent.objects.get(action="token.created")
    assert event.actor == admin and event.organization == org
    assert event.client_address == "127.0.0.1"
    assert token not in str(event.details)


def test_the_list_shows_last_use_time_and_address_and_expired_tokens(client, acme):
    org, admin = acme
    now = timezone.now()
    used, token = api_token_create(organization=org, actor=admin, name="dashboard", now=now)
    api_token_authenticate(token=token, address="203.0.113.9", now=now + timedelta(minutes=5))
    with time_machine.travel(now - timedelta(days=100)):
        api_token_create(organization=org, actor=admin, name="old script", now=timezone.now())
    client.force_login(admin)
    table = text(element(client.get(url("api_tokens")).content, "api-tokens"))
    last_used = format_when(now + timedelta(minutes=5))
    assert f"{last_used} from 203.0.113.9 Active" in table
    assert "old script" in table and "Never Expired" in table
    # An expired token has nothing to revoke.
    assert table.count("Revoke…") == 1


def test_revoke_is_a_confirmed_post_and_records_once(client, acme):
    org, admin = acme
    api_token, token = api_token_create(organization=org, actor=admin, name="runbook")
    client.force_login(admin)
    page = client.get(url("api_tokens"))
    assert "Scripts that use this token are refused from now on." in text(page.content)
    # A GET does not revoke.
    assert client.get(url("api_token_revoke", api_token.pk)).status_code == 405

    done = client.post(url("api_token_revoke", api_token.pk), follow=True)
    assert f"The token runbook (bks_{api_token.prefix}_…) is revoked" in text(done.content)
    assert "Revoked" in text(element(done.content, "api-tokens"))
    again = client.post(url("api_token_revoke", api_token.pk), follow=True)
    assert "The token runbook was already revoked." in text(again.content)
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1
    api_token.refresh_from_db()
    assert api_token.revoked_at is not None


def test_a_token_lasts_at_most_a_year_and_needs_a_name(client, acme):
    org, admin = acme
    client.force_login(admin)
    refused = client.post(url("api_tokens"), {"name": "x", "lifetime": "400"})
    assert refused.status_code == 400
    assert "Select a valid choice." in text(refused.content)
    nameless = client.post(url("api_tokens"), {"name": "", "lifetime": "90"})
    assert nameless.status_code == 400
    assert not ApiToken.objects.exists()
    with pytest.raises(Exception, match="A token can last at most 365 days"):
        api_token_create(
            organization=org,
            actor=admin,
            name="too long",
            expires_at=timezone.now() + timedelta(days=366),
        )


def test_a_member_cannot_have_a_token(client, acme):
    org, _ = acme
    member = member_of(org, "mel")
    with pytest.raises(Exception, match="Only org admins can make API tokens."):
        api_token_create(organization=org, actor=member, name="mine")
    client.force_login(member)
    page = client.post(url("api_tokens"), {"name": "mine", "lifetime": "90"})
    assert page.status_code == 403
    assert "Only org admins of Acme manage backups." in text(page.content)
    assert not ApiToken.objects.exists()


def test_another_organizations_admin_gets_404_for_the_page_and_a_token(client, acme):
    org, admin = acme
    api_token, _ = api_token_create(organization=org, actor=admin, name="runbook")
    _, globex_admin = org_with_admin("globex")
    client.force_login(globex_admin)
    assert client.get(url("api_tokens")).status_code == 404
    assert client.post(url("api_token_revoke", api_token.pk)).status_code == 404
    # Their own organization's page does not reach acme's token either.
    assert client.post(url("api_token_revoke", api_token.pk, slug="globex")).status_code == 404
    api_token.refresh_from_db()
    assert api_token.revoked_at is None


def test_anonymous_is_sent_to_log_in(client, acme):
    response = client.get(url("api_tokens"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_demoted_admins_token_stays_listed_and_the_page_links_the_tabs(client, acme):
    org, admin = acme
    api_token_create(organization=org, actor=admin, name="runbook")
    other = member_of(org, "olga", role=Membership.Role.ADMIN)
    Membership.objects.filter(user=admin).update(role=Membership.Role.MEMBER)
    client.force_login(other)
    table = text(element(client.get(url("api_tokens")).content, "api-tokens"))
    assert "runbook" in table and "acme-admin" in table
    org_page = client.get(url("org"))
    assert 'href="/orgs/acme/backup-and-restore/api-tokens/"' in org_page.content.decode()

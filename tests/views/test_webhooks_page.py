"""The Webhooks page (SPEC A4, issue #14 item 4): org admins only, another organization's
endpoint does not exist, the secret is shown once and kept encrypted, every change is audited
with the client's address."""

import re

import pytest
from django.urls import reverse

from backups import credentials
from backups.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from backups.services.webhooks import webhook_endpoint_create
from tests.views.helpers import text

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/backupsite"


@pytest.fixture
def endpoint(demo):
    made, _ = webhook_endpoint_create(
        organization=demo.acme,
        actor=demo.alice,
        url=HOOK,
        events=["backup.finished"],
        secret="whsec_known",
    )
    return made


def pages(endpoint):
    return [
        ("get", reverse("webhooks", args=["acme"])),
        ("get", reverse("webhook_new", args=["acme"])),
        ("get", reverse("webhook_detail", args=["acme", endpoint.pk])),
        ("post", reverse("webhook_test", args=["acme", endpoint.pk])),
        ("post", reverse("webhook_delete", args=["acme", endpoint.pk])),
    ]


def test_anonymous_is_sent_to_the_login(client, endpoint):
    for method, url in pages(endpoint):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_a_member_gets_403(client, demo, endpoint):
    client.force_login(demo.bob)
    for method, url in pages(endpoint):
        assert getattr(client, method)(url).status_code == 403, url
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_another_organizations_admin_gets_404(client, make_org, endpoint):
    _org, admin = make_org("initech")
    client.force_login(admin)
    for method, url in pages(endpoint):
        assert getattr(client, method)(url).status_code == 404, url
    # Their own org's URL with Acme's endpoint id: not found either.
    detail = reverse("webhook_detail", args=["initech", endpoint.pk])
    assert client.get(detail).status_code == 404
    assert client.post(reverse("webhook_delete", args=["initech", endpoint.pk])).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_add_an_endpoint_the_secret_is_shown_once_and_kept_encrypted(client, demo):
    client.force_login(demo.alice)
    response = client.post(
        reverse("webhook_new", args=["acme"]),
        {"url": HOOK, "events": ["backup.finished", "verification.failed"]},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 200
    secret = re.search(r'<code id="webhook-secret">([^<]+)</code>', response.content.decode())[1]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert "it is shown only once" in text(response.content)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["backup.finished", "verification.failed"]
    assert secret not in endpoint.secret_encrypted
    assert credentials.decrypt(endpoint.secret_encrypted) == secret
    # Not on the list nor the endpoint's page afterwards.
    assert secret not in client.get(reverse("webhooks", args=["acme"])).content.decode()
    detail = client.get(reverse("webhook_detail", args=["acme", endpoint.pk]))
    assert secret not in detail.content.decode()

    event = AuditEvent.objects.get(action="webhook.created")
    assert (event.actor, event.organization, event.target) == (demo.alice, demo.acme, HOOK)
    assert event.client_address == "203.0.113.7"


def test_an_entered_secret_is_kept_and_not_shown(client, demo):
    client.force_login(demo.alice)
    response = client.post(
        reverse("webhook_new", args=["acme"]),
        {"url": HOOK, "events": ["restore.finished"], "secret": "my-own-secret"},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert credentials.decrypt(endpoint.secret_encrypted) == "my-own-secret"


def test_plain_http_and_private_addresses_are_refused(client, demo, settings):
    settings.WEBHOOK_EXTRA_HOSTS = []
    client.force_login(demo.alice)
    url = reverse("webhook_new", args=["acme"])
    response = client.post(url, {"url": "http://hooks.example.com/x", "events": ["test"]})
    words = text(response.content)
    assert "Webhooks are sent over HTTPS only" in words
    assert "Select a valid choice. test is not one of the available choices." in words
    response = client.post(url, {"url": "https://192.168.1.10/x", "events": ["backup.finished"]})
    assert "That address is inside a private network" in text(response.content)
    assert not WebhookEndpoint.objects.exists()


def test_edit_keeps_or_replaces_the_secret(client, demo, endpoint):
    client.force_login(demo.alice)
    url = reverse("webhook_detail", args=["acme", endpoint.pk])
    response = client.post(url, {"url": HOOK + "/2", "events": ["restore.finished"]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == (HOOK + "/2", ["restore.finished"])
    assert credentials.decrypt(endpoint.secret_encrypted) == "whsec_known"

    response = client.post(url, {"url": HOOK, "events": ["restore.finished"], "new_secret": "on"})
    secret = re.search(r'<code id="webhook-secret">([^<]+)</code>', response.content.decode())[1]
    endpoint.refresh_from_db()
    assert credentials.decrypt(endpoint.secret_encrypted) == secret != "whsec_known"
    assert [e.details["new_secret"] for e in AuditEvent.objects.filter(action="webhook.updated")]
    assert AuditEvent.objects.filter(action="webhook.updated").count() == 2


def test_send_a_test_event_queues_a_delivery_listed_on_the_page(client, demo, endpoint):
    client.force_login(demo.alice)
    response = client.post(reverse("webhook_test", args=["acme", endpoint.pk]), follow=True)
    words = text(response.content)
    assert f"A test event is on its way to {HOOK}" in words
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.status) == ("test", "PENDING")
    assert "Recent deliveries" in words
    assert re.search(r"Test event [^|]*? UTC Pending —", words)
    assert AuditEvent.objects.filter(action="webhook.test_sent", actor=demo.alice).count() == 1


def test_delivery_log_shows_status_code_and_answer(client, demo, endpoint):
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="backup.finished",
        body="{}",
        status="FAILED",
        attempts=5,
        response_code=500,
        response_excerpt="boom",
        error="The endpoint answered 500.",
    )
    client.force_login(demo.alice)
    words = text(client.get(reverse("webhook_detail", args=["acme", endpoint.pk])).content)
    assert "Backup finished" in words
    assert "Failed" in words
    assert "500 The endpoint answered 500." in words


def test_delete_an_endpoint(client, demo, endpoint):
    client.force_login(demo.alice)
    response = client.post(reverse("webhook_delete", args=["acme", endpoint.pk]), follow=True)
    assert f"Webhook endpoint {HOOK} deleted" in text(response.content)
    assert not WebhookEndpoint.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted", target=HOOK).count() == 1


def test_the_org_page_links_both_pages(client, demo):
    client.force_login(demo.alice)
    page = client.get(reverse("org", args=["acme"])).content.decode()
    assert f'href="{reverse("webhooks", args=["acme"])}"' in page
    assert f'href="{reverse("audit_log", args=["acme"])}"' in page

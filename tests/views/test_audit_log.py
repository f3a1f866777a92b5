"""The Audit log page (SPEC A5, issue #14 item 5): the organization's events with who, what,
when and from where; filters; 50 a page; the filtered events as CSV; org admins only."""

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from backups.models import AuditEvent
from backups.services.audit import record_event
from tests.views.helpers import text

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-acme-')
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def events(demo):
    """Five events over three days: alice on both products, the system, another org's."""
    made = []
    for when, kw in [
        (DAY, dict(action="policy.created", actor=demo.alice, target=demo.jira)),
        (
            DAY + timedelta(hours=1),
            dict(action="backup.started", actor=demo.alice, target=demo.jira),
        ),
        (DAY + timedelta(days=1), dict(action="backup.completed", target=demo.jira)),
        (
            DAY + timedelta(days=2),
            dict(action="policy.created", actor=demo.alice, target=demo.confluence),
        ),
    ]:
        with time_machine.travel(when, tick=False):
            made.append(record_event(organization=demo.acme, **kw))
    with time_machine.travel(DAY, tick=False):
        record_event(organization=demo.globex, action="policy.created", target=demo.globex_jira)
    return made


URLS = [reverse("audit_log", args=["acme"]), reverse("audit_log_csv", args=["acme"])]


def test_anonymous_is_sent_to_the_login(client):
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_member_gets_403(client, demo):
    client.force_login(demo.bob)
    for url in URLS:
        assert client.get(url).status_code == 403


def test_another_organizations_admin_gets_404(client, make_org):
    _org, admin = make_org("initech")
    client.force_login(admin)
    for url in URLS:
        assert client.get(url).status_code == 404


def test_the_page_lists_the_organizations_events_newest_first(client, demo, events):
    client.force_login(demo.alice)
    response = client.get(URLS[0])
    rows = re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S)[1:]
    assert len(rows) == 4  # not Globex's
    assert "policy.created" in rows[0] and "Acme Confluence" in rows[0]
    assert "backup.completed" in rows[1] and "System" in rows[1]
    assert "2 Dec 2026, 09:00 UTC" in rows[3]


def test_filters_actor_action_product_and_days(client, demo, events):
    client.force_login(demo.alice)

    def actions(**query):
        response = client.get(URLS[0], query)
        assert response.status_code == 200
        return re.findall(r"<code>([a-z_.]+)</code>", response.content.decode())

    assert actions(actor=str(demo.alice.pk)) == [
        "policy.created",
        "backup.started",
        "policy.created",
    ]
    assert actions(actor="system") == ["backup.completed"]
    assert actions(action="policy.created") == ["policy.created", "policy.created"]
    assert actions(product=str(demo.jira.pk)) == [
        "backup.completed",
        "backup.started",
        "policy.created",
    ]
    assert actions(start="2026-12-03", end="2026-12-03") == ["backup.completed"]
    assert actions(start="2026-12-03") == ["policy.created", "backup.completed"]
    assert actions(product=str(demo.jira.pk), actor=str(demo.alice.pk), end="2026-12-02") == [
        "backup.started",
        "policy.created",
    ]
    # Another organization's product is not a choice.
    response = client.get(URLS[0], {"product": str(demo.globex_jira.pk)})
    assert "Select a valid choice." in text(response.content)
    assert "No events match these filters." in text(response.content)
    response = client.get(URLS[0], {"start": "2026-12-04", "end": "2026-12-02"})
    assert "The From day is after the To day." in text(response.content)


def test_fifty_a_page(client, demo):
    for n in range(120):
        record_event(organization=demo.acme, action=f"test.event{n:03}", actor=demo.alice)
    client.force_login(demo.alice)
    first = client.get(URLS[0], {"actor": str(demo.alice.pk)})
    assert "Events 1–50 of 120" in text(first.content)
    assert first.content.decode().count("<code>test.event") == 50
    last = client.get(URLS[0], {"actor": str(demo.alice.pk), "page": "3"})
    assert "Events 101–120 of 120" in text(last.content)
    shown = re.findall(r"<code>(test\.event\d+)</code>", last.content.decode())
    assert shown == [f"test.event{n:03}" for n in range(19, -1, -1)]
    # The pager keeps the filter.
    assert (
        f"actor={demo.alice.pk}"
        in re.search(r'href="([^"]*)" rel="prev"', last.content.decode())[1]
    )


def test_csv_of_the_filtered_events(client, demo, events):
    client.force_login(demo.alice)
    page = client.get(URLS[0], {"product": str(demo.jira.pk)})
    csv_url = html.unescape(
        re.search(r'href="([^"]*audit-log/csv/[^"]*)"', page.content.decode())[1]
    )
    assert f"product={demo.jira.pk}" in csv_url
    rows = csv_rows(client.get(csv_url))
    assert [(r["action"], r["who"], r["product"]) for r in rows] == [
        ("backup.completed", "system", "Acme Jira"),
        ("backup.started", "alice", "Acme Jira"),
        ("policy.created", "alice", "Acme Jira"),
    ]
    assert rows[2]["time_utc"] == "2026-12-02T09:00:00+00:00"
    assert list(rows[0]) == [
        "time_utc",
        "who",
        "action",
        "product",
        "target",
        "client_address",
        "details",
    ]
    assert len(csv_rows(client.get(URLS[1]))) == 4


def test_a_formula_in_a_cell_is_opened_as_text(client, demo):
    record_event(organization=demo.acme, action="connection.created", target="=HYPERLINK(1)")
    client.force_login(demo.alice)
    [row] = csv_rows(client.get(URLS[1]))
    assert row["target"] == "'=HYPERLINK(1)"


def test_an_event_from_a_request_has_the_client_address(client, demo, settings):
    client.force_login(demo.alice)
    client.post(
        reverse("policy_create", args=["acme"]),
        {"product": demo.jira_sandbox.pk},
        REMOTE_ADDR="198.51.100.4",
    )
    event = AuditEvent.objects.get(action="policy.created")
    assert (event.client_address, event.product) == ("198.51.100.4", demo.jira_sandbox)
    # Behind one proxy, the address the proxy saw; a forged entry left of it does not count.
    settings.PROXY_COUNT = 1
    client.post(
        reverse("webhook_new", args=["acme"]),
        {"url": "https://hooks.example.com/x", "events": ["backup.finished"], "secret": "s"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 192.0.2.9",
    )
    assert AuditEvent.objects.get(action="webhook.created").client_address == "192.0.2.9"
    # Outside a request (a worker, cron) there is no address.
    assert record_event(organization=demo.acme, action="x").client_address is None
    response = client.get(URLS[0])
    assert "198.51.100.4" in text(response.content)


def test_days_are_the_organizations_days(client, demo):
    """A1: the date filter reads days on the organization's clocks, not UTC's."""
    demo.acme.time_zone = "Asia/Tokyo"  # UTC+9
    demo.acme.save(update_fields=["time_zone"])
    for when, action in [
        (datetime(2026, 12, 2, 14, 59, tzinfo=UTC), "policy.created"),  # 2 Dec 23:59 Tokyo
        (datetime(2026, 12, 2, 15, 0, tzinfo=UTC), "backup.started"),  # 3 Dec 00:00 Tokyo
    ]:
        with time_machine.travel(when, tick=False):
            record_event(organization=demo.acme, action=action, target=demo.jira)
    client.force_login(demo.alice)

    response = client.get(URLS[0], {"start": "2026-12-03", "end": "2026-12-03"})
    assert re.findall(r"<code>([a-z_.]+)</code>", response.content.decode()) == ["backup.started"]
    assert "From (Asia/Tokyo)" in text(response.content)
    rows = csv_rows(client.get(URLS[1], {"end": "2026-12-02"}))
    assert [(r["action"], r["time_utc"]) for r in rows] == [
        ("policy.created", "2026-12-02T14:59:00+00:00")
    ]

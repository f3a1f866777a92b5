"""Webhooks (SPEC A4): an organization's endpoints, the events they get, signed deliveries.

An event never calls an endpoint where it happens: `webhook_event_emit` writes one delivery
row per endpoint and queues a django-q2 task (`webhook_deliver`), so a slow or failing
endpoint never delays the backup or restore that raised the event. A failed try is tried
again after 1 min, 5 min, 30 min and 2 h (at most 5 tries), through a one-off django-q2
schedule; every try is written on the delivery row, which the Webhooks page shows.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backups import credentials
from backups.models import Organization, WebhookDelivery, WebhookEndpoint, WebhookEvent

from .audit import record_event

log = logging.getLogger(__name__)

DELIVER_TASK = "backups.services.webhooks.webhook_deliver"
SIGNATURE_HEADER = "X-Backupsite-Signature"
# The waits after the 1st, 2nd, 3rd and 4th failed try; the 5th failure is final.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# An endpoint gets 10 s to answer, 5 s of them to connect: a worker is never held longer.
# Read at each try, so a test can shorten it.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
EXCERPT_CHARS = 200
SUBSCRIBABLE = [e for e in WebhookEvent if e != WebhookEvent.TEST]


# --- pure decisions ----------------------------------------------------------------------------


def webhook_url_problem(url: str, *, extra_hosts: list[str]) -> str | None:
    """Why `url` cannot be a webhook endpoint, or None.

    HTTPS only, to a name or a public address; plain HTTP and loopback only for the hosts the
    operator allows (BACKUPSITE_WEBHOOK_EXTRA_HOSTS: a receiver on this machine while
    developing or testing). The point is that an endpoint cannot make the server call into its
    own network in the clear.
    """
    example = "https://hooks.example.com/backupsite"
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"That is not a web address. Use an address like {example}."
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        return f"That is not a web address. Use an address like {example}."
    if parts.username or parts.password:
        return "Leave the user name and password out of the address: the secret signs each call."
    if parts.fragment:
        return "Leave the #fragment out of the address."
    if host in extra_hosts:
        return None
    if parts.scheme != "https":
        return f"Webhooks are sent over HTTPS only: use an address like {example}."
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if host == "localhost" or (address is not None and not address.is_global):
        return "That address is inside a private network; use the receiver's public address."
    return None


def endpoint_gets(events: list[str], event: str) -> bool:
    """Whether an endpoint subscribed to `events` gets `event` (a test goes to whoever asks)."""
    return event == WebhookEvent.TEST or event in events


def next_attempt_at(attempts_made: int, now: datetime) -> datetime | None:
    """When to try again after `attempts_made` failed tries, or None: the delivery failed."""
    if attempts_made < 1 or attempts_made >= MAX_ATTEMPTS:
        return None
    return now + RETRY_DELAYS[attempts_made - 1]


def signature(secret: str, body: bytes) -> str:
    """The X-Backupsite-Signature header: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_body(
    *, event: str, text: str, organization: Organization, data: dict, now: datetime
) -> str:
    """The JSON sent: `text` for chat tools' incoming webhooks, then the structured event."""
    return json.dumps(
        {
            "text": text,
            "id": str(uuid.uuid4()),  # the same on every try of one delivery: dedupe by it
            "event": str(event),
            "occurred_at": now.isoformat(),
            "organization": {"slug": organization.slug, "name": organization.name},
            "data": data,
        },
        separators=(",", ":"),
        default=str,
    )


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# --- endpoints ---------------------------------------------------------------------------------


def _check(url: str, events: list[str]) -> tuple[str, list[str]]:
    problem = webhook_url_problem(url, extra_hosts=settings.WEBHOOK_EXTRA_HOSTS)
    if problem:
        raise ValueError(problem)
    unknown = set(events) - {e.value for e in SUBSCRIBABLE}
    if unknown:
        raise ValueError(f"Unknown events: {', '.join(sorted(unknown))}")
    return url.strip(), [e.value for e in SUBSCRIBABLE if e.value in events]


def webhook_endpoint_create(
    *,
    organization: Organization,
    actor,
    url: str,
    events: list[str],
    description: str = "",
    secret: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it and its secret (generated unless given), to show once."""
    url, events = _check(url, events)
    secret = secret or new_secret()
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=url,
        events=events,
        description=description,
        secret_encrypted=credentials.encrypt(secret),
        created_by=actor,
    )
    record_event(
        action="webhook.created",
        actor=actor,
        organization=organization,
        target=endpoint.url,
        details={"endpoint": endpoint.pk, "events": events},
    )
    return endpoint, secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor,
    url: str,
    events: list[str],
    description: str = "",
    secret: str | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; a `secret` replaces the old one (None keeps it)."""
    url, events = _check(url, events)
    endpoint.url, endpoint.events, endpoint.description = url, events, description
    if secret:
        endpoint.secret_encrypted = credentials.encrypt(secret)
    endpoint.save()
    record_event(
        action="webhook.updated",
        actor=actor,
        organization=endpoint.organization,
        target=endpoint.url,
        details={"endpoint": endpoint.pk, "events": events, "new_secret": bool(secret)},
    )
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    """Remove an endpoint and its delivery log; queued tries find no row and stop."""
    record_event(
        action="webhook.deleted",
        actor=actor,
        organization=endpoint.organization,
        target=endpoint.url,
        details={"endpoint": endpoint.pk},
    )
    endpoint.delete()


# --- events and deliveries ---------------------------------------------------------------------


def _queue(delivery: WebhookDelivery) -> None:
    def enqueue():
        from django_q.tasks import async_task

        try:
            async_task(DELIVER_TASK, delivery.pk, task_name=f"webhook-{delivery.pk}")
        except Exception:
            # A broker that is down must not fail the job that raised the event; the delivery
            # stays PENDING on the Webhooks page.
            log.exception("Could not queue webhook delivery %s", delivery.pk)

    # After commit: the worker never looks for a row that is not there yet.
    transaction.on_commit(enqueue)


def webhook_event_emit(
    *, organization: Organization, event: str, text: str, data: dict
) -> list[WebhookDelivery]:
    """Queue `event` for every endpoint of the organization that chose it; sends nothing."""
    now = timezone.now()
    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(organization=organization):
        if not endpoint_gets(endpoint.events, event):
            continue
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=event,
            body=event_body(event=event, text=text, organization=organization, data=data, now=now),
            next_attempt_at=now,
        )
        _queue(delivery)
        deliveries.append(delivery)
    return deliveries


def webhook_send_test(*, endpoint: WebhookEndpoint, actor) -> WebhookDelivery:
    """Queue a test event to one endpoint ("Send a test event")."""
    now = timezone.now()
    organization = endpoint.organization
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=WebhookEvent.TEST,
        body=event_body(
            event=WebhookEvent.TEST,
            text=f"Test event from backupsite for {organization.name}: this endpoint works.",
            organization=organization,
            data={"endpoint": endpoint.pk},
            now=now,
        ),
        next_attempt_at=now,
    )
    record_event(
        action="webhook.test_sent",
        actor=actor,
        organization=organization,
        target=endpoint.url,
        details={"endpoint": endpoint.pk, "delivery": delivery.pk},
    )
    _queue(delivery)
    return delivery


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str, str]:
    """One try: (response code or None, a response excerpt, an error)."""
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "backupsite-webhooks/1",
        "X-Backupsite-Event": delivery.event,
        "X-Backupsite-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature(credentials.decrypt(endpoint.secret_encrypted), body),
    }
    try:
        # Redirects are not followed: the allowed address is the one that gets the call.
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client,
            client.stream("POST", endpoint.url, content=body, headers=headers) as response,
        ):
            head = b""
            for chunk in response.iter_bytes():  # a few bytes, never a whole large answer
                head += chunk
                if len(head) >= EXCERPT_CHARS:
                    break
            excerpt = head.decode("utf-8", "replace")[:EXCERPT_CHARS]
            return response.status_code, excerpt, ""
    except httpx.TimeoutException:
        return None, "", f"No answer within {TIMEOUT.read:g} s."
    except httpx.HTTPError as error:
        return None, "", f"{type(error).__name__}: {error}"[:300]


def webhook_deliver(delivery_id: int) -> str | None:
    """The task: one try of a delivery that is due; schedules the next try if it fails."""
    now = timezone.now()
    # Claim the try: a redelivered task, or a retry schedule that fires twice, finds the row
    # SENDING (or not yet due) and does nothing.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
        next_attempt_at__lte=now,
        attempts__lt=MAX_ATTEMPTS,
    ).update(
        status=WebhookDelivery.Status.SENDING,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        next_attempt_at=None,
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    try:
        code, excerpt, error = _post(delivery.endpoint, delivery)
    except credentials.CredentialError as refused:
        code, excerpt, error = None, "", str(refused)[:300]
    ok = code is not None and 200 <= code < 300
    if not ok and not error:
        error = f"The endpoint answered {code}."
    retry_at = None if ok else next_attempt_at(delivery.attempts, timezone.now())
    if ok:
        status = WebhookDelivery.Status.DELIVERED
    elif retry_at:
        status = WebhookDelivery.Status.RETRYING
    else:
        status = WebhookDelivery.Status.FAILED
    WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.SENDING).update(
        status=status,
        response_code=code,
        response_excerpt=excerpt[:300],
        error="" if ok else error[:300],
        next_attempt_at=retry_at,
    )
    if retry_at:
        from django_q.models import Schedule
        from django_q.tasks import schedule

        schedule(
            DELIVER_TASK,
            delivery_id,
            name=f"webhook-{delivery_id}-try-{delivery.attempts + 1}",
            schedule_type=Schedule.ONCE,
            next_run=retry_at,
        )
    return status


def webhook_deliveries_resume(*, now: datetime, stale_after: timedelta) -> Iterator[str]:
    """E3 for deliveries (run by fail_stale_jobs): a try whose worker died mid-send is tried
    again (or FAILED if it was the last), and a due delivery whose queued task was lost (a
    broker down when the event happened, a one-off schedule deleted) is queued again. A
    delivery is never left SENDING or waiting for ever; a second task for one is harmless,
    since each try is claimed by a conditional update. A line for each one handled."""
    cutoff = now - stale_after
    stuck = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING, last_attempt_at__lt=cutoff
    )
    for delivery in stuck.order_by("pk"):
        last = delivery.attempts >= MAX_ATTEMPTS
        changed = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.Status.SENDING, attempts=delivery.attempts
        ).update(
            status=WebhookDelivery.Status.FAILED if last else WebhookDelivery.Status.RETRYING,
            next_attempt_at=None if last else now,
            error="The worker stopped while sending this try.",
        )
        if not changed:
            continue
        if last:
            yield f"webhook delivery #{delivery.pk}: its last try stopped with its worker; failed"
        else:
            delivery.refresh_from_db()
            _queue(delivery)
            yield f"webhook delivery #{delivery.pk}: its try stopped with its worker; queued again"
    waiting = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
        next_attempt_at__lt=cutoff,
    )
    for delivery in waiting.order_by("pk"):
        _queue(delivery)
        due = f"{delivery.next_attempt_at:%Y-%m-%d %H:%M} UTC"
        yield f"webhook delivery #{delivery.pk}: due since {due}; queued again"

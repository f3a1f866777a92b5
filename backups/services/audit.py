"""The audit trail (SPEC A5): who did what, to what, when, and from where."""

import ipaddress
from contextvars import ContextVar
from typing import Any

from backups.models import AuditEvent, Organization, Product

# The address of the request being served, for record_event. A context variable rather than
# a `request=` argument: events are recorded deep inside services (a backup requested, a
# token saved), and passing the request down through every service would tie services to
# HTTP. Set by RequestAddressMiddleware for the request's duration only; a worker or a cron
# command never sets it, so their events have no address (they come from the system).
_client_address: ContextVar[str | None] = ContextVar("audit_client_address", default=None)


class RequestAddressMiddleware:
    """Makes the client's address (backupsite.security.client_ip: the proxy-aware one the
    login throttle counts) available to record_event while a request is served."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from backupsite.security import client_ip

        token = _client_address.set(_valid_address(client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            _client_address.reset(token)


def _valid_address(address: str | None) -> str | None:
    # A forged X-Forwarded-For entry is not an address; the column only takes addresses.
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None


def product_of(target: Any) -> Product | None:
    """The product an event is about, for the audit log's product filter: the target itself,
    or the product it belongs to (a backup, a policy, a connection), or a restore's
    destination."""
    if isinstance(target, Product):
        return target
    for attribute in ("product", "destination"):
        value = getattr(target, attribute, None)
        if isinstance(value, Product):
            return value
    return None


def record_event(
    *,
    action: str,
    actor=None,
    organization: Organization | None = None,
    target: Any = "",
    details: dict | None = None,
    product: Product | None = None,
) -> AuditEvent:
    """Record one audit event; every action that changes something calls this."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        organization=organization,
        action=action,
        target=str(target)[:300],
        details=details or {},
        product=product or product_of(target),
        client_address=_client_address.get(),
    )

from typing import Any

from backups.models import AuditEvent, Organization


def record_event(
    *,
    action: str,
    actor=None,
    organization: Organization | None = None,
    target: Any = "",
    details: dict | None = None,
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
    )

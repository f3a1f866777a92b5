"""Personal API tokens (K2): make, revoke, and find the token a request carries.

A token reads `bks_<prefix>_<secret>`: the prefix is public (lists show it), the whole token is
kept only as its SHA-256. 256 random bits need no slow hash: nobody guesses one, and a plain
digest lets a request find its token by an index.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from backups.models import ApiToken, Membership, Organization
from backups.rules import format_when
from backups.services.audit import record_event
from backups.services.errors import Refused

TOKEN_PREFIX = "bks"  # noqa: S105 - the public start of every token
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=365)
# K2: when a token was last used, to the minute: one write a minute per token at most, never
# one per request (a script polling a backup every second would otherwise write every second).
LAST_USED_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(
    *,
    organization: Organization,
    actor,
    name: str,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Make a token for `actor` in `organization`; return it and the token, shown only once."""
    now = now or timezone.now()
    expires_at = expires_at or now + DEFAULT_LIFETIME
    if not Membership.objects.filter(
        user=actor, organization=organization, role=Membership.Role.ADMIN
    ).exists():
        # K2: a token has its creator's rights; a member's would have none.
        raise Refused("Only org admins can make API tokens.")
    name = (name or "").strip()
    if not name:
        raise Refused("Give the token a name that says what uses it.")
    if expires_at <= now:
        raise Refused("A token's expiry must be in the future.")
    if expires_at > now + MAX_LIFETIME:
        raise Refused(
            f"A token can last at most {MAX_LIFETIME.days} days: until "
            f"{format_when(now + MAX_LIFETIME)}."
        )
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_token = ApiToken.objects.create(
        organization=organization,
        created_by=actor,
        name=name[:100],
        prefix=prefix,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=expires_at,
    )
    record_event(
        action="token.created",
        actor=actor,
        organization=organization,
        target=api_token,
        details={"name": api_token.name, "prefix": prefix, "expires_at": expires_at.isoformat()},
    )
    return api_token, token


def api_token_revoke(*, api_token: ApiToken, actor, now: datetime | None = None) -> bool:
    """Revoke a token; False if it was already revoked (two clicks record it once)."""
    now = now or timezone.now()
    changed = ApiToken.objects.filter(pk=api_token.pk, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if changed:
        api_token.revoked_at = now
        record_event(
            action="token.revoked",
            actor=actor,
            organization=api_token.organization,
            target=api_token,
            details={"name": api_token.name, "prefix": api_token.prefix},
        )
    return bool(changed)


class TokenRefused(Exception):
    """The request's token gives no access (401); the message says why."""


def api_token_authenticate(
    *, token: str, address: str | None, now: datetime | None = None
) -> ApiToken:
    """The live token `token` is, with its creator and organization; TokenRefused otherwise.

    Records when and from where it was used, at most once a minute."""
    now = now or timezone.now()
    api_token = (
        ApiToken.objects.select_related("created_by", "organization")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if api_token is None or not api_token.created_by.is_active:
        raise TokenRefused("This API token is not valid.")
    if api_token.revoked_at is not None:
        raise TokenRefused(
            f"This API token was revoked on {format_when(api_token.revoked_at)}; "
            "an org admin makes a new one on the API tokens page."
        )
    if api_token.expires_at <= now:
        raise TokenRefused(
            f"This API token expired on {format_when(api_token.expires_at)}; "
            "an org admin makes a new one on the API tokens page."
        )
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_EVERY:
        # Conditional: of concurrent requests in the same minute, one writes.
        ApiToken.objects.filter(pk=api_token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
        ).update(last_used_at=now, last_used_address=address)
    return api_token

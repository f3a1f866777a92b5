"""Personal API tokens (SPEC K2): an org admin's key to the JSON API of one organization."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .organizations import Organization


class ApiToken(models.Model):
    """A token acts as its creator, in its organization only, while the creator is still an
    org admin there (K2). Only the SHA-256 of the token is kept: it is shown once, when made,
    and cannot be shown again. `prefix` is its public part, printed in lists to tell tokens
    apart (the token reads `bks_<prefix>_<secret>`)."""

    class Status(models.TextChoices):  # derived, never stored: see `status`
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    # A token is its creator's: it goes with them (and works only while they are an org admin).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # At most one write a minute per token (backups/api/tokens.py), never one per request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "-created_at", "-id"]
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_created",
            ),
        ]

    def __str__(self):
        return f"{self.name} (bks_{self.prefix}_…) of {self.organization}"

    def __repr__(self):
        # Never the hash: it is as good as a password to whoever guesses tokens offline.
        return f"<ApiToken {self.pk} {self.prefix}>"

    def status_at(self, now) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= now:
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())

    def get_status_display(self) -> str:
        return self.Status(self.status).label

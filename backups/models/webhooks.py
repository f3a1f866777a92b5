"""Notifications to the organization's own systems (SPEC A4): webhook endpoints, each delivery
of an event to one of them, and the once-only record of an expiry warning."""

from django.conf import settings
from django.db import models

from .backups import Backup
from .organizations import Organization


class WebhookEvent(models.TextChoices):
    """The events an endpoint can choose (A4); the same events are emailed to the org admins."""

    BACKUP_FINISHED = "backup.finished", "Backup finished"
    RESTORE_FINISHED = "restore.finished", "Restore finished"
    VERIFICATION_FAILED = "verification.failed", "Verification failed"
    BACKUP_EXPIRING = "backup.expiring", "Backup expiring in 48 hours, never downloaded"
    TEST = "test", "Test event"


class WebhookEndpoint(models.Model):
    """A URL of the organization's that gets the chosen events, signed with its secret.

    The secret is kept encrypted (backups/credentials.py, like connection tokens) and shown
    only once, when it is generated.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.CharField(max_length=500)
    secret_encrypted = models.TextField(editable=False)
    # A list of WebhookEvent values (never TEST: a test event goes to the endpoint it is sent to).
    events = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "id"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return f"{self.url} ({self.organization})"

    def __repr__(self):
        # Never the secret, not even encrypted.
        return f"<WebhookEndpoint {self.pk} {self.url}>"

    def event_labels(self) -> list[str]:
        return [WebhookEvent(e).label for e in self.events if e in WebhookEvent.values]


class WebhookDelivery(models.Model):
    """One event for one endpoint: its body (fixed when the event happened, so every try sends
    the same bytes and the same signature), and how its tries went."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SENDING = "SENDING", "Sending"
        RETRYING = "RETRYING", "Retrying"
        DELIVERED = "DELIVERED", "Delivered"
        FAILED = "FAILED", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    body = models.TextField(help_text="The JSON sent, byte for byte on every try.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["PENDING", "SENDING", "RETRYING", "DELIVERED", "FAILED"]
                ),
                name="webhook_delivery_status_valid",
            ),
            # A delivery waiting for a try says when the try is due.
            models.CheckConstraint(
                condition=~models.Q(status__in=["PENDING", "RETRYING"])
                | models.Q(next_attempt_at__isnull=False),
                name="webhook_delivery_waiting_has_next_attempt",
            ),
            # A.4: at most 5 tries.
            models.CheckConstraint(
                condition=models.Q(attempts__lte=5), name="webhook_delivery_at_most_5_attempts"
            ),
        ]

    def __str__(self):
        return f"{self.get_event_display()} → {self.endpoint.url} ({self.get_status_display()})"


class BackupExpiryNotice(models.Model):
    """A backup whose coming expiry was announced (A4): once, whatever runs the command."""

    backup = models.OneToOneField(Backup, on_delete=models.CASCADE, related_name="expiry_notice")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self):
        return f"Expiry of {self.backup} announced {self.sent_at:%Y-%m-%d %H:%M}"

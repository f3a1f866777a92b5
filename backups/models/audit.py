from django.conf import settings
from django.db import models

from .organizations import Organization
from .products import Product


class AuditEvent(models.Model):
    """Who did what, to what, when. Written only through backups.services.audit.record_event."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the system (cron, worker).",
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(max_length=80, db_index=True)
    target = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # A5: filter by product. Set by record_event from the target (a product, or what belongs
    # to one); empty for events about the whole organization and for events before 0014.
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A5: "from where". The address of the request that caused the event (see
    # services/audit.RequestAddressMiddleware); empty for the system (cron, worker).
    client_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self):
        who = self.actor or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who} {self.action} {self.target}"

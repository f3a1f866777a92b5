from django.conf import settings
from django.db import models

from backups.rules import RETENTION  # B7: one home for the number

from .jobs import BackupQuerySet
from .policies import BackupPolicy
from .products import Product


class Backup(models.Model):
    """One full backup of one product (B1-B8). Its data lives under `storage_prefix`."""

    class Status(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETE = "COMPLETE", "Complete"
        INCOMPLETE = "INCOMPLETE", "Incomplete"
        FAILED = "FAILED", "Failed"
        EXPIRED = "EXPIRED", "Expired"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="backups")
    policy = models.ForeignKey(
        BackupPolicy, null=True, on_delete=models.SET_NULL, related_name="backups"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    options = models.JSONField(default=dict, help_text="The policy's options when it started (P3).")

    started_at = models.DateTimeField()
    # When the worker took the job: a second delivery of the task finds it set and stops.
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    items_done = models.BigIntegerField(default=0)
    items_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)

    # {"issues": {"rows": 30, "bytes": 12345, "sha256": "…"}, "attachments": {…}, …}
    counts = models.JSONField(default=dict, blank=True)
    total_bytes = models.BigIntegerField(default=0)
    storage_prefix = models.CharField(max_length=300, blank=True)
    # INCOMPLETE: [{"what": "ACME-3 / log.txt", "reason": "…"}, …]
    missing = models.JSONField(default=list, blank=True)
    failure_reason = models.TextField(blank=True)

    objects = BackupQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["product", "status", "-completed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["IN_PROGRESS", "COMPLETE", "INCOMPLETE", "FAILED", "EXPIRED"]
                ),
                name="backup_status_valid",
            ),
            # B4: never two backups of one product in progress, whatever races above.
            models.UniqueConstraint(
                fields=["product"],
                condition=models.Q(status="IN_PROGRESS"),
                name="one_backup_in_progress_per_product",
            ),
            # A finished backup (failed ones too) says when it ended.
            models.CheckConstraint(
                condition=models.Q(status="IN_PROGRESS") | models.Q(completed_at__isnull=False),
                name="backup_finished_has_completed_at",
            ),
        ]

    def __str__(self):
        return f"Backup #{self.pk} of {self.product} ({self.get_status_display()})"

    @property
    def expires_at(self):
        return self.started_at + RETENTION

    @property
    def is_finished(self) -> bool:
        return self.status != self.Status.IN_PROGRESS

    @property
    def progress_percent(self) -> int:
        if self.status != self.Status.IN_PROGRESS:
            return 100 if self.status in (self.Status.COMPLETE, self.Status.INCOMPLETE) else 0
        if self.bytes_total:
            return min(99, int(100 * self.bytes_done / self.bytes_total))
        if self.items_total:
            return min(99, int(100 * self.items_done / self.items_total))
        return 0

from django.conf import settings
from django.db import models

from .backups import Backup
from .jobs import RestoreQuerySet
from .products import Product


class Restore(models.Model):
    """One restore of a backup into a product of the same kind (R1-R8)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        COMPLETE = "COMPLETE", "Complete"
        FAILED = "FAILED", "Failed"

    # From the service's storage: `backup`. From an uploaded file: `upload` (issue #6).
    # Either way `source_backup_id` is the backup's id (from its manifest): R5 counts restores
    # of one backup however they were made.
    backup = models.ForeignKey(
        Backup, null=True, blank=True, on_delete=models.SET_NULL, related_name="restores"
    )
    upload = models.ForeignKey(
        "Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="restores"
    )
    source_backup_id = models.BigIntegerField(db_index=True)
    source_product_name = models.CharField(max_length=200)
    source_taken_at = models.DateTimeField()
    destination = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="restores")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    options = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    items_done = models.BigIntegerField(default=0)
    items_total = models.BigIntegerField(default=0)
    # {"restored": {...}, "skipped": {...}, "skipped_space_keys": [...], "groups": {...}}
    report = models.JSONField(default=dict, blank=True)
    # Where this restore writes before it publishes into `destination` (R8); removed at the
    # end, whichever way the restore ends (also by fail_stale_jobs after a crash).
    staging_product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_reason = models.TextField(blank=True)

    objects = RestoreQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["IN_PROGRESS", "COMPLETE", "FAILED"]),
                name="restore_status_valid",
            ),
            # R6: never two restores into one product at once, whatever races above.
            models.UniqueConstraint(
                fields=["destination"],
                condition=models.Q(status="IN_PROGRESS"),
                name="one_restore_in_progress_per_destination",
            ),
            models.CheckConstraint(
                condition=models.Q(status="IN_PROGRESS") | models.Q(completed_at__isnull=False),
                name="restore_finished_has_completed_at",
            ),
        ]

    def __str__(self):
        return f"Restore #{self.pk} into {self.destination} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.COMPLETE:
            return 100
        if not self.items_total:
            return 0
        return min(99, int(100 * self.items_done / self.items_total))

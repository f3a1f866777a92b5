from django.conf import settings
from django.db import models

from backups.rules import MAX_DOWNLOADS  # D3, one home for the number

from .backups import Backup
from .jobs import BackupFileQuerySet


class BackupFile(models.Model):
    """The one downloadable archive of a backup (D1-D5), format v1 (SPEC §7)."""

    class Status(models.TextChoices):
        GENERATING = "GENERATING", "Generating"
        READY = "READY", "Ready"
        FAILED = "FAILED", "Failed"
        EXPIRED = "EXPIRED", "Deleted with its backup"  # D5

    backup = models.OneToOneField(Backup, on_delete=models.CASCADE, related_name="file")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.GENERATING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    storage_name = models.CharField(max_length=400, blank=True)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    # D3: the count lives with the backup's one file, so a regenerated file does not reset it.
    downloads_used = models.PositiveSmallIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    objects = BackupFileQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["GENERATING", "READY", "FAILED", "EXPIRED"]),
                name="backup_file_status_valid",
            ),
            # D3, by the database: whatever the code does, never a fourth download.
            models.CheckConstraint(
                condition=models.Q(downloads_used__gte=0, downloads_used__lte=MAX_DOWNLOADS),
                name="backup_file_at_most_three_downloads",
            ),
        ]

    def __str__(self):
        return f"File of backup #{self.backup_id} ({self.get_status_display()})"

    @property
    def downloads_left(self) -> int:
        return MAX_DOWNLOADS - self.downloads_used

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.READY:
            return 100
        if not self.bytes_total:
            return 0
        return min(99, int(100 * self.bytes_done / self.bytes_total))

from django.conf import settings
from django.db import models

from backups.rules import MAX_DOWNLOADS  # D3, one home for the number

from .files import BackupFile


class DownloadLink(models.Model):
    """One personal, short-lived link to a backup file (D4): one download, one copy (D6).

    Only the SHA-256 of its token is stored, so the table does not hold working links. Every
    block a request sends is first reserved in `bytes_served` by a conditional update, within
    `budget` (the file once plus the resume slack, rules.download_link_budget): parallel
    requests on one link cannot together send more than that, whatever their timing.
    """

    backup_file = models.ForeignKey(BackupFile, on_delete=models.CASCADE, related_name="links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Which of the backup's downloads this link is (1 to MAX_DOWNLOADS).
    number = models.PositiveSmallIntegerField()
    token_hash = models.CharField(max_length=64, unique=True)
    # The file's size when the link was made; the budget is counted against it.
    size = models.BigIntegerField()
    budget = models.BigIntegerField()
    bytes_served = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # S3: when the link handed out its one presigned URL (the bytes then go straight from S3).
    presigned_at = models.DateTimeField(null=True, blank=True)
    # When the last byte of the file was delivered: no new request is served after it.
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # D3, by the database as well: a backup has at most three downloads, so three links.
            models.UniqueConstraint(
                fields=["backup_file", "number"], name="download_link_one_per_download"
            ),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=MAX_DOWNLOADS),
                name="download_link_number_valid",
            ),
            # D6, by the database: whatever the code does, a link never sends past its budget.
            models.CheckConstraint(
                condition=models.Q(bytes_served__gte=0, bytes_served__lte=models.F("budget")),
                name="download_link_within_budget",
            ),
            models.CheckConstraint(
                condition=models.Q(budget__gte=models.F("size")),
                name="download_link_budget_covers_the_file",
            ),
        ]

    def __str__(self):
        return f"Download {self.number} of backup file #{self.backup_file_id} for {self.user}"

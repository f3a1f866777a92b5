from django.conf import settings
from django.db import models

from backups.rules import RETENTION  # B7: one home for the number

from .jobs import BackupQuerySet, VerificationQuerySet
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

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Run by an admin"
        SCHEDULE = "schedule", "Scheduled"
        RETRY = "retry", "Automatic retry"
        API = "api", "Run through the API"

    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    # A2: a retried backup is a new row; every attempt after the first points at the first.
    attempt = models.PositiveSmallIntegerField(default=1)
    first_attempt = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="later_attempts"
    )
    # A2: FAILED for a reason that may pass (storage, network, rate limit, a worker that died).
    failure_transient = models.BooleanField(default=False)
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
            # A2: attempt n of a backup exists once, whoever starts it.
            models.UniqueConstraint(
                fields=["first_attempt", "attempt"], name="one_backup_per_attempt"
            ),
            models.CheckConstraint(
                condition=models.Q(attempt=1, first_attempt__isnull=True)
                | models.Q(attempt__gt=1, first_attempt__isnull=False),
                name="backup_attempt_has_first",
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


class BackupVerification(models.Model):
    """A3: a finished backup read back end to end and restored where nobody sees it."""

    class Status(models.TextChoices):
        IN_PROGRESS = "IN_PROGRESS", "Verifying"
        VERIFIED = "VERIFIED", "Verified"
        FAILED = "FAILED", "Not verified"

    backup = models.OneToOneField(Backup, on_delete=models.CASCADE, related_name="verification")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    requested_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    items_done = models.BigIntegerField(default=0)
    items_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    # FAILED: why, in words an admin acts on ("attachments/12/log.txt: SHA-256 differs …").
    reason = models.TextField(blank=True)
    # What was compared, for the page:
    # {"files": n, "bytes": n, "counts": {"issues": {"manifest": n, "restored": n}, …}}
    checked = models.JSONField(default=dict, blank=True)

    objects = VerificationQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["IN_PROGRESS", "VERIFIED", "FAILED"]),
                name="verification_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status="IN_PROGRESS") | models.Q(completed_at__isnull=False),
                name="verification_finished_has_completed_at",
            ),
        ]

    def __str__(self):
        return f"Verification of backup #{self.backup_id} ({self.get_status_display()})"

from django.conf import settings
from django.db import models

from .jobs import UploadQuerySet
from .organizations import Organization


class Upload(models.Model):
    """A downloaded backup file brought back to be restored (R4, R9, E2)."""

    class Status(models.TextChoices):
        RECEIVING = "RECEIVING", "Uploading"
        VALIDATING = "VALIDATING", "Checking"
        VALID = "VALID", "Valid"
        INVALID = "INVALID", "Refused"
        DELETED = "DELETED", "Deleted"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="uploads")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    declared_size = models.BigIntegerField()
    received_bytes = models.BigIntegerField(default=0)
    storage_name = models.CharField(max_length=400)
    multipart_id = models.CharField(max_length=300, blank=True, help_text="S3 multipart upload")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVING)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    validated_bytes = models.BigIntegerField(default=0)
    # [{"name": "signature", "title": "…", "passed": true, "detail": "…"}, …]
    checks = models.JSONField(default=list, blank=True)
    # The file's manifest once it is valid: what the restore wizard shows and the rules read.
    manifest = models.JSONField(null=True, blank=True)
    deleted_reason = models.CharField(max_length=200, blank=True)

    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["RECEIVING", "VALIDATING", "VALID", "INVALID", "DELETED"]
                ),
                name="upload_status_valid",
            ),
            # Never more bytes than declared (the declared size was checked against D2).
            models.CheckConstraint(
                condition=models.Q(received_bytes__gte=0)
                & models.Q(received_bytes__lte=models.F("declared_size")),
                name="upload_received_within_declared",
            ),
        ]

    def __str__(self):
        return f"Upload #{self.pk} {self.file_name} ({self.get_status_display()})"

    @property
    def complete(self) -> bool:
        return self.received_bytes == self.declared_size

    @property
    def failed_check(self) -> dict | None:
        return next((c for c in self.checks if not c["passed"]), None)

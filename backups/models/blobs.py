"""The attachment store: each attachment's bytes stored once per organization (#16 item 2).

A backup's `attachments/<id>/<name>`, and (since #16's second pass) its `entities/<type>.jsonl`,
is a BackupBlob row naming an AttachmentBlob, whose object lives under `blobs/<org>/` in the
backup storage: an unchanged product's entities files are the same bytes in every backup.
The reference count is the number of BackupBlob rows (no counter that could drift); a blob is
deleted only when none is left (E1).
"""

from django.db import models

from .backups import Backup
from .organizations import Organization


class AttachmentBlob(models.Model):
    """One stored copy of an attachment's bytes, keyed by (organization, SHA-256)."""

    class State(models.TextChoices):
        LIVE = "LIVE", "Live"  # new backups may refer to it
        # Its object went missing: no new reference; the backups that hold it keep their rows
        # (they read as a missing file) until they expire and the blob is collected.
        RETIRED = "RETIRED", "Retired"
        # No backup refers to it and its object is being deleted: never referred to again.
        DELETING = "DELETING", "Deleting"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="attachment_blobs"
    )
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    storage_name = models.CharField(max_length=300, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.LIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One live copy per content per organization: two backups that copy the same new
            # file at once make one blob; the loser's insert fails and it refers to the winner.
            models.UniqueConstraint(
                fields=["organization", "sha256"],
                condition=models.Q(state="LIVE"),
                name="attachment_blob_one_live_per_sha256",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["LIVE", "RETIRED", "DELETING"]),
                name="attachment_blob_state_valid",
            ),
        ]

    def __str__(self):
        return f"{self.sha256[:12]}… ({self.size} bytes, {self.get_state_display()})"


class BackupBlob(models.Model):
    """A backup holds a blob at one of its paths (`attachments/<id>/<name>`, or
    `entities/<type>.jsonl`; a backup from before has its entities files under its prefix)."""

    backup = models.ForeignKey(Backup, on_delete=models.CASCADE, related_name="blobs")
    # RESTRICT: a blob that a backup still refers to cannot be deleted (the collector of E1
    # relies on it); deleting a whole organization still takes both.
    blob = models.ForeignKey(AttachmentBlob, on_delete=models.RESTRICT, related_name="references")
    path = models.CharField(max_length=300)
    # A connected site's file as the site names it (Jira: attachment id, size and created;
    # Confluence: attachment id, version and size), so that a later backup of the same
    # product finds the copy it held without downloading the file again (#16 item 2).
    # Empty for an embedded product's files (their SHA-256 is recorded before they are read).
    source_key = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["backup", "path"], name="backup_blob_one_per_path"),
        ]
        indexes = [
            # One query per batch of a site's files: which of these did an earlier backup hold?
            models.Index(
                fields=["source_key"],
                condition=models.Q(source_key__isnull=False),
                name="backup_blob_source_key",
            ),
        ]

    def __str__(self):
        return f"{self.path} of backup #{self.backup_id}"

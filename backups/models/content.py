"""Product content: what a backup copies and a restore writes back (SPEC §1).

The content state and the attachment fields, shared by Jira (jira.py) and Confluence
(confluence.py). Keys are unique per product, backed by database constraints.
"""

import uuid

from django.db import models

from .products import Product


class ContentState(models.TextChoices):
    # All three count as content: a backup includes them (B2) and a Jira restore destination
    # holding any of them is not empty (R6).
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"
    TRASHED = "trashed", "Deleted (in trash)"


STATE_VALUES = [c.value for c in ContentState]


def attachment_upload_to(instance, filename):
    # A fresh folder per file: two attachments with the same name never collide, and the
    # stored name keeps the user's filename readable.
    return f"attachments/{instance.product_id}/{uuid.uuid4().hex}/{filename}"


class AttachmentFields(models.Model):
    """A file in STORAGES["default"], with the name, size and SHA-256 the user sees."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_upload_to, max_length=500)
    created = models.DateTimeField()

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

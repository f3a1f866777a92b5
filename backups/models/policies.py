from django.conf import settings
from django.db import models

from .products import Product


class BackupPolicy(models.Model):
    """How a product is backed up (P1-P4). A backup copies these options when it starts (P3)."""

    class Storage(models.TextChoices):
        SERVICE = "service", "The service's own storage"

    # P1: at most one policy per product, by the database (the one-to-one's unique index).
    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="backup_policy")
    include_attachments = models.BooleanField(default=True)
    include_personal_spaces = models.BooleanField(
        default=True, help_text="Confluence only: back up users' personal spaces too."
    )
    include_users_and_groups = models.BooleanField(default=True)
    storage = models.CharField(max_length=20, choices=Storage.choices, default=Storage.SERVICE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product"]
        verbose_name_plural = "backup policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(storage="service"), name="policy_storage_valid"
            )
        ]

    def __str__(self):
        return f"Backup policy of {self.product}"

    def options(self) -> dict:
        """The options a backup records when it starts (B8)."""
        opts = {
            "include_attachments": self.include_attachments,
            "include_users_and_groups": self.include_users_and_groups,
            "storage": self.storage,
        }
        if self.product.kind == Product.Kind.CONFLUENCE:
            opts["include_personal_spaces"] = self.include_personal_spaces
        return opts

from django.conf import settings
from django.db import models
from django.utils import timezone

from .organizations import Organization, OrgGroup


class ProductManager(models.Manager):
    """Products people see: never a restore's staging product (see `is_staging`)."""

    def get_queryset(self):
        return super().get_queryset().filter(is_staging=False)


class Product(models.Model):
    """One site of one kind (Jira or Confluence), owned by exactly one organization."""

    class Kind(models.TextChoices):
        JIRA = "jira", "Jira"
        CONFLUENCE = "confluence", "Confluence"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="products"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=200)
    url = models.CharField(max_length=300, blank=True, help_text="For example acme.example/jira")
    created_at = models.DateTimeField(auto_now_add=True)
    # A restore writes into a hidden staging product in short transactions, then moves the
    # content into its destination in one short transaction (R8 without holding SQLite's one
    # write lock for the whole restore). Staging products are invisible: `objects` leaves
    # them out; `all_objects` sees them.
    is_staging = models.BooleanField(default=False, editable=False)
    # An embedded product's content counts (productdata ContentSummary as a dict), stored so
    # that pages never count a million issues per view (#13 item 11). Written only by
    # backups.selectors.refresh_content_summary, after what changes content (a restore, an
    # import, the demo seed); pages say "as of summary_at". R6 never reads it: it counts live.
    content_summary = models.JSONField(default=dict, blank=True, editable=False)
    summary_at = models.DateTimeField(null=True, blank=True, editable=False)

    all_objects = models.Manager()
    objects = ProductManager()

    class Meta:
        ordering = ["organization", "name"]
        base_manager_name = "all_objects"
        default_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="product_name_unique_per_org"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["jira", "confluence"]), name="product_kind_valid"
            ),
        ]

    def __str__(self):
        return self.name


class ProductAccess(models.Model):
    """A group's access to a product. Restored access waits for an org admin's approval (R7)."""

    group = models.ForeignKey(OrgGroup, on_delete=models.CASCADE, related_name="product_access")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="access")
    approved = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "group"]
        verbose_name = "product access"
        verbose_name_plural = "product access"
        constraints = [
            models.UniqueConstraint(fields=["group", "product"], name="product_access_unique")
        ]

    def __str__(self):
        state = "approved" if self.approved else "awaiting approval"
        return f"{self.group.name} → {self.product} ({state})"


class ProductAccessDecision(models.Model):
    """One org admin's decision on a group's access to a product (R7): the review's history.

    Written only by backups.services.groups, never changed. A denied or revoked access row is
    deleted (the group no longer has it), so a decision keeps the names it was about, and the
    access's id as a plain number rather than a foreign key.
    """

    class Kind(models.TextChoices):
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        REVOKED = "revoked", "Revoked"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="product_access_decisions"
    )
    access_id = models.BigIntegerField(db_index=True, help_text="The ProductAccess decided on.")
    group = models.ForeignKey(
        OrgGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    group_name = models.CharField(max_length=200)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product_name = models.CharField(max_length=200)
    # How many people the decision gave or took access (it affects billing).
    members = models.PositiveIntegerField(default=0)
    decision = models.CharField(max_length=10, choices=Kind.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        verbose_name = "product access decision"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=["approved", "denied", "revoked"]),
                name="access_decision_valid",
            ),
            # R7: an access awaiting approval is approved or denied, once...
            models.UniqueConstraint(
                fields=["access_id"],
                condition=models.Q(decision__in=["approved", "denied"]),
                name="access_decided_once",
            ),
            # ...and it ends once: denied, or revoked after its approval.
            models.UniqueConstraint(
                fields=["access_id"],
                condition=models.Q(decision__in=["denied", "revoked"]),
                name="access_ended_once",
            ),
        ]

    def __str__(self):
        return f"{self.group_name} → {self.product_name}: {self.decision}"

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

    # A1: manual, or weekly at a day and time in the organization's time zone.
    class Schedule(models.TextChoices):
        MANUAL = "manual", "Manually"
        WEEKLY = "weekly", "Weekly"

    class Weekday(models.IntegerChoices):  # datetime.weekday()'s numbers
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.MANUAL)
    schedule_weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=Weekday.choices
    )
    schedule_time = models.TimeField(null=True, blank=True)
    # The slot the scheduler starts next, in UTC: it stays due until a backup starts for it
    # (B3/B4 may hold it back), then moves to the first slot after that moment, so slots
    # missed while the service was down run once, not once each.
    next_run_at = models.DateTimeField(null=True, blank=True)
    # A3: check each finished backup can be restored (read back, trial restore).
    verify = models.BooleanField(
        default=True,
        help_text="After each backup, read it back and make a trial restore nobody sees.",
    )
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
            ),
            # A1: a weekly policy says when; a manual one has no slot.
            models.CheckConstraint(
                condition=models.Q(schedule="manual", next_run_at__isnull=True)
                | models.Q(
                    schedule="weekly",
                    schedule_weekday__isnull=False,
                    schedule_time__isnull=False,
                    schedule_weekday__lte=6,
                ),
                name="policy_schedule_complete",
            ),
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

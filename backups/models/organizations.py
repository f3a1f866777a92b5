from django.conf import settings
from django.db import models


class Organization(models.Model):
    """A customer. Backup and restore is early access: staff set `enrolled` in Django admin."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    enrolled = models.BooleanField(
        default=False,
        help_text="Early access to Backup and restore. Only staff change this.",
    )
    # A1: a weekly backup runs at its day and time here (an IANA name, "Europe/Paris").
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="Scheduled backups run at their day and time in this time zone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Org admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_one_per_user_and_org"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=["admin", "member"]), name="membership_role_valid"
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class OrgGroup(models.Model):
    """A group of the organization's users; groups are given access to products."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="org_groups", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = "group"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="group_name_unique_per_org"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.organization})"

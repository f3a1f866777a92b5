from django.conf import settings
from django.db import models

from .products import Product


class SiteConnection(models.Model):
    """A product whose home is a connected Jira Cloud or Confluence Cloud site (SPEC §8).

    The API token is kept encrypted (C2, backups/credentials.py) and never shown again.
    """

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="connection")
    site_url = models.CharField(max_length=300, help_text="For example https://acme.atlassian.net")
    email = models.EmailField(help_text="The email of the account whose API token this is")
    token_encrypted = models.TextField(editable=False)
    account_id = models.CharField(max_length=128, blank=True)
    account_name = models.CharField(max_length=200, blank=True)
    # C1: the last check, shown on the page; re-run before every backup and restore.
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(default=False)
    check_message = models.TextField(blank=True)
    # What the site held at its last backup (ContentSummary's fields): the pages show it
    # without calling the site on every view.
    content_summary = models.JSONField(default=dict, blank=True)
    summary_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product"]
        verbose_name = "connected site"

    def __str__(self):
        return f"{self.product} → {self.site_url}"

    def __repr__(self):
        # Never the token, not even encrypted (C2).
        return f"<SiteConnection {self.pk} {self.site_url}>"

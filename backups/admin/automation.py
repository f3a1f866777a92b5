"""Admin: webhook endpoints, their deliveries and the expiry notices (SPEC A4), read-only:
they are written by the Webhooks page and the services, and a secret is never shown."""

from django.contrib import admin

from backups.models import BackupExpiryNotice, WebhookDelivery, WebhookEndpoint

from .base import ViewOnlyAdmin


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ViewOnlyAdmin):
    list_display = ["url", "organization", "events", "created_at"]
    list_filter = ["organization"]
    search_fields = ["url", "description"]
    list_select_related = ["organization"]
    exclude = ["secret_encrypted"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "endpoint", "event", "status", "attempts", "response_code"]
    list_filter = ["status", "event"]
    search_fields = ["endpoint__url"]
    date_hierarchy = "created_at"
    list_select_related = ["endpoint__organization"]


@admin.register(BackupExpiryNotice)
class BackupExpiryNoticeAdmin(ViewOnlyAdmin):
    list_display = ["sent_at", "backup"]
    list_select_related = ["backup__product__organization"]

"""Admin: the organizations' API tokens (SPEC K2), read only but for revoking: a token is made
on the API tokens page by an org admin, who alone sees it once; only its hash is kept, and that
is never shown here."""

from django.contrib import admin, messages

from backups.api.tokens import api_token_revoke
from backups.models import ApiToken

from .base import ViewOnlyAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(ViewOnlyAdmin):
    list_display = [
        "name",
        "prefix",
        "organization",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "last_used_address",
    ]
    list_filter = ["organization"]
    search_fields = ["name", "prefix", "created_by__username", "organization__name"]
    list_select_related = ["organization", "created_by"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    @admin.action(description="Revoke (the token stops working at once)")
    def revoke(self, request, queryset):
        done = sum(api_token_revoke(api_token=t, actor=request.user) for t in queryset)
        skipped = queryset.count() - done
        note = f" {skipped} skipped: already revoked." if skipped else ""
        self.message_user(
            request,
            f"{done} token(s) revoked.{note}",
            messages.SUCCESS if done else messages.WARNING,
        )

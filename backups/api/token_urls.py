"""The API tokens page's routes (K2), included by backupsite/urls.py beside backups.urls."""

from django.urls import path

from backups.views import api_tokens

ORG = "orgs/<slug:org_slug>/backup-and-restore/"

urlpatterns = [
    path(ORG + "api-tokens/", api_tokens.api_tokens, name="api_tokens"),
    path(
        ORG + "api-tokens/<int:token_id>/revoke/",
        api_tokens.api_token_revoke,
        name="api_token_revoke",
    ),
]

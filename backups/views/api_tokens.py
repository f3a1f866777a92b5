"""The API tokens page (SPEC K2): an org admin makes a token (shown once), sees every token of
the organization with when and from where it was last used, and revokes one."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from backups.access import access_api_token
from backups.api import tokens as service
from backups.models import ApiToken
from backups.services.errors import Refused

from .decorators import org_admin_required

LIFETIMES = [7, 30, 90, 180, 365]  # days; 90 the default, a year the most (K2)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What uses the token, such as “nightly backup check”.",
    )
    lifetime = forms.TypedChoiceField(
        label="Expires after",
        choices=[(d, f"{d} days") for d in LIFETIMES],
        coerce=int,
        initial=service.DEFAULT_LIFETIME.days,
    )


def _list_url(request) -> str:
    return reverse("api_tokens", args=[request.org.organization.slug])


@require_http_methods(["GET", "POST"])
@org_admin_required
def api_tokens(request):
    """The organization's tokens, and the form that makes one."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        try:
            api_token, token = service.api_token_create(
                organization=request.org.organization,
                actor=request.user,
                name=form.cleaned_data["name"],
                expires_at=now + timedelta(days=form.cleaned_data["lifetime"]),
                now=now,
            )
        except Refused as refused:
            form.add_error(None, refused.reason)
        else:
            # Shown once, on this response only: never in a message, the session or a log.
            return render(
                request,
                "backups/api_tokens_secret.html",
                {"org": request.org, "api_token": api_token, "token": token},
            )
    tokens = ApiToken.objects.filter(organization=request.org.organization).select_related(
        "created_by"
    )
    now = timezone.now()
    rows = [{"token": t, "status": ApiToken.Status(t.status_at(now))} for t in tokens]
    return render(
        request,
        "backups/api_tokens.html",
        {"org": request.org, "rows": rows, "form": form, "active": ApiToken.Status.ACTIVE},
        status=400 if form.errors else 200,
    )


@require_http_methods(["POST"])
@org_admin_required
def api_token_revoke(request, token_id: int):
    """Revoke: the second step of the Revoke… button (its confirm is on the list)."""
    api_token = access_api_token(request.org, token_id)
    if service.api_token_revoke(api_token=api_token, actor=request.user):
        messages.success(
            request,
            f"The token {api_token.name} (bks_{api_token.prefix}_…) is revoked; "
            "requests that carry it are refused from now on.",
        )
    else:
        messages.info(request, f"The token {api_token.name} was already revoked.")
    return redirect(_list_url(request))

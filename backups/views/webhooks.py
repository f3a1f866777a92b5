"""The Webhooks page (SPEC A4): an organization's endpoints, their recent deliveries, a test."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backups.access import OrgAccess, _fetch
from backups.models import WebhookEndpoint
from backups.services import webhooks as service

from .decorators import org_admin_required

RECENT_DELIVERIES = 20


def access_webhook_endpoint(org: OrgAccess, endpoint_id: int) -> WebhookEndpoint:
    """An endpoint of the organization (A4); 404 otherwise, through access.py's one door.
    (Its home is access.py, beside the other access_* helpers; it is here until that file's
    owner takes it.)"""
    return _fetch(
        org,
        WebhookEndpoint.objects.select_related("organization"),
        "Webhook endpoint",
        pk=endpoint_id,
        organization=org.organization,
    )


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=500,
        help_text="An https:// address that accepts a JSON POST, such as a Slack incoming webhook.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=[(e.value, e.label) for e in service.SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        help_text="Each event is also emailed to the org admins.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    secret = forms.CharField(
        label="Secret",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty and backupsite makes one and shows it once.",
    )

    def __init__(self, *args, endpoint: WebhookEndpoint | None = None, **kwargs):
        initial = kwargs.pop("initial", {})
        if endpoint is not None:
            initial = {
                "url": endpoint.url,
                "events": endpoint.events,
                "description": endpoint.description,
            }
        super().__init__(*args, initial=initial, **kwargs)
        if endpoint is not None:
            self.fields["secret"].help_text = "Leave empty to keep the current secret."
            self.fields["new_secret"] = forms.BooleanField(
                label="Make a new secret (shown once)", required=False
            )

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        problem = service.webhook_url_problem(url, extra_hosts=settings.WEBHOOK_EXTRA_HOSTS)
        if problem:
            raise forms.ValidationError(problem)
        return url


def _list_url(request) -> str:
    return reverse("webhooks", args=[request.org.organization.slug])


def _secret_page(request, endpoint, secret: str):
    # Shown once, on this response only: never stored in a message or the session.
    return render(
        request,
        "backups/webhooks_secret.html",
        {"org": request.org, "endpoint": endpoint, "secret": secret},
    )


@org_admin_required
def webhooks(request):
    endpoints = WebhookEndpoint.objects.filter(organization=request.org.organization)
    return render(
        request,
        "backups/webhooks.html",
        {"org": request.org, "endpoints": endpoints, "signature_header": service.SIGNATURE_HEADER},
    )


@org_admin_required
def webhook_new(request):
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = service.webhook_endpoint_create(
                organization=request.org.organization,
                actor=request.user,
                url=data["url"],
                events=data["events"],
                description=data["description"],
                secret=data["secret"] or None,
            )
        except ValueError as refused:
            form.add_error(None, str(refused))
        else:
            if data["secret"]:
                messages.success(request, f"Webhook endpoint {endpoint.url} added.")
                return redirect(_list_url(request))
            return _secret_page(request, endpoint, secret)
    return render(
        request, "backups/webhooks_form.html", {"org": request.org, "form": form, "endpoint": None}
    )


@org_admin_required
def webhook_detail(request, endpoint_id: int):
    endpoint = access_webhook_endpoint(request.org, endpoint_id)
    form = WebhookEndpointForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        secret = data["secret"] or (service.new_secret() if data.get("new_secret") else None)
        try:
            service.webhook_endpoint_update(
                endpoint=endpoint,
                actor=request.user,
                url=data["url"],
                events=data["events"],
                description=data["description"],
                secret=secret,
            )
        except ValueError as refused:
            form.add_error(None, str(refused))
        else:
            if secret and not data["secret"]:
                return _secret_page(request, endpoint, secret)
            messages.success(request, f"Webhook endpoint {endpoint.url} saved.")
            return redirect(_list_url(request))
    deliveries = endpoint.deliveries.all()[:RECENT_DELIVERIES]
    return render(
        request,
        "backups/webhooks_form.html",
        {"org": request.org, "form": form, "endpoint": endpoint, "deliveries": deliveries},
    )


@require_POST
@org_admin_required
def webhook_test(request, endpoint_id: int):
    endpoint = access_webhook_endpoint(request.org, endpoint_id)
    service.webhook_send_test(endpoint=endpoint, actor=request.user)
    messages.success(
        request, f"A test event is on its way to {endpoint.url}; its delivery is listed below."
    )
    return redirect("webhook_detail", request.org.organization.slug, endpoint.pk)


@require_POST
@org_admin_required
def webhook_delete(request, endpoint_id: int):
    endpoint = access_webhook_endpoint(request.org, endpoint_id)
    url = endpoint.url
    service.webhook_endpoint_delete(endpoint=endpoint, actor=request.user)
    messages.success(request, f"Webhook endpoint {url} deleted; it gets no more events.")
    return redirect(_list_url(request))

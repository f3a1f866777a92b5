"""Connect a site, edit and check a connection, disconnect (SPEC C1, C2)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backups.access import access_connection
from backups.forms import ConnectionForm
from backups.services.connections import (
    SiteDetails,
    connection_check,
    connection_create,
    connection_disconnect,
    connection_update,
)
from backups.services.errors import Refused

from .decorators import org_admin_required


def _org_url(request) -> str:
    return f"{reverse('org', args=[request.org.organization.slug])}#products"


def _told(request, connection) -> None:
    """The check's answer, in the words the check gave (C1)."""
    if connection.check_ok:
        messages.success(request, f"{connection.product.name}: {connection.check_message}")
    else:
        messages.error(
            request,
            f"{connection.product.name} is saved, but it cannot be used yet: "
            f"{connection.check_message}",
        )


@org_admin_required
def connection_new(request):
    org = request.org
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection = connection_create(
                organization=org.organization,
                actor=request.user,
                details=SiteDetails(
                    kind=data["kind"],
                    name=data["name"],
                    site_url=data["site_url"],
                    email=data["email"],
                    token=data["token"],
                ),
            )
        except Refused as refused:
            form.add_error(None, refused.reason)
        else:
            _told(request, connection)
            return redirect(_org_url(request))
    return render(
        request, "backups/connection_form.html", {"org": org, "form": form, "connection": None}
    )


@org_admin_required
def connection_edit(request, connection_id: int):
    org = request.org
    connection = access_connection(org, connection_id)
    form = ConnectionForm(request.POST or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection_update(
                connection=connection,
                actor=request.user,
                details=SiteDetails(
                    kind=connection.product.kind,
                    name=connection.product.name,
                    site_url=data["site_url"],
                    email=data["email"],
                    token=data["token"],
                ),
            )
        except Refused as refused:
            form.add_error(None, refused.reason)
        else:
            _told(request, connection)
            return redirect(_org_url(request))
    return render(
        request,
        "backups/connection_form.html",
        {"org": org, "form": form, "connection": connection},
    )


@require_POST
@org_admin_required
def connection_check_view(request, connection_id: int):
    connection = access_connection(request.org, connection_id)
    connection_check(connection=connection)
    _told(request, connection)
    return redirect(_org_url(request))


@require_POST
@org_admin_required
def connection_disconnect_view(request, connection_id: int):
    connection = access_connection(request.org, connection_id)
    connection_disconnect(connection=connection, actor=request.user)
    messages.success(
        request,
        f"{connection.product.name} is disconnected: its API token was deleted. Its backups "
        "stay and can still be restored.",
    )
    return redirect(_org_url(request))

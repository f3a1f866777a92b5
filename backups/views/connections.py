"""Connect a site, edit and check a connection, disconnect (SPEC C1, C2)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backups.access import access_connection
from backups.forms import ConnectionForm
from backups.services.connections import (
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


def _form_page(request, connection, save):
    """Connect a site (connection None) or edit one: the form, then `save(details)`."""
    form = ConnectionForm(request.POST or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(form.details())
        except Refused as refused:
            form.add_error(None, refused.reason)
        else:
            _told(request, saved)
            return redirect(_org_url(request))
    return render(
        request,
        "backups/connection_form.html",
        {"org": request.org, "form": form, "connection": connection},
    )


@org_admin_required
def connection_new(request):
    return _form_page(
        request,
        None,
        lambda details: connection_create(
            organization=request.org.organization, actor=request.user, details=details
        ),
    )


@org_admin_required
def connection_edit(request, connection_id: int):
    connection = access_connection(request.org, connection_id)
    return _form_page(
        request,
        connection,
        lambda details: connection_update(
            connection=connection, actor=request.user, details=details
        ),
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

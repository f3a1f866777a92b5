"""Preconditions for views: who may see an organization's Backup and restore pages."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django_htmx.http import HttpResponseClientRedirect

from backups.access import access_organization
from backups.models import Membership


def htmx_login_required(view):
    """login_required, but a polling fragment whose session ended sends the whole page to
    the login form, instead of the login form landing inside a table."""
    plain = login_required(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if getattr(request, "htmx", False) and not request.user.is_authenticated:
            page = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(redirect_to_login(page).url)
        return plain(request, *args, **kwargs)

    return wrapped


def org_admins(organization) -> list[dict]:
    """Whom a plain member asks for a backup or a restore: the org admins, by name."""
    admins = Membership.objects.filter(
        organization=organization, role=Membership.Role.ADMIN
    ).select_related("user")
    named = [
        {"name": m.user.get_full_name() or m.user.get_username(), "email": m.user.email}
        for m in admins
    ]
    return sorted(named, key=lambda a: a["name"].casefold())


def org_admin_required(view):
    """Give the view `request.org` (an OrgAccess) when the user may manage backups.

    Another organization's pages answer 404 (access_organization). A not-enrolled
    organization shows the early-access page (SPEC §1); a plain member sees that only org
    admins manage backups. Both answer 403 so that no form behind them is reachable.
    """

    @htmx_login_required
    @wraps(view)
    def wrapped(request, org_slug, *args, **kwargs):
        org = access_organization(request.user, org_slug)
        if not org.organization.enrolled:
            context = {"org": org, "contact": settings.EARLY_ACCESS_CONTACT}
            return render(request, "backups/early_access.html", context, status=403)
        if not org.is_admin:
            context = {"org": org, "admins": org_admins(org.organization)}
            return render(request, "backups/admins_only.html", context, status=403)
        request.org = org
        return view(request, *args, **kwargs)

    return wrapped

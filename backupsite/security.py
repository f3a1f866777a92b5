"""Cross-cutting request hardening: the cache rule for signed-in pages and login throttling.

django-axes counts failed logins and refuses a locked-out one (settings: "Login throttling");
this module gives it the address to count and the page a locked-out person sees.
"""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from backups.rules import format_when


class NoStoreForAuthenticatedMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in user.

    A signed-in page names organizations, backups and download links: no shared cache may keep
    it, and the browser must not show it from its cache after logout (the back button).
    Static files are the same for everyone and keep their long cache lifetime.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        static = settings.STATIC_URL or ""
        self.static_prefix = static if static.startswith(("/", "http")) else "/" + static

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(self.static_prefix):
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


def client_ip(request: HttpRequest) -> str | None:
    """The address whose failed logins are counted.

    Without a proxy it is the connection's address. Behind BACKUPSITE_PROXY_COUNT proxies that
    each append to X-Forwarded-For, it is the entry the outermost proxy added; entries left of
    it come from the client and could be forged.
    """
    count = settings.PROXY_COUNT
    if count > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The page for a refused, locked-out login (axes' AXES_LOCKOUT_CALLABLE)."""
    cool_off: timedelta = settings.AXES_COOLOFF_TIME
    # Every refused try is itself counted and restarts the cool-off, so the lock lifts at the
    # latest one cool-off after this request.
    attempted = getattr(request, "axes_attempt_time", None) or timezone.now()
    until = attempted + cool_off
    if until.second or until.microsecond:
        # Shown to the minute: round up, so that "after 14:21" is never too early.
        until = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    status = settings.AXES_HTTP_RESPONSE_CODE
    is_admin_login = request.path.startswith(reverse("admin:index"))
    context = {
        "try_again_at": format_when(until),
        "cool_off_minutes": int(cool_off.total_seconds() // 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "status": status,
        "login_url": reverse("admin:login" if is_admin_login else "login"),
    }
    return render(request, "registration/locked_out.html", context, status=status)

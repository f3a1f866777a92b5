"""The site's own error pages: what happened in plain words, and what to do next (#13 item 6).

Django calls these instead of its bare defaults: `handler400/403/404/500` in backupsite/urls.py
and CSRF_FAILURE_VIEW in settings. None of them says more than the visitor needs (no reason
codes, no "DEBUG=True"): the details are in the server's log.
"""

from django.http import HttpResponseServerError
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

# Served when even the 500 template cannot be rendered (a broken template, a missing static
# manifest): no template engine, no database, no request.
PLAIN_500 = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went '
    "wrong · backupsite</title></head><body><h1>Something went wrong on our side</h1><p>The "
    'error was recorded. Reload the page and try again in a minute.</p><p><a href="/">Back to '
    "your organizations</a></p></body></html>"
)


def _back_url(request) -> str:
    """The page the visitor came from, if it is one of ours; otherwise their home page."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("home")


@requires_csrf_token
def csrf_failure(request, reason: str = ""):
    """A form sent from a page that was open too long (or from another tab's session)."""
    context = {"back_url": _back_url(request), "no_cookie": reason == REASON_NO_CSRF_COOKIE}
    return render(request, "403_csrf.html", context, status=403)


@requires_csrf_token
def bad_request(request, exception=None):
    return render(request, "400.html", {"back_url": _back_url(request)}, status=400)


@requires_csrf_token
def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    """Django's handler500 contract: render with no request context, since whatever failed
    (the database, a context processor, the session) may fail again while rendering."""
    try:
        body = loader.get_template("500.html").render()
    except Exception:  # noqa: BLE001 - the last page the visitor sees must not fail
        body = PLAIN_500
    return HttpResponseServerError(body)

"""The site's own error pages (issue #13, item 6): a stale form, a refused page, a missing page,
a server error, each in the site's look, in plain words, with what to do next."""

import html
import re

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from backups.models import BackupPolicy
from backups.views import errors

pytestmark = pytest.mark.django_db


def text(fragment: str | bytes) -> str:
    if isinstance(fragment, bytes):
        fragment = fragment.decode()
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    fragment = re.sub(r"<[^>]+>", " ", fragment)
    return re.sub(r"\s+", " ", html.unescape(fragment)).strip()


@pytest.fixture
def strict_alice(demo):
    """alice in a browser whose form token is stale: the CSRF check is on, as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.alice)
    return client


def test_a_stale_form_gets_the_sites_page_saying_reload(strict_alice, demo):
    policy_page = reverse("policy_create", args=["acme"])
    strict_alice.get(policy_page)  # the form's page: it sets the CSRF cookie
    response = strict_alice.post(
        policy_page,
        {"product": demo.jira.pk, "csrfmiddlewaretoken": "stale-token-from-an-old-tab"},
        HTTP_REFERER=f"http://testserver{policy_page}",
    )
    assert response.status_code == 403
    words = text(response.content)
    assert "Please reload the page and try again" in words
    assert "The form you sent was out of date, so it was not accepted." in words
    assert "Nothing was changed" in words
    page = response.content.decode()
    assert f'href="http://testserver{policy_page}">Reload and try again</a>' in page
    assert 'class="site-header"' in page  # the site's look
    assert "CSRF verification failed" not in words
    assert "DEBUG" not in page
    assert not BackupPolicy.objects.filter(product=demo.jira).exists()


def test_a_stale_form_from_elsewhere_goes_home_and_no_cookie_is_said(client):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("login"), {"username": "x"}, HTTP_REFERER="https://evil.example/"
    )
    assert response.status_code == 403
    words = text(response.content)
    assert "Your browser did not send this site's security cookie" in words
    assert "Allow cookies for this site" in words
    assert 'href="/">Reload and try again</a>' in response.content.decode()


def test_404_403_400_are_the_sites_pages(client, demo):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "There is nothing here, or you do not have access to it." in text(response.content)
    assert 'class="site-header"' in response.content.decode()

    request = Client().get("/").wsgi_request
    forbidden = errors.permission_denied(request)
    assert forbidden.status_code == 403
    assert "You do not have permission to do this." in text(forbidden.content)
    bad = errors.bad_request(request)
    assert bad.status_code == 400
    assert "This request was not understood" in text(bad.content)
    assert "Reload and try again" in text(bad.content)


def test_the_handlers_are_the_sites():
    resolver = get_resolver()
    assert resolver.resolve_error_handler(400) is errors.bad_request
    assert resolver.resolve_error_handler(403) is errors.permission_denied
    assert resolver.resolve_error_handler(404) is errors.page_not_found
    assert resolver.resolve_error_handler(500) is errors.server_error


def test_the_500_page_renders_without_a_request_context(rf, monkeypatch):
    # The database may be what failed: the page must not query it (no context processors).
    from django.db import connection

    monkeypatch.setattr(
        connection, "cursor", lambda *a, **k: (_ for _ in ()).throw(AssertionError("a query"))
    )
    response = errors.server_error(rf.get("/"))
    assert response.status_code == 500
    words = text(response.content)
    assert "Something went wrong on our side" in words
    assert "Reload the page and try again in a minute." in words
    assert 'class="site-header"' in response.content.decode()


def test_the_500_page_falls_back_to_plain_html_when_its_template_fails(rf, monkeypatch):
    def broken(name):
        raise RuntimeError("the template engine is broken too")

    monkeypatch.setattr(errors.loader, "get_template", broken)
    response = errors.server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in text(response.content)


def test_a_view_that_raises_gets_the_500_page(client, demo, settings):
    """Through the whole stack: an exception in a view answers the site's 500 page."""
    settings.ROOT_URLCONF = "tests.views.error_urls"
    client.raise_request_exception = False
    client.force_login(demo.alice)
    response = client.get("/boom/")
    assert response.status_code == 500
    words = text(response.content)
    assert "Something went wrong on our side" in words
    assert "boom" not in words

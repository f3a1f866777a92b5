"""Response headers (issue #10, item 8): a strict Content-Security-Policy on every page, and
`Cache-Control: private, no-store` on every response to a signed-in user.

Requests go through the whole middleware stack (whitenoise included) with the test client.
"""

import pytest
from django.urls import reverse

from tests.helpers import manage

STRICT = {
    "default-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def cache_directives(response) -> set[str]:
    return {d.strip() for d in response.get("Cache-Control", "").split(",") if d.strip()}


@pytest.fixture
def alice(client, demo):
    client.force_login(demo.alice)
    return client


def pages_of(demo):
    acme = demo.acme.slug
    return [
        reverse("home"),
        reverse("org", args=[acme]),
        reverse("org", args=[acme]) + "?tab=backups&fragment=backups",
        reverse("policy_create", args=[acme]) + f"?product={demo.jira.pk}",
        reverse("restore_new", args=[acme]),
        reverse("upload_new", args=[acme]),
    ]


@pytest.mark.django_db
def test_the_login_page_has_the_strict_policy(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert policy(response) == STRICT
    # Nothing relaxes it: no inline code, no eval, no other origin.
    header = response["Content-Security-Policy"]
    assert "unsafe" not in header
    assert "data:" not in header


def test_every_signed_in_page_has_the_strict_policy_and_is_not_stored(alice, demo):
    for url in pages_of(demo):
        response = alice.get(url)

        assert response.status_code == 200, url
        assert policy(response) == STRICT, url
        assert {"private", "no-store"} <= cache_directives(response), url
        assert "public" not in cache_directives(response), url


def test_an_htmx_fragment_a_redirect_and_a_404_are_not_stored_either(alice, demo):
    fragment = alice.get(
        reverse("org", args=[demo.acme.slug]) + "?tab=backups&fragment=backups",
        HTTP_HX_REQUEST="true",
    )
    redirect = alice.post(reverse("logout"))

    assert fragment.status_code == 200
    assert {"private", "no-store"} <= cache_directives(fragment)
    assert redirect.status_code == 302
    assert {"private", "no-store"} <= cache_directives(redirect)


def test_a_signed_in_404_is_not_stored(alice):
    response = alice.get("/no-such-page/")

    assert response.status_code == 404
    assert {"private", "no-store"} <= cache_directives(response)
    assert policy(response) == STRICT


def test_django_admin_has_the_strict_policy_and_is_not_stored(client, demo):
    client.force_login(demo.staff)
    for url in ("/admin/", "/admin/backups/backup/", "/admin/axes/accessattempt/"):
        response = client.get(url)

        assert response.status_code == 200, url
        assert policy(response) == STRICT, url
        assert {"private", "no-store"} <= cache_directives(response), url


@pytest.mark.django_db
def test_static_files_keep_their_cache_headers(client, demo, settings):
    # whitenoise serves straight from static/, as under `make run`.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    anonymous = client.get("/static/css/site.css")
    client.force_login(demo.alice)
    signed_in = client.get("/static/css/site.css")

    for response in (anonymous, signed_in):
        assert response.status_code == 200
        assert b"htmx-indicator" in b"".join(response.streaming_content)
        assert "no-store" not in cache_directives(response)
        assert "private" not in cache_directives(response)


def test_on_s3_the_download_redirect_to_the_bucket_is_an_allowed_form_action(tmp_path):
    # A Download click posts a form that redirects to a presigned bucket URL; browsers apply
    # form-action to that redirect, so the bucket's origin must be in it, and only it.
    show = "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY)"
    common = {
        "DJANGO_DEBUG": "1",
        "BACKUPSITE_VAR_DIR": str(tmp_path),
        "BACKUPSITE_STORAGE": "s3",
        "S3_BACKUPS_BUCKET": "acme-backups",
    }
    path_style = manage("shell", "-c", show, **common, S3_ENDPOINT_URL="https://s3.example.com")
    virtual = manage(
        "shell",
        "-c",
        show,
        **common,
        S3_ENDPOINT_URL="https://s3.example.com:9000",
        S3_ADDRESSING_STYLE="virtual",
    )
    folders = manage("shell", "-c", show, DJANGO_DEBUG="1", BACKUPSITE_VAR_DIR=str(tmp_path))

    assert "'form-action': [\"'self'\", 'https://s3.example.com']" in path_style.stdout, (
        path_style.stderr
    )
    assert "'form-action': [\"'self'\", 'https://acme-backups.s3.example.com:9000']" in (
        virtual.stdout
    )
    assert "'form-action': [\"'self'\"]" in folders.stdout

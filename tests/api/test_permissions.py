"""Every endpoint with the permission matrix (K2, issue #15): no token, a revoked one, an
expired one, a token whose maker is now a plain member, another organization's org admin, and
the org admin. Each answer is validated against the OpenAPI document (conftest.py) and its
error body is K3's shape with the words a person reads."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse

from backups.services.downloads import download_start
from backups.services.files import backup_file_generate, backup_file_request
from backups.services.restores import restore_request
from backups.services.uploads import upload_start

from .conftest import check, error_of


def ready_file(world):
    backup_file = backup_file_request(backup=world.backup, actor=world.admin)
    assert backup_file_generate(file_id=backup_file.pk) == "READY"
    backup_file.refresh_from_db()
    return backup_file


def download_path(world):
    page_url = download_start(backup_file=ready_file(world), actor=world.admin)
    return "/api/v1/downloads/" + page_url.rstrip("/").rsplit("/", 1)[1] + "/"


def restore_path(world):
    restore = restore_request(destination=world.sandbox, actor=world.admin, backup=world.backup)
    return f"/api/v1/restores/{restore.pk}/"


def upload_path(world, suffix=""):
    upload = upload_start(organization=world.org, actor=world.admin, file_name="b.zip", size=5)
    return f"/api/v1/uploads/{upload.pk}/{suffix}"


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable  # world -> path
    admin: int  # what the org admin gets
    other: int = 404  # what another organization's org admin gets
    body: Callable | None = None  # world -> JSON body
    extra: dict | None = None


def static(path):
    return lambda world: path


ENDPOINTS = [
    Endpoint("organization", "get", static("/api/v1/organization/"), 200, other=200),
    Endpoint("products", "get", static("/api/v1/products/"), 200, other=200),
    Endpoint("product", "get", lambda w: f"/api/v1/products/{w.jira.pk}/", 200),
    Endpoint("connections", "get", static("/api/v1/connections/"), 200, other=200),
    Endpoint("policies", "get", static("/api/v1/policies/"), 200, other=200),
    Endpoint(
        "policy create",
        "post",
        static("/api/v1/policies/"),
        201,
        body=lambda w: {"product": w.sandbox.pk, "include_attachments": False},
    ),
    Endpoint(
        "policy",
        "get",
        lambda w: f"/api/v1/policies/{w.jira.backup_policy.pk}/",
        200,
    ),
    Endpoint(
        "policy edit",
        "patch",
        lambda w: f"/api/v1/policies/{w.jira.backup_policy.pk}/",
        200,
        body=lambda w: {"include_attachments": False},
    ),
    Endpoint("backups", "get", static("/api/v1/backups/"), 200, other=200),
    Endpoint(
        "run backup",
        "post",
        static("/api/v1/backups/"),
        409,  # B3: the COMPLETE backup of the world started the clock
        body=lambda w: {"product": w.jira.pk},
    ),
    Endpoint("backup", "get", lambda w: f"/api/v1/backups/{w.backup.pk}/", 200),
    Endpoint("generate file", "post", lambda w: f"/api/v1/backups/{w.backup.pk}/file/", 202),
    Endpoint(
        "file status",
        "get",
        lambda w: (ready_file(w), f"/api/v1/backups/{w.backup.pk}/file/")[1],
        200,
    ),
    Endpoint(
        "download link",
        "post",
        lambda w: (ready_file(w), f"/api/v1/backups/{w.backup.pk}/downloads/")[1],
        201,
    ),
    # The link is acme's admin's: another user gets the link's refusal (D4).
    Endpoint("download", "get", download_path, 200, other=403),
    Endpoint("restores", "get", static("/api/v1/restores/"), 200, other=200),
    Endpoint(
        "restore plan",
        "post",
        static("/api/v1/restores/plan/"),
        200,
        body=lambda w: {"backup": w.backup.pk, "destination": w.sandbox.pk},
    ),
    Endpoint(
        "start restore",
        "post",
        static("/api/v1/restores/"),
        201,
        body=lambda w: {"backup": w.backup.pk, "destination": w.sandbox.pk},
    ),
    Endpoint("restore", "get", restore_path, 200),
    Endpoint("uploads", "get", static("/api/v1/uploads/"), 200, other=200),
    Endpoint(
        "start upload",
        "post",
        static("/api/v1/uploads/"),
        201,
        other=201,
        body=lambda w: {"file_name": "acme.zip", "size": 10},
    ),
    Endpoint("upload", "get", upload_path, 200),
    Endpoint(
        "upload chunk",
        "put",
        lambda w: upload_path(w, "chunk/"),
        200,
        extra={
            "data": b"12345",
            "content_type": "application/octet-stream",
            "HTTP_X_UPLOAD_OFFSET": "0",
        },
    ),
    Endpoint("audit events", "get", static("/api/v1/audit-events/"), 200, other=200),
]


def call(api, endpoint: Endpoint, world, token):
    path = endpoint.path(world)
    kwargs = dict(endpoint.extra or {})
    if endpoint.body:
        kwargs["json"] = endpoint.body(world)
    if "data" in kwargs:
        # A raw body (an upload chunk): the test client's own call, then the same check.
        data = kwargs.pop("data")
        if token:
            kwargs["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        response = api.client.generic(endpoint.method.upper(), path, data, **kwargs)
        check(api.openapi, response)
        return response
    return api.request(endpoint.method, path, token=token, **kwargs)


@pytest.fixture(params=ENDPOINTS, ids=lambda e: e.name)
def endpoint(request):
    return request.param


def test_without_a_token_401_says_how_to_send_one(api, world, endpoint):
    response = call(api, endpoint, world, None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    error = error_of(response)
    assert error["code"] == "unauthenticated"
    assert error["message"].startswith("Send an API token in the header Authorization: Bearer")


def test_a_revoked_token_401(api, world, endpoint):
    error = error_of(call(api, endpoint, world, world.revoked_token))
    assert error["code"] == "unauthenticated"
    assert error["message"].startswith("This API token was revoked on ")


def test_an_expired_token_401(api, world, endpoint):
    response = call(api, endpoint, world, world.expired_token)
    assert response.status_code == 401
    assert error_of(response)["message"].startswith("This API token expired on ")


def test_an_unknown_token_401(api, world, endpoint):
    response = call(api, endpoint, world, world.token[:-4] + "abcd")
    assert response.status_code == 401
    assert error_of(response)["message"] == "This API token is not valid."


def test_a_token_whose_maker_is_now_a_member_403(api, world, endpoint):
    response = call(api, endpoint, world, world.member_token)
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "not_org_admin"
    assert error["message"] == (
        "Only org admins of Acme manage backups; this token's maker is no longer one."
    )


def test_another_organizations_admin_never_reaches_acme(api, world, endpoint):
    response = call(api, endpoint, world, world.globex_token)
    assert response.status_code == endpoint.other, response.content
    if endpoint.other == 404:
        assert error_of(response)["code"] == "not_found"
        assert error_of(response)["message"].endswith(" not found.")
    elif endpoint.other == 403:
        assert error_of(response)["message"] == "This download link was made for another user."
    elif endpoint.method == "get":
        # A list: globex's own, none of acme's.
        body = response.json()
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        if endpoint.name == "organization":
            assert body["slug"] == "globex"
        elif endpoint.name == "products":
            assert [p["name"] for p in rows] == ["Globex Jira"]
        else:
            assert all(row.get("product") != world.jira.pk for row in rows)
            assert all("acme" not in str(row).lower() for row in rows)


def test_the_org_admin_gets_the_answer(api, world, endpoint):
    response = call(api, endpoint, world, world.token)
    assert response.status_code == endpoint.admin, response.content
    if endpoint.name == "run backup":
        error = error_of(response)
        assert error["code"] == "refused"
        assert error["message"].startswith("The next backup can run after ")
        assert error["not_before"] is not None


def test_a_not_enrolled_organization_403(api, world):
    world.org.enrolled = False
    world.org.save()
    response = api.get("/api/v1/backups/", token=world.token)
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "not_enrolled",
        "message": "Backup and restore is in early access, and Acme is not enrolled yet. To use "
        "it for your organization, contact your account representative.",
        "not_before": None,
    }


def test_the_schema_and_docs_are_public_and_csp_clean(client):
    schema = client.get("/api/v1/schema/?format=json", HTTP_HOST="localhost")
    assert schema.json()["openapi"].startswith("3.1")
    assert "/api/v1/backups/{backup_id}/downloads/" in schema.json()["paths"]
    docs = client.get(reverse("api_docs"), HTTP_HOST="localhost")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "<script>" not in page and "<style>" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "default-src 'self'" in docs["Content-Security-Policy"]

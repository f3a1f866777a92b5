"""The API tests' client (K4): every response a test receives is validated against the
OpenAPI document the site serves, its status, headers and body, before the test sees it.

    def test_something(api, world):
        response = api.get("/api/v1/backups/", token=world.token)

`api` wraps Django's test client; `live_api` (tests/api/test_end_to_end.py) wraps requests
against live_server. Neither lets a response through unchecked.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.http.request import RawPostDataException
from django.test import Client, RequestFactory
from django.utils import timezone
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse

from backups.api.tokens import api_token_create, api_token_revoke
from backups.models import Membership
from tests.factories import complete_backup, jira_product, member_of, org_with_admin


@pytest.fixture(scope="session")
def openapi_spec(django_db_blocker):
    """The document as /api/v1/schema/ serves it (JSON), read once."""
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/schema/?format=json", HTTP_HOST="localhost")
    assert response.status_code == 200
    return OpenAPI.from_dict(response.json())


def check(openapi: OpenAPI, response) -> None:
    """Validate one Django test client response against the document (K4)."""
    checked = DjangoOpenAPIResponse(response)
    if response.streaming:
        # A backup file: read the stream once and keep its bytes for the test. The document
        # says `type: string, format: binary`; the validator reads a str, so the bytes are
        # handed over as one (latin-1 maps every byte to one character).
        body = b"".join(response.streaming_content)
        response.streamed_bytes = body
        checked = Checked(
            data=body.decode("latin-1"),
            status_code=response.status_code,
            content_type=response["Content-Type"],
            headers=dict(response.items()),
        )
    request = response.wsgi_request
    try:
        request.body  # noqa: B018 - an upload chunk's view read the stream itself
    except RawPostDataException:
        # Only its method and path matter to find the documented response.
        request = RequestFactory().generic(
            request.method, request.get_full_path(), b"", HTTP_HOST="localhost"
        )
    openapi.validate_response(DjangoOpenAPIRequest(request), checked)


@dataclass
class Checked:
    """A response as openapi-core reads one (its ResponseProtocol)."""

    data: str
    status_code: int
    content_type: str
    headers: dict


class ApiClient:
    """Django's test client with a bearer token; every response checked against the schema."""

    def __init__(self, openapi: OpenAPI):
        self.client = Client(HTTP_HOST="localhost")
        self.openapi = openapi

    def request(self, method: str, path: str, *, token: str | None = None, json=None, **extra):
        if token is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        call = getattr(self.client, method)
        if json is not None:
            response = call(path, json, content_type="application/json", **extra)
        else:
            response = call(path, **extra)
        check(self.openapi, response)
        return response

    def get(self, path, **kw):
        return self.request("get", path, **kw)

    def post(self, path, **kw):
        return self.request("post", path, **kw)

    def patch(self, path, **kw):
        return self.request("patch", path, **kw)

    def put(self, path, **kw):
        return self.request("put", path, **kw)


@pytest.fixture
def api(openapi_spec):
    return ApiClient(openapi_spec)


def error_of(response) -> dict:
    """K3's one error shape: the `error` object (and nothing else at the top)."""
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


@dataclass
class World:
    """acme (enrolled) with its admin, a Jira product with a COMPLETE backup and an empty
    sandbox; globex with its admin; a token for each kind of caller of the matrix."""

    org: object
    admin: object
    jira: object
    sandbox: object
    backup: object
    token: str  # acme's org admin
    globex_token: str  # globex's org admin: acme's objects are not found
    member_token: str  # made while an admin, its maker is now a plain member
    revoked_token: str
    expired_token: str


@pytest.fixture
def world(db, sync_tasks):
    org, admin = org_with_admin("acme")
    jira = jira_product(org, "Acme Jira", projects=1, issues=2)
    sandbox = jira_product(org, "Acme Jira sandbox", projects=0, issues=0)
    backup = complete_backup(jira, admin)
    _, token = api_token_create(organization=org, actor=admin, name="script")
    globex, globex_admin = org_with_admin("globex")
    jira_product(globex, "Globex Jira")
    _, globex_token = api_token_create(organization=globex, actor=globex_admin, name="g")
    demoted = member_of(org, "dee", role=Membership.Role.ADMIN)
    _, member_token = api_token_create(organization=org, actor=demoted, name="dee's")
    Membership.objects.filter(user=demoted).update(role=Membership.Role.MEMBER)
    revoked, revoked_token = api_token_create(organization=org, actor=admin, name="old")
    api_token_revoke(api_token=revoked, actor=admin)
    past = timezone.now() - timedelta(days=100)
    _, expired_token = api_token_create(organization=org, actor=admin, name="exp", now=past)
    return World(
        org=org,
        admin=admin,
        jira=jira,
        sandbox=sandbox,
        backup=backup,
        token=token,
        globex_token=globex_token,
        member_token=member_token,
        revoked_token=revoked_token,
        expired_token=expired_token,
    )

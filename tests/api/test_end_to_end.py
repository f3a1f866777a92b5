"""The issue's script (#15, K1-K4), with nothing but the API and a plain HTTP client
(`requests` against live_server): create a policy, run a backup, poll it to COMPLETE,
generate its file, download it three times (the fourth refused with D3's words), plan a
restore into the sandbox, start it, poll it to COMPLETE. README.md shows it as curl.

The worker is played by `worker.run_queued()`: between two polls it runs what the API queued
in django-q2's ORM queue, as a qcluster would. Every response is validated against the
OpenAPI document the site serves (K4).
"""

import hashlib
import io
import zipfile
from datetime import datetime, timedelta

import pytest
import requests
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from backups.api.tokens import api_token_create
from backups.models import Backup, JiraIssue
from backups.rules import format_when
from tests.factories import jira_product, org_with_admin


class Worker:
    """Runs the tasks waiting in django-q2's ORM queue, oldest first (a qcluster's job)."""

    def run_queued(self) -> int:
        ran = 0
        for queued in OrmQ.objects.order_by("id"):
            task = SignedPackage.loads(queued.payload)
            queued.delete()
            func = task["func"]
            (import_string(func) if isinstance(func, str) else func)(
                *task["args"], **task["kwargs"]
            )
            ran += 1
        return ran


class LiveApi:
    """requests with the token; every response checked against the served document."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        schema = requests.get(f"{base}/api/v1/schema/?format=json", timeout=10)
        self.openapi = OpenAPI.from_dict(schema.json())

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        response = self.session.request(method, url, timeout=30, **kwargs)
        checked = RequestsOpenAPIResponse(response)
        if response.headers.get("Content-Type") == "application/zip":
            checked = _Text(response)
        self.openapi.validate_response(RequestsOpenAPIRequest(response.request), checked)
        return response


class _Text:
    """A binary response as the validator reads it (see conftest.check)."""

    def __init__(self, response):
        self.data = response.content.decode("latin-1")
        self.status_code = response.status_code
        self.content_type = response.headers["Content-Type"]
        self.headers = response.headers


def poll(api: LiveApi, worker: Worker, path: str, done, *, tries: int = 20) -> dict:
    """GET `path` until done(body) holds; the worker runs what is queued between two GETs."""
    for _ in range(tries):
        body = api.call("GET", path).json()
        if done(body):
            return body
        worker.run_queued()
    raise AssertionError(f"{path} never got there: {body}")


@pytest.fixture
def script_world(transactional_db, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    org, admin = org_with_admin("acme")
    jira = jira_product(org, "Acme Jira", projects=2, issues=3)
    sandbox = jira_product(org, "Acme Jira sandbox", projects=0, issues=0)
    _, token = api_token_create(organization=org, actor=admin, name="runbook")
    api = LiveApi(live_server.url, token)
    yield api, jira, sandbox
    # Before live_server stops: a kept-alive connection would outlive the test in a server
    # thread, which would then close the test database's shared SQLite connection.
    api.session.close()


def test_the_issue_script_through_the_api_only(script_world):
    api, jira, sandbox = script_world
    worker = Worker()

    policy = api.call(
        "POST", "/api/v1/policies/", json={"product": jira.pk, "include_attachments": True}
    )
    assert policy.status_code == 201, policy.text
    assert policy.json()["run_backup"] == {"allowed": True, "reason": "", "not_before": None}

    started = api.call("POST", "/api/v1/backups/", json={"product": jira.pk})
    assert started.status_code == 201, started.text
    backup = started.json()
    assert (backup["status"], backup["trigger"]) == ("IN_PROGRESS", "api")
    backup = poll(
        api, worker, f"/api/v1/backups/{backup['id']}/", lambda b: b["status"] != "IN_PROGRESS"
    )
    assert backup["status"] == "COMPLETE", backup
    assert backup["counts"]["issues"]["rows"] == 6

    # B3: a second backup now is refused with the page's words and when it may run.
    again = api.call("POST", "/api/v1/backups/", json={"product": jira.pk})
    assert again.status_code == 409
    error = again.json()["error"]
    not_before = datetime.fromisoformat(error["not_before"])
    assert not_before == datetime.fromisoformat(backup["completed_at"]) + timedelta(days=7)
    assert error["message"] == (
        f"The next backup can run after {format_when(not_before)} — 7 days after the last "
        "complete backup."
    )

    generating = api.call("POST", f"/api/v1/backups/{backup['id']}/file/")
    assert generating.status_code == 202 and generating.json()["status"] == "GENERATING"
    ready = poll(
        api, worker, f"/api/v1/backups/{backup['id']}/file/", lambda f: f["status"] == "READY"
    )
    assert ready["downloads_left"] == 3

    for number in (1, 2, 3):
        link = api.call("POST", f"/api/v1/backups/{backup['id']}/downloads/")
        assert link.status_code == 201, link.text
        assert link.json()["download"] == number
        assert link.json()["downloads_left"] == 3 - number
        got = api.call("GET", link.json()["url"])
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == ready["sha256"]
        assert got.headers["X-Backup-SHA256"] == ready["sha256"]
        assert "manifest.json" in zipfile.ZipFile(io.BytesIO(got.content)).namelist()
        # D6: the link gave its copy; a second complete copy through it is refused.
        if number == 1:
            twice = api.call("GET", link.json()["url"])
            assert twice.status_code == 403
            assert twice.json()["error"]["code"] == "link_refused"
    fourth = api.call("POST", f"/api/v1/backups/{backup['id']}/downloads/")
    assert fourth.status_code == 409
    assert fourth.json()["error"]["message"] == (
        "This backup has been downloaded 3 times, the most allowed. Run a new backup to "
        "download its file."
    )

    choice = {"backup": backup["id"], "destination": sandbox.pk}
    plan = api.call("POST", "/api/v1/restores/plan/", json=choice)
    assert plan.status_code == 200, plan.text
    assert plan.json()["allowed"] is True
    restored = {row["label"]: row["rows"] for row in plan.json()["restored"]}
    assert restored["Projects"] == 2 and restored["Issues"] == 6
    # R6: Acme Jira itself is not empty; the plan says why, in the review's words.
    into_itself = api.call(
        "POST", "/api/v1/restores/plan/", json={**choice, "destination": jira.pk}
    )
    assert into_itself.json()["allowed"] is False
    assert into_itself.json()["reason"] == (
        "Acme Jira has 2 projects and 6 issues. A Jira backup can only be restored into an "
        "empty Jira site: no projects or issues, archived and trashed ones included."
    )

    start = api.call("POST", "/api/v1/restores/", json=choice)
    assert start.status_code == 201, start.text
    restore = poll(
        api,
        worker,
        f"/api/v1/restores/{start.json()['id']}/",
        lambda r: r["status"] != "IN_PROGRESS",
    )
    assert restore["status"] == "COMPLETE", restore
    assert restore["progress"]["percent"] == 100
    assert {r["label"]: r["restored"] for r in restore["report"]}["Issues"] == 6
    assert JiraIssue.objects.filter(product=sandbox).count() == 6
    assert Backup.objects.get(pk=backup["id"]).trigger == Backup.Trigger.API

    events = api.call("GET", "/api/v1/audit-events/?action=backup_file.downloaded").json()
    assert events["count"] == 3

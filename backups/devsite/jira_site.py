"""A Jira Cloud site on 127.0.0.1: the contract server the connected-site tests talk to.

A real HTTP server (threads, keep-alive) that plays Jira Cloud's REST API v3 for the
operations backupsite and a third-party client use. It is stateful — projects, issues with
their fields, comments, attachments — so content can be backed up, wiped, restored into and
compared. Every request it receives and every response it sends is validated against the
API's published schemas (backups/devsite/jira_schemas.py); a violation is recorded, answered
with 400 (a bad request) or kept from going out (500), and fails the test that caused it.

Faults are injected on demand (`site.fail(...)`): 429 with Retry-After, 500/503, a dropped
connection, a slow attachment, a token revoked midway, a response of the wrong shape.

Attachments are served as Jira serves them: /rest/api/3/attachment/content/{id} answers 303
to a media host (here `localhost` instead of `127.0.0.1`: another origin), which must not be
sent the credentials.
"""

import base64
import functools
import hashlib
import itertools
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jsonschema
from referencing import Registry, Resource

from .jira_schemas import OPERATIONS, SCHEMAS

ROOT_SCHEMA = {"components": {"schemas": SCHEMAS}}
INLINE_COMMENTS = 20  # comments Jira includes in an issue's `comment` field
REGISTRY = Registry().with_resource("urn:jira", Resource.opaque(ROOT_SCHEMA))


@functools.cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"urn:jira#/components/schemas/{schema_name}"}
    return jsonschema.Draft202012Validator(schema, registry=REGISTRY)


def validate(schema_name: str, instance) -> list[str]:
    """The schema violations of `instance` (empty when it is valid)."""
    validator = _validator(schema_name)
    return [
        f"{schema_name}{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "+0000")


@dataclass
class Fault:
    method: str
    path: re.Pattern
    kind: str  # an HTTP status ("429", "503", "400"…), "drop", "slow", "shape", "revoke"
    times: int = 1
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class Account:
    account_id: str
    email: str
    token: str
    display_name: str
    admin: bool = True


@dataclass
class State:
    projects: dict[str, dict] = field(default_factory=dict)  # key -> project
    issues: dict[str, dict] = field(default_factory=dict)  # key -> issue
    files: dict[str, bytes] = field(default_factory=dict)  # attachment id -> content


class JiraSite:
    """Start with `site.start()`; `site.url` is the site's base URL."""

    def __init__(self, *, page_limit: int = 100):
        self.state = State()
        self.accounts: dict[str, Account] = {}
        self.faults: list[Fault] = []
        self.violations: list[str] = []
        self.requests: list[tuple[str, str, int]] = []  # method, path, status
        self.media_requests: list[dict] = []  # headers seen by the media host
        self.page_limit = page_limit
        self.lock = threading.RLock()
        self._ids = itertools.count(10_000)
        self._server: ThreadingHTTPServer | None = None
        self.latency = 0.0  # seconds added to every API call (benchmarks)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, *, port: int = 0) -> "JiraSite":
        """Serve on 127.0.0.1: on a free port (tests), or on `port` (make run's site)."""
        site = self

        class Handler(_Handler):
            pass

        Handler.site = site
        self._server = _Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def media_url(self) -> str:
        return f"http://localhost:{self.port}"

    # --- test helpers --------------------------------------------------------------------

    def add_account(self, email: str, token: str, *, admin: bool = True, name: str = "") -> Account:
        account = Account(
            account_id=f"5b10{uuid.uuid4().hex[:20]}",
            email=email,
            token=token,
            display_name=name or email.split("@")[0].title(),
            admin=admin,
        )
        self.accounts[email] = account
        return account

    def revoke(self, email: str) -> None:
        self.accounts[email].token = "revoked-" + uuid.uuid4().hex

    def fail(self, method: str, path: str, kind: str, *, times: int = 1, **kw) -> None:
        """The next `times` matching calls get the fault `kind` (path is a regex)."""
        with self.lock:
            self.faults.append(Fault(method, re.compile(path), kind, times, **kw))

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_project(self, key: str, name: str, *, state: str = "live", lead: Account) -> dict:
        project = {
            "id": self.next_id(),
            "key": key,
            "name": name,
            "state": state,
            "lead": lead.account_id,
            "next_number": 1,
        }
        self.state.projects[key] = project
        return project

    def add_issue(self, project_key: str, fields: dict, *, number: int | None = None) -> dict:
        project = self.state.projects[project_key]
        if number is None:
            number = project["next_number"]
        project["next_number"] = max(project["next_number"], number + 1)
        key = f"{project_key}-{number}"
        stamp = now_iso()
        issue = {
            "id": self.next_id(),
            "key": key,
            "project": project_key,
            "fields": {
                "summary": "",
                "issuetype": {"name": "Task"},
                "status": {"name": "To Do"},
                "priority": {"name": "Medium"},
                "labels": [],
                "created": stamp,
                "updated": stamp,
                **fields,
            },
            "comments": [],
            "attachments": [],
        }
        self.state.issues[key] = issue
        return issue

    def add_comment(self, issue_key: str, body: dict, author: Account) -> dict:
        comment = {"id": self.next_id(), "body": body, "author": author.account_id}
        comment["created"] = comment["updated"] = now_iso()
        self.state.issues[issue_key]["comments"].append(comment)
        return comment

    def add_attachment(self, issue_key: str, name: str, content: bytes, author: Account) -> dict:
        attachment = {
            "id": self.next_id(),
            "filename": name,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "author": author.account_id,
            "created": now_iso(),
        }
        self.state.files[attachment["id"]] = content
        self.state.issues[issue_key]["attachments"].append(attachment)
        return attachment

    def add_link(self, type_name: str, inward: str, outward: str) -> None:
        """`inward` <type's outward words> `outward` (e.g. ACME-1 blocks ACME-2), as Jira
        shows it on both issues."""
        kind = LINK_TYPES[type_name]
        link_id = self.next_id()
        self.state.issues[inward]["fields"].setdefault("issuelinks", []).append(
            {"id": link_id, "type": kind, "outwardIssue": {"key": outward}}
        )
        self.state.issues[outward]["fields"].setdefault("issuelinks", []).append(
            {"id": link_id, "type": kind, "inwardIssue": {"key": inward}}
        )

    def wipe(self) -> None:
        with self.lock:
            self.state = State()

    def snapshot(self) -> dict:
        """What the site holds, for comparisons: projects, issues, comments, file hashes."""
        with self.lock:
            return {
                "projects": {
                    k: {"name": p["name"], "state": p["state"]}
                    for k, p in self.state.projects.items()
                },
                "issues": {
                    k: {
                        "fields": {
                            f: v
                            for f, v in i["fields"].items()
                            if f not in ("created", "updated", "reporter", "creator")
                        },
                        "comments": [c["body"] for c in i["comments"]],
                        "attachments": sorted(
                            (a["filename"], a["sha256"]) for a in i["attachments"]
                        ),
                    }
                    for k, i in self.state.issues.items()
                },
            }

    def account_by_id(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.account_id == account_id), None)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that goes away mid-request (a worker process ending) is not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Dropped(Exception):
    """Close the connection without an answer."""


class _Handler(BaseHTTPRequestHandler):
    site: JiraSite
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without this, Nagle holds the body until the
    # client's delayed ACK, 40 ms a response.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    # --- dispatch ------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        site = self.site
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()  # a streamed upload of unknown length
        else:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
        try:
            if path.startswith("/media/"):
                return self._media(path, query)
            if site.latency:
                time.sleep(site.latency)
            fault = self._fault(method, path)
            if fault and fault.kind.isdigit():  # "429", "500", "503", "400", …
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return self._json(int(fault.kind), _errors("Injected fault"), headers=headers)
            if fault and fault.kind == "drop":
                raise Dropped()
            if fault and fault.kind == "revoke":
                site.revoke(next(iter(site.accounts)))
            account = self._account()
            if account is None:
                return self._send(401, b"Unauthorized", "text/plain", validate_as=None)
            template, params = _match(method, path)
            if template is None:
                return self._json(404, _errors(f"No such resource: {method} {path}"))
            body = None
            request_schema, responses = OPERATIONS[(method, template)]
            if request_schema:
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    return self._json(400, _errors("The request body is not JSON."))
                problems = validate(request_schema, body)
                if problems:
                    site.violations.extend(f"request {method} {path}: {p}" for p in problems)
                    return self._json(400, _errors(*problems))
            handler = getattr(self, "op_" + _op_name(method, template))
            status, payload, headers = handler(account, params, query, body, raw)
            if fault and fault.kind == "shape" and isinstance(payload, dict):
                # The wrong shape on purpose: it must be refused by the client, not sent on
                # to the schema check (which would stop it here).
                return self._send(status, json.dumps(_wrong_shape(payload)).encode())
            schema = responses.get(status, "ErrorCollection" if status >= 400 else None)
            return self._json(status, payload, headers=headers, validate_as=schema)
        except Dropped:
            self._record(0)
            self.close_connection = True
            self.connection.close()

    def _record(self, status: int) -> None:
        # Before the answer goes out: a client that has its answer finds its call recorded.
        with self.site.lock:
            self.site.requests.append((self.command, urlsplit(self.path).path, status))

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _fault(self, method: str, path: str) -> Fault | None:
        with self.site.lock:
            for fault in self.site.faults:
                if fault.times > 0 and fault.method == method and fault.path.search(path):
                    fault.times -= 1
                    return fault
        return None

    def _account(self) -> Account | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            email, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        account = self.site.accounts.get(email)
        return account if account and account.token == token else None

    # --- responses -----------------------------------------------------------------------

    def _json(self, status, payload, *, headers=None, validate_as="ErrorCollection"):
        if validate_as and status != 204:
            problems = validate(validate_as, payload)
            if problems:
                self.site.violations.extend(f"response {self.path}: {p}" for p in problems)
                return self._send(500, json.dumps(_errors(*problems)).encode())
        body = b"" if status == 204 else json.dumps(payload).encode()
        return self._send(status, body, headers=headers)

    def _send(self, status, body: bytes, ctype="application/json", *, headers=None, **_):
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _media(self, path: str, query: dict) -> None:
        site = self.site
        site.media_requests.append(dict(self.headers.items()))
        attachment_id = path.rsplit("/", 1)[-1]
        content = site.state.files.get(attachment_id)
        if content is None or query.get("token", [""])[0] != _media_token(attachment_id):
            return self._send(404, b"not found", "text/plain")
        fault = self._fault("GET", path)
        self._record(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if fault and fault.kind == "drop":
            self.wfile.write(content[: len(content) // 2])
            self.close_connection = True
            return
        step = 64 * 1024
        for start in range(0, len(content), step):
            if fault and fault.kind == "slow":
                time.sleep(fault.seconds)
            self.wfile.write(content[start : start + step])

    # --- operations (each returns status, payload, headers) ------------------------------

    def _user(self, account: Account) -> dict:
        return {
            "accountId": account.account_id,
            "accountType": "atlassian",
            "active": True,
            "displayName": account.display_name,
            "emailAddress": account.email,
            "self": f"{self.site.url}/rest/api/3/user?accountId={account.account_id}",
            "timeZone": "UTC",
        }

    def _user_details(self, account_id: str) -> dict:
        account = self.site.account_by_id(account_id)
        return {
            "accountId": account_id,
            "accountType": "atlassian",
            "active": account is not None,
            "displayName": account.display_name if account else "Former user",
            "self": f"{self.site.url}/rest/api/3/user?accountId={account_id}",
        }

    def op_get_myself(self, account, params, query, body, raw):
        return 200, self._user(account), None

    def op_get_mypermissions(self, account, params, query, body, raw):
        wanted = [p for p in ",".join(query.get("permissions", [""])).split(",") if p]
        if not wanted:
            return 400, _errors("The permissions query parameter is required."), None
        perms = {
            key: {
                "id": "0" if key == "ADMINISTER" else "10",
                "key": key,
                "name": key.replace("_", " ").title(),
                "type": "GLOBAL",
                "description": f"The {key} permission.",
                "havePermission": account.admin if key == "ADMINISTER" else True,
            }
            for key in wanted
        }
        return 200, {"permissions": perms}, None

    def op_get_serverInfo(self, account, params, query, body, raw):
        info = {
            "baseUrl": self.site.url,
            "deploymentType": "Cloud",
            "serverTitle": "Jira (contract server)",
            "version": "1001.0.0-SNAPSHOT",
        }
        return 200, info, None

    def _project(self, p: dict) -> dict:
        out = {
            "id": p["id"],
            "key": p["key"],
            "name": p["name"],
            "self": f"{self.site.url}/rest/api/3/project/{p['id']}",
            "projectTypeKey": "software",
            "simplified": False,
            "style": "classic",
            "isPrivate": False,
            "archived": p["state"] == "archived",
            "deleted": p["state"] == "deleted",
        }
        lead = self.site.account_by_id(p["lead"])
        if lead:
            out["lead"] = self._user(lead)
        if p["state"] == "archived":
            out["archivedDate"] = now_iso()
        if p["state"] == "deleted":
            out["deletedDate"] = now_iso()
            out["retentionTillDate"] = now_iso()
        return out

    def op_get_project_search(self, account, params, query, body, raw):
        wanted = {s for v in query.get("status", ["live"]) for s in v.split(",")}
        start = int(query.get("startAt", ["0"])[0])
        limit = min(100, int(query.get("maxResults", ["50"])[0]))
        with self.site.lock:
            projects = sorted(
                (p for p in self.site.state.projects.values() if p["state"] in wanted),
                key=lambda p: p["key"],
            )
        page = projects[start : start + limit]
        return (
            200,
            {
                "self": f"{self.site.url}/rest/api/3/project/search?startAt={start}",
                "startAt": start,
                "maxResults": limit,
                "total": len(projects),
                "isLast": start + limit >= len(projects),
                "values": [self._project(p) for p in page],
            },
            None,
        )

    def op_get_project(self, account, params, query, body, raw):
        p = self._find_project(params["projectIdOrKey"])
        if p is None:
            return 404, _errors("No project could be found with key or id."), None
        return 200, self._project(p), None

    def op_post_project(self, account, params, query, body, raw):
        if not account.admin:
            return 403, _errors("You must have global administrator rights."), None
        key = body["key"]
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,9}", key):
            return 400, {"errorMessages": [], "errors": {"projectKey": "Invalid key."}}, None
        with self.site.lock:
            if key in self.site.state.projects:
                msg = f"Project '{key}' uses this project key."
                return 400, {"errorMessages": [], "errors": {"projectKey": msg}}, None
            lead = body.get("leadAccountId") or account.account_id
            p = self.site.add_project(key, body["name"], lead=self.site.account_by_id(lead))
        self_url = f"{self.site.url}/rest/api/3/project/{p['id']}"
        return 201, {"id": int(p["id"]), "key": key, "self": self_url}, None

    def op_delete_project(self, account, params, query, body, raw):
        with self.site.lock:
            p = self._find_project(params["projectIdOrKey"])
            if p is None:
                return 404, _errors("No project could be found with key or id."), None
            if query.get("enableUndo", ["true"])[0] == "true":
                p["state"] = "deleted"  # to the trash
            else:
                del self.site.state.projects[p["key"]]
                for key in [
                    k for k, i in self.site.state.issues.items() if i["project"] == p["key"]
                ]:
                    del self.site.state.issues[key]
        return 204, None, None

    def op_post_project_archive(self, account, params, query, body, raw):
        with self.site.lock:
            p = self._find_project(params["projectIdOrKey"])
            if p is None:
                return 404, _errors("No project could be found with key or id."), None
            if p["state"] != "live":
                return 400, _errors("Only a live project can be archived."), None
            p["state"] = "archived"
        return 204, None, None

    def _find_project(self, id_or_key: str) -> dict | None:
        projects = self.site.state.projects
        return projects.get(id_or_key) or next(
            (p for p in projects.values() if p["id"] == id_or_key), None
        )

    def _issue(self, issue: dict, fields: list[str]) -> dict:
        all_fields = {
            **issue["fields"],
            "project": {
                "key": issue["project"],
                "id": self.site.state.projects[issue["project"]]["id"],
            },
            # As Jira does: the first comments inline, the rest through /comment.
            "comment": {
                "comments": [self._comment(c) for c in issue["comments"][:INLINE_COMMENTS]],
                "maxResults": INLINE_COMMENTS,
                "total": len(issue["comments"]),
                "startAt": 0,
            },
            "attachment": [self._attachment(a) for a in issue["attachments"]],
        }
        if fields and "*all" not in fields and "*navigable" not in fields:
            all_fields = {k: v for k, v in all_fields.items() if k in fields}
        return {
            "id": issue["id"],
            "key": issue["key"],
            "self": f"{self.site.url}/rest/api/3/issue/{issue['id']}",
            "fields": all_fields,
        }

    def _attachment(self, a: dict) -> dict:
        return {
            "id": a["id"],
            "filename": a["filename"],
            "size": a["size"],
            "mimeType": "application/octet-stream",
            "created": a["created"],
            "author": self._user_details(a["author"]),
            "self": f"{self.site.url}/rest/api/3/attachment/{a['id']}",
            "content": f"{self.site.url}/rest/api/3/attachment/content/{a['id']}",
        }

    def op_get_search_jql(self, account, params, query, body, raw):
        jql = query.get("jql", [""])[0]
        match = re.fullmatch(r'project\s*=\s*"?([A-Z][A-Z0-9_]*)"?(\s+ORDER BY key ASC)?', jql)
        if not match:
            return 400, _errors(f"The contract server does not understand the JQL {jql!r}."), None
        project = match.group(1)
        limit = min(self.site.page_limit, int(query.get("maxResults", ["50"])[0]))
        start = int(query.get("nextPageToken", ["0"])[0] or 0)
        fields = [f for v in query.get("fields", ["*navigable"]) for f in v.split(",")]
        with self.site.lock:
            issues = sorted(
                (i for i in self.site.state.issues.values() if i["project"] == project),
                key=lambda i: int(i["key"].rsplit("-", 1)[1]),
            )
            page = [self._issue(i, fields) for i in issues[start : start + limit]]
        result = {"issues": page, "isLast": start + limit >= len(issues)}
        if not result["isLast"]:
            result["nextPageToken"] = str(start + limit)
        return 200, result, None

    def op_get_issue(self, account, params, query, body, raw):
        issue = self.site.state.issues.get(params["issueIdOrKey"])
        if issue is None:
            return (
                404,
                _errors("Issue does not exist or you do not have permission to see it."),
                None,
            )
        fields = [f for v in query.get("fields", ["*all"]) for f in v.split(",")]
        return 200, self._issue(issue, fields), None

    def op_post_issue_bulk(self, account, params, query, body, raw):
        """Up to 50 issues, created in the order given (as Jira does); the ones refused are
        listed in `errors` by their position."""
        updates = body.get("issueUpdates") or []
        if len(updates) > 50:
            return 400, _errors("No more than 50 issues can be created at once."), None
        issues, errors = [], []
        for n, update in enumerate(updates):
            status, payload, _ = self.op_post_issue(account, params, query, update, raw)
            if status == 201:
                issues.append(payload)
            else:
                errors.append(
                    {
                        "status": status,
                        "failedElementNumber": n,
                        "elementErrors": {
                            "errorMessages": payload.get("errorMessages", []),
                            "errors": payload.get("errors", {}),
                        },
                    }
                )
        return (201 if not errors else 400), {"issues": issues, "errors": errors}, None

    def op_post_issue(self, account, params, query, body, raw):
        fields = dict(body.get("fields") or {})
        project_ref = fields.pop("project", None) or {}
        key = project_ref.get("key") or next(
            (
                p["key"]
                for p in self.site.state.projects.values()
                if p["id"] == project_ref.get("id")
            ),
            None,
        )
        errors = {}
        if key not in self.site.state.projects:
            errors["project"] = "valid project is required"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if "status" in fields:  # as Jira: a new issue starts in its workflow's first status
            errors["status"] = (
                "Field 'status' cannot be set. It is not on the appropriate screen, or unknown."
            )
        if "description" in fields and not _is_adf(fields["description"]):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        if errors:
            return 400, {"errorMessages": [], "errors": errors}, None
        with self.site.lock:
            issue = self.site.add_issue(key, fields)
            issue["fields"]["reporter"] = {"accountId": account.account_id}
        self_url = f"{self.site.url}/rest/api/3/issue/{issue['id']}"
        return 201, {"id": issue["id"], "key": issue["key"], "self": self_url}, None

    def op_delete_issue(self, account, params, query, body, raw):
        with self.site.lock:
            issue = self.site.state.issues.pop(params["issueIdOrKey"], None)
        if issue is None:
            return (
                404,
                _errors("Issue does not exist or you do not have permission to see it."),
                None,
            )
        return 204, None, None

    def _comment(self, c: dict) -> dict:
        return {
            "id": c["id"],
            "self": f"{self.site.url}/rest/api/3/comment/{c['id']}",
            "author": self._user_details(c["author"]),
            "updateAuthor": self._user_details(c["author"]),
            "body": c["body"],
            "created": c["created"],
            "updated": c["updated"],
            "jsdPublic": True,
        }

    def op_get_issue_comment(self, account, params, query, body, raw):
        issue = self.site.state.issues.get(params["issueIdOrKey"])
        if issue is None:
            return (
                404,
                _errors("Issue does not exist or you do not have permission to see it."),
                None,
            )
        start = int(query.get("startAt", ["0"])[0])
        limit = min(self.site.page_limit, int(query.get("maxResults", ["50"])[0]))
        comments = issue["comments"]
        return (
            200,
            {
                "startAt": start,
                "maxResults": limit,
                "total": len(comments),
                "comments": [self._comment(c) for c in comments[start : start + limit]],
            },
            None,
        )

    def op_post_issue_comment(self, account, params, query, body, raw):
        issue = self.site.state.issues.get(params["issueIdOrKey"])
        if issue is None:
            return (
                404,
                _errors("Issue does not exist or you do not have permission to see it."),
                None,
            )
        if not _is_adf(body.get("body")):
            return 400, _errors("Comment body is not valid!"), None
        with self.site.lock:
            comment = self.site.add_comment(issue["key"], body["body"], account)
        return 201, self._comment(comment), None

    def op_post_issue_attachments(self, account, params, query, body, raw):
        issue = self.site.state.issues.get(params["issueIdOrKey"])
        if issue is None:
            return (
                404,
                _errors("Issue does not exist or you do not have permission to see it."),
                None,
            )
        if self.headers.get("X-Atlassian-Token") != "no-check":
            return 403, _errors("XSRF check failed"), None
        files = _multipart_files(self.headers.get("Content-Type", ""), raw)
        if not files:
            return 400, _errors("No file was sent in the 'file' part."), None
        with self.site.lock:
            created = [self.site.add_attachment(issue["key"], n, c, account) for n, c in files]
        return 200, [self._attachment(a) for a in created], None

    def op_get_issue_transitions(self, account, params, query, body, raw):
        issue = self.site.state.issues.get(params["issueIdOrKey"])
        if issue is None:
            return 404, _errors(NO_ISSUE), None
        current = (issue["fields"].get("status") or {}).get("name")
        transitions = [
            {
                "id": str(10 + n),
                "name": f"Move to {name}",
                "to": {"id": str(1 + n), "name": name, "description": f"The {name} status."},
                "hasScreen": False,
                "isAvailable": True,
                "isGlobal": True,
                "isInitial": False,
                "isConditional": False,
                "looped": False,
            }
            for n, name in enumerate(STATUSES)
            if name != current
        ]
        return 200, {"transitions": transitions}, None

    def op_post_issue_transitions(self, account, params, query, body, raw):
        issue = self.site.state.issues.get(params["issueIdOrKey"])
        if issue is None:
            return 404, _errors(NO_ISSUE), None
        wanted = (body.get("transition") or {}).get("id")
        names = {str(10 + n): name for n, name in enumerate(STATUSES)}
        if wanted not in names:
            return 400, _errors(f"Transition id '{wanted}' is not valid for this issue."), None
        with self.site.lock:
            issue["fields"]["status"] = {"name": names[wanted]}
        return 204, None, None

    def op_post_issueLink(self, account, params, query, body, raw):
        issues = self.site.state.issues
        inward, outward = body["inwardIssue"].get("key"), body["outwardIssue"].get("key")
        kind = LINK_TYPES.get(body["type"].get("name"))
        if inward not in issues or outward not in issues:
            return 404, _errors(NO_ISSUE), None
        if kind is None:
            return 404, _errors(f"No issue link type named '{body['type'].get('name')}'."), None
        with self.site.lock:
            self.site.add_link(kind["name"], inward, outward)
        return 201, None, None

    def op_get_attachment_content(self, account, params, query, body, raw):
        attachment_id = params["id"]
        if attachment_id not in self.site.state.files:
            return 404, _errors("The attachment does not exist."), None
        location = (
            f"{self.site.media_url}/media/{attachment_id}?token={_media_token(attachment_id)}"
        )
        return 303, None, {"Location": location}


# --- helpers ---------------------------------------------------------------------------------


NO_ISSUE = "Issue does not exist or you do not have permission to see it."
# The site's one workflow: every status reachable from every other.
STATUSES = ["To Do", "In Progress", "In Review", "Done"]
LINK_TYPES = {
    name: {"id": str(10000 + n), "name": name, "inward": inward, "outward": outward}
    for n, (name, inward, outward) in enumerate(
        [
            ("Blocks", "is blocked by", "blocks"),
            ("Cloners", "is cloned by", "clones"),
            ("Duplicate", "is duplicated by", "duplicates"),
            ("Relates", "relates to", "relates to"),
        ]
    )
}
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


def _errors(*messages: str) -> dict:
    return {"errorMessages": list(messages), "errors": {}}


def _is_adf(value) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and value.get("version") == 1


def _media_token(attachment_id: str) -> str:
    return hashlib.sha256(f"media:{attachment_id}".encode()).hexdigest()[:24]


def _wrong_shape(payload: dict) -> dict:
    """The same answer with its main list turned into a string."""
    wrong = dict(payload)
    for key in ("values", "issues", "comments", "permissions"):
        if key in wrong:
            wrong[key] = "not-a-list"
            return wrong
    for key in ("accountId", "key", "id"):
        if key in wrong:
            wrong[key] = 12345
            return wrong
    return {"unexpected": True}


# Literal paths first: /project/search is not the project called "search".
_TEMPLATES = [
    (m, t, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t) + "$"))
    for m, t in sorted(OPERATIONS, key=lambda op: "{" in op[1])
]


def _match(method: str, path: str) -> tuple[str | None, dict]:
    for m, template, pattern in _TEMPLATES:
        match = pattern.match(path)
        if m == method and match:
            return template, match.groupdict()
    return None, {}


def _op_name(method: str, template: str) -> str:
    words = [w for w in template.removeprefix("/rest/api/3/").split("/") if not w.startswith("{")]
    return method.lower() + "_" + "_".join(words)


def _multipart_files(content_type: str, raw: bytes) -> list[tuple[str, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    files = []
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            files.append((part.get_filename() or "file", part.get_payload(decode=True) or b""))
    return files

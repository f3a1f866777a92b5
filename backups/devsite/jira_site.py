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

The site lives in four modules: this one (the site's state, accounts, faults and test
helpers), jira_http.py (the HTTP server: dispatch, validation, faults, the media host),
jira_operations.py (the REST operations, `op_<method>_<path>`) and jira_json.py (the JSON
the operations answer with).
"""

import functools
import hashlib
import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer

import jsonschema
from referencing import Registry, Resource

from .jira_schemas import SCHEMAS

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
        from .jira_http import _Handler, _Server  # here: jira_http imports this module

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


def _media_token(attachment_id: str) -> str:
    return hashlib.sha256(f"media:{attachment_id}".encode()).hexdigest()[:24]

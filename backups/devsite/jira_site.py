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

The site lives in four modules: this one (the site's state and test helpers), jira_http.py
(its HTTP handler; the server, dispatch, validation, faults, accounts and the media host are
http_base.py's, shared with the Confluence site), jira_operations.py (the REST operations,
`op_<method>_<path>`) and jira_json.py (the JSON the operations answer with).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .http_base import Account, BaseSite, Fault, media_token, schema_checker
from .jira_schemas import SCHEMAS

__all__ = ["Account", "Fault", "JiraSite", "State", "validate"]

INLINE_COMMENTS = 20  # comments Jira includes in an issue's `comment` field
validate = schema_checker("urn:jira", SCHEMAS)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "+0000")


@dataclass
class State:
    projects: dict[str, dict] = field(default_factory=dict)  # key -> project
    issues: dict[str, dict] = field(default_factory=dict)  # key -> issue
    files: dict[str, bytes] = field(default_factory=dict)  # attachment id -> content


class JiraSite(BaseSite):
    """Start with `site.start()`; `site.url` is the site's base URL."""

    def __init__(self, *, page_limit: int = 100):
        super().__init__(page_limit=page_limit)
        self.state = State()

    def start(self, *, port: int = 0) -> "JiraSite":
        """Serve on 127.0.0.1: on a free port (tests), or on `port` (make run's site)."""
        from .jira_http import JiraHandler  # here: jira_http imports this module

        self._serve(JiraHandler, port)
        return self

    def media_content(self, attachment_id: str) -> bytes | None:
        return self.state.files.get(attachment_id)

    # --- test helpers --------------------------------------------------------------------

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


_media_token = media_token

"""A Jira Cloud site over its public REST API v3 (SPEC §8).

Reads: the account and its ADMINISTER global permission (C1), projects in every state
(`/rest/api/3/project/search`, startAt paging), issues with all their fields
(`/rest/api/3/search/jql`, nextPageToken paging), comments (startAt paging), attachments
(streamed). Writes (restores): projects, issues, comments, attachments, and deletes of what a
failed restore created (C7). Every response is checked against the shape the API publishes
before anything of it is used (C8).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote

from .http import SiteAuthError, SiteBadResponse, SiteHTTP, SiteRequestRefused
from .shapes import check

PAGE = 100  # issues or comments per page; Jira caps pages at 100 for most endpoints
PROJECT_PAGE = 50  # /project/search's maximum is 100; its default 50
BULK = 50  # issues per /issue/bulk call, the API's maximum


@dataclass(frozen=True)
class Account:
    account_id: str
    display_name: str


@dataclass(frozen=True)
class CheckResult:
    """C1: can this connection be used? In words an org admin understands."""

    ok: bool
    message: str
    account: Account | None = None
    # A2: the site could not be reached (or kept rate-limiting): trying later may work.
    transient: bool = False


def project_state(project: dict) -> str:
    """Jira's project states as the backup format names them (SPEC §1: active, archived,
    trashed)."""
    if project.get("deleted"):
        return "trashed"
    if project.get("archived"):
        return "archived"
    return "active"


class JiraCloud:
    """One Jira Cloud site, reached with one account's email and API token."""

    kind = "jira"

    def __init__(self, http: SiteHTTP):
        self.http = http

    # --- C1 ------------------------------------------------------------------------------

    def myself(self) -> Account:
        me = check(self.http.json("GET", "/rest/api/3/myself"), "User", "the account (myself)")
        return Account(me["accountId"], me.get("displayName") or me["accountId"])

    def is_admin(self) -> bool:
        body = self.http.json("GET", "/rest/api/3/mypermissions?permissions=ADMINISTER")
        body = check(body, "Permissions", "the account's permissions")
        perm = body["permissions"].get("ADMINISTER")
        if perm is None:
            raise SiteBadResponse("The site did not say whether the account is an administrator.")
        return bool(perm.get("havePermission"))

    def check_connection(self) -> CheckResult:
        """Reachable, credentials valid, the account administers the site — or why not."""
        from .http import SiteError, SiteUnreachable

        try:
            account = self.myself()
        except SiteError as exc:
            return CheckResult(False, str(exc), transient=isinstance(exc, SiteUnreachable))
        try:
            admin = self.is_admin()
        except SiteError as exc:
            return CheckResult(False, str(exc), account, isinstance(exc, SiteUnreachable))
        if not admin:
            return CheckResult(
                False,
                f"The account {account.display_name} can sign in, but it does not administer "
                "this Jira site (the Administer Jira global permission). Use an account of a "
                "site administrator.",
                account,
            )
        return CheckResult(
            True, f"Connected as {account.display_name}, an administrator of the site.", account
        )

    # --- reads ---------------------------------------------------------------------------

    def projects(self) -> Iterator[dict]:
        """Every project: live, archived and in the trash (C4)."""
        start = 0
        while True:
            page = self.http.json(
                "GET",
                "/rest/api/3/project/search",
                params=[
                    ("startAt", start),
                    ("maxResults", PROJECT_PAGE),
                    ("orderBy", "key"),
                    ("status", "live"),
                    ("status", "archived"),
                    ("status", "deleted"),
                ],
            )
            page = check(page, "PageBeanProject", "the list of projects")
            values = page.get("values") or []
            for project in values:
                yield check(project, "Project", "a project", require=("id", "key", "name"))
            start += len(values)
            if page.get("isLast", True) or not values:
                return

    def issues(self, project_key: str, fields: str = "*all") -> Iterator[dict]:
        """Every issue of a project with all its fields as the API returns them, in key
        order, following nextPageToken to the end."""
        token = None
        while True:
            params = [
                ("jql", f'project = "{project_key}" ORDER BY key ASC'),
                ("maxResults", PAGE),
                ("fields", fields),
            ]
            if token:
                params.append(("nextPageToken", token))
            page = check(
                self.http.json("GET", "/rest/api/3/search/jql", params=params),
                "SearchAndReconcileResults",
                f"the issues of {project_key}",
            )
            for issue in page.get("issues") or []:
                yield check(issue, "IssueBean", "an issue", require=("id", "key", "fields"))
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                return

    def comments(self, issue_key: str) -> Iterator[dict]:
        start = 0
        while True:
            page = check(
                self.http.json(
                    "GET",
                    f"/rest/api/3/issue/{quote(issue_key)}/comment",
                    params={"startAt": start, "maxResults": PAGE, "orderBy": "created"},
                ),
                "PageOfComments",
                f"the comments of {issue_key}",
            )
            comments = page.get("comments") or []
            for comment in comments:
                yield check(comment, "Comment", "a comment", require=("id", "created"))
            start += len(comments)
            if not comments or start >= page.get("total", 0):
                return

    def attachment_chunks(self, attachment_id: str) -> Iterator[bytes]:
        """An attachment's content, streamed (Jira answers with a redirect to its media
        store: followed without the credentials)."""
        return self.http.stream(f"/rest/api/3/attachment/content/{quote(str(attachment_id))}")

    # --- writes (restores) ---------------------------------------------------------------

    def create_project(self, *, key: str, name: str, lead_account_id: str) -> dict:
        body = {
            "key": key,
            "name": name,
            "projectTypeKey": "software",
            "leadAccountId": lead_account_id,
            "assigneeType": "UNASSIGNED",
        }
        created = self.http.json("POST", "/rest/api/3/project", json=body, expect=(201,))
        return check(created, "ProjectIdentifiers", "the created project")

    def create_issue(self, fields: dict) -> dict:
        created = self.http.json(
            "POST", "/rest/api/3/issue", json={"fields": fields}, expect=(201,)
        )
        return check(created, "CreatedIssue", "the created issue", require=("id", "key"))

    def create_issues(self, fields_list: list[dict]) -> list[dict]:
        """Up to BULK issues in one call, created in the order given (so their keys follow
        that order); any refused one stops with its reason."""
        body = {"issueUpdates": [{"fields": f} for f in fields_list]}
        response = self.http.request("POST", "/rest/api/3/issue/bulk", json=body)
        try:
            if response.status_code not in (201, 400):
                raise self.http._refusal(response, "POST", "/rest/api/3/issue/bulk")
            created = check(response.json(), "CreatedIssues", "the created issues")
        except ValueError:
            raise SiteBadResponse("The site answered a bulk create with something not JSON.")
        finally:
            response.close()
        if created.get("errors"):
            first = created["errors"][0]
            errors = first.get("elementErrors") or {}
            words = "; ".join(
                [
                    *errors.get("errorMessages", []),
                    *(f"{k}: {v}" for k, v in (errors.get("errors") or {}).items()),
                ]
            )
            raise SiteRequestRefused(
                f"The site refused issue {first.get('failedElementNumber', 0) + 1} of a batch: "
                f"{words or 'no reason given'}.",
                first.get("status") or 400,
            )
        issues = [
            check(i, "CreatedIssue", "a created issue", require=("key",))
            for i in created.get("issues") or []
        ]
        if len(issues) != len(fields_list):
            raise SiteBadResponse(
                f"The site created {len(issues)} issues of {len(fields_list)} asked for."
            )
        return issues

    def transitions(self, issue_key: str) -> list[dict]:
        body = self.http.json("GET", f"/rest/api/3/issue/{quote(issue_key)}/transitions")
        body = check(body, "Transitions", f"the transitions of {issue_key}")
        return [
            check(t, "IssueTransition", "a transition", require=("id", "to"))
            for t in body.get("transitions") or []
        ]

    def status_of(self, issue_key: str) -> str | None:
        issue = self.http.json(
            "GET", f"/rest/api/3/issue/{quote(issue_key)}", params={"fields": "status"}
        )
        issue = check(issue, "IssueBean", f"the issue {issue_key}", require=("fields",))
        return (issue["fields"].get("status") or {}).get("name")

    def transition(self, issue_key: str, transition_id: str) -> None:
        self.http.json(
            "POST",
            f"/rest/api/3/issue/{quote(issue_key)}/transitions",
            json={"transition": {"id": transition_id}},
            expect=(204,),
        )

    def link_issues(self, *, type_name: str, inward_key: str, outward_key: str) -> None:
        body = {
            "type": {"name": type_name},
            "inwardIssue": {"key": inward_key},
            "outwardIssue": {"key": outward_key},
        }
        self.http.json("POST", "/rest/api/3/issueLink", json=body, expect=(201,))

    def add_comment(self, issue_key: str, body_adf: dict) -> dict:
        created = self.http.json(
            "POST",
            f"/rest/api/3/issue/{quote(issue_key)}/comment",
            json={"body": body_adf},
            expect=(201,),
        )
        return check(created, "Comment", "the created comment", require=("id",))

    def add_attachment(self, issue_key: str, name: str, fileobj: BinaryIO) -> dict:
        created = self.http.json(
            "POST",
            f"/rest/api/3/issue/{quote(issue_key)}/attachments",
            files={"file": (name, fileobj, "application/octet-stream")},
            headers={"X-Atlassian-Token": "no-check"},
        )
        if not isinstance(created, list) or len(created) != 1:
            raise SiteBadResponse("The site did not answer an attachment upload with one file.")
        return check(created[0], "Attachment", "the uploaded attachment", require=("id", "size"))

    def archive_project(self, project_key: str) -> None:
        self.http.json("POST", f"/rest/api/3/project/{quote(project_key)}/archive", expect=(204,))

    def trash_project(self, project_key: str) -> None:
        """Move a project to the trash (enableUndo=true: Jira keeps it there 60 days)."""
        self.http.json(
            "DELETE",
            f"/rest/api/3/project/{quote(project_key)}",
            params={"enableUndo": "true"},
            expect=(204,),
        )

    def delete_issue(self, issue_key: str) -> None:
        self.http.json("DELETE", f"/rest/api/3/issue/{quote(issue_key)}", expect=(204,))

    def delete_project(self, project_key: str) -> None:
        # enableUndo=false: deleted at once, not moved to the trash (C7: a failed restore
        # leaves the destination as it was, and a project in the trash still counts, R6).
        self.http.json(
            "DELETE",
            f"/rest/api/3/project/{quote(project_key)}",
            params={"enableUndo": "false"},
            expect=(204,),
        )


__all__ = ["Account", "CheckResult", "JiraCloud", "SiteAuthError", "project_state"]

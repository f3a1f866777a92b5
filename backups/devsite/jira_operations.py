"""The Jira REST operations the contract server plays, as a mixin of its request handler.

Each `op_<method>_<path>` takes the caller's account, the path's parameters, the query, the
request body (parsed JSON) and the raw body, and returns (status, payload, headers).
"""

import re

from .http_base import Answer, multipart_parts
from .jira_json import JiraJson
from .jira_site import LINK_TYPES, NO_ISSUE, STATUSES, JiraSite, _errors, _media_token


class JiraOperations(JiraJson):
    """The `op_*` methods; _Handler inherits them (and the JSON helpers of JiraJson)."""

    site: JiraSite

    # --- operations (each returns status, payload, headers) ------------------------------

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

    def _issue_or_404(self, params: dict) -> dict:
        """The issue the path names; if there is none, Jira's 404 answer instead."""
        issue = self.site.state.issues.get(params["issueIdOrKey"])
        if issue is None:
            raise Answer(404, _errors(NO_ISSUE), None)
        return issue

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
        issue = self._issue_or_404(params)
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
            self._issue_or_404(params)
            del self.site.state.issues[params["issueIdOrKey"]]
        return 204, None, None

    def op_get_issue_comment(self, account, params, query, body, raw):
        issue = self._issue_or_404(params)
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
        issue = self._issue_or_404(params)
        if not _is_adf(body.get("body")):
            return 400, _errors("Comment body is not valid!"), None
        with self.site.lock:
            comment = self.site.add_comment(issue["key"], body["body"], account)
        return 201, self._comment(comment), None

    def op_post_issue_attachments(self, account, params, query, body, raw):
        issue = self._issue_or_404(params)
        if self.headers.get("X-Atlassian-Token") != "no-check":
            return 403, _errors("XSRF check failed"), None
        files = _multipart_files(self.headers.get("Content-Type", ""), raw)
        if not files:
            return 400, _errors("No file was sent in the 'file' part."), None
        with self.site.lock:
            created = [self.site.add_attachment(issue["key"], n, c, account) for n, c in files]
        return 200, [self._attachment(a) for a in created], None

    def op_get_issue_transitions(self, account, params, query, body, raw):
        issue = self._issue_or_404(params)
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
        issue = self._issue_or_404(params)
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


def _multipart_files(content_type: str, raw: bytes) -> list[tuple[str, bytes]]:
    return [
        (filename or "file", content)
        for name, filename, _, content in multipart_parts(content_type, raw)
        if name == "file"
    ]


def _is_adf(value) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and value.get("version") == 1

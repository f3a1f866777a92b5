"""How the Jira contract server shows its content: the JSON of users, projects, issues,
comments and attachments, as Jira's REST API v3 answers with them.
"""

from .jira_site import INLINE_COMMENTS, Account, JiraSite, now_iso


class JiraJson:
    """The JSON-building helpers of the operations (jira_operations.py), which inherit them."""

    site: JiraSite

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

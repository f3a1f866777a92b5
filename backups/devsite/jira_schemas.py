"""The Jira Cloud platform REST API v3 schemas the contract server is held to.

Written from Atlassian's published OpenAPI document (swagger-v3.v3.json, a version that has
/rest/api/3/search/jql): for each operation backupsite or the third-party client uses, the
request and response schemas with the documents' own names, property types, `required`
lists and `additionalProperties` settings. Properties nobody here sends are left out of the
objects that forbid additional properties only where the document allows them to be absent,
so what this server sends is what the real API may send.

When the published document itself is on disk (BACKUPSITE_ATLASSIAN_OPENAPI, see
tests/contract/conftest.py), the server validates against it as well, and
test_schemas_agree.py checks that every schema here says what the published one says.
"""

DATE_TIME = {"type": "string", "format": "date-time"}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, dict] = {
    "User": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "accountId": {"type": "string", "maxLength": 128},
            "accountType": {"type": "string", "enum": ["atlassian", "app", "customer", "unknown"]},
            "active": BOOLEAN,
            "displayName": STRING,
            "emailAddress": STRING,
            "self": STRING,
            "timeZone": STRING,
        },
    },
    "UserDetails": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "accountId": {"type": "string", "maxLength": 128},
            "accountType": STRING,
            "active": BOOLEAN,
            "displayName": STRING,
            "self": STRING,
        },
    },
    "UserPermission": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "havePermission": BOOLEAN,
            "id": STRING,
            "key": STRING,
            "name": STRING,
            "type": {"type": "string", "enum": ["GLOBAL", "PROJECT"]},
            "description": STRING,
        },
    },
    "Permissions": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "permissions": {"type": "object", "additionalProperties": ref("UserPermission")}
        },
    },
    "Project": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "archived": BOOLEAN,
            "archivedDate": DATE_TIME,
            "deleted": BOOLEAN,
            "deletedDate": DATE_TIME,
            "retentionTillDate": DATE_TIME,
            "id": STRING,
            "key": STRING,
            "name": STRING,
            "self": STRING,
            "simplified": BOOLEAN,
            "style": {"type": "string", "enum": ["classic", "next-gen"]},
            "isPrivate": BOOLEAN,
            "lead": ref("User"),
            "projectTypeKey": {"type": "string", "enum": ["software", "service_desk", "business"]},
        },
    },
    "PageBeanProject": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "isLast": BOOLEAN,
            "maxResults": INTEGER,
            "nextPage": STRING,
            "self": STRING,
            "startAt": INTEGER,
            "total": INTEGER,
            "values": {"type": "array", "items": ref("Project")},
        },
    },
    "CreateProjectDetails": {
        "type": "object",
        "additionalProperties": False,
        "required": ["key", "name"],
        "properties": {
            "assigneeType": {"type": "string", "enum": ["PROJECT_LEAD", "UNASSIGNED"]},
            "description": STRING,
            "key": STRING,
            "lead": STRING,
            "leadAccountId": {"type": "string", "maxLength": 128},
            "name": STRING,
            "projectTemplateKey": STRING,
            "projectTypeKey": {"type": "string", "enum": ["software", "service_desk", "business"]},
            "url": STRING,
        },
    },
    "ProjectIdentifiers": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "key", "self"],
        "properties": {"id": INTEGER, "key": STRING, "self": STRING},
    },
    "IssueBean": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "expand": STRING,
            "fields": {"type": "object", "additionalProperties": {}},
            "id": STRING,
            "key": STRING,
            "self": STRING,
        },
    },
    "SearchAndReconcileResults": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "isLast": BOOLEAN,
            "issues": {"type": "array", "items": ref("IssueBean")},
            "names": {"type": "object", "additionalProperties": STRING},
            "nextPageToken": STRING,
        },
    },
    "IssueUpdateDetails": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "fields": {"type": "object", "additionalProperties": {}},
            "update": {"type": "object"},
            "transition": {"type": "object"},
        },
    },
    "CreatedIssue": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"id": STRING, "key": STRING, "self": STRING},
    },
    "Comment": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "author": ref("UserDetails"),
            "body": {},
            "created": DATE_TIME,
            "id": STRING,
            "jsdPublic": BOOLEAN,
            "self": STRING,
            "updateAuthor": ref("UserDetails"),
            "updated": DATE_TIME,
        },
    },
    "PageOfComments": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "comments": {"type": "array", "items": ref("Comment")},
            "maxResults": INTEGER,
            "startAt": INTEGER,
            "total": INTEGER,
        },
    },
    "Attachment": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "author": ref("UserDetails"),
            "content": STRING,
            "created": DATE_TIME,
            "filename": STRING,
            "id": STRING,
            "mimeType": STRING,
            "self": STRING,
            "size": INTEGER,
        },
    },
    "IssuesUpdateBean": {
        "type": "object",
        "additionalProperties": True,
        "properties": {"issueUpdates": {"type": "array", "items": ref("IssueUpdateDetails")}},
    },
    "BulkOperationErrorResult": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "elementErrors": ref("ErrorCollection"),
            "failedElementNumber": INTEGER,
            "status": INTEGER,
        },
    },
    "CreatedIssues": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "errors": {"type": "array", "items": ref("BulkOperationErrorResult")},
            "issues": {"type": "array", "items": ref("CreatedIssue")},
        },
    },
    "StatusDetails": {
        "type": "object",
        "additionalProperties": True,
        "properties": {"id": STRING, "name": STRING, "description": STRING, "self": STRING},
    },
    "IssueTransition": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "id": STRING,
            "name": STRING,
            "to": ref("StatusDetails"),
            "hasScreen": BOOLEAN,
            "isAvailable": BOOLEAN,
            "isGlobal": BOOLEAN,
            "isInitial": BOOLEAN,
            "isConditional": BOOLEAN,
            "looped": BOOLEAN,
        },
    },
    "Transitions": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "expand": STRING,
            "transitions": {"type": "array", "items": ref("IssueTransition")},
        },
    },
    "IssueLinkType": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "id": STRING,
            "inward": STRING,
            "name": STRING,
            "outward": STRING,
            "self": STRING,
        },
    },
    "LinkedIssue": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"id": STRING, "key": STRING, "self": STRING, "fields": {"type": "object"}},
    },
    "LinkIssueRequestJsonBean": {
        "type": "object",
        "additionalProperties": False,
        "required": ["inwardIssue", "outwardIssue", "type"],
        "properties": {
            "comment": ref("Comment"),
            "inwardIssue": ref("LinkedIssue"),
            "outwardIssue": ref("LinkedIssue"),
            "type": ref("IssueLinkType"),
        },
    },
    "ErrorCollection": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "errorMessages": {"type": "array", "items": STRING},
            "errors": {"type": "object", "additionalProperties": STRING},
            "status": INTEGER,
        },
    },
    "ServerInformation": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "baseUrl": STRING,
            "deploymentType": STRING,
            "serverTitle": STRING,
            "version": STRING,
        },
    },
}

# (method, path template) -> (request body schema or None, {status: response schema or None})
OPERATIONS: dict[tuple[str, str], tuple[str | None, dict[int, str | None]]] = {
    ("GET", "/rest/api/3/myself"): (None, {200: "User"}),
    ("GET", "/rest/api/3/mypermissions"): (None, {200: "Permissions"}),
    ("GET", "/rest/api/3/serverInfo"): (None, {200: "ServerInformation"}),
    ("GET", "/rest/api/3/project/search"): (None, {200: "PageBeanProject"}),
    ("GET", "/rest/api/3/project/{projectIdOrKey}"): (None, {200: "Project"}),
    ("POST", "/rest/api/3/project"): ("CreateProjectDetails", {201: "ProjectIdentifiers"}),
    ("DELETE", "/rest/api/3/project/{projectIdOrKey}"): (None, {204: None}),
    ("POST", "/rest/api/3/project/{projectIdOrKey}/archive"): (None, {204: None}),
    ("GET", "/rest/api/3/search/jql"): (None, {200: "SearchAndReconcileResults"}),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}"): (None, {200: "IssueBean"}),
    ("POST", "/rest/api/3/issue"): ("IssueUpdateDetails", {201: "CreatedIssue"}),
    ("POST", "/rest/api/3/issue/bulk"): ("IssuesUpdateBean", {201: "CreatedIssues"}),
    ("DELETE", "/rest/api/3/issue/{issueIdOrKey}"): (None, {204: None}),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/transitions"): (None, {200: "Transitions"}),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/transitions"): ("IssueUpdateDetails", {204: None}),
    ("POST", "/rest/api/3/issueLink"): ("LinkIssueRequestJsonBean", {201: None}),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/comment"): (None, {200: "PageOfComments"}),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/comment"): ("Comment", {201: "Comment"}),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/attachments"): (None, {200: "AttachmentList"}),
    ("GET", "/rest/api/3/attachment/content/{id}"): (None, {200: None, 303: None}),
}

SCHEMAS["AttachmentList"] = {"type": "array", "items": ref("Attachment")}

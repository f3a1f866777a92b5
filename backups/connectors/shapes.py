"""C8: nothing a connected site sends is used before its shape is checked.

For each object of Atlassian's published OpenAPI documents that backupsite reads, the types of
the properties it uses, as the documents give them. A response whose object is not a JSON
object, lacks a property backupsite needs, or has a property of another type is refused with a
reason (SiteBadResponse) — never half-imported. Properties backupsite does not use are not
checked: the API adds properties over time, and a new one must not stop backups.
"""

from .http import SiteBadResponse

JSON_TYPES = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
}

# name -> {property: JSON type}; the names are the documents' schema names.
SHAPES: dict[str, dict[str, str]] = {
    # Jira Cloud platform REST API v3
    "User": {"accountId": "string", "displayName": "string", "active": "boolean"},
    "Permissions": {"permissions": "object"},
    "PageBeanProject": {
        "isLast": "boolean",
        "maxResults": "integer",
        "startAt": "integer",
        "total": "integer",
        "values": "array",
    },
    "Project": {
        "id": "string",
        "key": "string",
        "name": "string",
        "archived": "boolean",
        "deleted": "boolean",
        "projectTypeKey": "string",
    },
    "SearchAndReconcileResults": {
        "isLast": "boolean",
        "issues": "array",
        "nextPageToken": "string",
    },
    "IssueBean": {"id": "string", "key": "string", "fields": "object"},
    "PageOfComments": {
        "comments": "array",
        "maxResults": "integer",
        "startAt": "integer",
        "total": "integer",
    },
    "Comment": {"id": "string", "created": "string", "updated": "string", "author": "object"},
    "ProjectIdentifiers": {"id": "integer", "key": "string", "self": "string"},
    "CreatedIssue": {"id": "string", "key": "string", "self": "string"},
    "CreatedIssues": {"issues": "array", "errors": "array"},
    "Transitions": {"transitions": "array"},
    "IssueTransition": {"id": "string", "name": "string", "to": "object"},
    "Attachment": {"id": "string", "filename": "string", "size": "integer", "created": "string"},
    # Confluence Cloud REST API v2 (its schema names, prefixed)
    "confluence.MultiEntityResult": {"results": "array", "_links": "object"},
    "confluence.Space": {
        "id": "string",
        "key": "string",
        "name": "string",
        "type": "string",
        "status": "string",
        "homepageId": "string",
    },
    "confluence.Page": {
        "id": "string",
        "status": "string",
        "title": "string",
        "spaceId": "string",
        "parentId": "string",
        "parentType": "string",
        "createdAt": "string",
        "version": "object",
        "body": "object",
    },
    "confluence.BlogPost": {
        "id": "string",
        "status": "string",
        "title": "string",
        "spaceId": "string",
        "createdAt": "string",
        "version": "object",
        "body": "object",
    },
    "confluence.Comment": {
        "id": "string",
        "status": "string",
        "version": "object",
        "body": "object",
    },
    "confluence.Attachment": {
        "id": "string",
        "title": "string",
        "status": "string",
        "mediaType": "string",
        "fileSize": "integer",
        "createdAt": "string",
    },
    "confluence.Label": {"id": "string", "name": "string", "prefix": "string"},
    # Confluence Cloud REST API v1
    "confluence.User": {"accountId": "string", "displayName": "string", "operations": "array"},
    "confluence.ContentArray": {"results": "array", "size": "integer"},
    "confluence.Content": {"id": "string", "type": "string", "status": "string", "title": "string"},
    "confluence.LabelArray": {"results": "array", "size": "integer"},
    "confluence.LongTaskStatus": {
        "finished": "boolean",
        "successful": "boolean",
        "percentageComplete": "integer",
        "messages": "array",
    },
    "confluence.SpaceV1": {"id": "integer", "key": "string", "name": "string", "status": "string"},
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "User": ("accountId",),
    "Permissions": ("permissions",),
    "ProjectIdentifiers": ("id", "key", "self"),
}


def check(obj, shape: str, what: str, *, require: tuple[str, ...] = ()) -> dict:
    """`obj` if it has the shape `shape`; else SiteBadResponse naming `what` and the fault."""
    if not isinstance(obj, dict):
        raise SiteBadResponse(
            f"The site sent {what} in an unexpected shape: a JSON object was expected, "
            f"not {_json_type(obj)}. Nothing of it was used."
        )
    types = SHAPES[shape]
    for name in (*REQUIRED.get(shape, ()), *require):
        if obj.get(name) is None:
            raise SiteBadResponse(
                f"The site sent {what} without its {name!r}. Nothing of it was used."
            )
    for name, json_type in types.items():
        value = obj.get(name)
        if value is None:  # absent, or null where the API allows it
            continue
        expected = JSON_TYPES[json_type]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SiteBadResponse(
                f"The site sent {what} with {name!r} as {_json_type(value)}, where its API "
                f"publishes {json_type}. Nothing of it was used."
            )
    return obj


def _json_type(value) -> str:
    if value is None:
        return "null"
    for name, t in JSON_TYPES.items():
        if isinstance(value, t) and not (t is int and isinstance(value, bool)):
            return "an " + name if name[0] in "aeiou" else "a " + name
    if isinstance(value, float):
        return "a number"
    return type(value).__name__

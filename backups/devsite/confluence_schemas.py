"""The Confluence Cloud operations the contract server plays and the schemas each is held to.

The schemas are Atlassian's published ones (confluence_schemas_v2.py from the v2 document,
confluence_schemas_v1.py from the v1 document), named "v2:<name>" and "v1:<name>" here. Three
answers have no schema in the documents — error bodies (each API has its own), and the long
task a 202 points to — and are written below from what Confluence Cloud sends, marked as ours.
"""

from functools import cache

from .confluence_schemas_v1 import SCHEMAS_V1
from .confluence_schemas_v2 import SCHEMAS_V2
from .http_base import schema_checker

STRING = {"type": "string"}

# Not in the documents (their error responses and 202s have no content): what the APIs send.
OWN_V2 = {
    "Errors": {
        "type": "object",
        "additionalProperties": False,
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["status", "code", "title"],
                    "properties": {
                        "status": {"type": "integer"},
                        "code": STRING,
                        "title": STRING,
                        "detail": {"type": ["string", "null"]},
                    },
                },
            }
        },
    },
}
OWN_V1 = {
    "Error": {
        "type": "object",
        "additionalProperties": False,
        "required": ["statusCode", "message"],
        "properties": {
            "statusCode": {"type": "integer"},
            "data": {
                "type": "object",
                "properties": {
                    "authorized": {"type": "boolean"},
                    "valid": {"type": "boolean"},
                    "errors": {"type": "array"},
                    "successful": {"type": "boolean"},
                },
            },
            "message": STRING,
            "reason": STRING,
        },
    },
    "LongTask": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "links"],
        "properties": {
            "ari": STRING,
            "id": STRING,
            "links": {"type": "object", "required": ["status"], "properties": {"status": STRING}},
        },
    },
}

_CHECKERS = {
    "v2": schema_checker("urn:confluence-v2", {**SCHEMAS_V2, **OWN_V2}),
    "v1": schema_checker("urn:confluence-v1", {**SCHEMAS_V1, **OWN_V1}),
}


def validate(schema_name: str, instance) -> list[str]:
    """The violations of `instance` against "v2:<name>" or "v1:<name>" (empty: valid)."""
    api, _, name = schema_name.partition(":")
    return [f"{api}:{problem}" for problem in _CHECKERS[api](name, instance)]


@cache
def _exists(schema_name: str) -> bool:
    api, _, name = schema_name.partition(":")
    return name in {"v2": {**SCHEMAS_V2, **OWN_V2}, "v1": {**SCHEMAS_V1, **OWN_V1}}[api]


V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"
_PAGE = "v2:PageSingleWithBase"
_BLOGPOST = "v2:BlogPostSingleWithBase"

# (method, path template) -> (request body schema or None, {status: response schema or None})
OPERATIONS: dict[tuple[str, str], tuple[str | None, dict[int, str | None]]] = {
    ("GET", f"{V2}/spaces"): (None, {200: "v2:MultiEntityResultSpace"}),
    ("POST", f"{V2}/spaces"): ("v2:SpaceCreateRequest", {201: "v2:SpaceBulkWithBase"}),
    ("GET", f"{V2}/spaces/{{id}}"): (None, {200: "v2:SpaceSingleWithBase"}),
    ("GET", f"{V2}/spaces/{{id}}/pages"): (None, {200: "v2:MultiEntityResultPage"}),
    ("GET", f"{V2}/spaces/{{id}}/blogposts"): (None, {200: "v2:MultiEntityResultBlogPost"}),
    ("GET", f"{V2}/pages"): (None, {200: "v2:MultiEntityResultPage"}),
    ("POST", f"{V2}/pages"): ("v2:PageCreateRequest", {200: _PAGE}),
    ("GET", f"{V2}/pages/{{id}}"): (None, {200: _PAGE}),
    ("PUT", f"{V2}/pages/{{id}}"): ("v2:PageUpdateRequest", {200: _PAGE}),
    ("DELETE", f"{V2}/pages/{{id}}"): (None, {204: None}),
    ("POST", f"{V2}/blogposts"): ("v2:BlogPostCreateRequest", {200: _BLOGPOST}),
    ("GET", f"{V2}/blogposts/{{id}}"): (None, {200: _BLOGPOST}),
    ("DELETE", f"{V2}/blogposts/{{id}}"): (None, {204: None}),
    ("GET", f"{V2}/pages/{{id}}/footer-comments"): (
        None,
        {200: "v2:MultiEntityResultPageCommentModel"},
    ),
    ("GET", f"{V2}/pages/{{id}}/inline-comments"): (
        None,
        {200: "v2:MultiEntityResultPageInlineCommentModel"},
    ),
    ("GET", f"{V2}/blogposts/{{id}}/footer-comments"): (
        None,
        {200: "v2:MultiEntityResultBlogPostCommentModel"},
    ),
    ("GET", f"{V2}/blogposts/{{id}}/inline-comments"): (
        None,
        {200: "v2:MultiEntityResultBlogPostInlineCommentModel"},
    ),
    ("POST", f"{V2}/footer-comments"): (
        "v2:CreateFooterCommentModel",
        {201: "v2:FooterCommentModelWithBase"},
    ),
    ("GET", f"{V2}/pages/{{id}}/attachments"): (None, {200: "v2:MultiEntityResultAttachment"}),
    ("GET", f"{V2}/blogposts/{{id}}/attachments"): (
        None,
        {200: "v2:MultiEntityResultAttachment"},
    ),
    ("GET", f"{V2}/pages/{{id}}/labels"): (None, {200: "v2:MultiEntityResultLabel"}),
    ("GET", f"{V2}/blogposts/{{id}}/labels"): (None, {200: "v2:MultiEntityResultLabel"}),
    # v1
    ("GET", f"{V1}/user/current"): (None, {200: "v1:User"}),
    ("GET", f"{V1}/space"): (None, {200: "v1:SpaceArray"}),
    ("POST", f"{V1}/space"): ("v1:SpaceCreate", {200: "v1:Space"}),
    ("GET", f"{V1}/space/{{spaceKey}}"): (None, {200: "v1:Space"}),
    ("PUT", f"{V1}/space/{{spaceKey}}"): ("v1:SpaceUpdate", {200: "v1:Space"}),
    ("DELETE", f"{V1}/space/{{spaceKey}}"): (None, {202: "v1:LongTask"}),
    ("GET", f"{V1}/longtask/{{id}}"): (None, {200: "v1:LongTaskStatusWithLinks"}),
    ("POST", f"{V1}/content"): ("v1:ContentCreate", {200: "v1:Content"}),
    ("GET", f"{V1}/content/{{id}}"): (None, {200: "v1:Content"}),
    ("POST", f"{V1}/content/archive"): ("v1:ContentArchiveRequest", {202: "v1:LongTask"}),
    ("GET", f"{V1}/content/{{id}}/label"): (None, {200: "v1:LabelArray"}),
    ("POST", f"{V1}/content/{{id}}/label"): ("v1:LabelCreateRequest", {200: "v1:LabelArray"}),
    # multipart/form-data: its parts are checked by the operation (file and minorEdit required)
    ("GET", f"{V1}/content/{{id}}/child/attachment"): (None, {200: "v1:ContentArray"}),
    ("POST", f"{V1}/content/{{id}}/child/attachment"): (None, {200: "v1:ContentArray"}),
    ("GET", f"{V1}/content/{{id}}/child/attachment/{{attachmentId}}/download"): (
        None,
        {302: None},
    ),
}

assert all(  # noqa: S101 - a typo in a schema name fails at import, not mid-test
    _exists(s)
    for request, responses in OPERATIONS.values()
    for s in [request, *responses.values()]
    if s
)

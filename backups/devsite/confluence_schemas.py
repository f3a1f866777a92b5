"""The Confluence Cloud operations the contract server plays and the schemas each is held to.

The schemas are Atlassian's published ones, kept as data beside this module:
confluence_v2.schemas.json from the v2 document and confluence_v1.schemas.json from the v1
document, named "v2:<name>" and "v1:<name>" here. Three answers have no schema in the
documents — error bodies (each API has its own), and the long task a 202 points to — and are
written below from what Confluence Cloud sends, marked as ours.

How the v2 file was made. Mechanically transcribed, nothing added: the named schemas those
operations use and every
schema they refer to, with the document's own names, property types, enums, `required` lists
and `additionalProperties` settings. Left out: descriptions, examples and titles. Read as JSON
Schema: OpenAPI's `nullable: true` is `"null"` among the types; the schemas the document writes
inline in an operation (`MultiEntityResult<Page>`, a single entity with `_links.base`, the
request bodies) are named here after it (`MultiEntityResultPage`, `PageSingleWithBase`,
`PageCreateRequest`). One reading: the document's `oneOf` of a body-write object and its
nested form is read as `anyOf` — neither alternative requires a property, so every body
matches both and a literal `oneOf` would refuse every body the API accepts.

The document is permissive (hardly anything is required, additional properties are allowed),
so what it checks is the types, enums and shapes of what is there: that is what it promises.

How the v1 file was made. Mechanically transcribed: the named schemas those operations
use and every schema they refer
to, with the document's own names, property types, enums, `required` lists and
`additionalProperties` settings; descriptions, examples and titles left out, OpenAPI's
`nullable: true` read as `"null"` among the types. Two departures, both widening: the request
bodies the document writes inline are named here (`ContentArchiveRequest`,
`LabelCreateRequest`), and a space's look and feel, theme and settings and a body's web
resources and embedded content (which neither this server nor its clients send) are any
object rather than their large schemas.
"""

import json
from functools import cache
from pathlib import Path

from .http_base import schema_checker


def _transcribed(name: str) -> dict[str, dict]:
    """A transcription's schemas (data, not code: the files are as long as the documents)."""
    path = Path(__file__).with_name(f"confluence_{name}.schemas.json")
    return json.loads(path.read_text(encoding="utf-8"))["schemas"]


SCHEMAS_V1 = _transcribed("v1")
SCHEMAS_V2 = _transcribed("v2")

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

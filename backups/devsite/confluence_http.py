"""The Confluence contract server's HTTP side: its request handler, which names the v2 and v1
operations, their schemas and each API's error format. The server, dispatch, schema checks,
faults, accounts and the media host are http_base.py's, shared with the Jira site.
"""

from http import HTTPStatus

from .confluence_operations import ConfluenceV2Operations
from .confluence_schemas import OPERATIONS, V1, validate
from .confluence_site import ConfluenceSite
from .confluence_v1_operations import ConfluenceV1Operations
from .http_base import BaseHandler, Router

V2_CODES = {
    400: "INVALID_REQUEST_PARAMETER",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "REQUEST_ENTITY_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class ConfluenceHandler(ConfluenceV2Operations, ConfluenceV1Operations, BaseHandler):
    site: ConfluenceSite
    operations = OPERATIONS
    router = Router(OPERATIONS, {"/wiki/api/v2/": "", "/wiki/rest/api/": "v1_"}, name_params=True)
    list_keys = ("results",)

    def _v1(self) -> bool:
        return self.path.startswith(V1 + "/")

    def validate(self, schema_name: str, instance) -> list[str]:
        return validate(schema_name, instance)

    def error_body(self, status: int, *messages: str) -> dict:
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        if self._v1():
            return {
                "statusCode": status,
                "data": {
                    "authorized": status not in (401, 403),
                    "valid": status != 400,
                    "errors": [],
                    "successful": False,
                },
                "message": "; ".join(messages),
                "reason": reason,
            }
        return {
            "errors": [
                {
                    "status": status,
                    "code": V2_CODES.get(status, reason.upper().replace(" ", "_")),
                    "title": message,
                    "detail": None,
                }
                for message in messages
            ]
        }

    def error_schema(self) -> str:
        return "v1:Error" if self._v1() else "v2:Errors"

    def unauthorized(self) -> None:
        return self._error(401, "Unauthorized; the email address or API token is not valid.")

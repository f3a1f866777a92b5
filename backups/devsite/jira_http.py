"""The Jira contract server's HTTP side: its request handler, which names Jira's operations,
its schema checker and its error format. The server, dispatch, schema checks on the way in
and out, injected faults and the media host attachments are downloaded from are
http_base.py's.

The operations themselves are in jira_operations.py; the site's state in jira_site.py.
"""

from .http_base import BaseHandler, Router
from .jira_operations import JiraOperations
from .jira_schemas import OPERATIONS
from .jira_site import JiraSite, _errors, validate


class JiraHandler(JiraOperations, BaseHandler):
    site: JiraSite
    operations = OPERATIONS
    router = Router(OPERATIONS, {"/rest/api/3/": ""})
    list_keys = ("values", "issues", "comments", "permissions")

    def validate(self, schema_name: str, instance) -> list[str]:
        return validate(schema_name, instance)

    def error_body(self, status: int, *messages: str) -> dict:
        return _errors(*messages)

    def error_schema(self) -> str:
        return "ErrorCollection"

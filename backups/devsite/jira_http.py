"""The Jira contract server's HTTP side: the server, request dispatch, schema checks on the
way in and out, injected faults, and the media host attachments are downloaded from.

The operations themselves are in jira_operations.py; the site's state in jira_site.py.
"""

import base64
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .jira_operations import Answer, JiraOperations
from .jira_schemas import OPERATIONS
from .jira_site import Account, Fault, JiraSite, _errors, _media_token, validate


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that goes away mid-request (a worker process ending) is not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Dropped(Exception):
    """Close the connection without an answer."""


class _Handler(JiraOperations, BaseHTTPRequestHandler):
    site: JiraSite
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without this, Nagle holds the body until the
    # client's delayed ACK, 40 ms a response.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    # --- dispatch ------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        site = self.site
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()  # a streamed upload of unknown length
        else:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
        try:
            if path.startswith("/media/"):
                return self._media(path, query)
            if site.latency:
                time.sleep(site.latency)
            fault = self._fault(method, path)
            if fault and fault.kind.isdigit():  # "429", "500", "503", "400", …
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return self._json(int(fault.kind), _errors("Injected fault"), headers=headers)
            if fault and fault.kind == "drop":
                raise Dropped()
            if fault and fault.kind == "revoke":
                site.revoke(next(iter(site.accounts)))
            account = self._account()
            if account is None:
                return self._send(401, b"Unauthorized", "text/plain", validate_as=None)
            template, params = _match(method, path)
            if template is None:
                return self._json(404, _errors(f"No such resource: {method} {path}"))
            body = None
            request_schema, responses = OPERATIONS[(method, template)]
            if request_schema:
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    return self._json(400, _errors("The request body is not JSON."))
                problems = validate(request_schema, body)
                if problems:
                    site.violations.extend(f"request {method} {path}: {p}" for p in problems)
                    return self._json(400, _errors(*problems))
            handler = getattr(self, "op_" + _op_name(method, template))
            try:
                status, payload, headers = handler(account, params, query, body, raw)
            except Answer as early:  # e.g. the issue named does not exist
                status, payload, headers = early.args
            if fault and fault.kind == "shape" and isinstance(payload, dict):
                # The wrong shape on purpose: it must be refused by the client, not sent on
                # to the schema check (which would stop it here).
                return self._send(status, json.dumps(_wrong_shape(payload)).encode())
            schema = responses.get(status, "ErrorCollection" if status >= 400 else None)
            return self._json(status, payload, headers=headers, validate_as=schema)
        except Dropped:
            self._record(0)
            self.close_connection = True
            self.connection.close()

    def _record(self, status: int) -> None:
        # Before the answer goes out: a client that has its answer finds its call recorded.
        with self.site.lock:
            self.site.requests.append((self.command, urlsplit(self.path).path, status))

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _fault(self, method: str, path: str) -> Fault | None:
        with self.site.lock:
            for fault in self.site.faults:
                if fault.times > 0 and fault.method == method and fault.path.search(path):
                    fault.times -= 1
                    return fault
        return None

    def _account(self) -> Account | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            email, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        account = self.site.accounts.get(email)
        return account if account and account.token == token else None

    # --- responses -----------------------------------------------------------------------

    def _json(self, status, payload, *, headers=None, validate_as="ErrorCollection"):
        if validate_as and status != 204:
            problems = validate(validate_as, payload)
            if problems:
                self.site.violations.extend(f"response {self.path}: {p}" for p in problems)
                return self._send(500, json.dumps(_errors(*problems)).encode())
        body = b"" if status == 204 else json.dumps(payload).encode()
        return self._send(status, body, headers=headers)

    def _send(self, status, body: bytes, ctype="application/json", *, headers=None, **_):
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _media(self, path: str, query: dict) -> None:
        site = self.site
        site.media_requests.append(dict(self.headers.items()))
        attachment_id = path.rsplit("/", 1)[-1]
        content = site.state.files.get(attachment_id)
        if content is None or query.get("token", [""])[0] != _media_token(attachment_id):
            return self._send(404, b"not found", "text/plain")
        fault = self._fault("GET", path)
        self._record(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if fault and fault.kind == "drop":
            self.wfile.write(content[: len(content) // 2])
            self.close_connection = True
            return
        step = 64 * 1024
        for start in range(0, len(content), step):
            if fault and fault.kind == "slow":
                time.sleep(fault.seconds)
            self.wfile.write(content[start : start + step])


def _wrong_shape(payload: dict) -> dict:
    """The same answer with its main list turned into a string."""
    wrong = dict(payload)
    for key in ("values", "issues", "comments", "permissions"):
        if key in wrong:
            wrong[key] = "not-a-list"
            return wrong
    for key in ("accountId", "key", "id"):
        if key in wrong:
            wrong[key] = 12345
            return wrong
    return {"unexpected": True}


# Literal paths first: /project/search is not the project called "search".
_TEMPLATES = [
    (m, t, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t) + "$"))
    for m, t in sorted(OPERATIONS, key=lambda op: "{" in op[1])
]


def _match(method: str, path: str) -> tuple[str | None, dict]:
    for m, template, pattern in _TEMPLATES:
        match = pattern.match(path)
        if m == method and match:
            return template, match.groupdict()
    return None, {}


def _op_name(method: str, template: str) -> str:
    words = [w for w in template.removeprefix("/rest/api/3/").split("/") if not w.startswith("{")]
    return method.lower() + "_" + "_".join(words)

"""What the contract servers (jira_site.py, confluence_site.py) share: a threaded HTTP server
with keep-alive, request dispatch to `op_<method>_<path>` methods, schema checks on the way in
and out, Basic-auth accounts, injected faults, and the media host attachments are downloaded
from (another origin, which must not be sent the credentials).

A site subclasses `BaseSite` (its state and test helpers); its handler subclasses `BaseHandler`
and names its operations table, its schema checker and its API's error format.
"""

import base64
import functools
import hashlib
import itertools
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jsonschema
from referencing import Registry, Resource


def schema_checker(urn: str, schemas: dict):
    """`validate(schema_name, instance) -> list[str]` for the named schemas of one document."""
    registry = Registry().with_resource(urn, Resource.opaque({"components": {"schemas": schemas}}))

    @functools.cache
    def validator(schema_name: str) -> jsonschema.Draft202012Validator:
        schema = {"$ref": f"{urn}#/components/schemas/{schema_name}"}
        return jsonschema.Draft202012Validator(schema, registry=registry)

    def validate(schema_name: str, instance) -> list[str]:
        """The schema violations of `instance` (empty when it is valid)."""
        return [
            f"{schema_name}{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}"
            for e in validator(schema_name).iter_errors(instance)
        ]

    return validate


def multipart_parts(content_type: str, raw: bytes) -> list[tuple[str, str | None, str, bytes]]:
    """A multipart/form-data body's parts: (field name, file name, content type, bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    if not message.is_multipart():
        return []
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True) or b"",
        )
        for part in message.iter_parts()
    ]


def media_token(attachment_id: str) -> str:
    return hashlib.sha256(f"media:{attachment_id}".encode()).hexdigest()[:24]


@dataclass
class Fault:
    method: str
    path: re.Pattern
    kind: str  # an HTTP status ("429", "503", "400"…), "drop", "slow", "shape", "revoke"
    times: int = 1
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class Account:
    account_id: str
    email: str
    token: str
    display_name: str
    admin: bool = True


class Answer(Exception):
    """An answer given early (status, payload, headers), in place of the operation's own."""


class Dropped(Exception):
    """Close the connection without an answer."""


class BaseSite:
    """Accounts, faults, the request record and the server's lifecycle."""

    handler: type  # the site's BaseHandler subclass, set by start()

    def __init__(self, *, page_limit: int = 100):
        self.accounts: dict[str, Account] = {}
        self.faults: list[Fault] = []
        self.violations: list[str] = []
        self.requests: list[tuple[str, str, int]] = []  # method, path, status
        self.media_requests: list[dict] = []  # headers seen by the media host
        self.page_limit = page_limit
        self.lock = threading.RLock()
        self._ids = itertools.count(10_000)
        self._server: ThreadingHTTPServer | None = None
        self.latency = 0.0  # seconds added to every API call (benchmarks)

    def _serve(self, handler: type, port: int) -> None:
        site = self

        class Handler(handler):
            pass

        Handler.site = site
        self._server = Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def media_url(self) -> str:
        return f"http://localhost:{self.port}"

    def add_account(self, email: str, token: str, *, admin: bool = True, name: str = "") -> Account:
        account = Account(
            account_id=f"5b10{uuid.uuid4().hex[:20]}",
            email=email,
            token=token,
            display_name=name or email.split("@")[0].title(),
            admin=admin,
        )
        self.accounts[email] = account
        return account

    def revoke(self, email: str) -> None:
        self.accounts[email].token = "revoked-" + uuid.uuid4().hex

    def fail(self, method: str, path: str, kind: str, *, times: int = 1, **kw) -> None:
        """The next `times` matching calls get the fault `kind` (path is a regex)."""
        with self.lock:
            self.faults.append(Fault(method, re.compile(path), kind, times, **kw))

    def next_id(self) -> str:
        return str(next(self._ids))

    def account_by_id(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.account_id == account_id), None)

    def media_content(self, attachment_id: str) -> bytes | None:
        """The bytes the media host serves for an attachment (None: no such attachment)."""
        raise NotImplementedError


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that goes away mid-request (a worker process ending) is not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Router:
    """(method, path) -> (path template, its parameters), literal paths first (/project/search
    is not the project called "search"); an operation's method name from its template."""

    def __init__(self, operations, prefixes: dict[str, str], *, name_params: bool = False):
        self.prefixes = prefixes  # path prefix -> method-name prefix
        # Name a path's parameters too (/spaces and /spaces/{id} are then get_spaces and
        # get_spaces_id), where leaving them out would give two operations one name.
        self.name_params = name_params
        self.templates = [
            (m, t, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t) + "$"))
            for m, t in sorted(operations, key=lambda op: "{" in op[1])
        ]

    def match(self, method: str, path: str) -> tuple[str | None, dict]:
        for m, template, pattern in self.templates:
            match = pattern.match(path)
            if m == method and match:
                return template, match.groupdict()
        return None, {}

    def op_name(self, method: str, template: str) -> str:
        tag, rest = "", template
        for prefix, name in self.prefixes.items():
            if template.startswith(prefix):
                tag, rest = name, template.removeprefix(prefix)
                break
        words = [
            w.strip("{}").replace("-", "_")
            for w in rest.split("/")
            if self.name_params or not w.startswith("{")
        ]
        return method.lower() + "_" + tag + "_".join(words)


class BaseHandler(BaseHTTPRequestHandler):
    site: BaseSite
    operations: dict  # (method, template) -> (request schema or None, {status: schema or None})
    router: Router
    # The main list of an answer that the "shape" fault turns into a string.
    list_keys: tuple[str, ...] = ()
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without this, Nagle holds the body until the
    # client's delayed ACK, 40 ms a response.
    disable_nagle_algorithm = True

    # --- what each API says its own way --------------------------------------------------

    def validate(self, schema_name: str, instance) -> list[str]:
        raise NotImplementedError

    def error_body(self, status: int, *messages: str) -> dict:
        """The API's error answer."""
        raise NotImplementedError

    def error_schema(self) -> str | None:
        """The schema of the API's error answers to this request."""
        raise NotImplementedError

    def unauthorized(self) -> None:
        return self._send(401, b"Unauthorized", "text/plain", validate_as=None)

    # --- dispatch ------------------------------------------------------------------------

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
                status = int(fault.kind)
                body = self.error_body(status, "Injected fault")
                return self._json(status, body, headers=headers, validate_as=self.error_schema())
            if fault and fault.kind == "drop":
                raise Dropped()
            if fault and fault.kind == "revoke":
                site.revoke(next(iter(site.accounts)))
            account = self._account()
            if account is None:
                return self.unauthorized()
            template, params = self.router.match(method, path)
            if template is None:
                return self._error(404, f"No such resource: {method} {path}")
            body = None
            request_schema, responses = self.operations[(method, template)]
            if request_schema:
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    return self._error(400, "The request body is not JSON.")
                problems = self.validate(request_schema, body)
                if problems:
                    site.violations.extend(f"request {method} {path}: {p}" for p in problems)
                    return self._error(400, *problems)
            handler = getattr(self, "op_" + self.router.op_name(method, template))
            try:
                status, payload, headers = handler(account, params, query, body, raw)
            except Answer as early:  # e.g. the issue named does not exist
                status, payload, headers = early.args
            if fault and fault.kind == "shape" and isinstance(payload, dict):
                # The wrong shape on purpose: it must be refused by the client, not sent on
                # to the schema check (which would stop it here).
                return self._send(status, json.dumps(self._wrong_shape(payload)).encode())
            schema = responses.get(status, self.error_schema() if status >= 400 else None)
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

    def _error(self, status: int, *messages: str, headers=None) -> None:
        body = self.error_body(status, *messages)
        return self._json(status, body, headers=headers, validate_as=self.error_schema())

    def _json(self, status, payload, *, headers=None, validate_as):
        if validate_as and status != 204:
            problems = self.validate(validate_as, payload)
            if problems:
                self.site.violations.extend(f"response {self.path}: {p}" for p in problems)
                body = json.dumps(self.error_body(500, *problems)).encode()
                return self._send(500, body)
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
        content = site.media_content(attachment_id)
        if content is None or query.get("token", [""])[0] != media_token(attachment_id):
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

    def _wrong_shape(self, payload: dict) -> dict:
        """The same answer with its main list turned into a string."""
        wrong = dict(payload)
        for key in self.list_keys:
            if key in wrong:
                wrong[key] = "not-a-list"
                return wrong
        for key in ("accountId", "key", "id"):
            if key in wrong:
                wrong[key] = 12345
                return wrong
        return {"unexpected": True}

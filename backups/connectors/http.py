"""Everything HTTP to a connected site, in one place (SPEC §8: C2, C4, C8).

One `SiteHTTP` per connection: Basic auth with the account's API token, a timeout on every
call, 429 with Retry-After honoured, capped exponential backoff with full jitter on 5xx and on
dropped connections, a bound on concurrent requests, streamed downloads, and redirects followed
by hand so that the Authorization header only ever goes to the site's own host.

Errors come out as SiteError subclasses whose message an org admin can act on; none of them
ever contains the token (C2).
"""

import base64
import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

log = logging.getLogger(__name__)

USER_AGENT = "backupsite (+https://github.com/backupsite)"


class SiteError(Exception):
    """A connected site could not be used; the message says why in plain words."""


class SiteUnreachable(SiteError):
    """No answer from the site (DNS, refused, timeouts, 5xx) after the retries."""


class SiteAuthError(SiteError):
    """The credentials were refused (401) or the account lacks a permission (403)."""


class SiteNotFound(SiteError):
    """The site answered 404 for something that should exist."""


class SiteBadResponse(SiteError):
    """The site answered with something that is not the shape its API publishes (C8)."""


class SiteRequestRefused(SiteError):
    """The site refused a request (4xx other than 401/403/404/429), with its own words."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all, for one request
    base_delay: float = 0.5  # seconds; doubles each try, capped, with full jitter
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is waited this long at most


def site_origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


class SiteHTTP:
    """The HTTP core every site client (Jira, Confluence) is built on."""

    def __init__(
        self,
        base_url: str,
        *,
        email: str,
        token: str,
        timeout: float = 30.0,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.origin = site_origin(self.base_url)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(concurrency)
        # Redirects are followed by hand (see `_send`): httpx would keep the header on a
        # same-origin redirect, which is right, but we also want to drop it elsewhere and
        # say so in one place.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            # TCP_NODELAY: a POST's headers and body go out at once, not 40 ms apart (Nagle
            # against the server's delayed ACK), which made each write take 50 ms.
            transport=transport
            or httpx.HTTPTransport(
                limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            ),
        )
        # Built once; sent only by `_send`, only to the site's own scheme, host and port.
        self._authorization = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.requests_made = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def _same_site(self, url: str) -> bool:
        return site_origin(url) == self.origin

    # --- requests ------------------------------------------------------------------------

    def json(self, method: str, path: str, *, expect=(200,), **kwargs):
        """One JSON call with the retries; returns the decoded body (None for 204)."""
        response = self.request(method, path, **kwargs)
        try:
            if response.status_code not in expect:
                raise self._refusal(response, method, path)
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise SiteBadResponse(
                    f"{self._where(method, path)} answered with something that is not JSON."
                )
        finally:
            response.close()

    def request(self, method: str, path: str, *, stream: bool = False, **kwargs) -> httpx.Response:
        """Send with retries on 429, 5xx and dropped connections; returns the final response
        (any status the caller must judge). Redirects are followed here, credentials kept
        only for the site's own host."""
        url = self.url(path)
        policy = self.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                response = self._send(method, url, stream=stream, **kwargs)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                if attempt == policy.attempts:
                    raise SiteUnreachable(
                        f"{self._where(method, path)} did not answer after {attempt} tries "
                        f"({exc.__class__.__name__}: {_safe(exc)})."
                    )
                self._wait(self._backoff(attempt), why=exc.__class__.__name__)
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt == policy.attempts:
                    return response
                delay = self._retry_after(response) if status == 429 else None
                response.close()
                self._wait(delay if delay is not None else self._backoff(attempt), why=status)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, url: str, *, stream: bool, **kwargs) -> httpx.Response:
        with self._slots:
            for _ in range(10):  # redirects at most
                request = self._client.build_request(method, url, **kwargs)
                if self._same_site(url):
                    request.headers["Authorization"] = self._authorization
                self.requests_made += 1
                response = self._client.send(request, stream=stream)
                if response.is_redirect and method == "GET":
                    location = response.headers.get("Location", "")
                    response.close()
                    url = urljoin(url, location)
                    continue
                return response
        raise SiteBadResponse(f"{self._short(url)} redirected more than 10 times.")

    def stream(self, path: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The body of a GET, streamed in chunks (attachments): never held whole."""
        response = self.request("GET", path, stream=True)
        try:
            if response.status_code != 200:
                response.read()
                raise self._refusal(response, "GET", path)
            yield from response.iter_bytes(chunk_size)
        except httpx.TransportError as exc:
            raise SiteUnreachable(
                f"The download of {self._short(path)} was cut off ({exc.__class__.__name__})."
            )
        finally:
            response.close()

    # --- retries -------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        cap = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, cap)  # full jitter: many workers do not retry in step

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        with contextlib.suppress(ValueError):
            return min(self.retry.max_retry_after, max(0.0, float(value)))
        with contextlib.suppress(TypeError, ValueError):
            when = parsedate_to_datetime(value).timestamp()
            return min(self.retry.max_retry_after, max(0.0, when - time.time()))
        return None

    def _wait(self, seconds: float, *, why) -> None:
        log.info("%s: retrying in %.1f s (%s)", self.base_url, seconds, why)
        self._sleep(seconds)

    # --- words ---------------------------------------------------------------------------

    def _short(self, path: str) -> str:
        url = self.url(path)
        parts = urlsplit(url)
        return f"{parts.hostname}{parts.path}"

    def _where(self, method: str, path: str) -> str:
        return f"{self._short(path)} ({method})"

    def _refusal(self, response: httpx.Response, method: str, path: str) -> SiteError:
        status = response.status_code
        where = self._where(method, path)
        detail = _error_text(response)
        if status == 401:
            return SiteAuthError(
                "The site refused the email and API token (401). Check the email, or create "
                "a new API token and edit the connection."
            )
        if status == 403:
            return SiteAuthError(
                f"The account is not allowed to do this on the site (403 at {where})"
                + (f": {detail}" if detail else ".")
                + " It must be a site administrator."
            )
        if status == 404:
            return SiteNotFound(f"{where} was not found (404).")
        if status == 429:
            return SiteUnreachable(f"The site kept limiting requests (429) at {where}.")
        if status >= 500:
            return SiteUnreachable(f"The site failed with HTTP {status} at {where}.")
        return SiteRequestRefused(
            f"The site refused {where} with HTTP {status}" + (f": {detail}" if detail else "."),
            status,
        )


def _error_text(response: httpx.Response) -> str:
    """Jira's and Confluence's error bodies, in their own words, briefly."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    words = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        words += [f"{k}: {v}" for k, v in errors.items()]
    elif isinstance(errors, list):  # Confluence v2
        words += [str(e.get("title") or e) for e in errors if e]
    if body.get("message"):
        words.append(str(body["message"]))
    return "; ".join(words)[:500]


def _safe(exc: Exception) -> str:
    # httpx's messages name the URL at most, never headers; keep them short anyway.
    return str(exc)[:200]

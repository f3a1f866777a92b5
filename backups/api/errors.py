"""K3: every refusal of the API is one JSON shape,

    {"error": {"code": "...", "message": "<the page's words>", "not_before": "<ISO 8601>|null"}}

with the HTTP status that fits (400 a bad request, 401 no valid token, 403 not allowed, 404 not
found or not yours, 409 a rule refuses it now, 429 too many requests). The message of a
refusal is the services' `Refused` reason, the very sentence the page shows.
"""

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from backups.services.errors import Refused


class ApiError(exceptions.APIException):
    """A refusal with its code, words and (for a wait) the moment it ends."""

    def __init__(self, message: str, *, code: str, status_code: int = 409, not_before=None):
        super().__init__(message, code)
        self.status_code = status_code
        self.error_code = code
        self.not_before = not_before


def refused(exc: Refused, *, code: str = "refused", status_code: int = 409) -> ApiError:
    """A service's refusal, in its own words and with its wait (B3, R5: `not_before`)."""
    return ApiError(
        exc.reason, code=code, status_code=status_code, not_before=exc.decision.not_before
    )


def _messages(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _messages(value, f"{key}: ")]
    if isinstance(detail, list):
        return [m for item in detail for m in _messages(item, prefix)]
    return [f"{prefix}{detail}" if prefix.strip(": ") != "non_field_errors" else str(detail)]


def body(code: str, message: str, not_before=None, **extra) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "not_before": not_before.isoformat() if not_before else None,
            **extra,
        }
    }


def exception_handler(exc, context):
    """DRF's exception handler, answering in the one error shape."""
    # Imported here: rest_framework.views imports the authentication classes (auth.py), which
    # import ApiError from this module.
    from rest_framework.views import set_rollback

    headers = {}
    if isinstance(exc, Refused):
        exc = refused(exc)
    if isinstance(exc, Http404):
        message = str(exc.args[0]) if exc.args else "Not found"
        exc = ApiError(f"{message}.", code="not_found", status_code=404)
    if isinstance(exc, ApiError):
        data = body(exc.error_code, str(exc.detail), exc.not_before)
    elif isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {}
        data = body("invalid", " ".join(_messages(exc.detail)), fields=fields)
    elif isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        headers["Retry-After"] = str(wait)
        data = body(
            "rate_limited",
            f"Too many requests with this token. Try again in {wait} second"
            f"{'' if wait == 1 else 's'}.",
        )
    elif isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        codes = {
            status.HTTP_401_UNAUTHORIZED: "unauthenticated",
            status.HTTP_403_FORBIDDEN: "forbidden",
            status.HTTP_404_NOT_FOUND: "not_found",
            status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
            status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
        }
        data = body(codes.get(exc.status_code, "error"), " ".join(_messages(exc.detail)))
    else:
        return None
    set_rollback()
    return Response(data, status=exc.status_code, headers=headers)

"""Upload backup file (R4, R9, SPEC §8): the JSON endpoints the upload page's script talks to
(the page and its list: upload_list.py), and an upload's page with its report.

The browser sends the file one chunk per request, each with the offset it starts at. Django's
`request.body` refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), and a chunk is
storage.UPLOAD_CHUNK (8 MiB): the chunk view reads the raw stream instead, bounded by
Content-Length, which must not exceed one chunk (413 otherwise). A wrong offset answers 409 with
the offset the server has, so the browser resumes from there.
"""

import json
import logging
from functools import wraps

from django.http import Http404, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from backups import archive, rules, storage
from backups.access import OrgAccess, access_organization, access_upload
from backups.models import Backup, Upload
from backups.rules import human_bytes
from backups.services.errors import Refused
from backups.services.restores import last_restore_started_at
from backups.services.uploads import (
    STOPPED_CHECK,
    STOPPED_TITLE,
    upload_chunk,
    upload_start,
)

from .backups import CONTENT_LABELS, POLL_EVERY, options_in_words, person
from .decorators import org_admin_required
from .restore_sources import WizardUploadedFile
from .upload_list import percent_of, removal_of, restoring_into

log = logging.getLogger(__name__)

# Every check of R9 in the order they run; a file refused early was not checked further.
CHECK_TITLES = {**archive.CHECK_TITLES, **rules.UPLOAD_CONTEXT_TITLES}

# The failed check, as the top of a refused file's page says it.
REFUSED_BECAUSE = {
    "zip": "it is not a ZIP archive this service can read",
    "paths": "one of its entries has an unsafe path",
    "size": "it would expand to too much data (a zip bomb?)",
    "manifest": "it has no manifest.json of backup file format version 1",
    "signature": "its signature does not match: it was changed, or not made by this service",
    "entries": "its content does not match the checksums in its manifest",
    "organization": "it is a backup of another organization",
    "kind": "it is not a backup of a Jira or Confluence product",
    "age": f"the backup was taken more than {rules.days(rules.UPLOAD_WINDOW)} ago",
    "status": "the backup is not COMPLETE or INCOMPLETE",
    STOPPED_CHECK: "its check stopped before the end",
}


# --- JSON for the upload script ------------------------------------------------------------


def upload_json(org: OrgAccess, upload: Upload, **extra) -> dict:
    slug = org.organization.slug
    return {
        "id": upload.pk,
        "file_name": upload.file_name,
        "declared_size": upload.declared_size,
        "received_bytes": upload.received_bytes,
        "status": upload.status,
        "chunk_size": storage.UPLOAD_CHUNK,
        "status_url": reverse("upload_status", args=[slug, upload.pk]),
        "chunk_url": reverse("upload_chunk", args=[slug, upload.pk]),
        "page_url": reverse("upload_detail", args=[slug, upload.pk]),
        **extra,
    }


def json_error(message: str, code: int, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=code)


class _JsonCsrf(CsrfViewMiddleware):
    """Django's CSRF check, whose refusal is JSON (the script shows `error` to the person)."""

    def _reject(self, request, reason):
        log.warning("Upload endpoint: CSRF refused (%s): %s", reason, request.path)
        return json_error(
            "The page is out of date (its security token was refused). Reload the page, then "
            "choose the same file: the upload continues from where it stopped.",
            403,
        )


_json_csrf_protect = decorator_from_middleware(_JsonCsrf)

# What a script must send to start an upload; anything larger is not a file's name and size.
START_BODY_LIMIT = 16 * 1024


def json_endpoint(*methods: str):
    """The upload script's endpoints (start, chunk, status): every answer is JSON, failures
    included — `{"error": "..."}` with the status that says what went wrong — never an HTML
    page or a redirect to the login form that the script cannot read (issue #10).

    The same preconditions as org_admin_required, in the same order, answered in JSON: a
    method not allowed 405, the CSRF token 403, no session 401, another organization's (or a
    missing) object 404, a not-enrolled organization or a plain member 403.
    """

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return json_error(
                    "Your session has ended. Log in again, then choose the same file: the "
                    "upload continues from where it stopped.",
                    401,
                )
            try:
                org = access_organization(request.user, kwargs.pop("org_slug"))
                if not org.organization.enrolled:
                    return json_error(
                        "Backup and restore is in early access and this organization is not "
                        "enrolled yet.",
                        403,
                    )
                if not org.is_admin:
                    return json_error("Only org admins can upload backup files.", 403)
                request.org = org
                return view(request, *args, **kwargs)
            except Http404:
                return json_error("Not found.", 404)
            except Exception:  # the script shows `error`; the traceback goes to the log
                log.exception("Upload endpoint %s failed", request.path)
                return json_error("The server failed to handle this request. Try again.", 500)

        protected = _json_csrf_protect(checked)

        @wraps(view)
        def endpoint(request, *args, **kwargs):
            if request.method not in methods:
                response = json_error(f"This address answers {' and '.join(methods)} only.", 405)
                response["Allow"] = ", ".join(methods)
                return response
            return protected(request, *args, **kwargs)

        endpoint.csrf_exempt = True  # checked above, by _JsonCsrf, so that its refusal is JSON
        return endpoint

    return decorate


# The status of each bound rules.upload_size_allowed refuses by.
START_REFUSED_STATUS = {"limit": 413, "free_space": 507, "unfinished": 409}


@json_endpoint("POST")
def upload_start_view(request):
    """Open an upload from the file's name and size, as JSON; D2, the free space and the
    unfinished-uploads cap refuse it here, before the first byte."""
    if request.content_type != "application/json":
        return json_error(
            "Send the file's name and size as JSON (Content-Type: application/json).", 415
        )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = START_BODY_LIMIT + 1
    if length > START_BODY_LIMIT:
        return json_error(f"The request can be at most {START_BODY_LIMIT} bytes.", 413)
    try:
        data = json.loads(request.body or b"")
    except ValueError:
        return json_error("The request is not JSON.", 400)
    if not isinstance(data, dict):
        return json_error("The request needs the file's name and its size in bytes.", 400)
    file_name, size = data.get("file_name"), data.get("size")
    if not isinstance(file_name, str) or not file_name.strip() or len(file_name) > 1000:
        return json_error("The request needs the file's name (file_name, text).", 400)
    # A JSON number without a fraction; not a string of digits, not true/false (bool is an int
    # in Python), not negative.
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return json_error("The request needs the file's size in bytes (size, a whole number).", 400)
    try:
        upload = upload_start(
            organization=request.org.organization,
            actor=request.user,
            file_name=file_name,
            size=size,
        )
    except Refused as refused:
        bound = getattr(refused.decision, "bound", "")
        return json_error(refused.reason, START_REFUSED_STATUS.get(bound, 400))
    return JsonResponse(upload_json(request.org, upload), status=201)


@json_endpoint("GET")
def upload_status(request, upload_id: int):
    """Where an upload is: the browser resumes from `received_bytes`."""
    upload = access_upload(request.org, upload_id)
    return JsonResponse(upload_json(request.org, upload))


@json_endpoint("PUT")
def upload_chunk_view(request, upload_id: int):
    """One chunk, its offset in X-Upload-Offset, its bytes the raw body (never a form)."""
    upload = access_upload(request.org, upload_id)
    try:
        offset = int(request.headers.get("X-Upload-Offset", ""))
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return json_error(
            "A chunk needs its offset (X-Upload-Offset) and its length (Content-Length).",
            400,
            **upload_json(request.org, upload),
        )
    if offset < 0 or length < 0:
        return json_error(
            "A chunk's offset and length are whole numbers of bytes.",
            400,
            **upload_json(request.org, upload),
        )
    if length > storage.UPLOAD_CHUNK:
        # Refused before reading a byte of it: the body is never held whole in memory.
        return json_error(
            f"A chunk can be at most {storage.UPLOAD_CHUNK} bytes; this one is {length}.",
            413,
            **upload_json(request.org, upload),
        )
    # request.read(), not request.body: body stops at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
    try:
        data = request.read(length) if length > 0 else b""
    except OSError:  # UnreadablePostError: the connection dropped mid-chunk
        data = b""
    if len(data) != length:
        return json_error(
            "The chunk arrived incomplete; send it again.", 400, **upload_json(request.org, upload)
        )
    try:
        upload = upload_chunk(upload=upload, offset=offset, data=data)
    except Refused as refused:
        upload.refresh_from_db()
        conflict = offset != upload.received_bytes or upload.status != Upload.Status.RECEIVING
        return json_error(
            refused.reason, 409 if conflict else 400, **upload_json(request.org, upload)
        )
    except storage.StorageError as exc:
        upload.refresh_from_db()
        return json_error(
            f"The chunk could not be stored ({exc}); it is sent again shortly.",
            503,
            **upload_json(request.org, upload),
        )
    return JsonResponse(upload_json(request.org, upload))


# --- Pages ---------------------------------------------------------------------------------


def check_rows(upload: Upload) -> list[dict]:
    """Every R9 check: passed, failed (with why), or not reached after an earlier failure."""
    done = {c["name"]: c for c in upload.checks}
    # A check that could not run to its end (E3) is not one of the file's: shown first.
    rows = [
        {"name": c["name"], "title": STOPPED_TITLE, "state": "failed", "detail": c["detail"]}
        for c in upload.checks
        if c["name"] == STOPPED_CHECK
    ]
    for name, title in CHECK_TITLES.items():
        check = done.get(name)
        if check is None:
            if upload.failed_check is None:
                continue  # a check this file had no need of (no signature key: never here)
            rows.append({"name": name, "title": title, "state": "skipped", "detail": ""})
        else:
            state = "passed" if check["passed"] else "failed"
            rows.append(
                {"name": name, "title": check["title"], "state": state, "detail": check["detail"]}
            )
    return rows


def manifest_summary(upload: Upload) -> dict | None:
    manifest = upload.manifest
    if not manifest:
        return None
    taken = archive.taken_at(manifest)
    entities = manifest["entities"]
    options = manifest.get("options", {})
    order = list(CONTENT_LABELS)
    counts = [
        {
            "label": CONTENT_LABELS.get(name, name.replace("_", " ").capitalize()),
            "rows": info["rows"],
        }
        for name, info in sorted(
            entities.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99
        )
        # A backup without attachments lists an empty attachments file: not a content.
        if not (name == "attachments" and not options.get("include_attachments"))
    ]
    return {
        "backup_id": manifest["backup_id"],
        "product_name": manifest["product"]["name"],
        "kind": manifest["product"]["kind"],
        "kind_label": rules.KIND_LABEL.get(manifest["product"]["kind"], "?"),
        "organization": manifest["organization"]["name"],
        "status": manifest["status"],
        "status_label": Backup.Status(manifest["status"]).label,
        "taken_at": taken,
        "restorable_until": rules.upload_restorable_until(taken),
        "counts": counts,
        "attachment_bytes": human_bytes(manifest.get("attachments", {}).get("bytes", 0)),
        "options": options_in_words(options, manifest["product"]["kind"]),
        "has_attachments": bool(options.get("include_attachments")),
        "has_users_and_groups": bool(options.get("include_users_and_groups")),
        "missing": manifest.get("missing", []) if manifest["status"] == "INCOMPLETE" else [],
    }


def detail_context(org: OrgAccess, upload: Upload) -> dict:
    slug = org.organization.slug
    valid = upload.status == Upload.Status.VALID
    failed = upload.failed_check
    restores = (
        list(upload.restores.select_related("destination").order_by("-started_at"))
        if upload.status == Upload.Status.DELETED
        else []
    )
    return {
        "org": org,
        "upload": upload,
        "size": human_bytes(upload.declared_size),
        "received": human_bytes(upload.received_bytes),
        "received_percent": percent_of(upload.received_bytes, upload.declared_size),
        "validated_percent": min(99, percent_of(upload.validated_bytes, upload.declared_size)),
        "validated": human_bytes(upload.validated_bytes),
        "waiting": upload.status == Upload.Status.VALIDATING and upload.claimed_at is None,
        "polling": upload.status == Upload.Status.VALIDATING,
        "poll_every": POLL_EVERY,
        "uploaded_by": person(upload.created_by),
        "checks": check_rows(upload) if upload.checks else [],
        "failed": failed,
        "refused_because": REFUSED_BECAUSE.get(failed["name"], failed["title"]) if failed else "",
        "summary": manifest_summary(upload) if valid else None,
        "decision": WizardUploadedFile(upload, org.organization).decision() if valid else None,
        "restore_url": f"{reverse('restore_options', args=[slug])}?upload={upload.pk}",
        "upload_url": reverse("upload_new", args=[slug]),
        "restores": restores,
        "restore_again": restore_again_advice(upload, restores) if restores else "",
        # Cancel upload… or Delete… (#13 item 2); a checked file's only while no restore reads it.
        "removal": removal_of(org, upload, restoring_into(upload) if valid else None),
    }


def restore_again_advice(upload: Upload, restores: list) -> str:
    """restore_again_advice_words for a deleted upload whose backup was restored."""
    taken_at = restores[0].source_taken_at
    return rules.restore_again_advice_words(
        taken_at=taken_at,
        last_restore_started_at=last_restore_started_at(restores[0].source_backup_id),
        now=timezone.now(),
    )


@require_GET
@vary_on_headers("HX-Request")
@org_admin_required
def upload_detail(request, upload_id: int, fragment: bool = False):
    """An upload's page. Its htmx polls (while the file is checked) get the body alone: an
    htmx request, or the fragment URL (`upload_detail_fragment`) routed here."""
    upload = access_upload(request.org, upload_id)
    template = (
        "backups/_upload_detail_body.html"
        if fragment or request.htmx
        else "backups/upload_detail.html"
    )
    return render(request, template, detail_context(request.org, upload))

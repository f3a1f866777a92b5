"""Backup files: generate, take a download, serve the personal link (D1-D5)."""

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from backups import storage
from backups.access import access_backup
from backups.rules import MAX_DOWNLOADS
from backups.services.errors import Refused
from backups.services.files import (
    LinkRefused,
    backup_file_request,
    download_link_check,
    download_start,
    file_name,
)

from .decorators import org_admin_required

CHUNK = 1024 * 1024
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _detail_url(request, backup) -> str:
    return reverse("backup_detail", args=[request.org.organization.slug, backup.pk])


@require_POST
@org_admin_required
def generate_file(request, backup_id: int):
    backup = access_backup(request.org, backup_id)
    try:
        backup_file_request(backup=backup, actor=request.user)
    except Refused as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, "Generating the backup file. This page shows its progress.")
    return redirect(_detail_url(request, backup) + "#file")


@require_POST
@org_admin_required
def download_file(request, backup_id: int):
    backup = access_backup(request.org, backup_id)
    backup_file = getattr(backup, "file", None)
    if backup_file is None:
        messages.error(request, "Generate the backup file first.")
        return redirect(_detail_url(request, backup) + "#file")
    try:
        url = download_start(backup_file=backup_file, actor=request.user)
    except Refused as exc:
        messages.error(request, exc.reason)
        return redirect(_detail_url(request, backup) + "#file")
    return redirect(url)


@login_required
def download_link(request, token: str):
    """Serve the file behind a personal link; Range requests resume without a new download."""
    try:
        backup_file = download_link_check(token=token, user=request.user)
    except LinkRefused as exc:
        context = {
            "reason": str(exc),
            "link_minutes": settings.DOWNLOAD_LINK_MINUTES,
            "max_downloads": MAX_DOWNLOADS,
        }
        return render(request, "backups/download_refused.html", context, status=403)
    size = backup_file.size
    filename = file_name(backup_file.backup)
    try:
        fileobj = storage.open_object(backup_file.storage_name)
    except (OSError, storage.StorageError):
        return render(
            request,
            "backups/download_refused.html",
            {"reason": "The backup file is no longer in storage. Generate it again."},
            status=410,
        )
    byte_range = _parse_range(request.headers.get("Range", ""), size)
    if byte_range is None:
        response = FileResponse(fileobj, as_attachment=True, filename=filename)
        response["Content-Length"] = str(size)
    elif byte_range == "invalid":
        fileobj.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    else:
        start, end = byte_range
        fileobj.seek(start)
        response = StreamingHttpResponse(
            _read_range(fileobj, end - start + 1), status=206, content_type="application/zip"
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    response["X-Backup-SHA256"] = backup_file.sha256
    return response


def _parse_range(header: str, size: int):
    """(start, end) for one satisfiable range, None for no range, 'invalid' otherwise."""
    if not header:
        return None
    match = RANGE_RE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        return None  # several ranges or a form we do not serve: send the whole file
    if match[1]:
        start = int(match[1])
        if match[2] and int(match[2]) < start:
            return None  # not a valid range (RFC 9110 §14.1.1): ignore it, send the whole file
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:
        start = max(0, size - int(match[2]))
        end = size - 1
    if start >= size or start > end:
        return "invalid"
    return start, end


def _read_range(fileobj, length: int):
    with fileobj:
        while length > 0:
            chunk = fileobj.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk

"""Backup files: generate, take a download, serve the personal link (D1-D6)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from backups import rules
from backups.access import access_backup, access_organization
from backups.rules import MAX_DOWNLOADS, backup_allowed
from backups.services.backups import product_activity
from backups.services.downloads import (
    LinkRefused,
    LinkUsed,
    RangeNotSatisfiable,
    download_link_open,
    download_open,
    download_start,
)
from backups.services.errors import Refused
from backups.services.files import backup_file_request, file_name

from .decorators import org_admin_required


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


@require_safe
@login_required
def download_link(request, token: str):
    """Serve the file behind a personal link: one copy (D6), resumable with Range, only to its
    user and only while that user may still manage the backup (D4)."""
    try:
        link = download_link_open(token=token, user=request.user)
    except LinkRefused as exc:
        return _refused(request, str(exc), status=exc.status)
    # D4: every request re-checks the user's rights now, not when the link was made. A demoted
    # or removed admin gets what any non-admin gets for a backup: 404 (access.py).
    backup = link.backup_file.backup
    access_backup(access_organization(request.user, backup.product.organization.slug), backup.pk)
    try:
        download = download_open(
            link=link,
            method=request.method,
            range_header=request.headers.get("Range", ""),
            if_range=request.headers.get("If-Range"),
        )
    except LinkUsed as exc:
        return _used(request, exc)
    except LinkRefused as exc:
        return _refused(request, str(exc), status=exc.status)
    except RangeNotSatisfiable as exc:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{exc.size}"
        return _private(response)
    return _private(file_response(download, backup, link))


def file_response(download, backup, link) -> HttpResponse:
    """The answer to a download opened by `download_open` — the page's link and the API's
    alike: a redirect to the bucket's presigned URL, or the bytes (the range asked for)."""
    if download.url:
        return redirect(download.url)
    status = 206 if download.partial else 200
    if download.transfer is None:  # a HEAD
        response = HttpResponse(status=status, content_type="application/zip")
    else:
        response = StreamingHttpResponse(
            download.transfer, status=status, content_type="application/zip"
        )
    if download.partial:
        response["Content-Range"] = f"bytes {download.start}-{download.end}/{download.size}"
    response["Content-Length"] = str(download.length)
    response["Content-Disposition"] = f'attachment; filename="{file_name(backup)}"'
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = download.etag
    response["X-Backup-SHA256"] = link.backup_file.sha256
    # A proxy that buffers the response would take the whole file from us at once: the link
    # would count it delivered while the browser may still be cut off and need a resume.
    response["X-Accel-Buffering"] = "no"
    return response


def _private(response):
    response["Cache-Control"] = "private, no-store"
    return response


def _refused(request, reason: str, *, status: int):
    context = {
        "reason": reason,
        "link_minutes": settings.DOWNLOAD_LINK_MINUTES,
        "max_downloads": MAX_DOWNLOADS,
    }
    return _private(render(request, "backups/download_refused.html", context, status=status))


def _used(request, exc: LinkUsed):
    """D6: the link gave its copy. Say so, with the downloads left and what to do."""
    backup_file = exc.link.backup_file
    backup_file.refresh_from_db(fields=["downloads_used"])
    backup = backup_file.backup
    context = {
        "reason": str(exc),
        "next_backup": "" if backup_file.downloads_left else _next_backup_words(backup.product),
        "downloads_left": backup_file.downloads_left,
        "max_downloads": MAX_DOWNLOADS,
        "backup_url": reverse("backup_detail", args=[backup.product.organization.slug, backup.pk]),
    }
    return _private(render(request, "backups/download_used.html", context, status=403))


def _next_backup_words(product) -> str:
    # Only when the next backup may start (B3, B4): sizes (B6) are checked by Run backup itself,
    # and counting a large product's content is too slow for this page.
    decision = backup_allowed(
        is_org_admin=True,
        enrolled=True,
        product_name=product.name,
        kind=product.kind,
        activity=product_activity(product),
        data_bytes=0,
        attachment_bytes=0,
        limits=settings.BACKUP_LIMITS,
        now=timezone.now(),
    )
    return rules.next_backup_words(product.name, decision)

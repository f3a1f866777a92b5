"""Backups on the Backup and restore pages: run one, follow it, read what it holds (B1-B8)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from backups.access import OrgAccess, access_backup, access_product
from backups.models import Backup, BackupFile, BackupPolicy, Product
from backups.productdata import KINDS
from backups.rules import MAX_DOWNLOADS, Decision, human_bytes
from backups.selectors import run_by
from backups.services.backups import backup_request
from backups.services.downloads import download_decision
from backups.services.errors import Refused
from backups.services.files import backup_file_decision, file_name
from backups.services.restores import StoredBackupSource, restore_source_decision

from .decorators import org_admin_required

POLL_EVERY = "2s"
NO_SIZE = (Backup.Status.IN_PROGRESS, Backup.Status.FAILED)

CONTENT_LABELS = {
    "projects": "Projects",
    "issues": "Issues",
    "spaces": "Spaces",
    "pages": "Pages and blog posts",
    "comments": "Comments",
    "attachments": "Attachments",
    "groups": "Groups",
}


# --- Words -----------------------------------------------------------------------------------


def options_in_words(options: dict, kind: str) -> str:
    """'Attachments, personal spaces, users and groups' or 'Users and groups; no attachments'."""
    parts = [("attachments", options.get("include_attachments", False))]
    if kind == Product.Kind.CONFLUENCE:
        parts.append(("personal spaces", options.get("include_personal_spaces", False)))
    parts.append(("users and groups", options.get("include_users_and_groups", False)))
    included = [name for name, on in parts if on]
    excluded = [f"no {name}" for name, on in parts if not on]
    words = "; ".join(p for p in (", ".join(included), ", ".join(excluded)) if p)
    return words[:1].upper() + words[1:]


def person(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


def expires_in(backup: Backup, now: datetime) -> str:
    """'in 13 days', 'Expired', or '—' for a failed backup (nothing is kept)."""
    if backup.status == Backup.Status.FAILED:
        return "—"
    if backup.status == Backup.Status.EXPIRED or backup.expires_at <= now:
        return "Expired"
    return in_words(backup.expires_at - now)


def in_words(delta: timedelta) -> str:
    """'in 13 days', 'in 5 hours': the largest whole unit, as people say it (no weeks)."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"in {n} {unit}{'' if n == 1 else 's'}"
    return "in less than a minute"


# --- Rows of the Backup and restore page -----------------------------------------------------


@dataclass
class PolicyRow:
    policy: BackupPolicy
    options: str
    last_backup: Backup | None
    decision: Decision
    next_run: str


@dataclass
class BackupRow:
    backup: Backup
    expires_in: str
    size: str
    run_by: str


def backup_row(backup: Backup, now: datetime) -> BackupRow:
    return BackupRow(
        backup=backup,
        expires_in=expires_in(backup, now),
        # A running backup has no size yet; a failed one keeps nothing (B5).
        size=human_bytes(backup.total_bytes) if backup.status not in NO_SIZE else "—",
        run_by=run_by(backup, person),
    )


# --- Views -----------------------------------------------------------------------------------


@require_POST
@org_admin_required
def backup_run_view(request, product_id: int):
    """Run backup (B1-B6). The service decides; a double click makes one backup (B4)."""
    product = access_product(request.org, product_id)
    org_url = reverse("org", args=[request.org.organization.slug])
    try:
        backup_request(product=product, actor=request.user)
    except Refused as refused:
        messages.error(request, refused.reason)
        return redirect(f"{org_url}#policies")
    messages.success(
        request,
        f"Backup of {product.name} started. It runs in the background; its progress shows below.",
    )
    return redirect(f"{org_url}#backups")


def content_order(backup: Backup, content_type: str) -> int:
    order = (*KINDS[backup.product.kind].content_types, "groups")
    return order.index(content_type) if content_type in order else len(order)


def detail_context(org: OrgAccess, backup: Backup, now: datetime) -> dict:
    counts = [
        {
            "label": CONTENT_LABELS.get(name, name.replace("_", " ").capitalize()),
            "rows": entry.get("rows", 0),
            "bytes": human_bytes(entry.get("bytes", 0)),
            "files_bytes": (human_bytes(entry["files_bytes"]) if "files_bytes" in entry else None),
        }
        # In reading order (projects before issues): jsonb on PostgreSQL keeps no key order.
        for name, entry in sorted(
            backup.counts.items(), key=lambda kv: content_order(backup, kv[0])
        )
    ]
    file_ctx = file_context(backup, now)
    return {
        "org": org,
        "backup": backup,
        "row": backup_row(backup, now),
        "options": options_in_words(backup.options, backup.product.kind),
        "counts": counts,
        "bytes_done": human_bytes(backup.bytes_done),
        "bytes_total": human_bytes(backup.bytes_total),
        "poll_every": POLL_EVERY,
        # One poll for the whole body: while the backup runs, while its file is made, and
        # while it is verified (A3), so "Verified" or why not shows without a reload.
        "polling": backup.status == Backup.Status.IN_PROGRESS
        or file_ctx["file_generating"]
        or _verifying(backup),
        "restore": restore_source_decision(source=StoredBackupSource(backup), now=now),
        **file_ctx,
    }


def _verifying(backup: Backup) -> bool:
    """A worker is verifying the backup now. One still waiting for the verification worker
    (its queue may be long) is not polled for: the page says it waits."""
    verification = getattr(backup, "verification", None)  # None: never verified
    return (
        verification is not None
        and verification.status == verification.Status.IN_PROGRESS
        and verification.claimed_at is not None
    )


def file_context(backup: Backup, now: datetime) -> dict:
    """The Backup file section (D1-D5): what the file is doing and which button works now."""
    backup_file = getattr(backup, "file", None)
    status = backup_file.status if backup_file else None
    context = {
        "backup_file": backup_file,
        "file_generating": status == BackupFile.Status.GENERATING,
        "max_downloads": MAX_DOWNLOADS,
        "link_minutes": settings.DOWNLOAD_LINK_MINUTES,
        "file_name": file_name(backup),
    }
    if status in (None, BackupFile.Status.FAILED):
        context["generate"] = backup_file_decision(backup=backup, now=now)
    elif status == BackupFile.Status.GENERATING:
        # The total is the stored backup's size; the ZIP adds a little to it, hence "about".
        context["file_bytes_done"] = human_bytes(backup_file.bytes_done)
        context["file_bytes_total"] = human_bytes(backup_file.bytes_total)
    else:
        context["download"] = download_decision(backup_file=backup_file, now=now)
        context["file_size"] = human_bytes(backup_file.size)
    return context


@require_GET
@vary_on_headers("HX-Request")
@org_admin_required
def backup_detail(request, backup_id: int, fragment: bool = False):
    """A backup's page. Its htmx polls (while the backup runs or its file is made) get the
    body alone: an htmx request, or the fragment URL (`backup_detail_fragment`) routed here."""
    backup = access_backup(request.org, backup_id)
    template = (
        "backups/_backup_detail_body.html"
        if fragment or request.htmx
        else "backups/backup_detail.html"
    )
    return render(request, template, detail_context(request.org, backup, timezone.now()))

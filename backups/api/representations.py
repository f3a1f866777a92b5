"""The API's objects as dicts (shaped by serializers.py), built from what the pages read: the
selectors, the models' own properties, the services' decisions and the pages' row helpers."""

from django.urls import reverse

from backups import storage
from backups.models import AuditEvent, Backup, BackupFile, Restore, SiteConnection, Upload
from backups.rules import Decision
from backups.selectors import ProductItem
from backups.services.downloads import download_decision
from backups.services.files import file_name
from backups.views.backups import person
from backups.views.restores import report_rows, restore_progress
from backups.views.uploads import check_rows


def decision(d: Decision | None) -> dict | None:
    if d is None:
        return None
    return {"allowed": d.allowed, "reason": d.reason, "not_before": d.not_before}


def organization(org) -> dict:
    return {
        "id": org.pk,
        "slug": org.slug,
        "name": org.name,
        "enrolled": org.enrolled,
        "time_zone": org.time_zone,
    }


def product(item: ProductItem) -> dict:
    p = item.product
    connection = getattr(p, "connection", None)
    summary = item.summary.summary
    return {
        "id": p.pk,
        "kind": p.kind,
        "name": p.name,
        "url": p.url,
        "home": {
            "type": "connected" if connection else "embedded",
            "site_url": connection.site_url if connection else None,
            "connection": connection.pk if connection else None,
        },
        "content_summary": None
        if summary is None
        else {
            **summary.stored(),
            "containers": summary.containers,
            "counted_at": item.summary.at,
        },
        "policy": getattr(getattr(p, "backup_policy", None), "pk", None),
    }


def connection(c: SiteConnection) -> dict:
    # C2: never the token, not even encrypted.
    return {
        "id": c.pk,
        "product": c.product_id,
        "site_url": c.site_url,
        "email": c.email,
        "account_name": c.account_name,
        "connected": bool(c.token_encrypted),
        "checked_at": c.checked_at,
        "check_ok": c.check_ok,
        "check_message": c.check_message,
    }


def backup_file(backup: Backup) -> dict | None:
    f = getattr(backup, "file", None)
    if f is None:
        return None
    return {
        "status": f.status,
        "file_name": file_name(backup),
        "size": f.size,
        "sha256": f.sha256,
        "percent": f.progress_percent,
        "downloads_used": f.downloads_used,
        "downloads_left": f.downloads_left,
        "created_at": f.created_at,
        "ready_at": f.ready_at,
        "failure_reason": f.failure_reason,
        "download": decision(download_decision(backup_file=f))
        if f.status == BackupFile.Status.READY
        else None,
    }


def backup(b: Backup) -> dict:
    return {
        "id": b.pk,
        "product": b.product_id,
        "product_name": b.product.name,
        "kind": b.product.kind,
        "status": b.status,
        "trigger": b.trigger,
        "attempt": b.attempt,
        "run_by": person(b.created_by) if b.created_by else None,
        "options": b.options,
        "started_at": b.started_at,
        "completed_at": b.completed_at,
        "expires_at": b.expires_at,
        "expired_at": b.expired_at,
        "progress": {
            "percent": b.progress_percent,
            "items_done": b.items_done,
            "items_total": b.items_total,
        },
        "counts": b.counts,
        "total_bytes": b.total_bytes,
        "missing": b.missing,
        "failure_reason": b.failure_reason,
        "file": backup_file(b),
    }


def restore(r: Restore) -> dict:
    progress = restore_progress(r)
    report = r.report or {}
    return {
        "id": r.pk,
        "status": r.status,
        "backup": r.source_backup_id,
        "upload": r.upload_id,
        "source_product_name": r.source_product_name,
        "destination": r.destination_id,
        "destination_name": r.destination.name,
        "run_by": person(r.created_by) if r.created_by else None,
        "options": r.options,
        "started_at": r.started_at,
        "completed_at": r.completed_at,
        "progress": {
            "percent": progress.percent,
            "items_done": progress.items_done,
            "items_total": progress.items_total,
        },
        "report": report_rows(report),
        "skipped_space_keys": report.get("skipped_space_keys", []),
        "failure_reason": r.failure_reason,
    }


def upload(u: Upload) -> dict:
    return {
        "id": u.pk,
        "file_name": u.file_name,
        "declared_size": u.declared_size,
        "received_bytes": u.received_bytes,
        "status": u.status,
        "chunk_size": storage.UPLOAD_CHUNK,
        "chunk_url": reverse("api_upload_chunk", args=[u.pk]),
        "checks": check_rows(u),
        "backup_id": (u.manifest or {}).get("backup_id"),
        "deleted_reason": u.deleted_reason,
    }


def audit_event(e: AuditEvent) -> dict:
    return {
        "id": e.pk,
        "created_at": e.created_at,
        "actor": person(e.actor) if e.actor else None,
        "action": e.action,
        "target": e.target,
        "product": e.product_id,
        "client_address": e.client_address,
        "details": e.details,
    }

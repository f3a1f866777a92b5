"""Backup files (D1, D2): generate the archive from a stored backup. Its downloads, three
personal links each good for one copy (D3-D6), are downloads.py."""

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backups import archive, rules, storage
from backups.models import Backup, BackupFile

from .audit import record_event
from .errors import Refused
from .jobs import (
    BACKUP_FILE,
    JobEnded,
    Progress,
    claim,
    enqueue_on_commit,
    finish,
    transition,
)

log = logging.getLogger(__name__)


def file_name(backup: Backup) -> str:
    return f"backup-{backup.product.kind}-{backup.pk}-{backup.started_at:%Y%m%d-%H%M}.zip"


def backup_file_decision(*, backup: Backup, now: datetime | None = None) -> rules.Decision:
    return rules.backup_file_allowed(
        status=backup.status,
        started_at=backup.started_at,
        total_bytes=backup.total_bytes,
        limit=settings.LOCAL_DOWNLOAD_LIMIT,
        now=now or timezone.now(),
    )


def backup_file_request(*, backup: Backup, actor) -> BackupFile:
    """Start generating the backup's file (D1), or raise Refused with the reason."""
    now = timezone.now()
    with transaction.atomic():
        backup = Backup.objects.select_for_update().select_related("product").get(pk=backup.pk)
        decision = backup_file_decision(backup=backup, now=now)
        if not decision:
            raise Refused(decision)
        existing = BackupFile.objects.filter(backup=backup).first()
        if existing and existing.status != BackupFile.Status.FAILED:
            raise Refused(
                "The backup file is being generated."
                if existing.status == BackupFile.Status.GENERATING
                else "The backup file is ready."
            )
        name = f"{backup.storage_prefix}file/{file_name(backup)}"
        fields = {
            "status": BackupFile.Status.GENERATING,
            "created_by": actor,
            "storage_name": name,
            "size": 0,
            "sha256": "",
            "bytes_done": 0,
            "bytes_total": backup.total_bytes,
            "failure_reason": "",
            "created_at": now,
            "claimed_at": None,
            "heartbeat_at": now,
            "ready_at": None,
        }
        if existing:
            # A failed file is made again; its download count stays (D3 counts per backup).
            # The backup's row lock above keeps a second request from doing it at once.
            status = fields.pop("status")
            transition(BackupFile, existing.pk, BackupFile.Status.FAILED, status, **fields)
            existing.refresh_from_db()
            backup_file = existing
        else:
            backup_file = BackupFile.objects.create(backup=backup, **fields)
        record_event(
            action="backup_file.requested",
            actor=actor,
            organization=backup.product.organization,
            target=backup,
        )
        enqueue_on_commit(BACKUP_FILE, backup_file.pk)
    return backup_file


def backup_file_generate(*, file_id: int) -> str | None:
    """Build the ZIP from the stored backup, streaming; a second call does nothing."""
    if not claim(BACKUP_FILE, file_id):
        return None
    backup_file = BackupFile.objects.select_related("backup__product__organization").get(pk=file_id)
    backup = backup_file.backup
    try:
        # A failed earlier attempt may have left part of a file under the same name.
        storage.delete_object(backup_file.storage_name)
        with storage.open_object(backup.storage_prefix + archive.MANIFEST_NAME) as f:
            manifest_data = f.read()
        progress = Progress(BACKUP_FILE, file_id)
        # Its objects' names looked up a page at a time, not one query each (#16).
        open_stored = storage.object_opener()
        entries = archive.archive_entries(
            manifest_data=manifest_data,
            secret_key=settings.SECRET_KEY,
            open_object=lambda path: open_stored(backup.storage_prefix + path),
        )
        written = storage.write_chunks(
            backup_file.storage_name, progress.counting(archive.zip_chunks(entries))
        )
    except JobEnded:
        _delete_quietly(backup_file.storage_name)
        return None
    except Exception as exc:
        log.exception("Backup file %s failed", file_id)
        backup_file_fail(file_id=file_id, reason=str(exc) or exc.__class__.__name__)
        return BackupFile.Status.FAILED
    done = timezone.now()
    changed = finish(
        BACKUP_FILE,
        file_id,
        BackupFile.Status.READY,
        size=written.size,
        sha256=written.sha256,
        bytes_done=written.size,
        bytes_total=written.size,
        ready_at=done,
        heartbeat_at=done,
    )
    if not changed:
        _delete_quietly(backup_file.storage_name)
        return None
    record_event(
        action="backup_file.ready",
        organization=backup.product.organization,
        target=backup,
        details={"size": written.size, "sha256": written.sha256},
    )
    return BackupFile.Status.READY


def backup_file_fail(*, file_id: int, reason: str) -> bool:
    """GENERATING -> FAILED, removing the partial file. False if it had already ended."""
    backup_file = BackupFile.objects.filter(pk=file_id).first()
    if backup_file is None:
        return False
    changed = finish(BACKUP_FILE, file_id, BackupFile.Status.FAILED, failure_reason=reason)
    if changed and backup_file.storage_name:
        _delete_quietly(backup_file.storage_name)
    return changed


def _delete_quietly(name: str) -> None:
    try:
        storage.delete_object(name)
    except storage.StorageError:
        # The storage being down is likely why the job ended; its record says so anyway.
        log.exception("Could not remove the partial file %s", name)

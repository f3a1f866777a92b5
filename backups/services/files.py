"""Backup files and downloads (D1-D5): generate the archive, hand out three personal links."""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from backups import archive, rules, storage
from backups.models import Backup, BackupFile

from .audit import record_event
from .errors import Refused

log = logging.getLogger(__name__)

LINK_SALT = "backupsite.download-link"
PROGRESS_EVERY_SECONDS = 1.0


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
            for key, value in fields.items():
                setattr(existing, key, value)
            existing.save()
            backup_file = existing
        else:
            backup_file = BackupFile.objects.create(backup=backup, **fields)
        record_event(
            action="backup_file.requested",
            actor=actor,
            organization=backup.product.organization,
            target=backup,
        )
        transaction.on_commit(
            lambda: async_task(
                "backups.tasks.generate_backup_file",
                backup_file.pk,
                task_name=f"backup-file-{backup_file.pk}",
            )
        )
    return backup_file


def backup_file_generate(*, file_id: int) -> str | None:
    """Build the ZIP from the stored backup, streaming; a second call does nothing."""
    now = timezone.now()
    claimed = BackupFile.objects.filter(
        pk=file_id, status=BackupFile.Status.GENERATING, claimed_at__isnull=True
    ).update(claimed_at=now, heartbeat_at=now)
    if not claimed:
        log.warning("Backup file %s is not waiting to be generated; not generating it", file_id)
        return None
    backup_file = BackupFile.objects.select_related("backup__product__organization").get(pk=file_id)
    backup = backup_file.backup
    try:
        # A failed earlier attempt may have left part of a file under the same name.
        storage.delete_object(backup_file.storage_name)
        with storage.open_object(backup.storage_prefix + archive.MANIFEST_NAME) as f:
            manifest_data = f.read()
        progress = _Progress(file_id)
        entries = archive.archive_entries(
            manifest_data=manifest_data,
            secret_key=settings.SECRET_KEY,
            open_object=lambda path: storage.open_object(backup.storage_prefix + path),
        )
        written = storage.write_chunks(
            backup_file.storage_name, progress.counting(archive.zip_chunks(entries))
        )
    except _Cancelled:
        _delete_quietly(backup_file.storage_name)
        return None
    except Exception as exc:
        log.exception("Backup file %s failed", file_id)
        backup_file_fail(file_id=file_id, reason=str(exc) or exc.__class__.__name__)
        return BackupFile.Status.FAILED
    done = timezone.now()
    changed = BackupFile.objects.filter(pk=file_id, status=BackupFile.Status.GENERATING).update(
        status=BackupFile.Status.READY,
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
    changed = BackupFile.objects.filter(pk=file_id, status=BackupFile.Status.GENERATING).update(
        status=BackupFile.Status.FAILED, failure_reason=reason, heartbeat_at=timezone.now()
    )
    if changed and backup_file.storage_name:
        _delete_quietly(backup_file.storage_name)
    return bool(changed)


def _delete_quietly(name: str) -> None:
    try:
        storage.delete_object(name)
    except storage.StorageError:
        # The storage being down is likely why the job ended; its record says so anyway.
        log.exception("Could not remove the partial file %s", name)


class _Cancelled(Exception):
    pass


class _Progress:
    def __init__(self, file_id: int):
        self.file_id = file_id
        self.done = 0
        self.last = 0.0

    def counting(self, chunks):
        for chunk in chunks:
            self.done += len(chunk)
            if time.monotonic() - self.last >= PROGRESS_EVERY_SECONDS:
                self.last = time.monotonic()
                if not BackupFile.objects.filter(
                    pk=self.file_id, status=BackupFile.Status.GENERATING
                ).update(bytes_done=self.done, heartbeat_at=timezone.now()):
                    raise _Cancelled()
            yield chunk


# --- downloads ------------------------------------------------------------------------------


def download_decision(*, backup_file: BackupFile, now: datetime | None = None) -> rules.Decision:
    backup = backup_file.backup
    return rules.download_allowed(
        file_status=backup_file.status,
        downloads_used=backup_file.downloads_used,
        status=backup.status,
        started_at=backup.started_at,
        now=now or timezone.now(),
    )


def download_start(*, backup_file: BackupFile, actor) -> str:
    """Take one of the three downloads (D3) and return a personal, short-lived link (D4)."""
    decision = download_decision(backup_file=backup_file)
    if not decision:
        raise Refused(decision)
    # One conditional update, never read-then-write: ten parallel clicks take at most the
    # downloads that are left, whatever the timing. Only this row's own columns in the WHERE:
    # a condition on a joined table becomes a subquery, which PostgreSQL does not re-check
    # after waiting for a concurrent update of the row (the check constraint would catch it).
    taken = BackupFile.objects.filter(
        pk=backup_file.pk,
        status=BackupFile.Status.READY,
        downloads_used__lt=rules.MAX_DOWNLOADS,
    ).update(downloads_used=F("downloads_used") + 1)
    if not taken:
        backup_file.refresh_from_db()
        decision = download_decision(backup_file=backup_file)
        raise Refused(decision if not decision else "The download could not start; try again.")
    backup_file.refresh_from_db(fields=["downloads_used"])
    backup = backup_file.backup
    record_event(
        action="backup_file.downloaded",
        actor=actor,
        organization=backup.product.organization,
        target=backup,
        details={"download": backup_file.downloads_used, "of": rules.MAX_DOWNLOADS},
    )
    url = storage.presigned_url(
        backup_file.storage_name,
        filename=file_name(backup),
        expires=timedelta(minutes=settings.DOWNLOAD_LINK_MINUTES),
    )
    if url:
        return url
    token = signing.dumps(
        {"file": backup_file.pk, "user": actor.pk, "n": backup_file.downloads_used},
        salt=LINK_SALT,
    )
    return reverse("download", args=[token])


class LinkRefused(Exception):
    pass


def download_link_check(*, token: str, user) -> BackupFile:
    """The file a download link opens, if the link is valid, unexpired and the user's own."""
    try:
        data = signing.loads(
            token, salt=LINK_SALT, max_age=timedelta(minutes=settings.DOWNLOAD_LINK_MINUTES)
        )
    except signing.SignatureExpired:
        raise LinkRefused(
            "This download link has expired. Links are valid for "
            f"{settings.DOWNLOAD_LINK_MINUTES} minutes: go back to the backup and download again."
        )
    except signing.BadSignature:
        raise LinkRefused("This download link is not valid.")
    if data.get("user") != user.pk:
        raise LinkRefused("This download link was made for another user.")
    backup_file = (
        BackupFile.objects.select_related("backup__product").filter(pk=data.get("file")).first()
    )
    if backup_file is None:
        raise LinkRefused("This backup file no longer exists.")
    usable = rules.backup_usable(
        status=backup_file.backup.status,
        started_at=backup_file.backup.started_at,
        now=timezone.now(),
    )
    if not usable:
        raise LinkRefused(usable.reason)
    if backup_file.status != BackupFile.Status.READY:
        raise LinkRefused("This backup file no longer exists.")
    return backup_file

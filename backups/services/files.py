"""Backup files and downloads (D1-D6): generate the archive, hand out three personal links,
each good for one copy."""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from backups import archive, rules, storage
from backups.models import Backup, BackupFile, DownloadLink

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
        entries = archive.archive_entries(
            manifest_data=manifest_data,
            secret_key=settings.SECRET_KEY,
            open_object=lambda path: storage.open_object(backup.storage_prefix + path),
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


# --- downloads: three per backup (D3), one copy per link (D6) ---------------------------------

# What a request hands to the server at a time, within a reserved block (rules.DOWNLOAD_BLOCK).
LINK_CHUNK = 1024 * 1024


def download_decision(*, backup_file: BackupFile, now: datetime | None = None) -> rules.Decision:
    backup = backup_file.backup
    return rules.download_allowed(
        file_status=backup_file.status,
        downloads_used=backup_file.downloads_used,
        status=backup.status,
        started_at=backup.started_at,
        now=now or timezone.now(),
    )


def _token_hash(token: str) -> str:
    # The token is 256 random bits: a plain SHA-256 is enough to keep working links out of
    # the table, and lets the link be found by an index.
    return hashlib.sha256(token.encode()).hexdigest()


def download_start(*, backup_file: BackupFile, actor) -> str:
    """Take one of the three downloads (D3); return a personal, short-lived link (D4) to one
    copy of the file (D6)."""
    decision = download_decision(backup_file=backup_file)
    if not decision:
        raise Refused(decision)
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # One conditional update, never read-then-write: ten parallel clicks take at most the
        # downloads that are left, whatever the timing. Only this row's own columns in the
        # WHERE: a condition on a joined table becomes a subquery, which PostgreSQL does not
        # re-check after waiting for a concurrent update of the row (the check constraint
        # would catch it).
        taken = BackupFile.objects.filter(
            pk=backup_file.pk,
            status=BackupFile.Status.READY,
            downloads_used__lt=rules.MAX_DOWNLOADS,
        ).update(downloads_used=F("downloads_used") + 1)
        if taken:
            # Read inside the transaction that holds the row: this download's own number.
            backup_file.refresh_from_db(fields=["downloads_used", "size"])
            DownloadLink.objects.create(
                backup_file=backup_file,
                user=actor,
                number=backup_file.downloads_used,
                token_hash=_token_hash(token),
                size=backup_file.size,
                budget=rules.download_link_budget(backup_file.size),
                created_at=now,
                expires_at=now + timedelta(minutes=settings.DOWNLOAD_LINK_MINUTES),
            )
            backup = backup_file.backup
            record_event(
                action="backup_file.downloaded",
                actor=actor,
                organization=backup.product.organization,
                target=backup,
                details={"download": backup_file.downloads_used, "of": rules.MAX_DOWNLOADS},
            )
    if not taken:
        backup_file.refresh_from_db()
        decision = download_decision(backup_file=backup_file)
        raise Refused(decision if not decision else "The download could not start; try again.")
    return reverse("download", args=[token])


class LinkRefused(Exception):
    pass


class LinkUsed(LinkRefused):
    """The link has delivered its copy (D6); `link` says for which backup file."""

    def __init__(self, reason: str, link: DownloadLink):
        super().__init__(reason)
        self.link = link


def download_link_open(*, token: str, user) -> DownloadLink:
    """The link behind `token`, if it is valid, unexpired and the user's own (D4).

    Whether the user may still manage the backup is the view's to check, through access.py,
    like every other object a request reaches.
    """
    link = (
        DownloadLink.objects.select_related("backup_file__backup__product__organization")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if link is None:
        raise LinkRefused("This download link is not valid.")
    now = timezone.now()
    valid = rules.download_link_valid(
        expires_at=link.expires_at, link_minutes=settings.DOWNLOAD_LINK_MINUTES, now=now
    )
    if not valid:
        raise LinkRefused(valid.reason)
    if link.user_id != user.pk:
        raise LinkRefused("This download link was made for another user.")
    backup_file = link.backup_file
    usable = rules.backup_usable(
        status=backup_file.backup.status, started_at=backup_file.backup.started_at, now=now
    )
    if not usable:
        raise LinkRefused(usable.reason)
    if backup_file.status != BackupFile.Status.READY or backup_file.size != link.size:
        raise LinkRefused("This backup file no longer exists.")
    return link


def download_link_check(*, token: str, user) -> BackupFile:
    """The file a download link opens, if the link is valid, unexpired and the user's own."""
    return download_link_open(token=token, user=user).backup_file


def download_link_copy_left(*, link: DownloadLink, wanted: int) -> rules.Decision:
    """May the link send `wanted` more bytes now (D6)? As the database has it."""
    link.refresh_from_db(fields=["bytes_served", "completed_at"])
    return rules.download_link_has_copy_left(
        completed=link.completed_at is not None,
        bytes_served=link.bytes_served,
        budget=link.budget,
        wanted=wanted,
    )


def _used(link: DownloadLink, wanted: int) -> LinkUsed:
    decision = download_link_copy_left(link=link, wanted=wanted)
    # Refused a moment ago, allowed now: another request gave back bytes it had not sent.
    return LinkUsed(decision.reason or "This download link is busy; try again.", link)


def download_link_presign(*, link: DownloadLink) -> str | None:
    """The link's one presigned URL to the file on S3, short-lived; None on a folder, where
    the service sends the bytes itself (download_link_serve). LinkUsed if it was handed out.

    The URL lives DOWNLOAD_PRESIGNED_SECONDS, only long enough to start the transfer (S3 keeps
    serving a transfer begun in time). The bytes then go from S3 to the browser without us, so
    handing out the URL is the nearest we get to delivering the copy: the link is complete.
    """
    backup_file = link.backup_file
    url = storage.presigned_url(
        backup_file.storage_name,
        filename=file_name(backup_file.backup),
        expires=timedelta(seconds=settings.DOWNLOAD_PRESIGNED_SECONDS),
    )
    if url is None:
        return None
    now = timezone.now()
    handed = DownloadLink.objects.filter(
        pk=link.pk, presigned_at__isnull=True, completed_at__isnull=True
    ).update(presigned_at=now, completed_at=now)
    if not handed:
        raise _used(link, 0)
    return url


def download_link_serve(*, link: DownloadLink, start: int, length: int) -> "LinkTransfer":
    """Bytes start..start+length-1 of the link's file, as an iterator for a streaming response,
    each block reserved within the link's budget before it is read (D6).

    Raises LinkUsed before any byte if the link has no copy left for them, OSError or
    StorageError if the file is not in storage.
    """
    decision = download_link_copy_left(link=link, wanted=length)
    if not decision:
        raise LinkUsed(decision.reason, link)
    fileobj = storage.open_object(link.backup_file.storage_name)
    transfer = LinkTransfer(link=link, fileobj=fileobj, start=start, length=length)
    # The first block is reserved here, not at the first read: a request that loses the race
    # for it still gets the refusal page instead of an empty body.
    if not transfer.reserve():
        transfer.close()
        raise _used(link, length)
    fileobj.seek(start)
    return transfer


class LinkTransfer:
    """The bytes of one request on a link, reserved block by block (download_link_serve).

    A StreamingHttpResponse calls close() however the response ends (the WSGI server closes
    it): the part of a reserved block never handed to the server is given back, so a cut
    transfer costs the link only what had left, and its resume fits in the budget.
    """

    def __init__(self, *, link: DownloadLink, fileobj, start: int, length: int):
        self.link = link
        self.fileobj = fileobj
        self.start = start
        self.length = length
        self.reserved = 0  # bytes of this request counted in link.bytes_served
        self.handed = 0  # bytes handed to the server
        self.closed = False

    def reserve(self) -> bool:
        block = min(rules.DOWNLOAD_BLOCK, self.length - self.reserved)
        # A request starts only if all it asks for still fits in the budget, so of two parallel
        # requests for the whole file one is refused at once instead of both being cut off
        # halfway; later blocks need only fit themselves. Only the row's own columns in the
        # WHERE (see download_start): PostgreSQL re-checks it after waiting for the row.
        fits = self.length if not self.reserved else block
        taken = DownloadLink.objects.filter(
            pk=self.link.pk, bytes_served__lte=F("budget") - fits
        ).update(bytes_served=F("bytes_served") + block)
        if taken:
            self.reserved += block
        return bool(taken)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        if self.closed:
            raise StopIteration
        if self.handed == self.length:
            # The server asks for more after the last piece: all of it went to the client's
            # connection. The link is complete once that piece was the file's last byte and a
            # copy's worth has been sent (a resume counts the bytes it repeats).
            if self.start + self.length == self.link.size:
                DownloadLink.objects.filter(
                    pk=self.link.pk, completed_at__isnull=True, bytes_served__gte=F("size")
                ).update(completed_at=timezone.now())
            self.close()
            raise StopIteration
        if self.handed == self.reserved and not self.reserve():
            # Parallel requests used the budget meanwhile: the response ends short, which the
            # client sees as a cut transfer (its Content-Length was not reached).
            log.warning("Download link %s: budget used up mid-transfer", self.link.pk)
            self.close()
            raise StopIteration
        chunk = self.fileobj.read(min(LINK_CHUNK, self.reserved - self.handed))
        if not chunk:
            log.error("Download link %s: the file ended before its recorded size", self.link.pk)
            self.close()
            raise StopIteration
        self.handed += len(chunk)
        return chunk

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.fileobj.close()
        unsent = self.reserved - self.handed
        if unsent:
            DownloadLink.objects.filter(pk=self.link.pk, bytes_served__gte=unsent).update(
                bytes_served=F("bytes_served") - unsent
            )
            self.reserved = self.handed

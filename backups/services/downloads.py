"""Downloads of a backup file (D3-D6): three per backup, each a personal, short-lived link
good for one copy; and what one request on a link gets (download_open), checked, so the view
only turns it into a response."""

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from backups import rules, storage
from backups.models import BackupFile, DownloadLink

from .audit import record_event
from .errors import Refused
from .files import file_name

log = logging.getLogger(__name__)

# --- three downloads per backup (D3), one copy per link (D6) -----------------------------------

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
    """The link gives nothing now; `status` is the HTTP status the refusal page answers with."""

    status = 403


class FileUnavailable(LinkRefused):
    """The link is good but the file cannot be read: its storage failed (503) or it is gone
    (410)."""

    def __init__(self, reason: str, *, status: int):
        super().__init__(reason)
        self.status = status


class RangeNotSatisfiable(Exception):
    """The request asked for bytes past the end of a file of `size` bytes (HTTP 416)."""

    def __init__(self, size: int):
        super().__init__(f"No such range in a file of {size} bytes.")
        self.size = size


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


# --- one request on a link ------------------------------------------------------------------

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Download:
    """What one request on a link gets (download_open): a presigned URL to send the browser to
    (S3), or bytes start..end of the file, streamed by `transfer` (None for a HEAD: no bytes)."""

    url: str | None = None
    size: int = 0
    start: int = 0
    end: int = -1
    partial: bool = False  # a Range that is served: 206 with a Content-Range
    etag: str = ""
    transfer: LinkTransfer | None = None

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def download_open(
    *, link: DownloadLink, method: str, range_header: str = "", if_range: str | None = None
) -> Download:
    """What a GET or HEAD on an open link (download_link_open, then the view's access check)
    gets, resumable with Range: a presigned URL on S3, else the bytes it asked for (D6).

    Raises LinkUsed when the link has no copy left for them, FileUnavailable when the file
    cannot be read, RangeNotSatisfiable for a range past its end.
    """
    try:
        # A HEAD takes no copy: on S3 it must not use up the link's one presigned URL.
        url = download_link_presign(link=link) if method == "GET" else None
    except storage.StorageError as exc:
        raise FileUnavailable(str(exc), status=503) from exc
    if url:
        return Download(url=url)

    size = link.size
    etag = f'"{link.backup_file.sha256}"'  # the validator a browser's resume sends in If-Range
    byte_range = parse_range(range_header, size)
    if byte_range is not None and if_range and if_range != etag:
        byte_range = None  # a resume of some other file: RFC 9110 says send the whole file
    if byte_range == "invalid":
        raise RangeNotSatisfiable(size)
    start, end = byte_range or (0, size - 1)
    download = Download(size=size, start=start, end=end, partial=bool(byte_range), etag=etag)
    if method == "HEAD":
        # A HEAD sends no bytes, so it reserves none; it answers as the GET would start.
        decision = download_link_copy_left(link=link, wanted=download.length)
        if not decision:
            raise LinkUsed(decision.reason, link)
        return download
    try:
        transfer = download_link_serve(link=link, start=start, length=download.length)
    except (OSError, storage.StorageError) as exc:
        raise FileUnavailable(
            "The backup file is no longer in storage. Generate it again.", status=410
        ) from exc
    return replace(download, transfer=transfer)


def parse_range(header: str, size: int):
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

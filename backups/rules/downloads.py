"""Backup files and downloads (D1-D6)."""

from datetime import datetime

from .backups import backup_usable
from .decision import ALLOWED, Decision, refuse
from .words import human_bytes

MAX_DOWNLOADS = 3  # D3


def backup_file_allowed(
    *, status: str, started_at: datetime, total_bytes: int, limit: int, now: datetime
) -> Decision:
    """May a backup file be generated for this backup? (D1, D2)"""
    usable = backup_usable(status=status, started_at=started_at, now=now)
    if not usable:
        return usable
    if total_bytes > limit:
        return refuse(
            f"This backup is {human_bytes(total_bytes)}; a backup file can be at most "
            f"{human_bytes(limit)} (the local download limit), so it can only be restored "
            "from the service's storage."
        )
    return ALLOWED


def download_allowed(
    *, file_status: str, downloads_used: int, status: str, started_at: datetime, now: datetime
) -> Decision:
    """May one more download of the backup file start? (D3, D5)"""
    usable = backup_usable(status=status, started_at=started_at, now=now)
    if not usable:
        return usable
    if file_status != "READY":
        return refuse("The backup file is not ready yet.")
    if downloads_used >= MAX_DOWNLOADS:
        return refuse(
            f"This backup has been downloaded {MAX_DOWNLOADS} times, the most allowed. "
            "Run a new backup to download its file."
        )
    return ALLOWED


# --- download links: one link, one copy (D6) -------------------------------------------------

MiB = 1024 * 1024
# A link reserves the bytes it is about to send, one block at a time, with one conditional
# UPDATE each: 8 MiB makes a 50 GB file about 6,000 small writes, and bounds what a request can
# hold reserved and unsent when its client goes away (that part is given back).
DOWNLOAD_BLOCK = 8 * MiB
# The slack over one copy, for the bytes a resume asks for again: a cut transfer loses what was
# already handed to the connection (socket buffers, a proxy's buffer, the piece being written),
# and those bytes were counted. 16 MiB covers several cuts of any file; 2 % grows with the file,
# as a long transfer is cut more often (1 GB on a 50 GB file). Never more than half the file:
# whatever a client does, one link cannot add up to a second copy.
DOWNLOAD_SLACK_MIN = 16 * MiB
DOWNLOAD_SLACK_PERCENT = 2


def download_link_budget(size: int) -> int:
    """The most bytes one download link may send: the file once, plus the resume slack (D6)."""
    slack = max(DOWNLOAD_SLACK_MIN, size * DOWNLOAD_SLACK_PERCENT // 100)
    return size + min(slack, size // 2)


def download_link_valid(*, expires_at: datetime, link_minutes: int, now: datetime) -> Decision:
    """May a request on this link start now, as far as its age goes? (D4)"""
    if now >= expires_at:
        return refuse(
            f"This download link has expired. Links are valid for {link_minutes} minutes: "
            "go back to the backup and download again."
        )
    return ALLOWED


def download_link_has_copy_left(
    *, completed: bool, bytes_served: int, budget: int, wanted: int
) -> Decision:
    """May this link send `wanted` more bytes? It sends one copy, and resumes of it (D6)."""
    if completed:
        return refuse("This download link has already delivered its copy of the backup file.")
    if bytes_served + wanted > budget:
        return refuse(
            "This download link has already sent as many bytes as one copy of the backup file, "
            "so it cannot send this part again."
        )
    return ALLOWED

"""May a backup start now, may it go on, is it still there to use (B1, B3, B4, B6, B7)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .decision import ALLOWED, Decision, refuse
from .words import KIND_LABEL, days, format_when, human_bytes

BACKUP_INTERVAL = timedelta(days=7)  # B3
RETENTION = timedelta(days=14)  # B7


@dataclass(frozen=True)
class ProductActivity:
    """What is going on with a product, as loaded by the services for the rules."""

    last_complete_at: datetime | None = None  # completed_at of its last COMPLETE backup
    backup_in_progress: bool = False
    restore_in_progress: bool = False


def _over_limit(kind: str, data_bytes: int, attachment_bytes: int, limits: dict):
    """B6: the first limit of `kind` these sizes pass, as (what, size, limit), or None. Data is
    checked before attachments, so a refusal names the data limit when both are passed."""
    limit = limits[kind]
    for what, size in (("data", data_bytes), ("attachments", attachment_bytes)):
        if size > limit[what]:
            return what, size, limit[what]
    return None


def size_within_limits(
    *, product_name: str, kind: str, data_bytes: int, attachment_bytes: int, limits: dict
) -> Decision:
    """B6: the service's storage takes at most so much data and so many attachment bytes."""
    over = _over_limit(kind, data_bytes, attachment_bytes, limits)
    if over is None:
        return ALLOWED
    what, size, limit = over
    return refuse(
        f"{product_name} holds {human_bytes(size)} of {what}; a {KIND_LABEL[kind]} backup can "
        f"hold at most {human_bytes(limit)} of {what}."
    )


def size_crossed_while_running(
    *, kind: str, data_bytes: int, attachment_bytes: int, limits: dict
) -> Decision:
    """B6 while a backup runs: has what it wrote so far crossed a limit? (Its refusal is the
    backup's failure reason.)"""
    over = _over_limit(kind, data_bytes, attachment_bytes, limits)
    if over is None:
        return ALLOWED
    what, size, limit = over
    name, done = ("data", "written") if what == "data" else ("attachment", "copied")
    return refuse(
        f"The backup crossed the {KIND_LABEL[kind]} {name} limit of {human_bytes(limit)} while "
        f"it ran ({human_bytes(size)} {done})."
    )


def backup_allowed(
    *,
    is_org_admin: bool,
    enrolled: bool,
    product_name: str,
    kind: str,
    activity: ProductActivity,
    data_bytes: int,
    attachment_bytes: int,
    limits: dict,
    now: datetime,
) -> Decision:
    """May a backup of this product start now? (B1, B3, B4, B6)"""
    if not enrolled:
        return refuse(
            "Backup and restore is in early access and this organization is not enrolled yet."
        )
    if not is_org_admin:
        return refuse("Only org admins can run backups.")
    if activity.backup_in_progress:
        return refuse(f"A backup of {product_name} is already in progress.")
    if activity.restore_in_progress:
        return refuse(
            f"A restore into {product_name} is in progress; a backup can run once it has ended."
        )
    if activity.last_complete_at is not None:
        next_at = activity.last_complete_at + BACKUP_INTERVAL
        if now < next_at:
            return refuse(
                f"The next backup can run after {format_when(next_at)} — "
                f"{days(BACKUP_INTERVAL)} after the last complete backup.",
                not_before=next_at,
            )
    return size_within_limits(
        product_name=product_name,
        kind=kind,
        data_bytes=data_bytes,
        attachment_bytes=attachment_bytes,
        limits=limits,
    )


def backup_usable(*, status: str, started_at: datetime, now: datetime) -> Decision:
    """Is the stored backup there to use (file, download, restore from storage)? (B7, R2, R3)"""
    expires_at = started_at + RETENTION
    if status == "IN_PROGRESS":
        return refuse("The backup is still running.")
    if status == "FAILED":
        return refuse("The backup failed: it has no data to use.")
    if status == "EXPIRED" or now >= expires_at:
        return refuse(
            f"The backup expired on {format_when(expires_at)} ({days(RETENTION)} after it was "
            "taken); "
            "its stored data was deleted."
        )
    return ALLOWED


def next_backup_words(product_name: str, decision: Decision) -> str:
    """What to do when a backup's downloads are used up: run a new backup, and when (B3, B4)."""
    if decision:
        return f"To download its data again, run a new backup of {product_name}."
    if decision.not_before:
        return (
            f"A new backup of {product_name} can run after {format_when(decision.not_before)} "
            f"({days(BACKUP_INTERVAL)} after its last complete backup): run one then to download "
            "its data again."
        )
    return f"{decision.reason} Once it has ended, run a new backup to download its data again."

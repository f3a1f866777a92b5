"""Uploaded backup files: what an upload may reserve before its first byte (D2), the checks
that need to know who uploads it and when (R9), how long it can be restored (R4), and when it
is deleted (E2)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .decision import Decision
from .words import KIND_LABEL, days, format_when, human_bytes

UPLOAD_WINDOW = timedelta(days=60)  # R4
ABANDONED_AFTER = timedelta(days=1)  # E2: an upload left unfinished this long is deleted


@dataclass(frozen=True)
class UploadSizeDecision(Decision):
    """A Decision that also says which bound refused it, so that an endpoint can answer with
    the matching status: "empty", "limit" (D2), "free_space" or "unfinished"."""

    bound: str = ""


def upload_size_allowed(
    *,
    size: int,
    limit: int,
    free_bytes: int | None,
    unfinished_bytes: int,
    unfinished_limit: int,
) -> UploadSizeDecision:
    """May an upload of `size` bytes start? At most the local download limit (D2), at most what
    the upload storage has free (`free_bytes`, None when unknown, as on S3) once the bytes
    other unfinished uploads still expect are set aside, and at most `unfinished_limit` bytes
    declared by one person in unfinished uploads (`unfinished_bytes` of theirs already)."""
    if size <= 0:
        return UploadSizeDecision(False, "The file is empty.", bound="empty")
    if size > limit:
        return UploadSizeDecision(
            False,
            f"The file is {human_bytes(size)}; a backup file can be at most "
            f"{human_bytes(limit)} (the local download limit).",
            bound="limit",
        )
    if free_bytes is not None and size > free_bytes:
        return UploadSizeDecision(
            False,
            f"The file is {human_bytes(size)}; the upload storage has "
            f"{human_bytes(max(free_bytes, 0))} free for it. Try again once other uploads "
            "have finished, or ask the service's operator for more space.",
            bound="free_space",
        )
    if unfinished_bytes + size > unfinished_limit:
        return UploadSizeDecision(
            False,
            f"You have {human_bytes(unfinished_bytes)} in unfinished uploads; with this file of "
            f"{human_bytes(size)} that would pass the {human_bytes(unfinished_limit)} one person "
            "may have unfinished. Finish those uploads first (an upload left unfinished for "
            f"{days(ABANDONED_AFTER, one='a day')} is deleted).",
            bound="unfinished",
        )
    return UploadSizeDecision(True)


# --- R4: how long a backup can be restored from its file --------------------------------------


def upload_restorable_until(taken_at: datetime) -> datetime:
    """R4: a backup can be restored from its file until this long after it was taken."""
    return taken_at + UPLOAD_WINDOW


# --- R9: the checks that need to know who uploads the file and when ----------------------------

UPLOAD_CONTEXT_TITLES = {
    "organization": "A backup of this organization",
    "kind": "A Jira or Confluence backup",
    "age": f"Taken no more than {days(UPLOAD_WINDOW)} ago",
    "status": "A COMPLETE or INCOMPLETE backup",
}


def upload_context_checks(
    *, manifest: dict, taken_at: datetime, organization_id: int, now: datetime
) -> list[dict]:
    """R9's checks that need to know who uploads the file and when, on a file already proven
    whole: each {name, title, passed, detail}, in the order the upload's page lists them."""

    def check(name: str, passed: bool, detail: str = "") -> dict:
        return {
            "name": name,
            "title": UPLOAD_CONTEXT_TITLES[name],
            "passed": passed,
            "detail": detail,
        }

    org = manifest["organization"]
    product = manifest["product"]
    deadline = upload_restorable_until(taken_at)
    same_org = org["id"] == organization_id
    return [
        check(
            "organization",
            same_org,
            "" if same_org else f"It is a backup of {org['name']}, another organization.",
        ),
        check(
            "kind",
            product["kind"] in KIND_LABEL,
            f"A {KIND_LABEL.get(product['kind'], product['kind'])} backup of {product['name']}.",
        ),
        check(
            "age",
            now <= deadline,
            f"Taken {format_when(taken_at)}; it can be restored from a file until "
            f"{format_when(deadline)}.",
        ),
        check(
            "status",
            manifest["status"] in ("COMPLETE", "INCOMPLETE"),
            f"The backup is {manifest['status']}.",
        ),
    ]


# --- E2: when an uploaded file is deleted -------------------------------------------------------


def upload_deletion_reason(
    *, status: str, updated_at: datetime, taken_at: datetime | None, now: datetime
) -> str | None:
    """E2: why this upload's file is deleted now (left unfinished, or its R4 window has
    passed), or None. (A restored upload's file is deleted by the restore.)"""
    if status == "RECEIVING" and updated_at < now - ABANDONED_AFTER:
        return f"abandoned unfinished for {days(ABANDONED_AFTER, one='a day')}"
    if status == "VALID" and taken_at is not None and now > upload_restorable_until(taken_at):
        return f"its {UPLOAD_WINDOW.days}-day window has passed"
    return None

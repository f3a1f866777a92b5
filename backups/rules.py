"""Pure decisions: may this happen now, and if not, why and until when.

Functions here take loaded objects and an explicit `now`, never touch the database and never
raise for a refusal: they return a Decision whose `reason` is the sentence the user reads.
The views, the admin, the services and the commands all ask these functions, so each rule has
one home and one wording.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    not_before: datetime | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def refuse(reason: str, not_before: datetime | None = None) -> Decision:
    return Decision(False, reason, not_before)


def format_when(moment: datetime) -> str:
    """'2 Dec 2026, 14:05 UTC' — the way every wait is shown (SPEC §8)."""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def format_duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} hour(s)"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} minute(s)"
    return f"{seconds} second(s)"


BACKUP_INTERVAL = timedelta(days=7)  # B3
KIND_LABEL = {"jira": "Jira", "confluence": "Confluence"}


_BYTE_UNITS = ("KB", "MB", "GB", "TB", "PB")


def human_bytes(n: int) -> str:
    """A size as every page writes it: '44.2 KB', '40 GB', '999 bytes', '1 byte'.

    Decimal units (1 KB = 1,000 bytes, 1 GB = 10^9 bytes), because the SPEC's limits are
    written that way (B6 "40 GB", D2 "50 GB") and browsers' download bars and disk makers count
    so too. Django's `filesizeformat` is binary (1 KB = 1,024 bytes) under the same names, which
    is how one size read 43.2 KB on one page and 44.2 KB on another: it is not used.

    One decimal, rounded half up, ".0" dropped; the unit moves up when the rounding reaches
    1,000 (999,950 bytes is "1 MB", not "1000 KB"). Integer arithmetic only, so that
    static/js/format.js (`humanBytes`) gives the same string for the same number: both are
    tested against tests/formatting_cases.json.
    """
    n = int(n)
    if n < 0:
        return f"-{human_bytes(-n)}"
    if n < 1000:
        return "1 byte" if n == 1 else f"{n} bytes"
    for power, unit in enumerate(_BYTE_UNITS, start=1):
        base = 1000**power
        tenths = (n * 10 + base // 2) // base
        if tenths < 10_000 or unit == _BYTE_UNITS[-1]:
            break
    whole, tenth = divmod(tenths, 10)
    return f"{whole} {unit}" if tenth == 0 else f"{whole}.{tenth} {unit}"


def format_elapsed(seconds: float) -> str:
    """How long a job has run: '12 s', '4 min', '1 h 5 min', '3 days'. Rounded down: a
    job that has run 4 min 59 s has not run 5 min."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 2 * 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h" if m == 0 else f"{h} h {m} min"
    return f"{s // 86400} days"


def format_time_left(seconds: float) -> str:
    """An estimate of the time left, said as one: 'about 3 min left'. Rounded to the nearest
    minute (the estimate is not better than that); under a minute it says so rather than
    counting seconds down. The upload page (static/js/format.js `timeLeft`) says the same."""
    s = max(0, int(seconds))
    if s < 60:
        return "less than a minute left"
    minutes = (s + 30) // 60
    if minutes < 60:
        return f"about {minutes} min left"
    if s < 2 * 86400:
        h, m = divmod(minutes, 60)
        return f"about {h} h left" if m == 0 else f"about {h} h {m} min left"
    return f"about {(s + 43200) // 86400} days left"


# Below these the rate is noise: 1% done after 2 s says nothing about the other 99%.
ETA_MIN_FRACTION = 0.01
ETA_MIN_SECONDS = 10


def progress_times(
    *, started_at: datetime, fraction: float, now: datetime, working_since: datetime | None = None
) -> str:
    """'4 min elapsed · about 3 min left' for a running job, from its start and how much of it
    is done (0..1).

    Elapsed counts from `started_at` (what the page shows as Started); the estimate assumes
    the rest goes at the rate so far, measured from `working_since` (when a worker took the
    job) if given, so time waiting in the queue does not inflate it. Nothing in the first
    seconds ("0 s elapsed" says nothing the "Starting…" beside it does not); no estimate before
    there is a rate to speak of (0%, the first seconds of work); and "finishing" once all is
    counted but the job has not ended yet (the last step — the manifest, the publish — is not
    counted).
    """
    elapsed = (now - started_at).total_seconds()
    if elapsed < ETA_MIN_SECONDS:
        return ""
    parts = [f"{format_elapsed(elapsed)} elapsed"]
    working = (now - (working_since or started_at)).total_seconds()
    if fraction >= 1:
        parts.append("finishing")
    elif fraction >= ETA_MIN_FRACTION and working >= ETA_MIN_SECONDS:
        parts.append(format_time_left(working * (1 - fraction) / fraction))
    return " · ".join(parts)


@dataclass(frozen=True)
class ProductActivity:
    """What is going on with a product, as loaded by the services for the rules."""

    last_complete_at: datetime | None = None  # completed_at of its last COMPLETE backup
    backup_in_progress: bool = False
    restore_in_progress: bool = False


def size_within_limits(
    *, product_name: str, kind: str, data_bytes: int, attachment_bytes: int, limits: dict
) -> Decision:
    """B6: the service's storage takes at most so much data and so many attachment bytes."""
    limit = limits[kind]
    label = KIND_LABEL[kind]
    if data_bytes > limit["data"]:
        return refuse(
            f"{product_name} holds {human_bytes(data_bytes)} of data; a {label} backup can hold "
            f"at most {human_bytes(limit['data'])} of data."
        )
    if attachment_bytes > limit["attachments"]:
        return refuse(
            f"{product_name} holds {human_bytes(attachment_bytes)} of attachments; a {label} "
            f"backup can hold at most {human_bytes(limit['attachments'])} of attachments."
        )
    return ALLOWED


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
                f"The next backup can run after {format_when(next_at)} — 7 days after the "
                "last complete backup.",
                not_before=next_at,
            )
    return size_within_limits(
        product_name=product_name,
        kind=kind,
        data_bytes=data_bytes,
        attachment_bytes=attachment_bytes,
        limits=limits,
    )


# --- backup files and downloads (D1-D5) -------------------------------------------------------

RETENTION = timedelta(days=14)  # B7
MAX_DOWNLOADS = 3  # D3


def backup_usable(*, status: str, started_at: datetime, now: datetime) -> Decision:
    """Is the stored backup there to use (file, download, restore from storage)? (B7, R2, R3)"""
    expires_at = started_at + RETENTION
    if status == "IN_PROGRESS":
        return refuse("The backup is still running.")
    if status == "FAILED":
        return refuse("The backup failed: it has no data to use.")
    if status == "EXPIRED" or now >= expires_at:
        return refuse(
            f"The backup expired on {format_when(expires_at)} (14 days after it was taken); "
            "its stored data was deleted."
        )
    return ALLOWED


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


# --- restores (R1-R6) -------------------------------------------------------------------------

RESTORE_INTERVAL = timedelta(days=7)  # R5
UPLOAD_WINDOW = timedelta(days=60)  # R4


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe_content(
    *, product_name: str, kind: str, containers_by_state: dict[str, int], items: int
) -> str:
    """'ACME Jira sandbox has 2 projects (1 archived) and 14 issues' (R6's refusal)."""
    container, item = ("project", "issue") if kind == "jira" else ("space", "page")
    total = sum(containers_by_state.values())
    states = [
        f"{containers_by_state[s]} {label}"
        for s, label in (("archived", "archived"), ("trashed", "in trash"))
        if containers_by_state.get(s)
    ]
    detail = f" ({', '.join(states)})" if states else ""
    return f"{product_name} has {plural(total, container)}{detail} and {plural(items, item)}"


@dataclass(frozen=True)
class RestoreSource:
    """What would be restored: a stored backup, or a validated uploaded file's manifest."""

    backup_id: int
    status: str  # COMPLETE, INCOMPLETE, … (for a file: the manifest's)
    kind: str
    organization_id: int
    taken_at: datetime
    from_file: bool = False


@dataclass(frozen=True)
class RestoreDestination:
    product_name: str
    kind: str
    organization_id: int
    activity: ProductActivity
    containers_by_state: dict
    items: int
    # A connected site that could not be asked now: why (then R6 cannot be judged).
    unreachable: str = ""


def restore_source_allowed(*, source: RestoreSource, now: datetime) -> Decision:
    """Can this backup be restored at all now? (R2, R3, R4)"""
    if source.status == "IN_PROGRESS":
        return refuse("The backup is still running; it can be restored once it is complete.")
    if source.status == "FAILED":
        return refuse("A failed backup cannot be restored.")
    if source.from_file:
        deadline = source.taken_at + UPLOAD_WINDOW
        if now > deadline:
            return refuse(
                f"The backup was taken more than 60 days ago (it could be restored from a file "
                f"until {format_when(deadline)})."
            )
        return ALLOWED
    if source.status == "EXPIRED" or now >= source.taken_at + RETENTION:
        return refuse(
            f"The backup expired on {format_when(source.taken_at + RETENTION)}; restore it "
            "from its downloaded backup file instead (possible for 60 days after it was taken)."
        )
    return ALLOWED


def restore_once_a_week(*, last_restore_started_at: datetime | None, now: datetime) -> Decision:
    """R5: a backup is restored at most once in 7 days (failed restores do not count)."""
    if last_restore_started_at is None:
        return ALLOWED
    next_at = last_restore_started_at + RESTORE_INTERVAL
    if now < next_at:
        return refuse(
            f"This backup was restored on {format_when(last_restore_started_at)}; a backup can "
            f"be restored once in 7 days. It can be restored again after {format_when(next_at)}.",
            not_before=next_at,
        )
    return ALLOWED


def restore_allowed(
    *,
    source: RestoreSource,
    destination: RestoreDestination,
    last_restore_started_at: datetime | None,
    now: datetime,
) -> Decision:
    """May this backup be restored into this destination now? (R1-R6)"""
    decision = restore_source_allowed(source=source, now=now)
    if not decision:
        return decision
    decision = restore_once_a_week(last_restore_started_at=last_restore_started_at, now=now)
    if not decision:
        return decision
    if destination.organization_id != source.organization_id:
        return refuse("A backup can only be restored into a product of its own organization.")
    if destination.kind != source.kind:
        return refuse(
            f"{destination.product_name} is a {KIND_LABEL[destination.kind]} site; this is a "
            f"{KIND_LABEL[source.kind]} backup."
        )
    if destination.activity.restore_in_progress:
        return refuse(f"A restore into {destination.product_name} is already in progress.")
    if destination.activity.backup_in_progress:
        return refuse(
            f"A backup of {destination.product_name} is in progress; restore into it once the "
            "backup has ended."
        )
    if destination.unreachable:
        return refuse(
            f"{destination.product_name} cannot be checked now, so nothing can be restored "
            f"into it: {destination.unreachable}"
        )
    if destination.kind == "jira" and (
        sum(destination.containers_by_state.values()) or destination.items
    ):
        found = describe_content(
            product_name=destination.product_name,
            kind="jira",
            containers_by_state=destination.containers_by_state,
            items=destination.items,
        )
        return refuse(
            f"{found}. A Jira backup can only be restored into an empty Jira site: no projects "
            "or issues, archived and trashed ones included."
        )
    return ALLOWED


# --- uploads: what an upload may reserve before its first byte (D2, R9) -----------------------


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
            "may have unfinished. Finish those uploads first (an upload left unfinished for a "
            "day is deleted).",
            bound="unfinished",
        )
    return UploadSizeDecision(True)


# --- Connected sites (SPEC §8) -------------------------------------------------------------


def site_url_problem(url: str, kind: str, *, extra_hosts: list[str]) -> str | None:
    """C1: why `url` cannot be a connected site of `kind`, or None.

    Atlassian Cloud sites are https://<name>.atlassian.net (Confluence under /wiki); the
    operator may allow other hosts (the tests' contract server, `make run`'s local test site).
    Nothing else: a connection must not make the server call into its own network.
    """
    from urllib.parse import urlsplit

    example = "https://<name>.atlassian.net" + ("/wiki" if kind == "confluence" else "")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return f"That is not a web address. Use the site's address, like {example}."
    host = (parts.hostname or "").lower()
    if parts.username or parts.password or parts.query or parts.fragment:
        return f"Use the site's address alone, like {example}."
    if host in extra_hosts:
        if parts.scheme not in ("http", "https"):
            return f"Use the site's address, like {example}."
        return None
    if parts.scheme != "https" or not host.endswith(".atlassian.net") or port not in (None, 443):
        return f"backupsite connects to Atlassian Cloud sites only: use an address like {example}."
    path = parts.path.rstrip("/")
    if kind == "confluence" and path != "/wiki":
        return f"A Confluence Cloud site's address ends in /wiki, like {example}."
    if kind == "jira" and path:
        return f"Use the site's address without a path, like {example}."
    return None


def site_url_normal(url: str) -> str:
    """The address as stored: no trailing slash."""
    return url.strip().rstrip("/")

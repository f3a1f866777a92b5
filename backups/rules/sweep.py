"""The attachment store's sweep (#16 item 2): which objects under `blobs/` no row will ever name.

A blob's bytes are written before the row that names them (services/blobs): a worker killed
between the two (SIGKILL, OOM, a lost host) leaves an object no AttachmentBlob row names, which
nothing else would ever delete. Such an object may go only when no running job can still be
about to record it:

- it is older than the grace period (BACKUPSITE_BLOB_SWEEP_GRACE_HOURS, a day by default): a
  job records an object seconds after writing it, so a day-old unnamed object is abandoned;
- and it is older than the start of its organization's oldest backup still running: a backup
  may run longer than the grace (a connected site's large file, a slow site), and every object
  it writes is written after it started. CLOCK_MARGIN allows for the worker's clock (which set
  the start) and the storage's (which set the object's time) to disagree.

An object that a row names is never swept, whatever the row's state (LIVE, RETIRED, DELETING:
blobs_release deletes those itself), and nothing outside `blobs/` is ever swept.
"""

from collections.abc import Iterable, Mapping, Set
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

BLOBS_PREFIX = "blobs/"
SWEEP_GRACE = timedelta(hours=24)  # the setting's default
CLOCK_MARGIN = timedelta(minutes=15)


class Listed(Protocol):
    name: str
    modified: datetime


L = TypeVar("L", bound=Listed)


def blob_organization(name: str) -> int | None:
    """The organization an object of the attachment store belongs to, `blobs/<org>/…`; None
    for a name outside the store, or whose folder is not an organization's id."""
    if not name.startswith(BLOBS_PREFIX):
        return None
    head = name[len(BLOBS_PREFIX) :].split("/", 1)[0]
    return int(head) if head.isdigit() else None


def sweep_cutoff(
    organization_id: int | None,
    *,
    running_since: Mapping[int, datetime],
    now: datetime,
    grace: timedelta,
) -> datetime:
    """Objects of the organization last written before this time may be swept: `grace` before
    `now`, and before the start of its oldest running backup (less CLOCK_MARGIN). For an
    object whose organization is unknown, before the oldest running backup of any."""
    cutoff = now - grace
    if organization_id is None:
        starts = list(running_since.values())
    else:
        starts = [running_since[organization_id]] if organization_id in running_since else []
    if starts:
        cutoff = min(cutoff, min(starts) - CLOCK_MARGIN)
    return cutoff


def objects_to_sweep(
    objects: Iterable[L],
    *,
    named: Set[str],
    running_since: Mapping[int, datetime],
    now: datetime,
    grace: timedelta,
) -> list[L]:
    """Of listed objects, those to delete: under `blobs/`, not in `named` (the storage names of
    AttachmentBlob rows, whatever their state), and last written before sweep_cutoff.

    `running_since` maps an organization to the start of its oldest backup still IN_PROGRESS.
    The caller lists the objects first, then reads the running backups, then the rows: a row
    committed after the listing belongs to a backup that was running when it was listed.
    """
    if grace < timedelta(0):
        raise ValueError(f"a sweep's grace period cannot be negative ({grace})")
    gone = []
    cutoffs: dict[int | None, datetime] = {}  # one per organization: a page is one or two
    for listed in objects:
        if not listed.name.startswith(BLOBS_PREFIX) or listed.name in named:
            continue
        organization_id = blob_organization(listed.name)
        cutoff = cutoffs.get(organization_id)
        if cutoff is None:
            cutoff = cutoffs[organization_id] = sweep_cutoff(
                organization_id, running_since=running_since, now=now, grace=grace
            )
        if listed.modified < cutoff:
            gone.append(listed)
    return gone

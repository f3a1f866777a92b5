"""The attachment store's sweep (#16 item 2, "nothing lost, nothing left"): delete the objects
under `blobs/` that no AttachmentBlob row names and no running job can still record.

A blob's bytes are written before its row (services/blobs: an attachment's copy, a connected
site's download, an entities file), so a worker killed between the two leaves an object
nothing would ever delete, counting against the bucket forever. Which objects
go is rules/sweep.objects_to_sweep's decision; this lists, asks the database and deletes.

The order of each page's steps is what makes it safe, not only the grace period: the objects
are listed first, then the running backups are read, then the rows. A row committed after the
rows were read was recorded by a backup that was running when the backups were read, hence
when the object was listed: that object is newer than the backup's start, and kept.

A blob marked DELETING whose delete failed is not this sweep's: its row names it, and the next
release retries it (services/blobs.blobs_release).
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min

from backups import rules, storage
from backups.models import AttachmentBlob, Backup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    count: int  # objects deleted (or, in a dry run, that would be)
    bytes: int
    failed: int = 0  # objects the storage failed to delete; the next sweep tries again


def sweep_grace() -> timedelta:
    return timedelta(hours=settings.BLOB_SWEEP_GRACE_HOURS)


def blobs_sweep(
    *,
    now: datetime,
    grace: timedelta | None = None,
    dry_run: bool = False,
    on_object: Callable[[storage.StoredObject], None] | None = None,
) -> Swept:
    """Delete every unnamed object of the attachment store older than `grace` (the setting by
    default) and than its organization's oldest running backup. `on_object` is told of each
    (deleted, or in a dry run, to be deleted), and each is logged. Memory is one page of the
    listing, whatever the store holds."""
    grace = sweep_grace() if grace is None else grace
    count = size = failed = 0
    for page in _pages(storage.list_objects(rules.BLOBS_PREFIX), storage.PAGE_SIZE):
        running = _running_since()
        # Old enough whatever the rows say: only those are looked up.
        old = rules.objects_to_sweep(
            page, named=frozenset(), running_since=running, now=now, grace=grace
        )
        if not old:
            continue
        named = set(
            AttachmentBlob.objects.filter(storage_name__in=[o.name for o in old]).values_list(
                "storage_name", flat=True
            )
        )
        for listed in rules.objects_to_sweep(
            old, named=named, running_since=running, now=now, grace=grace
        ):
            if not dry_run:
                try:
                    storage.delete_object(listed.name)
                except storage.StorageError as exc:
                    log.warning("Could not sweep %s: %s", listed.name, exc)
                    failed += 1
                    continue
            log.info(
                "%s unreferenced attachment-store object %s (%d bytes, last written %s)",
                "Would sweep" if dry_run else "Swept",
                listed.name,
                listed.size,
                listed.modified.isoformat(timespec="seconds"),
            )
            count += 1
            size += listed.size
            if on_object is not None:
                on_object(listed)
    return Swept(count=count, bytes=size, failed=failed)


def swept_words(swept: Swept, *, dry_run: bool = False) -> str:
    """The line the commands print: 'Swept 2 unreferenced object(s) (3.1 MB) from the
    attachment store.'"""
    verb = "Would sweep" if dry_run else "Swept"
    return (
        f"{verb} {swept.count} unreferenced object(s) ({rules.human_bytes(swept.bytes)}) "
        "from the attachment store."
    )


def _running_since() -> dict[int, datetime]:
    """Each organization's oldest backup still IN_PROGRESS: when it started. One query."""
    found = (
        Backup.objects.filter(status=Backup.Status.IN_PROGRESS)
        .order_by()
        .values("product__organization_id")
        .annotate(since=Min("started_at"))
        .values_list("product__organization_id", "since")
    )
    return dict(found)


def _pages(items: Iterable, size: int) -> Iterator[list]:
    page: list = []
    for item in items:
        page.append(item)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page

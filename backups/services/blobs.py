"""The attachment store (#16 item 2): a backup holds an attachment by reference, and its bytes
are stored once per organization, under `blobs/<org>/`, keyed by SHA-256. Its entities files
are held the same way (blob_write): an unchanged product's are byte-identical from one backup
to the next, and every backup is full (B2), so a second backup of it stores its manifest only.

- blob_hold: a backup takes a reference to the live blob of (organization, SHA-256), or, when
  there is none, writes the bytes once and makes it live.
- blobs_refer / blobs_store: the same for a batch of files (the backup engine's copy of an
  embedded product's attachments): one transaction refers to every live copy the batch's
  SHA-256s already have, the engine copies the rest (no database), one transaction makes those
  copies live. Per file this was two transactions and three statements; per batch it is two
  transactions and four statements.
- blob_adopt: bytes already written under a blob name of their own (a connected site's new
  file, whose SHA-256 is known only once it is downloaded) become the backup's: a reference to
  the live copy of those bytes if there is one (and the download is deleted), else a new blob.
- blob_write: bytes a backup writes itself (an entities file, whose SHA-256 is known once it
  is written) are written under a name of their own, then held as blob_adopt holds them.
- held_before: which of a connected site's files (by the site's identity of each) an earlier
  backup of the same product holds, with their SHA-256: those are not downloaded again.
- blobs_release: a backup lets go of its blobs (E1 expiry, B5 a failed backup's cleanup); a
  blob that no backup refers to any more is deleted, object and row.

Races (proven on PostgreSQL in tests/services/test_blobs_pg.py): the holder and the collector
both lock the blob's row before they decide. The holder inserts its reference while it holds
the lock, and only to a LIVE blob; the collector marks a blob DELETING only after it got the
lock and, in a later statement (a fresh snapshot under READ COMMITTED), found no reference.
So a blob is either referred to or DELETING, never both, and a DELETING blob is never referred
to again: a backup that meets one writes a new copy. A batch holds its rows' locks together
(taken in primary-key order, so two batches never wait on each other in a cycle), which makes
it the same as one file at a time for the collector. On SQLite the transactions are IMMEDIATE
(settings), so the two simply run one after the other.
"""

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Sum

from backups import storage
from backups.models import AttachmentBlob, Backup, BackupBlob

log = logging.getLogger(__name__)

LIVE = AttachmentBlob.State.LIVE
DELETING = AttachmentBlob.State.DELETING
RETIRED = AttachmentBlob.State.RETIRED


@dataclass(frozen=True)
class Held:
    blob: AttachmentBlob
    written: int  # bytes this backup wrote (0: it referred to a copy already stored)


def blob_name(*, organization_id: int, sha256: str) -> str:
    """A new object name for a blob: its own token, so a new copy never meets an old one that
    is still being deleted (a DELETING blob of the same content)."""
    return f"blobs/{organization_id}/{sha256[:2]}/{sha256}-{uuid.uuid4().hex[:12]}"


def site_blob_name(*, organization_id: int, path: str, source: str = "site") -> str:
    """A new object name for bytes named before their SHA-256 is known (hashed as they are
    written): a connected site's file (`site`), or an entities file (`written`, blob_write).
    Its own token, then the backup path it was written for."""
    return f"blobs/{organization_id}/{source}/{uuid.uuid4().hex[:12]}/{path}"


def blob_hold(
    *,
    backup: Backup,
    path: str,
    sha256: str,
    size: int,
    write: Callable[[str], None],
    source_key: str | None = None,
) -> Held:
    """`backup` holds the attachment at `path`: a reference to its stored copy, which is
    written first (by `write(name)`, which checks the bytes and leaves nothing behind when it
    raises) only when the organization has no live copy of these bytes."""
    organization_id = backup.product.organization_id
    for _ in range(3):
        held = _refer_to_live(backup, path, organization_id, sha256, size, source_key)
        if held:
            return held
        # The bytes are written to a name of their own, and checked, before any row names
        # them: a copy that fails leaves no blob, and there is nothing to move afterwards.
        name = blob_name(organization_id=organization_id, sha256=sha256)
        write(name)
        held = _make_live(backup, path, organization_id, sha256, size, name, source_key)
        if held:
            return held
        # Another backup made these bytes live while we copied them: refer to its copy.
        storage.delete_object(name)
    raise storage.StorageError(f"The attachment store could not settle on a copy of {path}.")


@dataclass(frozen=True)
class Want:
    """A file a backup wants to hold at `path`: its recorded SHA-256 and size."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Copied:
    """Bytes a batch wrote, checked, at `name` (blob_name), for the files at `paths` (one or
    more files of the same SHA-256 and size: the bytes are stored once)."""

    name: str
    sha256: str
    size: int
    paths: tuple[str, ...]


def blobs_refer(*, backup: Backup, wants: list[Want]) -> dict[str, Held]:
    """`backup` holds, by reference, every file of `wants` whose bytes the organization holds
    in a live copy: one transaction, one SELECT ... FOR UPDATE, one INSERT. Returns
    path -> Held for those; the others have no live copy (or its object went missing) and
    are the caller's to copy (blobs_store)."""
    if not wants:
        return {}
    organization_id = backup.product.organization_id
    held: dict[str, Held] = {}
    sizes: dict[str, set[int]] = {}
    for want in wants:
        sizes.setdefault(want.sha256, set()).add(want.size)
    with transaction.atomic():
        # The lock makes the collector wait until the references below are committed (or this
        # wait until the collector marked a blob DELETING, and its row no longer matches: on
        # PostgreSQL the WHERE is checked again on the row the collector committed).
        found = {
            blob.sha256: blob
            for blob in AttachmentBlob.objects.select_for_update()
            .filter(
                organization_id=organization_id,
                sha256__in=list(sizes),
                state=LIVE,
            )
            .order_by("pk")
        }
        retired = [
            blob
            for blob in found.values()
            if sizes[blob.sha256] != {blob.size}
            # One existence check per blob, under its lock as for one file: a stat on a folder
            # (cheaper than listing the blob folders), a HEAD on S3, kept there: a copy lost
            # outside the collector would otherwise be referred to by every later backup.
            or not storage.exists(blob.storage_name)
        ]
        if retired:
            # Its object went missing (or a SHA-256 collision): no new reference to it; the
            # backups holding it keep their rows until they expire.
            AttachmentBlob.objects.filter(pk__in=[b.pk for b in retired]).update(state=RETIRED)
            for blob in retired:
                log.warning("Attachment blob %s retired: its object is missing", blob.storage_name)
                del found[blob.sha256]
        refs = []
        for want in wants:
            blob = found.get(want.sha256)
            if blob is not None:
                refs.append(BackupBlob(backup=backup, blob=blob, path=want.path))
                held[want.path] = Held(blob, 0)
        BackupBlob.objects.bulk_create(refs)
    return held


def blobs_store(*, backup: Backup, copies: list[Copied]) -> dict[str, Held]:
    """The bytes a batch wrote become the organization's live copies, held by `backup` at
    their paths: one transaction, two INSERTs. When another backup made some of the same bytes
    live meanwhile (the partial unique index refuses the batch), each copy is settled on its
    own (blob_adopt: it refers to the other copy and deletes its own, or makes its own live).
    Returns path -> Held for every path of `copies`.

    A worker killed between its copies and this transaction leaves objects under blobs/ that
    no row names: the sweeper of unreferenced blob objects collects them."""
    if not copies:
        return {}
    organization_id = backup.product.organization_id
    try:
        with transaction.atomic():
            # bulk_create sets each row's id (RETURNING, on PostgreSQL and SQLite >= 3.35).
            blobs = AttachmentBlob.objects.bulk_create(
                [
                    AttachmentBlob(
                        organization_id=organization_id,
                        sha256=c.sha256,
                        size=c.size,
                        storage_name=c.name,
                        state=LIVE,
                    )
                    for c in copies
                ]
            )
            BackupBlob.objects.bulk_create(
                [
                    BackupBlob(backup=backup, blob=blob, path=path)
                    for c, blob in zip(copies, blobs, strict=True)
                    for path in c.paths
                ]
            )
        return {
            path: Held(blob, c.size if i == 0 else 0)
            for c, blob in zip(copies, blobs, strict=True)
            for i, path in enumerate(c.paths)
        }
    except IntegrityError:
        log.info("Backup %s: another backup stored some of the same bytes meanwhile", backup.pk)
    held: dict[str, Held] = {}
    for c in copies:
        first, *others = c.paths
        held[first] = blob_adopt(
            backup=backup, path=first, name=c.name, sha256=c.sha256, size=c.size
        )
        if others:
            # The same bytes at other paths: references to the blob this backup now holds
            # (its own reference keeps the collector off it).
            blob = held[first].blob
            BackupBlob.objects.bulk_create(
                [BackupBlob(backup=backup, blob=blob, path=path) for path in others]
            )
            held.update((path, Held(blob, 0)) for path in others)
    return held


def blob_adopt(
    *,
    backup: Backup,
    path: str,
    name: str,
    sha256: str,
    size: int,
    source_key: str | None = None,
) -> Held:
    """`backup` holds the bytes already written and checked at `name` (site_blob_name) as its
    attachment at `path`: by a reference to the organization's live copy of them when it has
    one (the download at `name` is deleted: stored once), else as a new live blob at `name`.
    When it raises, nothing is left at `name`."""
    organization_id = backup.product.organization_id
    try:
        for _ in range(3):
            held = _refer_to_live(backup, path, organization_id, sha256, size, source_key)
            if held:
                storage.delete_object(name)
                return held
            held = _make_live(backup, path, organization_id, sha256, size, name, source_key)
            if held:
                return held
            # Another backup made these bytes live meanwhile: the next turn refers to it.
    except BaseException:
        storage.delete_object(name)
        raise
    storage.delete_object(name)
    raise storage.StorageError(f"The attachment store could not settle on a copy of {path}.")


def blob_write(
    *, backup: Backup, path: str, chunks: Iterable[bytes]
) -> tuple[storage.Written, Held]:
    """`backup` holds at `path` (`entities/<type>.jsonl`) the bytes `chunks` give: written
    whole under a name of their own, then held by blob_adopt, by a reference to the live copy
    of the same bytes (the written object is deleted) or as a new blob. Readers find them
    through storage.resolve. When it raises, nothing is left written (write_chunks, blob_adopt);
    a worker killed in between leaves an object no row names (the sweeper's)."""
    name = site_blob_name(
        organization_id=backup.product.organization_id, path=path, source="written"
    )
    written = storage.write_chunks(name, chunks)
    held = blob_adopt(backup=backup, path=path, name=name, sha256=written.sha256, size=written.size)
    return written, held


def held_before(*, product_id: int, source_keys: list[str]) -> dict[str, tuple[str, int]]:
    """Of a connected site's files (by their `source_key`), those an earlier finished backup
    of the product holds as a live copy: source_key -> (SHA-256, size). One query."""
    if not source_keys:
        return {}
    found = BackupBlob.objects.filter(
        source_key__in=source_keys,
        backup__product_id=product_id,
        # Unexpired finished backups only: a FAILED or EXPIRED backup let go of its copies,
        # a running one may yet fail.
        backup__status__in=[Backup.Status.COMPLETE, Backup.Status.INCOMPLETE],
        blob__state=LIVE,
    ).values_list("source_key", "blob__sha256", "blob__size")
    return {key: (sha256, size) for key, sha256, size in found}


def _make_live(backup, path, organization_id, sha256, size, name, source_key) -> Held | None:
    """The bytes at `name` become the organization's live copy, held by `backup`; None when
    another copy of them became live first (the partial unique index)."""
    try:
        with transaction.atomic():
            blob = AttachmentBlob.objects.create(
                organization_id=organization_id,
                sha256=sha256,
                size=size,
                storage_name=name,
                state=LIVE,
            )
            BackupBlob.objects.create(backup=backup, blob=blob, path=path, source_key=source_key)
        return Held(blob, size)
    except IntegrityError:
        return None


def _refer_to_live(backup, path, organization_id, sha256, size, source_key=None) -> Held | None:
    with transaction.atomic():
        # The lock makes the collector wait until the reference below is committed (or this
        # wait until the collector marked the blob DELETING, and the row no longer matches).
        blob = (
            AttachmentBlob.objects.select_for_update()
            .filter(organization_id=organization_id, sha256=sha256, state=LIVE)
            .first()
        )
        if blob is None:
            return None
        if blob.size != size or not storage.exists(blob.storage_name):
            # Its object went missing (or a SHA-256 collision): no new reference to it; the
            # backups holding it keep their rows until they expire.
            AttachmentBlob.objects.filter(pk=blob.pk).update(state=RETIRED)
            log.warning("Attachment blob %s retired: its object is missing", blob.storage_name)
            return None
        BackupBlob.objects.create(backup=backup, blob=blob, path=path, source_key=source_key)
        return Held(blob, 0)


def blobs_release(*, backup_id: int, paths: list[str] | None = None) -> int:
    """The backup lets go of its blobs (all, or those at `paths`); each blob left with no
    reference is deleted. Returns how many blobs were deleted. Raises StorageError when an
    object could not be deleted: its blob stays DELETING and the next release retries it."""
    refs = BackupBlob.objects.filter(backup_id=backup_id)
    if paths is not None:
        refs = refs.filter(path__in=paths)
    blob_ids = set(refs.values_list("blob_id", flat=True))
    organization_ids = set(
        AttachmentBlob.objects.filter(pk__in=blob_ids).values_list("organization_id", flat=True)
    )
    refs.delete()
    # Blobs a release before this one marked DELETING but could not delete (a storage fault).
    blob_ids |= set(
        AttachmentBlob.objects.filter(
            organization_id__in=organization_ids, state=DELETING
        ).values_list("pk", flat=True)
    )
    return sum(blob_collect(blob_id=blob_id) for blob_id in sorted(blob_ids))


def blob_collect(*, blob_id: int) -> bool:
    """Delete one blob if no backup refers to it (E1). True if this call deleted it."""
    with transaction.atomic():
        blob = AttachmentBlob.objects.select_for_update().filter(pk=blob_id).first()
        if blob is None:
            return False
        if blob.state != DELETING:
            # A statement after the lock: under READ COMMITTED it sees a reference that a
            # holder committed while this waited for the lock.
            if BackupBlob.objects.filter(blob_id=blob_id).exists():
                return False
            AttachmentBlob.objects.filter(pk=blob_id).update(state=DELETING)
    storage.delete_object(blob.storage_name)
    # RESTRICT on BackupBlob.blob: were a reference there, this would refuse, not orphan it.
    deleted, _ = AttachmentBlob.objects.filter(pk=blob_id, state=DELETING).delete()
    return bool(deleted)


def storage_used(*, organization_id: int) -> int:
    """Bytes the organization's backups occupy in the backup storage: each stored copy (of an
    attachment or an entities file) once, plus every unexpired backup's own objects (its
    manifest; an older backup's entities files) and backup file."""
    blobs = AttachmentBlob.objects.filter(organization_id=organization_id).aggregate(
        total=Sum("size")
    )["total"]
    kept = Backup.objects.filter(
        product__organization_id=organization_id,
        status__in=[Backup.Status.COMPLETE, Backup.Status.INCOMPLETE, Backup.Status.IN_PROGRESS],
    )
    own = 0
    for total, counts, file_size in kept.values_list("total_bytes", "counts", "file__size"):
        attachments = (counts or {}).get("attachments") or {}
        own += (total or 0) - attachments.get("files_bytes", 0) + (file_size or 0)
    # A finished backup's entities files held by reference are in its total_bytes and among
    # the blobs: counted once (a running backup has no total yet).
    finished = kept.exclude(status=Backup.Status.IN_PROGRESS)
    entities = BackupBlob.objects.filter(backup__in=finished, path__startswith="entities/")
    held = entities.aggregate(total=Sum("blob__size"))["total"]
    return (blobs or 0) + own - (held or 0)

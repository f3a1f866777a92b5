"""Verified restorability (A3): a finished backup read back end to end, then restored where
nobody sees it, and compared with its manifest.

1. Read back: every object the backup holds (its prefix's manifest; its entities files and
   attachments, the organization's stored copies it refers to, #16), through the same entries
   the backup file generator streams (archive.archive_entries: the manifest, each entities
   file, and each attachment listed in entities/attachments.jsonl, whose SHA-256 and size it
   checks as the bytes pass). Each entities file's SHA-256, size and row count are compared
   with the manifest, and the manifest with the backup's own record (counts and checksums in the
   database), so a manifest altered in the storage is caught too.
2. Trial restore: the restore engine's staging half (restore_engine.import_into_staging, the
   code a real restore runs, checking every attachment's SHA-256 again as it writes it) into a
   scratch staging product of the backup's kind. A connected site's backup has the same format,
   so it goes into an embedded scratch product too. The rows the scratch product then holds
   are counted per content type and compared with the manifest. Users and groups are not
   restored: they are the organization's own, shared by its products, and a trial must write
   nowhere the organization sees; their file is checked in step 1.
3. The scratch product and its files are deleted, whatever happened.

It runs on its own queue (jobs.VERIFICATION.cluster), never in front of a backup or restore.
"""

import hashlib
import json
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backups import archive, storage
from backups.models import Backup, BackupVerification, Product
from backups.productdata import KINDS, ExportOptions

from .audit import record_event
from .jobs import VERIFICATION, JobEnded, Progress, claim, enqueue_on_commit, finish, transition
from .notifications import notify_verification_failed
from .restore_engine import import_into_staging, staging_discard, staging_product_create
from .restores import StoredBackupSource

log = logging.getLogger(__name__)

V = BackupVerification.Status
VERIFIABLE = (Backup.Status.COMPLETE, Backup.Status.INCOMPLETE)


class NotVerified(Exception):
    """What failed, in words an admin acts on: the object or content type, and how."""


# --- request ---------------------------------------------------------------------------------


def policy_verifies(backup: Backup) -> bool:
    """Does the backup's policy ask for a verification (BackupPolicy.verify, default on)? A
    backup whose policy was deleted since is verified: the default."""
    policy = backup.policy
    return policy is None or policy.verify


def verification_request(*, backup: Backup, actor=None) -> BackupVerification | None:
    """Verify a finished, unexpired backup: its verification row made (or run again when it
    had ended) and its task queued on the verification cluster at commit. None when the
    backup cannot be verified (not COMPLETE or INCOMPLETE); the running one if one runs."""
    now = timezone.now()
    with transaction.atomic():
        # The backup's row lock: two requests at once (a staff click and the cron command)
        # make one verification; an expiry waits, or is waited for.
        locked = Backup.objects.select_for_update().filter(pk=backup.pk).first()
        if locked is None or locked.status not in VERIFIABLE:
            return None
        verification = BackupVerification.objects.filter(backup=locked).first()
        if verification is None:
            verification = BackupVerification.objects.create(backup=locked, requested_at=now)
        elif verification.status == V.IN_PROGRESS:
            return verification
        else:
            transition(
                BackupVerification,
                verification.pk,
                (V.VERIFIED, V.FAILED),
                V.IN_PROGRESS,
                requested_at=now,
                claimed_at=None,
                # No heartbeat until a worker takes it: one worker serves this queue, and a
                # check that waits its turn is not a check whose worker died (E3).
                heartbeat_at=None,
                completed_at=None,
                items_done=0,
                items_total=0,
                bytes_done=0,
                bytes_total=0,
                reason="",
                checked={},
            )
            verification.refresh_from_db()
        enqueue_on_commit(VERIFICATION, verification.pk)
        if actor is not None:
            record_event(
                action="backup.verification_requested",
                actor=actor,
                organization=locked.product.organization,
                target=locked,
            )
    return verification


def verification_after_backup(backup: Backup) -> BackupVerification | None:
    """A3: a backup that just ended COMPLETE or INCOMPLETE is verified if its policy says so."""
    if backup.status not in VERIFIABLE or not policy_verifies(backup):
        return None
    return verification_request(backup=backup)


def verifications_requeue_lost(*, older_than) -> int:
    """Queue again the verifications no worker took since `older_than` (a queue lost with
    its broker); claim() makes a second delivery harmless. How many."""
    lost = BackupVerification.objects.running().filter(
        claimed_at__isnull=True, requested_at__lt=older_than
    )
    ids = list(lost.values_list("pk", flat=True))
    with transaction.atomic():
        for pk in ids:
            enqueue_on_commit(VERIFICATION, pk)
    return len(ids)


# --- run -------------------------------------------------------------------------------------


def scratch_name(verification_id: int) -> str:
    return f"Verification #{verification_id} (scratch, not visible)"


def scratch_folder(product_id: int) -> str:
    """Where the trial restore writes attachment files: the scratch product's own folder."""
    return f"attachments/{product_id}"


def _discard_scratch(verification_id: int) -> None:
    """Delete the scratch product(s) of this verification and their files; found by name, so
    that a run after a crash (or E3) finds what a dead worker left."""
    scratch = Product.all_objects.filter(is_staging=True, name=scratch_name(verification_id))
    for pk in scratch.values_list("pk", flat=True):
        staging_discard(pk, file_folder=scratch_folder(pk))


def verification_execute(*, verification_id: int) -> str | None:
    """Run a requested verification to VERIFIED or FAILED; a second call does nothing."""
    if not claim(VERIFICATION, verification_id):
        return None
    verification = BackupVerification.objects.select_related("backup__product__organization").get(
        pk=verification_id
    )
    backup = verification.backup
    progress = Progress(VERIFICATION, verification_id)
    checked: dict = {}
    try:
        if backup.status not in VERIFIABLE:
            raise NotVerified(_gone_reason(backup.pk) or "The backup is not finished.")
        manifest = _read_back(backup, progress, checked)
        _trial_restore(verification_id, backup, manifest, progress, checked)
        if not finish(
            VERIFICATION,
            verification_id,
            V.VERIFIED,
            checked=checked,
            items_done=progress.items,
            bytes_done=progress.bytes,
        ):
            raise JobEnded()
    except JobEnded:
        log.warning("Verification %s was ended while it ran", verification_id)
        return None
    except NotVerified as exc:
        reason = _gone_reason(backup.pk) or str(exc)
    except Exception as exc:
        log.exception("Verification %s failed", verification_id)
        reason = _gone_reason(backup.pk) or _describe(exc)
    else:
        record_event(
            action="backup.verified",
            organization=backup.product.organization,
            target=backup,
            details=checked,
        )
        return V.VERIFIED
    finally:
        _discard_scratch(verification_id)  # whatever happened: nothing of the trial stays
    verification_fail(verification_id=verification_id, reason=reason, checked=checked)
    return V.FAILED


def _gone_reason(backup_id: int) -> str | None:
    """The backup expired or was deleted while it was checked: that, rather than what its
    missing files then made fail."""
    status = Backup.objects.filter(pk=backup_id).values_list("status", flat=True).first()
    if status is None:
        return "The backup was deleted while it was being verified."
    if status == Backup.Status.EXPIRED:
        return (
            "The backup expired while it was being verified: its stored data was deleted "
            "(B7), so it can no longer be restored."
        )
    return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError | storage.StorageError):
        return f"The {storage.storage_label()} could not be read or written: {exc}"
    return f"Unexpected error ({exc.__class__.__name__}): {exc}"


# --- 1. read back ----------------------------------------------------------------------------


def _read_back(backup: Backup, progress: Progress, checked: dict) -> dict:
    """Every object of the stored backup read and checked against the manifest; the manifest."""
    prefix = backup.storage_prefix
    try:
        with storage.open_object(prefix + archive.MANIFEST_NAME) as f:
            manifest_data = f.read()
    except (OSError, storage.StorageError) as exc:
        raise NotVerified(f"{archive.MANIFEST_NAME}: {_unreadable(exc)}") from None
    try:
        manifest = json.loads(manifest_data)
        entities = manifest["entities"]
    except (ValueError, TypeError, KeyError):
        raise NotVerified(
            f"{archive.MANIFEST_NAME} is not a manifest this service wrote."
        ) from None
    _manifest_matches_record(manifest, backup)
    by_file = {info["file"]: (content_type, info) for content_type, info in entities.items()}
    progress.report(bytes_total=backup.total_bytes)

    files = nbytes = 0
    current = None
    # Its objects' names looked up a page at a time, not one query each (#16).
    open_stored = storage.object_opener()
    entries = archive.archive_entries(
        manifest_data=manifest_data,
        secret_key=settings.SECRET_KEY,
        open_object=lambda path: open_stored(prefix + path),
    )
    try:
        for entry in entries:
            if entry.name in (archive.MANIFEST_NAME, archive.SIGNATURE_NAME):
                continue  # the manifest was read above; the signature is made, not stored
            current = entry.name
            size = _check_entry(entry, by_file.get(entry.name), progress)
            files += 1
            nbytes += size
            current = None
    except archive.ChecksumMismatch as exc:
        # Its SHA-256 and size are in entities/attachments.jsonl, itself proven above.
        log.info("Verification of backup %s: %s", backup.pk, exc)
        raise NotVerified(f"{current}: its SHA-256 differs from the manifest's.") from None
    except (OSError, storage.StorageError) as exc:
        # Between entries, archive_entries reads the attachments list for the next one.
        where = current or archive.entities_file("attachments")
        raise NotVerified(f"{where}: {_unreadable(exc)}") from None
    checked.update(
        files=files + 1,  # and the manifest
        bytes=nbytes + len(manifest_data),
        entity_types=len(entities),
    )
    return manifest


def _check_entry(entry: archive.Entry, entity: tuple[str, dict] | None, progress) -> int:
    """Read one object through; an entities file's SHA-256, size and rows are checked here
    (an attachment's by archive_entries, which raises ChecksumMismatch)."""
    digest = hashlib.sha256() if entity else None
    size = rows = 0
    for chunk in entry.chunks():
        size += len(chunk)
        if digest is not None:
            digest.update(chunk)
            rows += chunk.count(b"\n")  # one JSON object per line (SPEC §7)
        progress.add(nbytes=len(chunk))
    if entity is not None:
        content_type, info = entity
        # Rows first: "issues: 30 in the manifest, 29 in …" says more than a checksum.
        if rows != info["rows"]:
            raise NotVerified(
                f"{content_type}: {info['rows']} in the manifest, {rows} in {entry.name}."
            )
        if digest.hexdigest() != info["sha256"] or size != info["bytes"]:
            raise NotVerified(
                f"{entry.name}: its SHA-256 differs from the manifest's "
                f"({info['bytes']} bytes expected, {size} read)."
            )
    return size


def _manifest_matches_record(manifest: dict, backup: Backup) -> None:
    """The stored manifest is the one the backup wrote: its checksums and counts are those
    the database recorded when the backup finished (B8)."""
    if manifest.get("backup_id") != backup.pk:
        raise NotVerified(f"{archive.MANIFEST_NAME} belongs to another backup.")
    recorded = backup.counts or {}
    for content_type, info in manifest["entities"].items():
        mine = recorded.get(content_type)
        if mine is None or (mine.get("sha256"), mine.get("rows")) != (
            info.get("sha256"),
            info.get("rows"),
        ):
            raise NotVerified(
                f"{archive.MANIFEST_NAME}: {content_type} differs from the backup's record "
                "(its SHA-256 or row count was changed in the storage)."
            )
    absent = sorted(set(recorded) - set(manifest["entities"]))
    if absent:
        raise NotVerified(f"{archive.MANIFEST_NAME}: {absent[0]} is missing from it.")


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "it is missing from the backup storage."
    return f"it could not be read from the backup storage ({exc})."


# --- 2. trial restore ------------------------------------------------------------------------


def _trial_restore(
    verification_id: int, backup: Backup, manifest: dict, progress: Progress, checked: dict
) -> None:
    """The restore engine's import, into a scratch staging product nobody sees; then the
    scratch product's own rows counted per content type against the manifest."""
    kind = backup.product.kind
    content_types = KINDS[kind].content_types
    expected = {
        t: manifest["entities"][t]["rows"] for t in content_types if t in manifest["entities"]
    }
    progress.report(items_total=sum(expected.values()))
    _discard_scratch(verification_id)  # what a run before a crash left (same name)
    scratch = staging_product_create(
        organization=backup.product.organization, kind=kind, name=scratch_name(verification_id)
    )
    staged, report = import_into_staging(
        scratch,
        StoredBackupSource(backup),
        include_attachments=True,
        file_folder=scratch_folder(scratch.pk),
        on_progress=lambda n: progress.add(items=n),
        existing_space_keys=frozenset(),  # an empty scratch product: nothing is skipped
    )
    skipped = sorted((t, n) for t, n in report.skipped.items() if n)
    if skipped:
        content_type, n = skipped[0]
        raise NotVerified(f"{content_type}: {n} skipped by the trial restore.")
    everything = ExportOptions(include_attachments=True, include_personal_spaces=True)
    counts = {}
    for content_type, rows in expected.items():
        restored = sum(1 for _ in staged.rows(content_type, everything))
        counts[content_type] = {"manifest": rows, "restored": restored}
        if restored != rows:
            raise NotVerified(f"{content_type}: {rows} in the manifest, {restored} restored.")
    checked["counts"] = counts
    checked["trial_restore"] = "matched"


# --- fail ------------------------------------------------------------------------------------


def verification_fail(
    *, verification_id: int, reason: str, checked: dict | None = None, stopped: bool = False
) -> bool:
    """Mark a verification FAILED with `reason`, delete its scratch product, notify the org
    admins (email and webhooks) and record it. False if it had ended.

    `stopped`: E3 found its worker dead. Said as the check's fault, not the backup's; it is not
    run again by itself (a backup that kills its worker would kill the next one too), staff or
    `verify_backups --again` do it.
    """
    if stopped:
        reason = f"The check did not finish, so this backup is not proven restorable. {reason}"
    fields = {"reason": reason}
    if checked:
        fields["checked"] = checked
    if not finish(VERIFICATION, verification_id, V.FAILED, **fields):
        return False
    _discard_scratch(verification_id)
    verification = BackupVerification.objects.select_related("backup__product__organization").get(
        pk=verification_id
    )
    backup = verification.backup
    record_event(
        action="backup.verification_failed",
        organization=backup.product.organization,
        target=backup,
        details={"reason": reason},
    )
    notify_verification_failed(backup, reason)
    return True

"""Uploaded backup files: receive in chunks, validate (R9), clean up (R4, E2). Restoring from
one is services/restores.py's UploadedFileSource."""

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from backups import archive, rules, storage
from backups.models import Organization, Restore, Upload
from backups.productdata.attachments import safe_filename
from backups.rules import Decision

from .audit import record_event
from .errors import Refused
from .jobs import UPLOAD_VALIDATION, Progress, claim, enqueue_on_commit, finish, transition

log = logging.getLogger(__name__)


# --- receiving -------------------------------------------------------------------------------


def upload_start(*, organization: Organization, actor, file_name: str, size: int) -> Upload:
    """Open an upload of `size` bytes, refused before the first byte if it cannot fit (D2)."""
    with transaction.atomic():
        # One person's starts are serialized (their row locked) so that two at once cannot
        # both fit under the unfinished-uploads cap; the view's check is not the one that counts.
        get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
        decision = upload_size_decision(actor=actor, size=size)
        if not decision:
            raise Refused(decision)
        now = timezone.now()
        upload = Upload.objects.create(
            organization=organization,
            created_by=actor,
            file_name=file_name[:255] or "backup.zip",
            declared_size=size,
            storage_name="",
            created_at=now,
            updated_at=now,
        )
        upload.storage_name = f"uploads/{organization.pk}/{upload.pk}/{safe_filename(file_name)}"
        upload.save(update_fields=["storage_name"])
    record_event(
        action="upload.started",
        actor=actor,
        organization=organization,
        target=upload,
        details={"size": size},
    )
    return upload


def upload_size_decision(*, actor, size: int) -> rules.UploadSizeDecision:
    """rules.upload_size_allowed with what it needs loaded: the free space of the upload
    storage less what unfinished uploads still expect, and this person's unfinished bytes."""
    receiving = Upload.objects.filter(status=Upload.Status.RECEIVING)
    free = upload_free_bytes()
    if free is not None:
        expected = receiving.aggregate(n=Sum(F("declared_size") - F("received_bytes"), default=0))[
            "n"
        ]
        free -= expected
    return rules.upload_size_allowed(
        size=size,
        limit=settings.LOCAL_DOWNLOAD_LIMIT,
        free_bytes=free,
        unfinished_bytes=receiving.filter(created_by=actor).aggregate(
            n=Sum("declared_size", default=0)
        )["n"],
        unfinished_limit=settings.UPLOAD_UNFINISHED_LIMIT,
    )


def upload_free_bytes() -> int | None:
    """Free bytes of the filesystem the uploads are written to; None on S3 (no such figure)."""
    return storage.free_bytes()


def upload_chunk(*, upload: Upload, offset: int, data: bytes) -> Upload:
    """Append one chunk at `offset`, which must be exactly the bytes received so far.

    The row is locked while the chunk is written, so two requests for one offset (a retry
    racing its original) cannot both count; a wrong offset or a chunk past the declared size
    is refused without touching what was stored.
    """
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if upload.status == Upload.Status.DELETED:
            # An org admin cancelled it (or E2 deleted it) while the browser still sent: the
            # chunk is refused before a byte of it is written, so nothing comes back to life.
            raise Refused(f"This upload was deleted ({upload.deleted_reason}); start it again.")
        if upload.status != Upload.Status.RECEIVING:
            raise Refused("This upload is complete; nothing more can be added to it.")
        if offset != upload.received_bytes:
            raise Refused(
                f"Expected the chunk at byte {upload.received_bytes}, not at byte {offset}: "
                "resume from there."
            )
        end = offset + len(data)
        if end > upload.declared_size:
            raise Refused(
                f"The chunk ends at byte {end}, past the file's declared size of "
                f"{upload.declared_size} bytes."
            )
        if not data:
            raise Refused("The chunk is empty.")
        if len(data) != storage.UPLOAD_CHUNK and end != upload.declared_size:
            raise Refused(f"Every chunk but the last must be {storage.UPLOAD_CHUNK} bytes.")
        upload.multipart_id = storage.upload_write(
            upload.storage_name, offset=offset, data=data, multipart_id=upload.multipart_id
        )
        upload.received_bytes = end
        upload.updated_at = timezone.now()
        fields = ["multipart_id", "received_bytes", "updated_at"]
        if upload.complete:
            storage.upload_finish(upload.storage_name, multipart_id=upload.multipart_id)
            upload.status = Upload.Status.VALIDATING
            upload.heartbeat_at = upload.updated_at
            fields += ["status", "heartbeat_at"]
            enqueue_on_commit(UPLOAD_VALIDATION, upload.pk)
        upload.save(update_fields=fields)
    return upload


# --- validating (R9) -------------------------------------------------------------------------


def upload_validate(*, upload_id: int) -> str | None:
    """Check the received file; VALID or INVALID with every check and its reason."""
    if not claim(UPLOAD_VALIDATION, upload_id):
        return None
    upload = Upload.objects.select_related("organization").get(pk=upload_id)
    progress = Progress(UPLOAD_VALIDATION, upload_id)
    try:
        checks, manifest = _checks(upload, progress)
    except Exception as exc:
        # Not the file's fault (archive.verify refuses whatever is in the file): the database
        # or the storage failed. The validation ends now, INVALID, saying so (R9).
        log.exception("The check of upload %s stopped", upload_id)
        upload_fail(upload_id=upload_id, reason=f"The check stopped: {exc}. Upload the file again.")
        return Upload.Status.INVALID
    valid = all(c["passed"] for c in checks)
    status = Upload.Status.VALID if valid else Upload.Status.INVALID
    changed = finish(
        UPLOAD_VALIDATION,
        upload_id,
        status,
        checks=checks,
        manifest=manifest if valid else None,
        validated_bytes=progress.bytes,
    )
    if not valid:
        _remove_file(upload)  # nothing of a refused file is kept but its report
    if changed:
        record_event(
            action="upload.valid" if valid else "upload.refused",
            organization=upload.organization,
            target=upload,
            details={"failed": next((c for c in checks if not c["passed"]), None)},
        )
    return status


def _checks(upload: Upload, progress: Progress) -> tuple[list[dict], dict | None]:
    """Every check of R9 on the received file, in order, and its manifest."""
    try:
        with storage.local_file(upload.storage_name) as f:
            result = archive.verify(
                f,
                secret_key=settings.SECRET_KEY,
                max_total_bytes=settings.LOCAL_DOWNLOAD_LIMIT,
                on_bytes=progress.add_bytes,
            )
    except (OSError, storage.StorageError) as exc:
        result = archive.Verification()
        result.add("zip", False, f"The file could not be read: {exc}")
    checks = [
        {
            "name": c.name,
            "title": archive.CHECK_TITLES[c.name],
            "passed": c.passed,
            "detail": c.detail,
        }
        for c in result.checks
    ]
    if result.ok:
        checks += rules.upload_context_checks(
            manifest=result.manifest,
            taken_at=archive.taken_at(result.manifest),
            organization_id=upload.organization_id,
            now=timezone.now(),
        )
    return checks, result.manifest


# The check recorded when a validation could not run to its end: its worker died (E3) or its
# database or storage failed. Not one of the file's checks, so never shown as "skipped".
STOPPED_CHECK = "ended"
STOPPED_TITLE = "The check ran to its end"


def upload_fail(*, upload_id: int, reason: str) -> bool:
    """VALIDATING -> INVALID because the check could not end (E3), its file deleted. False if
    the validation had already ended."""
    upload = Upload.objects.select_related("organization").filter(pk=upload_id).first()
    if upload is None:
        return False
    check = {"name": STOPPED_CHECK, "title": STOPPED_TITLE, "passed": False, "detail": reason}
    changed = finish(
        UPLOAD_VALIDATION, upload_id, Upload.Status.INVALID, checks=[check], manifest=None
    )
    if changed:
        _remove_file(upload)
        record_event(
            action="upload.refused",
            organization=upload.organization,
            target=upload,
            details={"failed": check},
        )
    return changed


# --- housekeeping (E2) ----------------------------------------------------------------------


def _remove_file(upload: Upload) -> bool:
    try:
        storage.upload_discard(upload.storage_name, multipart_id=upload.multipart_id)
    except storage.StorageError:
        log.exception("Could not delete the file of upload %s", upload.pk)
        return False
    return True


def upload_delete(*, upload: Upload, reason: str) -> bool:
    """Delete an upload's file (restored, too old, abandoned) and say why (E2). Never under a
    running restore that reads it: that restore deletes the file itself when it ends."""
    with transaction.atomic():
        # The lock restore_request takes: E2 and a restore starting from this file take turns.
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if Restore.objects.filter(upload=upload, status=Restore.Status.IN_PROGRESS).exists():
            log.warning("Upload %s is being restored: not deleted now", upload.pk)
            return False
        if not _remove_file(upload):
            return False  # the storage failed: the next run tries again
        # Never while a worker reads it; a deleted upload keeps the reason it was deleted for.
        transition(
            Upload,
            upload.pk,
            (Upload.Status.RECEIVING, Upload.Status.VALID, Upload.Status.INVALID),
            Upload.Status.DELETED,
            deleted_reason=reason,
        )
    return True


def uploads_due_for_deletion(*, now: datetime):
    """(upload, reason) for every upload E2 says to delete now: the unfinished ones first."""
    # The database narrows the candidates (unfinished for long enough; valid); the rule says
    # which of them are due, and why.
    candidates = (
        Upload.objects.filter(
            status=Upload.Status.RECEIVING, updated_at__lt=now - rules.ABANDONED_AFTER
        ),
        # A file a restore is reading is deleted by that restore when it ends (E2, R8).
        Upload.objects.filter(status=Upload.Status.VALID).exclude(
            restores__status=Restore.Status.IN_PROGRESS
        ),
    )
    for queryset in candidates:
        for upload in queryset:
            reason = rules.upload_deletion_reason(
                status=upload.status,
                updated_at=upload.updated_at,
                taken_at=archive.taken_at(upload.manifest) if upload.manifest else None,
                now=now,
            )
            if reason:
                yield upload, reason


# --- an org admin's cancel and delete (#13 item 2, E2) ----------------------------------------
#
# E2 deletes an upload's file once it is restored, abandoned for a day or past its R4 window;
# these let an org admin do it sooner. Both lock the row, as upload_chunk and restore_request
# do, so a cancel and the last chunk (or a delete and a restore starting from the file) take
# turns: whichever comes first wins whole, and the other is refused with what happened.
#
# VALIDATING is refused, not cancelled: the worker is reading the file, and R9 promises the
# check ends by itself in a bounded time (E3 fails a dead one), so the admin waits for VALID
# or INVALID and deletes then. Deleting under the worker would end the check with a read
# error that blames the file, and the transition table has no VALIDATING -> DELETED.


def upload_removal_decision(
    *, status: str, cancel: bool, restoring_into: str | None = None, deleted_reason: str = ""
) -> Decision:
    """May an org admin cancel (`cancel`) or delete this upload now? `restoring_into` names
    the destination of a restore that is reading its file."""
    # A pure decision, in the words the admin reads; its home is rules/uploads.py (#13 item 12)
    # once that module is free to edit.
    S = Upload.Status
    if status == S.DELETED:
        return Decision(False, f"This upload was already deleted: {deleted_reason or 'gone'}.")
    if status == S.VALIDATING:
        return Decision(
            False,
            "The whole file has arrived and is being checked; it cannot be cancelled now. "
            "Once the check has ended (valid or refused), it can be deleted.",
        )
    if cancel and status != S.RECEIVING:
        return Decision(
            False,
            "This upload is no longer unfinished: the whole file arrived and was checked "
            f"({S(status).label}). Delete it instead if you no longer need it.",
        )
    if not cancel and status == S.RECEIVING:
        return Decision(False, "This upload is unfinished: cancel it instead.")
    if restoring_into:
        return Decision(
            False,
            f"A restore from this file into {restoring_into} is running; the file is deleted "
            "by itself once the restore ends.",
        )
    return Decision(True)


def upload_cancel(*, upload: Upload, actor) -> Upload:
    """Cancel an unfinished upload: what was received (and its S3 multipart upload) deleted."""
    return _remove(upload=upload, actor=actor, cancel=True)


def upload_delete_now(*, upload: Upload, actor) -> Upload:
    """Delete a checked upload's file now, rather than when E2 would; never during a restore."""
    return _remove(upload=upload, actor=actor, cancel=False)


def _remove(*, upload: Upload, actor, cancel: bool) -> Upload:
    name = actor.get_full_name() or actor.get_username()
    reason = f"cancelled by {name} before it was complete" if cancel else f"deleted by {name}"
    with transaction.atomic():
        # The lock upload_chunk and restore_request take: the last chunk, a restore's start and
        # this wait for each other, and whoever comes second sees the status the first left.
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        restoring = (
            Restore.objects.filter(upload=upload, status=Restore.Status.IN_PROGRESS)
            .select_related("destination")
            .first()
        )
        decision = upload_removal_decision(
            status=upload.status,
            cancel=cancel,
            restoring_into=restoring.destination.name if restoring else None,
            deleted_reason=upload.deleted_reason,
        )
        if not decision:
            raise Refused(decision)
        was = upload.status
        if not transition(
            Upload,
            upload.pk,
            was,
            Upload.Status.DELETED,
            deleted_reason=reason[:200],
            updated_at=timezone.now(),
        ):
            # The row is locked, so this is the status read above; the conditional update
            # stays the last line all the same (DESIGN: how a request flows).
            raise Refused("This upload changed meanwhile; reload the page.")
        # The file goes inside the transaction: if the storage fails, the status goes back with
        # it, and the admin is told to try again rather than shown "Deleted" over a kept file.
        try:
            storage.upload_discard(upload.storage_name, multipart_id=upload.multipart_id)
        except storage.StorageError as exc:
            log.exception("Could not delete the file of upload %s", upload.pk)
            raise Refused(f"The file could not be deleted ({exc}); nothing changed. Try again.")
        upload.refresh_from_db()
        record_event(
            action="upload.cancelled" if cancel else "upload.deleted",
            actor=actor,
            organization=upload.organization,
            target=upload,
            details={"was": was, "received_bytes": upload.received_bytes},
        )
    return upload

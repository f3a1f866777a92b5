"""What every background job shares (#13 item 9): enqueue on commit, claim once, the allowed
status transitions (B5, R8, D1, R9), progress with a heartbeat, and the stale-job reaper (E3).

A job type is a model (with a JobQuerySet: models/jobs.py), a work function and a JobType row
below; a new one (issue #14) adds those and copies none of this.
"""

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.tasks import async_task

from backups.models import Backup, BackupFile, BackupVerification, Restore, Upload

log = logging.getLogger(__name__)

# How often a running job writes its progress and heartbeat: often enough for a page polling
# every 2 s, rarely enough that the writes cost nothing next to the work (and on SQLite do not
# queue behind the site's one write lock). Read when a Progress is made, so a test can set 0.
PROGRESS_EVERY_SECONDS = 1.0
# A live progress entry outlives any restore; the row is the record once the job ends.
LIVE_PROGRESS_SECONDS = 24 * 3600


# --- the allowed status transitions ----------------------------------------------------------

B, F, R, U = Backup.Status, BackupFile.Status, Restore.Status, Upload.Status
V = BackupVerification.Status

TRANSITIONS: dict[type[models.Model], dict[str, frozenset[str]]] = {
    # B5: IN_PROGRESS -> COMPLETE | INCOMPLETE | FAILED; COMPLETE and INCOMPLETE later -> EXPIRED.
    Backup: {
        B.IN_PROGRESS: frozenset({B.COMPLETE, B.INCOMPLETE, B.FAILED}),
        B.COMPLETE: frozenset({B.EXPIRED}),
        B.INCOMPLETE: frozenset({B.EXPIRED}),
    },
    # R8: IN_PROGRESS -> COMPLETE | FAILED, and nothing after.
    Restore: {R.IN_PROGRESS: frozenset({R.COMPLETE, R.FAILED})},
    # D1: generated to READY or FAILED; a failed file is made again; D5: expires with its backup.
    BackupFile: {
        F.GENERATING: frozenset({F.READY, F.FAILED, F.EXPIRED}),
        F.READY: frozenset({F.EXPIRED}),
        F.FAILED: frozenset({F.GENERATING, F.EXPIRED}),
    },
    # R9: a received file is checked, VALID or INVALID; E2: its file is deleted, whatever it
    # was, except while a worker reads it. An org admin's cancel (RECEIVING -> DELETED) and
    # delete (VALID | INVALID -> DELETED) are E2 brought forward (#13 item 2); there is no
    # VALIDATING -> DELETED: a check under way runs to its end (R9), then the file can go.
    Upload: {
        U.RECEIVING: frozenset({U.VALIDATING, U.DELETED}),
        U.VALIDATING: frozenset({U.VALID, U.INVALID}),
        U.VALID: frozenset({U.DELETED}),
        U.INVALID: frozenset({U.DELETED}),
    },
    # A3: a check ends VERIFIED or FAILED; staff (admin) or `verify_backups --again` run it
    # again, which is the same row back to IN_PROGRESS (one verification per backup).
    BackupVerification: {
        V.IN_PROGRESS: frozenset({V.VERIFIED, V.FAILED}),
        V.VERIFIED: frozenset({V.IN_PROGRESS}),
        V.FAILED: frozenset({V.IN_PROGRESS}),
    },
}


class ForbiddenTransition(ValueError):
    """A status change the model's table does not allow: a programming error, not a race."""


def transition(
    model: type[models.Model], pk: int, from_: str | Iterable[str], to: str, **fields
) -> bool:
    """`from_` -> `to` as one conditional update, with `fields`. False if the row was not in
    `from_`: someone else got there first and the caller stops (DESIGN: how a request flows)."""
    sources = [from_] if isinstance(from_, str) else list(from_)
    allowed = TRANSITIONS[model]
    for source in sources:
        if to not in allowed.get(source, ()):
            raise ForbiddenTransition(f"{model.__name__}: {source} -> {to} is not allowed")
    return bool(model.objects.filter(pk=pk, status__in=sources).update(status=to, **fields))


def finish(job_type: "JobType", pk: int, to: str, **fields) -> bool:
    """The running job ends in `to`: a transition from its running status, stamped with its
    last heartbeat (and end time) now unless `fields` say when. False if it had ended."""
    now = timezone.now()
    stamps = {"heartbeat_at": now}
    if job_type.ended_field:
        stamps[job_type.ended_field] = now
    running = job_type.model.objects.all().RUNNING
    return transition(job_type.model, pk, running, to, **{**stamps, **fields})


# --- job types -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobType:
    """One kind of background job. Its model's `objects.running()` is "a worker is on it"."""

    name: str  # the task's name is "<name>-<pk>"; the live progress is cached under it
    label: str  # how the worker's log names it
    model: type[models.Model]
    task: str  # the django-q2 task, by dotted path: services never import tasks
    # E3: the service that fails it and removes its partial data, by dotted path (that service
    # imports this module), called as fail(<fail_arg>=pk, reason=…) -> bool.
    fail: str
    fail_arg: str
    describe: Callable[[models.Model], str]  # what fail_stale_jobs prints after "failed "
    # What else `fail` is told when E3 fails a job whose worker went quiet.
    stale_fail_args: tuple[tuple[str, object], ...] = ()
    related: tuple[str, ...] = ()  # what `describe` reads
    # Set when the job ends, whichever way (a finished backup or restore says when: B8, R8).
    ended_field: str | None = None
    items_field: str | None = None  # the row's columns Progress writes
    bytes_field: str | None = None
    # The progress goes to the cache, not the row: a restore writes its rows in transactions
    # a row update would wait on (SQLite's one write lock), so its row is written at the end.
    live: bool = False
    # Progress raises JobEnded once the row has ended (failed by staff or E3), so the worker
    # stops; an upload validation runs on to its end instead (R9: it always ends by itself).
    stops_when_ended: bool = True
    # The django-q2 cluster (queue) its task goes to; None: the main one.
    cluster: str | None = None


BACKUP = JobType(
    name="backup",
    label="Backup",
    model=Backup,
    task="backups.tasks.backup_task",
    fail="backups.services.backups.backup_fail",
    fail_arg="backup_id",
    describe=lambda b: f"backup #{b.pk} of {b.product}",
    stale_fail_args=(("transient", True),),  # A2: a worker that died is worth a retry
    related=("product",),
    ended_field="completed_at",
    items_field="items_done",
    bytes_field="bytes_done",
)
RESTORE = JobType(
    name="restore",
    label="Restore",
    model=Restore,
    task="backups.tasks.restore_task",
    fail="backups.services.restore_engine.restore_fail",
    fail_arg="restore_id",
    describe=lambda r: f"restore #{r.pk} into {r.destination}",
    related=("destination",),
    ended_field="completed_at",
    live=True,
)
BACKUP_FILE = JobType(
    name="backup-file",
    label="Backup file",
    model=BackupFile,
    task="backups.tasks.backup_file_task",
    fail="backups.services.files.backup_file_fail",
    fail_arg="file_id",
    describe=lambda f: f"the file of backup #{f.backup_id}",
    bytes_field="bytes_done",
)
UPLOAD_VALIDATION = JobType(
    name="upload",
    label="Upload validation",
    model=Upload,
    task="backups.tasks.upload_validation_task",
    fail="backups.services.uploads.upload_fail",
    fail_arg="upload_id",
    describe=lambda u: f"the check of upload #{u.pk} {u.file_name}",
    bytes_field="validated_bytes",
    stops_when_ended=False,
)

VERIFICATION = JobType(
    name="verification",
    label="Verification",
    model=BackupVerification,
    task="backups.tasks.verification_task",
    fail="backups.services.verification.verification_fail",
    fail_arg="verification_id",
    describe=lambda v: f"the verification of backup #{v.backup_id}",
    # E3: said as "the check did not finish", not as a fault of the backup (see the service).
    stale_fail_args=(("stopped", True),),
    ended_field="completed_at",
    items_field="items_done",
    bytes_field="bytes_done",
    # A3: its own django-q2 cluster (settings.Q_CLUSTER["ALT_CLUSTERS"]), one worker, so a
    # verification never waits in front of a backup or restore an admin asked for.
    cluster="verification",
)

JOB_TYPES = (BACKUP, RESTORE, BACKUP_FILE, UPLOAD_VALIDATION, VERIFICATION)


def enqueue_on_commit(job_type: JobType, pk: int) -> None:
    """Queue the job's task once the caller's transaction commits: a worker never looks for a
    row that is not there yet, and a rolled-back request queues nothing."""
    options = {"cluster": job_type.cluster} if job_type.cluster else {}
    transaction.on_commit(
        lambda: async_task(job_type.task, pk, task_name=f"{job_type.name}-{pk}", **options)
    )


def claim(job_type: JobType, pk: int) -> bool:
    """Take the job for this worker. Only the first delivery of its task finds `claimed_at`
    empty, so a redelivered task never runs a second copy of a job."""
    now = timezone.now()
    claimed = (
        job_type.model.objects.running()
        .filter(pk=pk, claimed_at__isnull=True)
        .update(claimed_at=now, heartbeat_at=now)
    )
    if not claimed:
        log.warning(
            "%s %s is not waiting to run (finished or claimed); not running it", job_type.label, pk
        )
    return bool(claimed)


# --- progress and heartbeat ------------------------------------------------------------------


class JobEnded(Exception):
    """Someone else ended the job (staff "Mark failed", or fail_stale_jobs): stop, remove
    what was written, and leave the row as they left it."""


def live_progress_key(job_type: JobType, pk: int) -> str:
    return f"backupsite:{job_type.name}:{pk}:progress"


def live_progress(job_type: JobType, pk: int) -> dict | None:
    """A running job's progress from the cache (shared by the web server and the workers)."""
    return cache.get(live_progress_key(job_type, pk))


def heartbeat(job_type: JobType, job) -> datetime | None:
    """When the job's worker last reported: its row, or its live progress if later."""
    live = live_progress(job_type, job.pk) if job_type.live else None
    if live:
        return max(job.heartbeat_at, datetime.fromisoformat(live["heartbeat_at"]))
    return job.heartbeat_at


class Progress:
    """A running job's counts and heartbeat, written at most every PROGRESS_EVERY_SECONDS."""

    def __init__(self, job_type: JobType, pk: int):
        self.job_type = job_type
        self.pk = pk
        self.items = 0
        self.bytes = 0
        self.every = PROGRESS_EVERY_SECONDS
        self._last = float("-inf")  # the first report goes at once

    def add(self, items: int = 0, nbytes: int = 0, *, force: bool = False) -> None:
        self.items += items
        self.bytes += nbytes
        if force or time.monotonic() - self._last >= self.every:
            self.report()

    def add_bytes(self, n: int) -> None:
        self.add(nbytes=n)

    def counting(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The chunks, counted as bytes done as they pass."""
        for chunk in chunks:
            self.add(nbytes=len(chunk))
            yield chunk

    def report(self, **fields) -> None:
        """Write the counts and the heartbeat now, with `fields` (say, the totals)."""
        self._last = time.monotonic()
        job_type, now = self.job_type, timezone.now()
        if job_type.live:
            cache.set(
                live_progress_key(job_type, self.pk),
                {"items_done": self.items, "heartbeat_at": now.isoformat()},
                timeout=LIVE_PROGRESS_SECONDS,
            )
            return
        counts = {}
        if job_type.items_field:
            counts[job_type.items_field] = self.items
        if job_type.bytes_field:
            counts[job_type.bytes_field] = self.bytes
        changed = (
            job_type.model.objects.running()
            .filter(pk=self.pk)
            .update(heartbeat_at=now, **counts, **fields)
        )
        if not changed and job_type.stops_when_ended:
            raise JobEnded()


# --- the stale-job reaper (E3) ---------------------------------------------------------------


def fail_stale(
    *, now: datetime, stale_after: timedelta, reason: Callable[[datetime], str]
) -> Iterator[str]:
    """Fail every job of every type whose worker has not reported for `stale_after`, removing
    its partial data (E3); a line for each one failed here."""
    cutoff = now - stale_after
    for job_type in JOB_TYPES:
        fail = import_string(job_type.fail)
        stale = job_type.model.objects.stale(now, stale_after).select_related(*job_type.related)
        for job in stale:
            beat = heartbeat(job_type, job)
            if beat >= cutoff:  # reported to the cache since (a restore)
                continue
            why = reason(beat)
            if fail(**{job_type.fail_arg: job.pk}, reason=why, **dict(job_type.stale_fail_args)):
                yield f"failed {job_type.describe(job)}: {why}"

"""services/jobs.py: the transition tables (B5, R8, D1, R9), claim once, progress and heartbeat,
enqueue on commit, and the stale-job reaper over every job model (E3). Small rows made here,
not the demo: these are about the job rows, not their content."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from backups.models import (
    Backup,
    BackupFile,
    BackupVerification,
    Organization,
    Product,
    Restore,
    Upload,
)
from backups.services import jobs
from backups.services.jobs import (
    BACKUP,
    BACKUP_FILE,
    JOB_TYPES,
    RESTORE,
    TRANSITIONS,
    UPLOAD_VALIDATION,
    VERIFICATION,
    ForbiddenTransition,
    JobEnded,
    Progress,
    claim,
    enqueue_on_commit,
    transition,
)
from backups.services.restores import StoredBackupSource, UploadedFileSource, restore_source

B, R, F, U = Backup.Status, Restore.Status, BackupFile.Status, Upload.Status


def pairs(model) -> set[tuple[str, str]]:
    return {(a, b) for a, targets in TRANSITIONS[model].items() for b in targets}


# --- the tables, as the spec words them ------------------------------------------------------


def test_b5_the_backup_table_is_exactly_the_spec():
    """B5: IN_PROGRESS -> COMPLETE | INCOMPLETE | FAILED; COMPLETE and INCOMPLETE -> EXPIRED."""
    assert pairs(Backup) == {
        (B.IN_PROGRESS, B.COMPLETE),
        (B.IN_PROGRESS, B.INCOMPLETE),
        (B.IN_PROGRESS, B.FAILED),
        (B.COMPLETE, B.EXPIRED),
        (B.INCOMPLETE, B.EXPIRED),
    }


def test_r8_the_restore_table_is_exactly_the_spec():
    """R8: IN_PROGRESS -> COMPLETE | FAILED, nothing after."""
    assert pairs(Restore) == {(R.IN_PROGRESS, R.COMPLETE), (R.IN_PROGRESS, R.FAILED)}


@pytest.mark.parametrize(
    "from_, to",
    [
        (B.FAILED, B.COMPLETE),
        (B.FAILED, B.EXPIRED),  # a failed backup has nothing to expire
        (B.COMPLETE, B.FAILED),
        (B.INCOMPLETE, B.COMPLETE),
        (B.IN_PROGRESS, B.EXPIRED),
        (B.COMPLETE, B.IN_PROGRESS),
        *[(B.EXPIRED, to) for to in B.values],  # B5: EXPIRED is the end
    ],
)
def test_b5_transition_refuses_what_b5_forbids(from_, to):
    with pytest.raises(ForbiddenTransition, match=f"Backup: {from_} -> {to} is not allowed"):
        transition(Backup, 1, from_, to)


@pytest.mark.parametrize(
    "from_, to",
    [(R.FAILED, R.COMPLETE), (R.COMPLETE, R.FAILED), (R.FAILED, R.IN_PROGRESS)]
    + [(R.COMPLETE, to) for to in R.values],
)
def test_r8_transition_refuses_what_r8_forbids(from_, to):
    with pytest.raises(ForbiddenTransition):
        transition(Restore, 1, from_, to)


@pytest.mark.parametrize(
    "model, from_, to",
    [
        (BackupFile, F.READY, F.GENERATING),  # D1: a ready file is not made again
        (BackupFile, F.EXPIRED, F.READY),  # D5: it went with its backup
        (Upload, U.INVALID, U.VALID),  # R9: a refused file stays refused
        (Upload, U.VALIDATING, U.DELETED),  # E2: never while a worker reads it
        (Upload, U.DELETED, U.VALID),
    ],
)
def test_d1_r9_the_file_and_upload_tables_refuse_the_rest(model, from_, to):
    with pytest.raises(ForbiddenTransition):
        transition(model, 1, from_, to)


def test_b5_one_forbidden_source_refuses_the_whole_transition():
    with pytest.raises(ForbiddenTransition, match="FAILED -> EXPIRED"):
        transition(Backup, 1, (B.COMPLETE, B.FAILED), B.EXPIRED)


def test_every_job_models_running_status_is_one_of_its_statuses():
    for job_type in JOB_TYPES:
        running = job_type.model.objects.all().RUNNING
        assert running in job_type.model.Status.values
        assert running in TRANSITIONS[job_type.model], job_type.name


# --- rows --------------------------------------------------------------------------------------


@pytest.fixture
def product(db):
    org = Organization.objects.create(name="Jobs", slug="jobs", enrolled=True)
    return Product.objects.create(organization=org, kind="jira", name="Jobs Jira")


def make_backup(product, status=B.IN_PROGRESS, **fields) -> Backup:
    now = timezone.now()
    done = None if status == B.IN_PROGRESS else now
    return Backup.objects.create(
        product=product,
        status=status,
        started_at=now,
        heartbeat_at=now,
        completed_at=done,
        **fields,
    )


def make_restore(product) -> Restore:
    now = timezone.now()
    backup = make_backup(product, B.COMPLETE)
    return Restore.objects.create(
        backup=backup,
        source_backup_id=backup.pk,
        source_product_name=product.name,
        source_taken_at=now,
        destination=Product.objects.create(
            organization=product.organization, kind="jira", name="Jobs sandbox"
        ),
        started_at=now,
        heartbeat_at=now,
    )


def make_backup_file(product) -> BackupFile:
    now = timezone.now()
    return BackupFile.objects.create(
        backup=make_backup(product, B.COMPLETE), created_at=now, heartbeat_at=now
    )


def make_validation(product) -> Upload:
    now = timezone.now()
    return Upload.objects.create(
        organization=product.organization,
        file_name="jobs.zip",
        declared_size=10,
        received_bytes=10,
        storage_name="uploads/jobs/jobs.zip",
        status=U.VALIDATING,
        created_at=now,
        updated_at=now,
        heartbeat_at=now,
    )


def make_verification(product) -> BackupVerification:
    # Taken by a worker (claimed, with a heartbeat): one waiting its turn has none (A3).
    now = timezone.now()
    return BackupVerification.objects.create(
        backup=make_backup(product, B.COMPLETE), requested_at=now, heartbeat_at=now
    )


MAKE = {
    BACKUP: make_backup,
    RESTORE: make_restore,
    BACKUP_FILE: make_backup_file,
    UPLOAD_VALIDATION: make_validation,
    VERIFICATION: make_verification,
}


def test_b5_transition_is_a_conditional_update(product):
    """B5: the second of two enders finds the row moved on and changes nothing."""
    backup = make_backup(product)
    assert transition(Backup, backup.pk, B.IN_PROGRESS, B.FAILED, completed_at=timezone.now())
    assert not transition(Backup, backup.pk, B.IN_PROGRESS, B.COMPLETE, completed_at=None)
    backup.refresh_from_db()
    assert backup.status == B.FAILED and backup.completed_at is not None


@pytest.mark.parametrize("job_type", JOB_TYPES, ids=lambda t: t.name)
def test_claim_once_a_second_claim_is_refused(product, job_type):
    """A redelivered task finds the job claimed and does not run a second copy of it."""
    job = MAKE[job_type](product)
    assert claim(job_type, job.pk)
    assert not claim(job_type, job.pk)
    job.refresh_from_db()
    assert job.claimed_at is not None


def test_claim_refuses_a_job_that_has_ended(product):
    backup = make_backup(product, B.FAILED)
    assert not claim(BACKUP, backup.pk)


def test_enqueue_on_commit_queues_after_commit_and_never_after_a_rollback(
    product, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(jobs, "async_task", lambda *a, **kw: queued.append((a, kw)))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_on_commit(BACKUP, 7)
        assert queued == []  # not while the row may still roll back
    assert queued == [(("backups.tasks.backup_task", 7), {"task_name": "backup-7"})]

    # A3: a verification goes to its own cluster's queue, never in front of a backup.
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_on_commit(VERIFICATION, 9)
    assert queued == [
        (
            ("backups.tasks.verification_task", 9),
            {"task_name": "verification-9", "cluster": "verification"},
        )
    ]

    queued.clear()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue_on_commit(BACKUP_FILE, 8)
        raise RuntimeError("the request failed")
    assert queued == []


# --- progress ------------------------------------------------------------------------------------


def test_progress_is_written_at_most_every_interval_and_forced_when_asked(product, monkeypatch):
    monkeypatch.setattr(jobs, "PROGRESS_EVERY_SECONDS", 3600)
    backup = make_backup(product)
    progress = Progress(BACKUP, backup.pk)
    progress.add(items=1, nbytes=100)  # the first report goes at once
    progress.add(items=1, nbytes=100)  # within the interval: counted, not written
    backup.refresh_from_db()
    assert (backup.items_done, backup.bytes_done) == (1, 100)
    progress.add(force=True)
    backup.refresh_from_db()
    assert (backup.items_done, backup.bytes_done) == (2, 200)


def test_progress_stops_a_job_someone_else_ended(product):
    """Staff "Mark failed" or E3 ended it: the worker stops at its next report."""
    backup = make_backup(product)
    transition(Backup, backup.pk, B.IN_PROGRESS, B.FAILED, completed_at=timezone.now())
    with pytest.raises(JobEnded):
        Progress(BACKUP, backup.pk).add(items=1)


def test_r9_an_upload_validation_runs_on_after_its_row_ended(product):
    """R9: a validation always ends by itself; its progress does not stop it."""
    upload = make_validation(product)
    transition(Upload, upload.pk, U.VALIDATING, U.INVALID)
    Progress(UPLOAD_VALIDATION, upload.pk).add_bytes(5)  # no JobEnded
    upload.refresh_from_db()
    assert upload.validated_bytes == 0


def test_a_restores_progress_goes_to_the_cache_not_its_row(product):
    restore = make_restore(product)
    Progress(RESTORE, restore.pk).add(items=3)
    assert jobs.live_progress(RESTORE, restore.pk)["items_done"] == 3
    restore.refresh_from_db()
    assert restore.items_done == 0


# --- E3: one loop over every job model ------------------------------------------------------------


def run_fail_stale_jobs() -> str:
    out = StringIO()
    call_command("fail_stale_jobs", "--stale-after", "1800", stdout=out)
    return out.getvalue()


def test_e3_fail_stale_jobs_fails_a_stale_job_of_every_model_in_one_run(product):
    """E3: a backup, a restore, a backup file and an upload validation whose workers died are
    all ended by one run; a job that reported recently (a restore, to the cache) is left."""
    assert set(MAKE) == set(JOB_TYPES), "a new job type needs a row here"
    stale = {job_type: MAKE[job_type](product) for job_type in JOB_TYPES}
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=29)):
        assert run_fail_stale_jobs() == "0 stale job(s) marked FAILED.\n"
    with time_machine.travel(start + timedelta(minutes=31)):
        alive = make_backup(
            Product.objects.create(organization=product.organization, kind="jira", name="Busy")
        )
        out = run_fail_stale_jobs()

    assert out.splitlines()[-1] == "5 stale job(s) marked FAILED."
    b, r, f, u = (stale[t] for t in (BACKUP, RESTORE, BACKUP_FILE, UPLOAD_VALIDATION))
    v = stale[VERIFICATION]
    assert f"failed the verification of backup #{v.backup_id}: The worker stopped" in out
    v.refresh_from_db()
    assert v.status == BackupVerification.Status.FAILED
    assert v.reason.startswith("The check did not finish, so this backup is not proven")
    assert f"failed backup #{b.pk} of Jobs Jira: The worker stopped" in out
    assert f"failed restore #{r.pk} into Jobs sandbox: The worker stopped" in out
    assert f"failed the file of backup #{f.backup_id}: The worker stopped" in out
    assert f"failed the check of upload #{u.pk} jobs.zip: The worker stopped" in out
    for job in stale.values():
        job.refresh_from_db()
    assert (b.status, r.status, f.status, u.status) == (B.FAILED, R.FAILED, F.FAILED, U.INVALID)
    assert "(the limit is 30 minute(s))" in b.failure_reason
    alive.refresh_from_db()
    assert alive.status == B.IN_PROGRESS


def test_e3_a_restore_reporting_to_the_cache_is_not_stale(product):
    restore = make_restore(product)
    with time_machine.travel(restore.heartbeat_at + timedelta(minutes=40)):
        Progress(RESTORE, restore.pk).report()
        assert "0 stale job(s)" in run_fail_stale_jobs()
    cache.clear()
    with time_machine.travel(restore.heartbeat_at + timedelta(minutes=40)):
        assert f"failed restore #{restore.pk}" in run_fail_stale_jobs()


# --- one restore source (#13 item 10) ---------------------------------------------------------


def test_restore_source_is_chosen_once_from_what_is_given(product):
    backup = make_backup(product, B.COMPLETE)
    upload = make_validation(product)
    assert isinstance(restore_source(backup=backup), StoredBackupSource)
    assert isinstance(restore_source(upload=upload), UploadedFileSource)
    with pytest.raises(ValueError, match="exactly one source"):
        restore_source(backup=backup, upload=upload)
    with pytest.raises(ValueError, match="exactly one source"):
        restore_source()


@pytest.mark.parametrize(
    "old, new",
    [
        ("backups.tasks.run_backup", "backups.tasks.backup_task"),
        ("backups.tasks.generate_backup_file", "backups.tasks.backup_file_task"),
        ("backups.tasks.run_restore", "backups.tasks.restore_task"),
        ("backups.tasks.validate_upload", "backups.tasks.upload_validation_task"),
        ("backups.tasks.verification_task", "backups.tasks.verification_task"),
    ],
)
def test_a_task_queued_under_its_old_name_still_runs(old, new):
    """django-q2 stores a task's dotted path in the queue: one queued before the rename (#13
    item 16) must find the same function after an upgrade."""
    from django.utils.module_loading import import_string

    assert import_string(old) is import_string(new)
    assert new in {job_type.task for job_type in jobs.JOB_TYPES}

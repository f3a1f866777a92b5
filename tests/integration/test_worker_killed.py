"""Issue #7 item 3: a worker killed with SIGKILL in the middle of a backup (E3)."""

import shutil
import signal
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from backups import archive, storage
from backups.models import AttachmentBlob, Backup, BackupBlob
from backups.services.backup_engine import BATCH_BYTES, BATCH_FILES, COPY_THREADS
from backups.services.backups import backup_request
from benchmarks.backup_throughput import make_product

from .workers import filesystem_location, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# Enough attachment bytes that the copy takes a while (about 1.5 s at 400 MB/s), so the
# worker can be caught with part of the backup written.
ATTACHMENT_MB = 600
FILE_MB = 4
STALE_AFTER = 60


def fail_stale_jobs(*args: str) -> str:
    out = StringIO()
    call_command("fail_stale_jobs", *args, stdout=out)
    return out.getvalue()


def test_a_worker_killed_mid_backup_is_failed_cleaned_up_and_a_new_backup_runs(
    redis_broker, qclusters
):
    product, admin, _ = make_product(
        "Big Jira", issues=2000, attachment_mb=ATTACHMENT_MB, file_mb=FILE_MB
    )
    files = ATTACHMENT_MB // FILE_MB
    try:
        doomed = qclusters("doomed")
        backup = backup_request(product=product, actor=admin)
        prefix = backup.storage_prefix
        manifest = prefix + archive.MANIFEST_NAME
        # #16 item 2: the attachments go to the organization's shared copies, not the prefix.
        copies = f"blobs/{product.organization_id}/"

        def mid_backup() -> bool:
            backup.refresh_from_db()
            return (
                backup.status == Backup.Status.IN_PROGRESS
                and backup.claimed_at is not None
                and backup.heartbeat_at is not None
                and len(storage.list_prefix(copies)) >= 2
            )

        wait_for(
            mid_backup,
            timeout=60,
            every=0.02,
            what="the worker to be part way through the backup",
            explain=qclusters.logs,
        )
        # Freeze the whole cluster first, so that what is checked is what SIGKILL cuts short.
        doomed.signal_group(signal.SIGSTOP)
        backup.refresh_from_db()
        assert backup.status == Backup.Status.IN_PROGRESS
        written = storage.list_prefix(prefix) + storage.list_prefix(copies)
        assert manifest not in written
        assert 2 <= len(written) < files, f"{len(written)} objects written of {files}"
        killed_at = time.monotonic()
        doomed.kill()
        heartbeat = backup.heartbeat_at

        # The job is orphaned: nothing moves, and within the limit it is not failed yet.
        assert "0 stale job(s) marked FAILED." in fail_stale_jobs("--stale-after", str(STALE_AFTER))
        backup.refresh_from_db()
        assert backup.status == Backup.Status.IN_PROGRESS
        assert backup.heartbeat_at == heartbeat
        assert storage.list_prefix(prefix) + storage.list_prefix(copies) == written

        with time_machine.travel(heartbeat + timedelta(seconds=STALE_AFTER + 1), tick=False):
            out = fail_stale_jobs("--stale-after", str(STALE_AFTER))
        assert f"failed backup #{backup.pk} of Big Jira" in out
        assert "1 stale job(s) marked FAILED." in out
        backup.refresh_from_db()
        assert backup.status == Backup.Status.FAILED
        assert backup.failure_reason.startswith(
            "The worker stopped: no progress was reported since "
        )
        assert backup.failure_reason.endswith("(the limit is 1 minute(s)).")
        assert storage.list_prefix(prefix) == []
        assert not (Path(filesystem_location("backups")) / prefix).exists()
        # Its recorded copies went with its references (B5). What the batch being copied when
        # the worker died had written stays, never referred to (no row names it): space, not
        # a wrong byte, and the blob sweeper's once the grace has passed
        # (test_worker_killed_sweep.py). At most one batch's files, and the copies in flight.
        assert not BackupBlob.objects.filter(backup=backup).exists()
        assert not AttachmentBlob.objects.filter(organization=product.organization).exists()
        batch_files = min(BATCH_FILES, BATCH_BYTES // (FILE_MB * 1024 * 1024))
        assert len(storage.list_prefix(copies)) <= batch_files + COPY_THREADS

        # E3: the product is not blocked; a fresh worker runs the new backup to the end.
        again = backup_request(product=product, actor=admin)
        assert again.status == Backup.Status.IN_PROGRESS
        qclusters("fresh")
        wait_for(
            lambda: Backup.objects.get(pk=again.pk).status != Backup.Status.IN_PROGRESS,
            timeout=120,
            every=0.1,
            what=f"the new backup #{again.pk} to end",
            explain=qclusters.logs,
        )
        again.refresh_from_db()
        assert again.status == Backup.Status.COMPLETE, again.failure_reason
        assert again.counts["attachments"]["rows"] == files
        assert again.counts["attachments"]["files_bytes"] == ATTACHMENT_MB * 1024 * 1024
        assert storage.exists(again.storage_prefix + archive.MANIFEST_NAME)
        # The killed run never comes back to life.
        backup.refresh_from_db()
        assert backup.status == Backup.Status.FAILED
        print(
            f"\nkilled with {len(written)} of {files} objects written; failed, cleaned up and "
            f"backed up again in {time.monotonic() - killed_at:.1f} s"
        )
    finally:
        # 1.2 GB of attachments and backups: not kept in pytest's temporary folders.
        qclusters.stop_all()
        for alias in ("default", "backups"):
            shutil.rmtree(filesystem_location(alias), ignore_errors=True)

"""#16 item 2, "nothing lost, nothing left": a worker killed with SIGKILL while it writes an
attachment into the attachment store leaves bytes that no row names (the batch being copied:
its finished copies and the COPY_THREADS in flight); after E3 fails the backup and B5 lets go of its
blobs, those objects are all that is left, and the hourly sweep (run by expire_backups)
deletes them once they are older than the grace period."""

import os
import shutil
import signal
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from backups import storage
from backups.models import AttachmentBlob, Backup
from backups.rules import human_bytes
from backups.services.backups import backup_request
from benchmarks.backup_throughput import make_product

from .workers import filesystem_location, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# Large files, so that the worker spends nearly all its time writing one: caught there, it
# leaves an object written and not yet recorded.
ATTACHMENT_MB = 400
FILE_MB = 40
STALE_AFTER = 60


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def unnamed(prefix: str) -> list[str]:
    named = set(AttachmentBlob.objects.values_list("storage_name", flat=True))
    return [n for n in storage.list_prefix(prefix) if n not in named]


def test_a_worker_killed_mid_copy_leaves_an_object_that_the_sweep_removes(redis_broker, qclusters):
    product, admin, _ = make_product(
        "Killed Jira", issues=100, attachment_mb=ATTACHMENT_MB, file_mb=FILE_MB
    )
    copies = f"blobs/{product.organization_id}/"
    try:
        doomed = qclusters("doomed")
        backup = backup_request(product=product, actor=admin)

        def mid_copy() -> bool:
            backup.refresh_from_db()
            return (
                backup.status == Backup.Status.IN_PROGRESS
                and backup.heartbeat_at is not None
                # One attachment recorded, the next ones being written.
                and AttachmentBlob.objects.filter(organization=product.organization).exists()
                and bool(unnamed(copies))
            )

        for _ in range(20):
            wait_for(
                mid_copy,
                timeout=60,
                every=0.01,
                what="the worker to be writing an attachment",
                explain=qclusters.logs,
            )
            doomed.signal_group(signal.SIGSTOP)
            if unnamed(copies):
                break
            doomed.signal_group(signal.SIGCONT)  # it recorded it meanwhile: catch the next one
        left = sorted(unnamed(copies))
        assert left
        doomed.kill()
        size = sum(os.path.getsize(storage.backup_storage().path(n)) for n in left)
        recorded = AttachmentBlob.objects.filter(organization=product.organization).count()
        assert recorded >= 1

        backup.refresh_from_db()
        with time_machine.travel(backup.heartbeat_at + timedelta(seconds=STALE_AFTER + 1)):
            out = run("fail_stale_jobs", "--stale-after", str(STALE_AFTER))
        assert f"failed backup #{backup.pk} of Killed Jira" in out
        # B5: its recorded blobs went with it; what it was writing is all that is left.
        assert not AttachmentBlob.objects.filter(organization=product.organization).exists()
        assert storage.list_prefix(copies) == left

        # Within the grace period the sweep leaves it (it might still be recorded)...
        assert run("expire_backups").splitlines()[-1] == (
            "Swept 0 unreferenced object(s) (0 bytes) from the attachment store."
        )
        assert storage.list_prefix(copies) == left
        # ...a day later, the hourly run deletes it.
        with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=False):
            dry = run("sweep_blobs", "--dry-run")
            assert sorted(line.split(" (")[0] for line in dry.splitlines()[:-1]) == [
                f"would delete {n}" for n in left
            ]
            assert run("expire_backups").splitlines()[-1] == (
                f"Swept {len(left)} unreferenced object(s) ({human_bytes(size)}) from the "
                "attachment store."
            )
        assert storage.list_prefix(copies) == []
        print(
            f"\nkilled after recording {recorded} of {ATTACHMENT_MB // FILE_MB} attachments; "
            f"the sweep removed the {len(left)} object(s), {human_bytes(size)}, it was writing"
        )
    finally:
        qclusters.stop_all()
        for alias in ("default", "backups"):
            shutil.rmtree(filesystem_location(alias), ignore_errors=True)

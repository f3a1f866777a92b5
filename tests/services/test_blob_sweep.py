"""The attachment store's sweep (#16 item 2, "nothing lost, nothing left"): an object under
blobs/ that no row names, left by a worker killed between writing the bytes and recording
them, is deleted once no running job can still record it; nothing else is ever touched."""

import hashlib
import os
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from backups import storage
from backups.models import AttachmentBlob, Backup, BackupBlob, BackupPolicy
from backups.services.backups import backup_request
from backups.services.blob_sweep import Swept, blobs_sweep
from backups.services.blobs import blob_name, site_blob_name
from tests.factories import complete_backup, jira_product, org_with_admin

DAY = timedelta(hours=24)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def orphan(org_id: int, data: bytes, *, age: timedelta | None = None, site: bool = False) -> str:
    """An object as a killed backup leaves it: written under a blob name, with no row. `age`
    sets its mtime back (a folder only)."""
    if site:
        name = site_blob_name(organization_id=org_id, path="attachments/9/scan.pdf")
    else:
        name = blob_name(organization_id=org_id, sha256=hashlib.sha256(data).hexdigest())
    storage.write_chunks(name, [data])
    if age is not None:
        backdate(name, age)
    return name


def backdate(name: str, age: timedelta) -> None:
    when = (timezone.now() - age).timestamp()
    os.utime(storage.backup_storage().path(name), (when, when))


def everything() -> list[str]:
    return storage.list_prefix("")


def test_an_object_a_killed_backup_left_is_deleted_a_fresh_one_and_named_ones_kept(db):
    org, admin = org_with_admin()
    backup = complete_backup(jira_product(org, issues=2, attachments=1), admin)
    named = storage.list_prefix(f"blobs/{org.pk}/")
    # Its attachments and entities files (#16), each content once.
    assert set(named) == set(
        BackupBlob.objects.filter(backup=backup).values_list("blob__storage_name", flat=True)
    )
    assert len([n for n in named if "/written/" not in n]) == 2
    # Everything the backup stored, and an upload, is as old as the orphans: only age is not
    # enough to go.
    storage.write_chunks(f"uploads/{org.pk}/old.zip", [b"an uploaded backup file"])
    for name in everything():
        backdate(name, 30 * DAY)
    before = everything()
    killed = orphan(org.pk, b"copied when the worker was killed", age=DAY + timedelta(minutes=1))
    killed_site = orphan(org.pk, b"a site's download, cut short", age=3 * DAY, site=True)
    fresh = orphan(org.pk, b"being recorded right now", age=DAY - timedelta(minutes=1))

    swept = blobs_sweep(now=timezone.now())

    assert swept == Swept(count=2, bytes=len(b"copied when the worker was killed") + 28)
    assert sorted(everything()) == sorted([*before, fresh])
    assert killed not in everything() and killed_site not in everything()
    # The backup still reads every attachment it holds.
    for row in AttachmentBlob.objects.all():
        with storage.open_object(row.storage_name) as f:
            assert hashlib.sha256(f.read()).hexdigest() == row.sha256
    assert backup.status == Backup.Status.COMPLETE
    # Twice is safe: nothing left to sweep.
    assert blobs_sweep(now=timezone.now()) == Swept(count=0, bytes=0)


@pytest.mark.parametrize("state", ["LIVE", "RETIRED", "DELETING"])
def test_an_object_a_row_names_is_never_swept_whatever_its_state(db, state):
    org, _ = org_with_admin()
    data = b"held by a row"
    name = orphan(org.pk, data, age=400 * DAY)
    AttachmentBlob.objects.create(
        organization=org,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        storage_name=name,
        state=state,
    )
    assert blobs_sweep(now=timezone.now(), grace=timedelta(0)) == Swept(count=0, bytes=0)
    assert storage.list_prefix("blobs/") == [name]


def test_an_object_newer_than_a_running_backups_start_is_kept(db):
    org, admin = org_with_admin()
    other, _ = org_with_admin("globex")
    product = jira_product(org)
    BackupPolicy.objects.create(product=product, created_by=admin)
    running = backup_request(product=product, actor=admin)
    # A backup running for three days, past the grace period (a connected site's slow files).
    Backup.objects.filter(pk=running.pk).update(started_at=timezone.now() - 3 * DAY)
    during = orphan(org.pk, b"written by the running backup", age=2 * DAY, site=True)
    before = orphan(org.pk, b"left before it started", age=4 * DAY)
    elsewhere = orphan(other.pk, b"another organization's, nothing running", age=2 * DAY)

    swept = blobs_sweep(now=timezone.now())

    assert swept.count == 2
    assert storage.list_prefix("blobs/") == [during]
    assert before not in storage.list_prefix("blobs/")
    assert elsewhere not in storage.list_prefix("blobs/")
    # Once the backup has ended (here: failed and cleaned up), its leftover goes too.
    Backup.objects.filter(pk=running.pk).update(
        status=Backup.Status.FAILED, completed_at=timezone.now()
    )
    assert blobs_sweep(now=timezone.now()).count == 1
    assert storage.list_prefix("blobs/") == []


def test_the_grace_period_is_the_setting(db, settings):
    org, _ = org_with_admin()
    name = orphan(org.pk, b"two hours old", age=timedelta(hours=2))
    assert blobs_sweep(now=timezone.now()).count == 0  # the default: a day
    settings.BLOB_SWEEP_GRACE_HOURS = 1
    assert blobs_sweep(now=timezone.now()).count == 1
    assert name not in storage.list_prefix("blobs/")


def test_the_command_dry_run_prints_the_names_and_changes_nothing(db):
    org, admin = org_with_admin()
    complete_backup(jira_product(org, issues=1, attachments=1), admin)
    killed = orphan(org.pk, b"x" * 1500, age=2 * DAY)
    young = orphan(org.pk, b"two hours old", age=timedelta(hours=2))
    before = everything()

    dry = run("sweep_blobs", "--dry-run").splitlines()

    assert len(dry) == 2
    assert dry[0].startswith(f"would delete {killed} (1.5 KB, last written ")
    assert dry[1] == "Would sweep 1 unreferenced object(s) (1.5 KB) from the attachment store."
    assert everything() == before

    # --older-than HOURS: the two-hour-old one goes too.
    dry = run("sweep_blobs", "--dry-run", "--older-than", "1").splitlines()
    assert sorted(line.split(" (")[0] for line in dry[:-1]) == sorted(
        [f"would delete {killed}", f"would delete {young}"]
    )
    assert everything() == before

    out = run("sweep_blobs").splitlines()
    assert out[0].startswith(f"deleted {killed} (1.5 KB, last written ")
    assert out[1] == "Swept 1 unreferenced object(s) (1.5 KB) from the attachment store."
    assert sorted(everything()) == sorted(set(before) - {killed})
    assert run("sweep_blobs").splitlines() == [
        "Swept 0 unreferenced object(s) (0 bytes) from the attachment store."
    ]
    with pytest.raises(CommandError):
        run("sweep_blobs", "--older-than", "-1")


def test_expire_backups_sweeps_too_in_one_line(db):
    org, _ = org_with_admin()
    killed = orphan(org.pk, b"y" * 2_500_000, age=2 * DAY)
    young = orphan(org.pk, b"young", age=timedelta(hours=1))

    dry = run("expire_backups", "--dry-run").splitlines()
    assert dry[-1] == "Would sweep 1 unreferenced object(s) (2.5 MB) from the attachment store."
    assert storage.list_prefix("blobs/") == sorted([killed, young])

    assert run("expire_backups").splitlines() == [
        "0 backup(s) expired.",
        "0 upload(s) deleted.",
        "Swept 1 unreferenced object(s) (2.5 MB) from the attachment store.",
    ]
    assert storage.list_prefix("blobs/") == [young]


def test_on_s3_the_listing_and_the_delete_work(db, s3_storage, monkeypatch):
    # S3 objects cannot be backdated: the sweep is run two days from now instead.
    monkeypatch.setattr(storage, "PAGE_SIZE", 2)  # several pages of the listing
    org, admin = org_with_admin()
    backup = complete_backup(jira_product(org, issues=3, attachments=1), admin)
    named = storage.list_prefix(f"blobs/{org.pk}/")
    # Its attachments and entities files (#16), each content once.
    assert set(named) == set(
        BackupBlob.objects.filter(backup=backup).values_list("blob__storage_name", flat=True)
    )
    assert len([n for n in named if "/written/" not in n]) == 3
    storage.write_chunks(f"uploads/{org.pk}/old.zip", [b"an uploaded backup file"])
    outside = [n for n in everything() if not n.startswith("blobs/")]
    assert len(outside) >= 2  # its manifest, the upload
    killed = [orphan(org.pk, f"orphan {i}".encode()) for i in range(3)]
    killed.append(orphan(org.pk, b"a site's download", site=True))
    other, other_admin = org_with_admin("globex")
    product = jira_product(other)
    BackupPolicy.objects.create(product=product, created_by=other_admin)
    backup_request(product=product, actor=other_admin)  # running since just now
    kept = orphan(other.pk, b"written by a running backup")

    swept = blobs_sweep(now=timezone.now() + 2 * DAY)

    assert swept.count == 4
    assert swept.bytes == sum(len(f"orphan {i}") for i in range(3)) + len(b"a site's download")
    assert sorted(storage.list_prefix("blobs/")) == sorted([*named, kept])
    assert [n for n in everything() if not n.startswith("blobs/")] == outside

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backups.rules import human_bytes
from backups.services.blob_sweep import blobs_sweep, sweep_grace, swept_words
from backups.storage import StorageError


class Command(BaseCommand):
    help = (
        "#16 item 2: delete the attachment store's objects (blobs/) that no stored attachment "
        "names: left by a worker killed between writing the bytes and recording them. Only "
        "objects older than BACKUPSITE_BLOB_SWEEP_GRACE_HOURS and than their organization's "
        "oldest running backup go. expire_backups runs it hourly. Safe to run twice, or two at "
        "once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be deleted; change nothing."
        )
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="HOURS",
            help="Sweep objects older than this many hours "
            "(default: the BACKUPSITE_BLOB_SWEEP_GRACE_HOURS setting).",
        )

    def handle(self, *args, dry_run=False, older_than=None, **options):
        if older_than is not None and older_than < 0:
            raise CommandError("--older-than cannot be negative.")
        grace = sweep_grace() if older_than is None else timedelta(hours=older_than)
        verb = "would delete" if dry_run else "deleted"

        def say(listed):
            self.stdout.write(
                f"{verb} {listed.name} ({human_bytes(listed.size)}, last written "
                f"{listed.modified:%Y-%m-%d %H:%M:%S} UTC)"
            )

        try:
            swept = blobs_sweep(now=timezone.now(), grace=grace, dry_run=dry_run, on_object=say)
        except StorageError as exc:
            raise CommandError(f"Could not sweep the attachment store: {exc}") from exc
        self.stdout.write(swept_words(swept, dry_run=dry_run))
        if swept.failed:
            raise CommandError(
                f"{swept.failed} object(s) could not be deleted; the next sweep tries again."
            )

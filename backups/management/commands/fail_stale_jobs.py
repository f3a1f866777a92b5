from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from backups.models import BackupFile, Restore
from backups.rules import format_duration, format_when
from backups.services.backups import backup_fail, stale_backups
from backups.services.files import backup_file_fail
from backups.services.restore_engine import restore_fail, restore_heartbeat
from backups.services.uploads import stale_uploads, upload_fail


class Command(BaseCommand):
    help = (
        "E3: mark FAILED every backup, restore and backup-file generation whose worker has sent "
        "no heartbeat for BACKUPSITE_STALE_AFTER seconds, and remove its partial data. Run it "
        "from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-after",
            type=int,
            default=None,
            help="Seconds without a heartbeat (default: the BACKUPSITE_STALE_AFTER setting).",
        )

    def handle(self, *args, stale_after=None, **options):
        seconds = stale_after if stale_after is not None else settings.STALE_AFTER_SECONDS
        now = timezone.now()
        cutoff = now - timedelta(seconds=seconds)
        limit = format_duration(seconds)

        def reason(heartbeat) -> str:
            return (
                f"The worker stopped: no progress was reported since {format_when(heartbeat)} "
                f"(the limit is {limit})."
            )

        failed = 0
        for backup in stale_backups(now=now, stale_after=timedelta(seconds=seconds)):
            why = reason(backup.heartbeat_at)
            if backup_fail(backup_id=backup.pk, reason=why):
                self.stdout.write(f"failed backup #{backup.pk} of {backup.product}: {why}")
                failed += 1
        # A restore's live heartbeat is in the cache (its row is written at commit only).
        for restore in Restore.objects.filter(status=Restore.Status.IN_PROGRESS).select_related(
            "destination"
        ):
            heartbeat = restore_heartbeat(restore)
            if heartbeat < cutoff:
                why = reason(heartbeat)
                if restore_fail(restore_id=restore.pk, reason=why):
                    self.stdout.write(
                        f"failed restore #{restore.pk} into {restore.destination}: {why}"
                    )
                    failed += 1
        for backup_file in BackupFile.objects.filter(
            status=BackupFile.Status.GENERATING, heartbeat_at__lt=cutoff
        ):
            why = reason(backup_file.heartbeat_at)
            if backup_file_fail(file_id=backup_file.pk, reason=why):
                self.stdout.write(f"failed the file of backup #{backup_file.backup_id}: {why}")
                failed += 1
        # An upload validation whose worker died is refused (INVALID) and its file deleted:
        # otherwise it would show "Checking the file…" for ever (R9, E3).
        for upload in stale_uploads(now=now, stale_after=timedelta(seconds=seconds)):
            why = reason(upload.heartbeat_at)
            if upload_fail(upload_id=upload.pk, reason=why):
                self.stdout.write(
                    f"failed the check of upload #{upload.pk} {upload.file_name}: {why}"
                )
                failed += 1
        self.stdout.write(f"{failed} stale job(s) marked FAILED.")

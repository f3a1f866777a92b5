from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backups import storage
from backups.models import Backup
from backups.services.backups import backup_expire
from backups.services.blob_sweep import blobs_sweep, swept_words
from backups.services.uploads import upload_delete, uploads_due_for_deletion


class Command(BaseCommand):
    help = (
        "E1: mark COMPLETE/INCOMPLETE backups taken 14+ days ago as EXPIRED and delete their "
        "stored data and backup file. E2: delete uploaded backup files past their 60-day "
        "window or left unfinished for a day. #16 item 2: sweep the attachment store's objects "
        "that no row names (sweep_blobs). Safe to run twice, or two at once. Run it hourly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would expire; change nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        expired = failed = 0
        for backup in Backup.objects.due(now):
            line = (
                f"backup #{backup.pk} of {backup.product} ({backup.product.organization}), "
                f"taken {backup.started_at:%Y-%m-%d %H:%M:%S} UTC, {backup.status}"
            )
            if dry_run:
                self.stdout.write(f"would expire {line}")
                expired += 1
                continue
            try:
                done = backup_expire(backup=backup, now=now)
            except storage.StorageError as exc:
                # It stays as it was; the next run tries again.
                self.stderr.write(f"could not expire {line}: {exc}")
                failed += 1
                continue
            if done:
                self.stdout.write(f"expired {line}; deleted its stored data")
                expired += 1
            # else: another run expired it first; nothing to say.
        verb = "would expire" if dry_run else "expired"
        self.stdout.write(f"{expired} backup(s) {verb}.")
        # E2: uploaded backup files whose window has passed, or left unfinished.
        deleted = 0
        for upload, reason in uploads_due_for_deletion(now=now):
            line = f"upload #{upload.pk} {upload.file_name} ({upload.organization}): {reason}"
            if dry_run:
                self.stdout.write(f"would delete {line}")
                deleted += 1
            elif upload_delete(upload=upload, reason=reason):
                self.stdout.write(f"deleted {line}")
                deleted += 1
            else:
                self.stderr.write(f"could not delete {line}")
                failed += 1
        self.stdout.write(f"{deleted} upload(s) {'would be ' if dry_run else ''}deleted.")
        # #16 item 2: objects of the attachment store a killed worker left unnamed. The same
        # hourly line covers it; only the total is printed here (sweep_blobs names each).
        problems = [f"{failed} backup(s) could not be expired"] if failed else []
        try:
            swept = blobs_sweep(now=now, dry_run=dry_run)
        except storage.StorageError as exc:
            self.stderr.write(f"could not sweep the attachment store: {exc}")
            problems.append("the attachment store could not be swept")
        else:
            self.stdout.write(swept_words(swept, dry_run=dry_run))
            if swept.failed:
                problems.append(f"{swept.failed} unreferenced object(s) could not be deleted")
        if problems:
            raise CommandError(f"{'; '.join(problems)}; see above.")

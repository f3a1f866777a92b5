from django.core.management.base import BaseCommand
from django.utils import timezone

from backups.services.backups import backup_expire, backups_due_for_expiry


class Command(BaseCommand):
    help = (
        "E1: mark COMPLETE/INCOMPLETE backups taken 14+ days ago as EXPIRED and delete their "
        "stored data. Safe to run twice, or two at once. Run it from cron, e.g. hourly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would expire; change nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        expired = 0
        for backup in backups_due_for_expiry(now=now):
            line = (
                f"backup #{backup.pk} of {backup.product} ({backup.product.organization}), "
                f"taken {backup.started_at:%Y-%m-%d %H:%M:%S} UTC, {backup.status}"
            )
            if dry_run:
                self.stdout.write(f"would expire {line}")
                expired += 1
            elif backup_expire(backup=backup, now=now):
                self.stdout.write(f"expired {line}; deleted its stored data")
                expired += 1
            # else: another run expired it first; nothing to say.
        verb = "would expire" if dry_run else "expired"
        self.stdout.write(f"{expired} backup(s) {verb}.")

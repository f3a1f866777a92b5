from django.core.management.base import BaseCommand
from django.utils import timezone

from backups.rules import format_when
from backups.services.notifications import backups_expiring_undownloaded, notify_expiring_backups


class Command(BaseCommand):
    help = (
        "A4: email the org admins, and call their webhooks, about each backup that expires "
        "within 48 hours and of which no file was ever downloaded. Each backup is announced "
        "once, however often this runs (or two copies at once). Run it hourly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be announced; send nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        if dry_run:
            backups = list(backups_expiring_undownloaded(now))
        else:
            backups = notify_expiring_backups(now=now)
        for backup in backups:
            self.stdout.write(
                f"{'would announce' if dry_run else 'announced'} backup #{backup.pk} of "
                f"{backup.product} ({backup.product.organization}), "
                f"expires {format_when(backup.expires_at)}"
            )
        verb = "would be announced" if dry_run else "announced"
        self.stdout.write(f"{len(backups)} expiring backup{'s' * (len(backups) != 1)} {verb}.")

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from backups.rules import format_duration, format_when
from backups.services.backups import backup_fail, stale_backups


class Command(BaseCommand):
    help = (
        "E3: mark FAILED every backup whose worker has sent no heartbeat for "
        "BACKUPSITE_STALE_AFTER seconds, and remove its partial data. Run it from cron."
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
        failed = 0
        for backup in stale_backups(now=now, stale_after=timedelta(seconds=seconds)):
            reason = (
                f"The worker stopped: no progress was reported since "
                f"{format_when(backup.heartbeat_at)} (the limit is {format_duration(seconds)})."
            )
            if backup_fail(backup_id=backup.pk, reason=reason):
                self.stdout.write(f"failed backup #{backup.pk} of {backup.product}: {reason}")
                failed += 1
        self.stdout.write(f"{failed} stale job(s) marked FAILED.")

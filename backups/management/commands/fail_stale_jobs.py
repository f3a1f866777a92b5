from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from backups.rules import format_duration, format_when
from backups.services.jobs import fail_stale
from backups.services.webhooks import webhook_deliveries_resume


class Command(BaseCommand):
    help = (
        "E3: mark FAILED every job (backup, restore, backup-file generation, upload validation) "
        "whose worker has sent no heartbeat for BACKUPSITE_STALE_AFTER seconds, and remove its "
        "partial data; take up webhook deliveries whose worker or queued task was lost. Run it "
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
        limit = format_duration(seconds)

        def reason(heartbeat) -> str:
            return (
                f"The worker stopped: no progress was reported since {format_when(heartbeat)} "
                f"(the limit is {limit})."
            )

        # Every job type of services/jobs.py, in one loop. An upload validation whose worker
        # died ends INVALID with its file deleted, not "Checking the file…" for ever (R9).
        now, stale = timezone.now(), timedelta(seconds=seconds)
        failed = 0
        for line in fail_stale(now=now, stale_after=stale, reason=reason):
            self.stdout.write(line)
            failed += 1
        self.stdout.write(f"{failed} stale job(s) marked FAILED.")
        # A4: a webhook delivery is never lost with its worker either.
        resumed = 0
        for line in webhook_deliveries_resume(now=now, stale_after=stale):
            self.stdout.write(line)
            resumed += 1
        if resumed:
            self.stdout.write(f"{resumed} webhook delivery(ies) taken up again.")

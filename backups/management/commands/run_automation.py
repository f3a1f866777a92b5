"""A1, A2 from cron: start the scheduled backups and automatic retries that are due now.

The qcluster runs the same thing every minute (a django-q2 schedule made by `migrate`); this is
for an operator who prefers cron (`* * * * * manage.py run_automation`). Running both is safe:
a slot or an attempt starts once, whoever ticks."""

from django.core.management.base import BaseCommand

from backups.services.schedules import automation_tick


class Command(BaseCommand):
    help = "Start the scheduled backups and automatic retries that are due now (A1, A2)."

    def handle(self, *args, **options):
        done = automation_tick()
        for line in done:
            self.stdout.write(line)
        if not done:
            self.stdout.write("Nothing due.")

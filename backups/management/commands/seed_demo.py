from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backups.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load the demo organizations, users and content (idempotent). Refuses without DEBUG."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            # The demo users share a published password: never on a production server.
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: its users have a published password. "
                "Set DJANGO_DEBUG=1 on a development machine."
            )
        logins = seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Log in with:"))
        for login in logins:
            self.stdout.write(f"  {login.username:<8} / {DEMO_PASSWORD}   {login.role}")

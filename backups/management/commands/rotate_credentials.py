from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from backups import credentials
from backups.models import SiteConnection


class Command(BaseCommand):
    help = (
        "C2: re-encrypt every connected site's API token with the newest key of "
        "BACKUPSITE_CREDENTIAL_KEYS. Run it after putting a new key first; then the old key "
        "can be removed. Safe to run twice."
    )

    def handle(self, *args, **options):
        rotated = 0
        for connection in SiteConnection.objects.exclude(token_encrypted="").order_by("pk"):
            try:
                token = credentials.rotate(connection.token_encrypted)
            except credentials.CredentialError as exc:
                raise CommandError(f"{connection.product}: {exc} Nothing more was changed.")
            with transaction.atomic():
                SiteConnection.objects.filter(
                    pk=connection.pk, token_encrypted=connection.token_encrypted
                ).update(token_encrypted=token)
            rotated += 1
        self.stdout.write(f"Re-encrypted the API token of {rotated} connected site(s).")

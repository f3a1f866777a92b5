from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backups import archive


class Command(BaseCommand):
    help = (
        "Check a downloaded backup file: its structure, every checksum, and (with this "
        "service's secret key) its signature. Prints the manifest summary, then OK or the "
        "check that failed. Needs no database."
    )
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("file", help="The backup file (.zip)")
        parser.add_argument(
            "--no-signature",
            action="store_true",
            help="Skip the signature check (for a file from another installation).",
        )

    def handle(self, *args, file, no_signature=False, **options):
        key = None if no_signature else settings.SECRET_KEY
        try:
            result = archive.verify_file(file, secret_key=key)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}")
        manifest = result.manifest
        if manifest:
            org, product = manifest["organization"], manifest["product"]
            self.stdout.write(
                f"Backup #{manifest['backup_id']} of {product['name']} ({product['kind']})"
            )
            self.stdout.write(f"Organization: {org['name']} (id {org['id']})")
            self.stdout.write(
                f"Taken: {manifest['taken_at']}  Completed: {manifest['completed_at']}"
            )
            self.stdout.write(f"Status: {manifest['status']}")
            for content_type, info in sorted(manifest["entities"].items()):
                self.stdout.write(f"  {content_type:<12} {info['rows']:>9} rows")
            att = manifest["attachments"]
            self.stdout.write(f"  attachments  {att['count']:>9} files, {att['bytes']} bytes")
            for item in manifest["missing"]:
                self.stdout.write(f"  missing: {item['what']}: {item['reason']}")
        for check in result.checks:
            mark = "passed" if check.passed else "FAILED"
            title = archive.CHECK_TITLES.get(check.name, check.name)
            self.stdout.write(f"[{mark}] {title}" + (f": {check.detail}" if check.detail else ""))
        if key is None:
            self.stdout.write("[skipped] Signature (--no-signature)")
        if not result.ok:
            failed = result.failed
            raise CommandError(
                f"NOT OK: {archive.CHECK_TITLES.get(failed.name, failed.name)}: {failed.detail}"
            )
        self.stdout.write(self.style.SUCCESS("OK"))

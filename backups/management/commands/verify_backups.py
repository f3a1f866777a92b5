from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from backups.models import Backup, BackupVerification
from backups.rules import RETENTION
from backups.services.verification import (
    VERIFIABLE,
    policy_verifies,
    verification_request,
    verifications_requeue_lost,
)


class Command(BaseCommand):
    help = (
        "A3: verify every finished, unexpired backup (COMPLETE or INCOMPLETE) that has no "
        "verification yet (one taken before verification existed, or while its policy did not "
        "verify), and queue again the verifications no worker took (a lost queue). Each runs on "
        "the verification cluster (Q_CLUSTER_NAME=verification). Safe to run twice, or from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be verified; queue nothing."
        )
        parser.add_argument(
            "--again",
            action="store_true",
            help="Also run again the verifications that ended, VERIFIED or FAILED (say, after "
            "an incident in the backup storage).",
        )
        parser.add_argument(
            "--failed",
            action="store_true",
            help="Also run again the verifications that ended FAILED.",
        )
        parser.add_argument(
            "--all-policies",
            action="store_true",
            help="Also verify backups whose policy does not verify backups.",
        )

    def handle(self, *args, dry_run=False, again=False, failed=False, all_policies=False, **opts):
        now = timezone.now()
        ended = []
        if again:
            ended = [BackupVerification.Status.VERIFIED, BackupVerification.Status.FAILED]
        elif failed:
            ended = [BackupVerification.Status.FAILED]
        backups = (
            Backup.objects.filter(status__in=VERIFIABLE, started_at__gt=now - RETENTION)
            .filter(_without_verification() | _verification_in(ended))
            .select_related("product__organization", "policy")
            .order_by("started_at", "pk")
        )
        queued = 0
        for backup in backups:
            if not all_policies and not policy_verifies(backup):
                continue
            line = f"backup #{backup.pk} of {backup.product} ({backup.product.organization})"
            if dry_run:
                self.stdout.write(f"would verify {line}")
                queued += 1
                continue
            if verification_request(backup=backup) is not None:
                self.stdout.write(f"verifying {line}")
                queued += 1
        verb = "would be queued" if dry_run else "queued"
        self.stdout.write(f"{queued} backup(s) {verb} for verification.")
        if not dry_run:
            older_than = now - timedelta(seconds=settings.STALE_AFTER_SECONDS)
            lost = verifications_requeue_lost(older_than=older_than)
            if lost:
                self.stdout.write(f"{lost} verification(s) no worker took were queued again.")


def _without_verification():
    return Q(verification__isnull=True)


def _verification_in(statuses):
    return Q(verification__status__in=statuses) if statuses else Q(pk__in=[])

"""What every job model can be asked (#13 item 9): which rows a worker is on, which went quiet.

A job model (Backup, BackupFile, Restore, Upload) says which of its statuses is "a worker is on
it" (RUNNING); services/jobs.py claims, reports progress and fails stale jobs through these
methods, so no service spells out a status filter of its own.
"""

from datetime import datetime, timedelta

from django.db import models

from backups.rules import RETENTION  # B7


class JobQuerySet(models.QuerySet):
    RUNNING = ""  # the status a row is in while its worker works on it

    def running(self):
        return self.filter(status=self.RUNNING)

    def stale(self, now: datetime, timeout: timedelta):
        """E3: running rows whose worker has not reported for `timeout`. A job whose progress
        goes to the cache (a restore) is stale only if the cache is quiet too: see
        services/jobs.heartbeat."""
        return self.running().filter(heartbeat_at__lt=now - timeout).order_by("pk")


class BackupQuerySet(JobQuerySet):
    RUNNING = "IN_PROGRESS"

    def due(self, now: datetime):
        """E1: COMPLETE/INCOMPLETE backups taken RETENTION (14 days) ago or more (B7)."""
        return (
            self.filter(status__in=["COMPLETE", "INCOMPLETE"], started_at__lte=now - RETENTION)
            .select_related("product__organization")
            .order_by("started_at")
        )


class VerificationQuerySet(JobQuerySet):
    RUNNING = "IN_PROGRESS"


class BackupFileQuerySet(JobQuerySet):
    RUNNING = "GENERATING"


class RestoreQuerySet(JobQuerySet):
    RUNNING = "IN_PROGRESS"


class UploadQuerySet(JobQuerySet):
    # The validation is the job (R9); receiving is driven by the browser, not a worker. A
    # validation no worker has picked up has its heartbeat from when the last chunk arrived.
    RUNNING = "VALIDATING"

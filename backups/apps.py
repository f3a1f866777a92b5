from django.apps import AppConfig
from django.db.models.signals import post_migrate

AUTOMATION_SCHEDULE = "backupsite automation (A1, A2)"
AUTOMATION_TASK = "backups.tasks.automation_tick"


def ensure_automation_schedule(*, using: str = "default", **kwargs) -> None:
    """A1, A2: django-q2 runs `automation_tick` every minute, from the first `migrate` on, so
    `make run`'s qcluster starts scheduled backups and retries with no operator step. Made once
    (by name): an operator's change to it in the admin (say, every 5 minutes) is kept."""
    from django.db import connections
    from django_q.models import Schedule

    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return  # `migrate backups` alone, before django_q's tables: the next migrate makes it
    Schedule.objects.using(using).get_or_create(
        name=AUTOMATION_SCHEDULE,
        defaults={
            "func": AUTOMATION_TASK,
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,  # for ever
        },
    )


class BackupsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "backups"
    verbose_name = "Backup and restore"

    def ready(self):
        # post_migrate is sent once every app's migrations have run (django_q's tables too).
        post_migrate.connect(
            ensure_automation_schedule, sender=self, dispatch_uid="backups-automation"
        )

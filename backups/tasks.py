"""django-q2 entry points: thin, ids only. The services do the work and guard redelivery.

Each is `<job>_task`, so that a name says which of the three it is: the view that asks for a
job (`backup_run_view`), the service that does it (`backup_execute`), the queue's entry point
(`backup_task`).
"""

from backups.services.backup_engine import backup_execute
from backups.services.files import backup_file_generate
from backups.services.restore_engine import restore_execute
from backups.services.schedules import automation_tick as tick
from backups.services.uploads import upload_validate
from backups.services.verification import verification_execute


def backup_task(backup_id: int):
    return backup_execute(backup_id=backup_id)


def backup_file_task(file_id: int):
    return backup_file_generate(file_id=file_id)


def restore_task(restore_id: int):
    return restore_execute(restore_id=restore_id)


def upload_validation_task(upload_id: int):
    return upload_validate(upload_id=upload_id)


def automation_tick():
    """A1, A2: start the scheduled backups and the retries that are due (every minute)."""
    return tick()


def verification_task(verification_id: int):
    return verification_execute(verification_id=verification_id)


# The names these tasks were queued by before #13 (item 16): django-q2 stores a task's dotted
# path in the queue, so a task queued under an old name still finds its function after an
# upgrade. Nothing queues by these names any more.
run_backup = backup_task
generate_backup_file = backup_file_task
run_restore = restore_task
validate_upload = upload_validation_task

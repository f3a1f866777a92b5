"""django-q2 entry points: thin, ids only. The services do the work and guard redelivery."""

from backups.services.backup_engine import backup_run
from backups.services.files import backup_file_generate
from backups.services.restore_engine import restore_run
from backups.services.uploads import upload_validate


def run_backup(backup_id: int):
    return backup_run(backup_id=backup_id)


def generate_backup_file(file_id: int):
    return backup_file_generate(file_id=file_id)


def run_restore(restore_id: int):
    return restore_run(restore_id=restore_id)


def validate_upload(upload_id: int):
    return upload_validate(upload_id=upload_id)

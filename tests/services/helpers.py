import json

from backups import storage
from backups.models import Backup, BackupPolicy
from backups.services.backup_engine import backup_run
from backups.services.backups import backup_request


def run_backup_of(product, actor, **policy_options) -> Backup:
    """Create (or update) the product's policy, request a backup and run it to its end."""
    BackupPolicy.objects.update_or_create(
        product=product, defaults={"created_by": actor, **policy_options}
    )
    backup = backup_request(product=product, actor=actor)
    backup_run(backup_id=backup.id)
    backup.refresh_from_db()
    return backup


def read_manifest(backup) -> dict:
    with storage.open_object(backup.storage_prefix + "manifest.json") as f:
        return json.loads(f.read())


def read_rows(backup, content_type) -> list[dict]:
    with storage.open_object(backup.storage_prefix + f"entities/{content_type}.jsonl") as f:
        return [json.loads(line) for line in f.read().splitlines()]

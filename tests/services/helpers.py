import json
import threading

from backups import storage
from backups.models import Backup, BackupFile, BackupPolicy
from backups.services.backup_engine import backup_execute
from backups.services.backups import backup_request
from backups.services.files import backup_file_generate, backup_file_request


def run_backup_of(product, actor, **policy_options) -> Backup:
    """Create (or update) the product's policy, request a backup and run it to its end."""
    BackupPolicy.objects.update_or_create(
        product=product, defaults={"created_by": actor, **policy_options}
    )
    backup = backup_request(product=product, actor=actor)
    backup_execute(backup_id=backup.id)
    backup.refresh_from_db()
    return backup


def read_manifest(backup) -> dict:
    with storage.open_object(backup.storage_prefix + "manifest.json") as f:
        return json.loads(f.read())


def read_rows(backup, content_type) -> list[dict]:
    with storage.open_object(backup.storage_prefix + f"entities/{content_type}.jsonl") as f:
        return [json.loads(line) for line in f.read().splitlines()]


def alter_stored_attachment(backup, data: bytes = b"changed after the backup") -> str:
    """Replace the stored bytes of the backup's first attachment (by its attachments row), as
    a disk fault or a hand would: the copy every reader opens (storage.resolve), not a guess
    at its object's name. Returns the attachment's path in the backup."""
    path = read_rows(backup, "attachments")[0]["path"]
    name = storage.resolve(backup.storage_prefix + path)
    storage.delete_object(name)
    storage.write_chunks(name, [data])
    return path


def backup_file_bytes(product, user) -> tuple[bytes, Backup]:
    """Back `product` up and make its backup file: the file's bytes, and the backup."""
    backup = run_backup_of(product, user)
    backup_file = backup_file_request(backup=backup, actor=user)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    with storage.open_object(backup_file.storage_name) as f:
        return f.read(), backup


def ticks_at_once(now, n: int = 2) -> list[list[str]]:
    """`automation_tick(now)` in n threads released together (PostgreSQL: real row locks, each
    thread its own connection): what each tick started."""
    from django.db import connections

    from backups.services.schedules import automation_tick

    barrier = threading.Barrier(n)
    outcomes: list[list[str]] = []

    def scheduler():
        try:
            barrier.wait()
            outcomes.append(automation_tick(now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes

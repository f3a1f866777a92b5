"""Attachments stored once (#16 item 2): the bytes a second backup of an unchanged site stores.

    .venv/bin/python benchmarks/dedup.py --attachment-mb 500 --file-mb 1 --issues 2000

Makes a Jira product with random (incompressible) attachment files (--attachment-mb of them,
--file-mb each) in a fresh folder and
SQLite database, then runs the backup engine twice (the second a week later, B3): for each,
the bytes it added to the backup storage (everything under blobs/ and its prefix), the
attachment and entities bytes among them (the attachment store, blobs/<org>/: entities files
under blobs/<org>/written/), and the time. Target: the second stores < 1% new bytes.
Every backup is full (B2), so its entities files and manifest are written again each time;
the entities files of an unchanged product are the same bytes, held by reference like its
attachments (#16): the second backup's new bytes are its manifest alone.
The last line is `BENCH_RESULT {"figure": "second_backup_new_bytes", "kind": "embedded", ...}`
for benchmarks/table.py. Figures, not a pass/fail.
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_result, django_var_dir, make_product, tree_bytes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attachment-mb", type=int, default=500)
    parser.add_argument("--file-mb", type=int, default=1)
    parser.add_argument("--issues", type=int, default=2000)
    args = parser.parse_args()

    with django_var_dir("bench-dedup-"):
        import time_machine
        from django.conf import settings

        from backups.models import Backup, BackupPolicy
        from backups.services.backup_engine import backup_execute
        from backups.services.backups import backup_request

        product, user, _ = make_product(
            "Dedup Jira", issues=args.issues, attachment_mb=args.attachment_mb, file_mb=args.file_mb
        )
        BackupPolicy.objects.filter(product=product).update(verify=False)
        root = Path(settings.STORAGES["backups"]["OPTIONS"]["location"])
        blobs = root / "blobs"

        def store() -> tuple[int, int]:
            """Bytes under blobs/: of attachments, of entities files (blobs/<org>/written/)."""
            entities = sum(tree_bytes(p) for p in blobs.glob("*/written"))
            return tree_bytes(blobs) - entities, entities

        def one_backup() -> tuple[Backup, float, int, int, int]:
            before, (att_before, ent_before) = tree_bytes(root), store()
            backup = backup_request(product=product, actor=user)
            started = time.perf_counter()
            backup_execute(backup_id=backup.pk)
            took = time.perf_counter() - started
            backup.refresh_from_db()
            assert backup.status == Backup.Status.COMPLETE, backup.failure_reason
            att, ent = store()
            return backup, took, tree_bytes(root) - before, att - att_before, ent - ent_before

        first, t1, new1, att1, ent1 = one_backup()
        with time_machine.travel(first.completed_at + timedelta(days=7, seconds=1)):
            second, t2, new2, att2, ent2 = one_backup()

        files = first.counts["attachments"]["files_bytes"]
        print(f"product: {first.counts['attachments']['rows']} attachments, {files / 1e6:.1f} MB")
        print(
            f"{'backup':<8}{'seconds':>9}{'new bytes':>14}{'attachment bytes':>18}"
            f"{'entities bytes':>16}{'own bytes':>11}{'of 1st':>9}"
        )
        for label, took, new, att, ent in (
            ("first", t1, new1, att1, ent1),
            ("second", t2, new2, att2, ent2),
        ):
            print(
                f"{label:<8}{took:>9.2f}{new:>14,}{att:>18,}{ent:>16,}{new - att - ent:>11,}"
                f"{100 * new / new1:>8.2f}%"
            )
        share = 100 * new2 / new1
        verdict = "met" if share < 1 else "NOT met"
        print(
            f"second backup of the unchanged site stores {share:.2f}% new bytes (target < 1%: "
            f"{verdict}); its own objects (the manifest) are the rest"
        )
        bench_result(
            "second_backup_new_bytes",
            kind="embedded",
            total_bytes=new1,
            new_bytes=new2,
            percent=round(share, 4),
            attachment_bytes=files,
            new_attachment_bytes=att2,
            new_entities_bytes=ent2,
        )


if __name__ == "__main__":
    main()

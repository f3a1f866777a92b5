"""Processes that share one SQLite file the way `make run` does (web server + worker).

    python tests/sqlite_concurrency/actors.py <role> [args]   (BACKUPSITE_VAR_DIR set)

Roles:
  seed ISSUES FILES   an org, its admin, a Jira product with ISSUES issues (a comment each)
                      and FILES attachments of 256 KiB, an empty Jira product; prints ids
  backup PRODUCT      requests a backup and runs it here, as the worker does; prints the row
  restore BACKUP DEST requests a restore and runs it here; prints the row
  inspect DEST        counts what a restore into DEST left: issues, staging products, files
  writer STOPFILE PRODUCT DEST
                      until STOPFILE exists: writes what the web server writes (a session,
                      PRODUCT's policy, an audit event), each in its own transaction; counts
                      the writes made while a backup of PRODUCT or a restore into DEST was
                      halfway; reads DEST's content summary; prints every write and error

Each prints one JSON object on its last line. The tests start them as real processes, so each
has its own connection to the one database file, in WAL mode, with the settings `make run` has.
"""

import json
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backupsite.settings")
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()


def seed(issues: int, files: int) -> dict:
    from django.contrib.auth import get_user_model

    from backups.demo.bulk import bulk_random_attachments
    from backups.models import (
        BackupPolicy,
        JiraComment,
        JiraIssue,
        JiraProject,
        Membership,
        Organization,
        Product,
    )

    user = get_user_model().objects.create_user("admin", password="load-test-password")
    org = Organization.objects.create(name="Load", slug="load", enrolled=True)
    Membership.objects.create(user=user, organization=org, role="admin")
    product = Product.objects.create(organization=org, kind="jira", name="Big Jira")
    empty = Product.objects.create(organization=org, kind="jira", name="Empty Jira")
    policy = BackupPolicy.objects.create(product=product, include_users_and_groups=True)
    project = JiraProject.objects.create(product=product, key="BIG", name="Big")
    now = datetime.now(UTC)
    JiraIssue.objects.bulk_create(
        (
            JiraIssue(
                product=product,
                project=project,
                key=f"BIG-{i + 1}",
                summary=f"Issue {i}",
                description="Steps to reproduce: " + "lorem ipsum " * 10,
                status="To Do",
                fields={"labels": ["load"]},
                created=now,
                updated=now,
            )
            for i in range(issues)
        ),
        batch_size=5000,
    )
    ids = list(JiraIssue.objects.filter(product=product).values_list("id", flat=True))
    JiraComment.objects.bulk_create(
        (JiraComment(issue_id=i, author="load", body="Still slow.", created=now) for i in ids),
        batch_size=5000,
    )
    bulk_random_attachments(product, ids, files=files, size=256 * 1024, created=now, digits=4)
    return {"user": user.pk, "product": product.pk, "empty": empty.pk, "policy": policy.pk}


def job_row(model, pk: int) -> dict:
    row = model.objects.get(pk=pk)
    return {
        "id": row.pk,
        "status": row.status,
        "failure_reason": row.failure_reason,
    }


def backup(product_id: int) -> dict:
    from django.contrib.auth import get_user_model

    from backups.models import Backup, Product
    from backups.services import backup_engine, jobs
    from backups.services.backups import backup_request

    # Progress (and so a write on the engine's connection) after every page of rows, so the
    # writes of the other process meet it many times, as they would in a long backup.
    jobs.PROGRESS_EVERY_SECONDS = 0
    product = Product.objects.get(pk=product_id)
    user = get_user_model().objects.get(username="admin")
    requested = backup_request(product=product, actor=user)
    started = time.time()
    backup_engine.backup_execute(backup_id=requested.pk)
    return {**job_row(Backup, requested.pk), "started": started, "ended": time.time()}


def restore(backup_id: int, dest_id: int) -> dict:
    from django.contrib.auth import get_user_model

    from backups.models import Backup, Product, Restore
    from backups.services import jobs, restore_engine, restores

    jobs.PROGRESS_EVERY_SECONDS = 0
    user = get_user_model().objects.get(username="admin")
    requested = restores.restore_request(
        backup=Backup.objects.get(pk=backup_id),
        destination=Product.objects.get(pk=dest_id),
        actor=user,
        include_attachments=True,
        include_users_and_groups=True,
    )
    started = time.time()
    restore_engine.restore_execute(restore_id=requested.pk)
    return {**job_row(Restore, requested.pk), "started": started, "ended": time.time()}


def writer(stop_file: str, product_id: int, dest_id: int) -> dict:
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from backups.models import Backup, BackupPolicy, Organization, Product, Restore
    from backups.productdata import content_summary
    from backups.services.audit import record_event
    from backups.services.restore_engine import live_progress

    org = Organization.objects.get(slug="load")
    dest = Product.objects.get(pk=dest_id)
    writes: list[list[float]] = []  # [start, seconds]
    errors: list[str] = []
    issues_seen: set[int] = set()
    mid_job = {"backup": 0, "restore": 0}  # writes begun and committed while a job was halfway

    def halfway() -> set[str]:
        jobs = set()
        running = Backup.objects.filter(product_id=product_id, status="IN_PROGRESS").first()
        if running and 0 < running.items_done < running.items_total:
            jobs.add("backup")
        restore = Restore.objects.filter(destination=dest, status="IN_PROGRESS").first()
        live = restore and live_progress(restore)
        if live and 0 < live["items_done"] < restore.items_total:
            jobs.add("restore")
        return jobs

    while not os.path.exists(stop_file):
        before = halfway()
        start = time.time()
        try:
            session = SessionStore()  # a login writes a new session row
            session["user"] = "admin"
            session.save()
            with transaction.atomic():  # a policy save
                policy = BackupPolicy.objects.select_for_update().get(product_id=product_id)
                policy.include_attachments = not policy.include_attachments
                policy.save(update_fields=["include_attachments"])
            record_event(action="load.write", organization=org, details={"at": start})
            writes.append([start, time.time() - start])
        except Exception as exc:
            errors.append(f"{exc.__class__.__name__}: {exc}")
            traceback.print_exc()
        else:
            # Halfway before the write began and still halfway after it committed: the
            # write did not wait for the job to end.
            for job in before & halfway():
                mid_job[job] += 1
        # R8: what another user sees of the destination: nothing, or all of it.
        issues_seen.add(content_summary(dest).items)
        time.sleep(0.02)
    return {
        "writes": writes,
        "errors": errors,
        "issues_seen": sorted(issues_seen),
        "mid_job": mid_job,
    }


def inspect(dest_id: int) -> dict:
    from django.conf import settings

    from backups.models import JiraIssue, Product

    folder = Path(settings.MEDIA_ROOT) / "attachments" / str(dest_id)
    return {
        "destination_issues": JiraIssue.objects.filter(product_id=dest_id).count(),
        "staging_products": Product.all_objects.filter(is_staging=True).count(),
        "restore_files": sum(1 for p in folder.rglob("*") if p.is_file()),
    }


def main() -> None:
    role, *args = sys.argv[1:]
    setup()
    if role == "seed":
        result = seed(int(args[0]), int(args[1]))
    elif role == "backup":
        result = backup(int(args[0]))
    elif role == "restore":
        result = restore(int(args[0]), int(args[1]))
    elif role == "inspect":
        result = inspect(int(args[0]))
    elif role == "writer":
        result = writer(args[0], int(args[1]), int(args[2]))
    else:
        raise SystemExit(f"unknown role {role!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Issue #7 item 3: two qcluster processes share one Redis queue; each backup runs once."""

import re
import threading
import time
from collections import Counter

import pytest
from django.db import connections
from django.db.models import Count
from django_q.brokers import get_broker
from django_q.models import Task
from django_q.tasks import async_task

from backups.models import AuditEvent, Backup
from backups.productdata import content_summary
from backups.services.backups import backup_request
from benchmarks.backup_throughput import make_product

from .workers import wait_for, wait_pushers_listening

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PRODUCTS = 10
PROCESSED = re.compile(r"processing (backup-\d+) 'backups\.tasks\.backup_task'")
PROCESSED_ANY = re.compile(r"processing (backup-\d+(?:-again)?) 'backups\.tasks\.backup_task'")


def events(action: str, backup: Backup):
    # record_event stores str(backup), "Backup #<id> of <product> (<status>)".
    return AuditEvent.objects.filter(action=action, target__startswith=f"Backup #{backup.pk} of ")


def ten_products():
    """Ten Jira products of one organization, 40 issues and two 1 MB attachments each."""
    made = [
        make_product(f"Jira {i:02d}", issues=40, attachment_mb=2, file_mb=1)
        for i in range(PRODUCTS)
    ]
    return [product for product, _, _ in made], made[0][1]


def request_at_once(products, admin, *, deliver_twice: bool = False) -> list[int]:
    """Admins press "Back up now" at the same moment, one product each; the backup ids.

    With `deliver_twice`, each backup's task is enqueued a second time, as a broker that
    redelivers would: the two copies race for the backup in the two clusters.
    """
    barrier = threading.Barrier(len(products))
    requested: list[int] = []
    errors: list[BaseException] = []

    def press(product):
        try:
            barrier.wait(timeout=30)
            backup = backup_request(product=product, actor=admin)  # enqueued at its commit
            requested.append(backup.pk)
            if deliver_twice:
                async_task(
                    "backups.tasks.backup_task", backup.pk, task_name=f"backup-{backup.pk}-again"
                )
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press, args=(p,)) for p in products]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a backup request hung"
    assert errors == []
    assert len(requested) == len(products)
    return requested


def wait_all_ended(requested: list[int], logs) -> float:
    """Until no requested backup is IN_PROGRESS; at no point two of one product in progress."""
    doubles: list[dict] = []

    def all_ended() -> bool:
        doubles.extend(
            Backup.objects.filter(status=Backup.Status.IN_PROGRESS)
            .values("product")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        return not Backup.objects.filter(
            pk__in=requested, status=Backup.Status.IN_PROGRESS
        ).exists()

    started = time.monotonic()
    wait_for(all_ended, timeout=180, every=0.1, what="the backups to end", explain=logs)
    assert doubles == []
    return time.monotonic() - started


def assert_each_ran_once(requested: list[int], products) -> None:
    backups = list(Backup.objects.filter(pk__in=requested).select_related("product"))
    assert {b.status for b in backups} == {Backup.Status.COMPLETE}, [
        (b.pk, b.status, b.failure_reason) for b in backups
    ]
    assert sorted(b.product_id for b in backups) == sorted(p.pk for p in products)
    assert Backup.objects.count() == len(products)
    for backup in backups:
        summary = content_summary(backup.product)
        assert backup.counts["issues"]["rows"] == summary.items == 40
        assert backup.counts["attachments"]["rows"] == summary.attachments == 2
        # Claimed once, by the run that completed it.
        assert backup.started_at <= backup.claimed_at <= backup.completed_at
        assert events("backup.started", backup).count() == 1
        assert events("backup.completed", backup).count() == 1
    assert get_broker().queue_size() == 0


def test_two_clusters_run_ten_backups_requested_at_once_each_exactly_once(redis_broker, qclusters):
    first, second = qclusters("first"), qclusters("second")
    products, admin = ten_products()
    wait_pushers_listening(redis_broker, 2)

    requested = request_at_once(products, admin)
    elapsed = wait_all_ended(requested, qclusters.logs)

    assert_each_ran_once(requested, products)
    # Each task was delivered once and ran once, and both clusters took a share.
    tasks = Counter(Task.objects.values_list("name", "success", "result"))
    assert tasks == Counter({(f"backup-{pk}", True, Backup.Status.COMPLETE): 1 for pk in requested})
    runs = {c.name: PROCESSED.findall(c.log()) for c in (first, second)}
    assert sorted(runs["first"] + runs["second"]) == sorted(f"backup-{pk}" for pk in requested)
    assert runs["first"] and runs["second"], runs
    assert "not waiting to run" not in first.log() + second.log()
    print(
        f"\n{PRODUCTS} backups on 2 clusters ended {elapsed:.1f} s after the last request "
        f"({len(runs['first'])} + {len(runs['second'])} runs)"
    )


def test_a_backup_task_delivered_twice_to_two_clusters_runs_the_backup_once(
    redis_broker, qclusters
):
    first, second = qclusters("first"), qclusters("second")
    products, admin = ten_products()
    wait_pushers_listening(redis_broker, 2)

    requested = request_at_once(products, admin, deliver_twice=True)
    wait_all_ended(requested, qclusters.logs)

    assert_each_ran_once(requested, products)
    # Per backup, one copy claimed and ran it; the other found it claimed (or ended) and
    # stopped at once. Both clusters took tasks.
    wait_for(
        lambda: Task.objects.count() == 2 * PRODUCTS,
        timeout=30,
        what="every task's result to be saved",
        explain=qclusters.logs,
    )
    for pk in requested:
        results = sorted(
            Task.objects.filter(name__in=[f"backup-{pk}", f"backup-{pk}-again"]).values_list(
                "success", "result"
            ),
            key=repr,
        )
        assert results == sorted([(True, Backup.Status.COMPLETE), (True, None)], key=repr), pk
    logs = first.log() + second.log()
    assert logs.count("is not waiting to run (finished or claimed); not running it") == PRODUCTS
    runs = {c.name: PROCESSED_ANY.findall(c.log()) for c in (first, second)}
    assert len(runs["first"]) + len(runs["second"]) == 2 * PRODUCTS
    assert runs["first"] and runs["second"], runs

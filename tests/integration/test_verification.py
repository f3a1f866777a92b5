"""A3 through real processes (issue #14 item 3): a backup run from the page is verified by the
verification cluster (`Q_CLUSTER_NAME=verification manage.py qcluster`, its own queue on the
same Redis), and a verification that takes long does not hold up a backup started meanwhile on
the main cluster.

The long verification is made long on purpose, and deterministically: one attachment of the
stored backup is replaced by a named pipe (FIFO) holding the same bytes, so the verification
worker blocks on reading it until the test writes them. While it is blocked, a second backup
goes through the main cluster; then the test feeds the pipe (the read-back; the
trial restore reads the plain file put back meanwhile) and the verification ends VERIFIED.
"""

import json
import os
import threading
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_q.brokers import get_broker

from backups import storage
from backups.models import Backup, BackupPolicy, BackupVerification

from .workers import QCluster, wait_for, wait_ready, wait_status, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

V = BackupVerification.Status
FINISHED = {Backup.Status.COMPLETE, Backup.Status.INCOMPLETE, Backup.Status.FAILED}


@pytest.fixture
def verification_cluster(redis_broker, isolated_storage):
    """start() starts `Q_CLUSTER_NAME=verification manage.py qcluster` (one worker), as
    `make run` and the README's operator section do; it is stopped at teardown."""
    started: list[QCluster] = []
    var_dir = isolated_storage / "worker-var"
    var_dir.mkdir(exist_ok=True)

    def start() -> QCluster:
        env = worker_env(redis_url=redis_broker, var_dir=var_dir, workers=1)
        cluster = QCluster("verification", {**env, "Q_CLUSTER_NAME": "verification"}, var_dir)
        started.append(cluster)
        cluster.start()
        wait_ready(cluster)
        return cluster

    start.logs = lambda: "\n".join(c.log_tail() for c in started)
    try:
        yield start
    finally:
        for cluster in started:
            cluster.stop()


def run_backup_from_the_page(demo, product) -> Backup:
    client = Client()
    client.force_login(demo.alice)
    response = client.post(reverse("backup_run", args=[demo.acme.slug, product.pk]))
    assert response.status_code == 302, response.content[:500]
    return Backup.objects.filter(product=product).latest("started_at")


def test_a_backup_run_from_the_page_is_verified_by_the_verification_cluster(
    demo, qclusters, verification_cluster
):
    main = qclusters("main")
    BackupPolicy.objects.create(product=demo.jira, created_by=demo.alice)

    backup = run_backup_from_the_page(demo, demo.jira)
    wait_status(backup, FINISHED, what="the backup to end", logs=qclusters.logs)
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason
    verification = BackupVerification.objects.get(backup=backup)
    # The main cluster does not take it: it waits on its own queue for its own cluster.
    assert get_broker("verification").queue_size() == 1
    assert get_broker().queue_size() == 0
    verification.refresh_from_db()
    assert (verification.status, verification.claimed_at) == (V.IN_PROGRESS, None)

    verification_cluster()
    wait_status(verification, {V.VERIFIED, V.FAILED}, what="the verification", logs=qclusters.logs)
    assert verification.status == V.VERIFIED, verification.reason
    assert verification.checked["trial_restore"] == "matched"
    assert main.running

    client = Client()
    client.force_login(demo.alice)
    page = client.get(reverse("backup_detail", args=[demo.acme.slug, backup.pk])).content.decode()
    assert "Verified <time" in page
    assert "trial restore matched the manifest" in page


def test_a_long_verification_does_not_delay_a_backup_started_meanwhile(
    demo, qclusters, verification_cluster
):
    qclusters("main")
    BackupPolicy.objects.create(product=demo.jira, created_by=demo.alice)
    BackupPolicy.objects.create(product=demo.confluence, created_by=demo.alice)
    first = run_backup_from_the_page(demo, demo.jira)
    wait_status(first, FINISHED, what="the first backup", logs=qclusters.logs)
    assert first.status == Backup.Status.COMPLETE, first.failure_reason

    # One attachment of the stored backup becomes a pipe with the same bytes, written later.
    with storage.open_object(first.storage_prefix + "entities/attachments.jsonl") as f:
        path = json.loads(f.readline())["path"]
    # The organization's stored copy the backup refers to (#16 item 2: stored once).
    location = storage.backup_storage().path(storage.resolve(first.storage_prefix + path))
    with open(location, "rb") as f:
        data = f.read()
    os.unlink(location)
    os.mkfifo(location)

    verification_cluster()
    verification = BackupVerification.objects.get(backup=first)
    wait_for(
        lambda: BackupVerification.objects.filter(
            pk=verification.pk, claimed_at__isnull=False
        ).exists(),
        timeout=60,
        what="the verification worker to take the check",
        explain=verification_cluster.logs,
    )

    # Meanwhile: a backup of another product, through the main cluster.
    started = time.monotonic()
    second = run_backup_from_the_page(demo, demo.confluence)
    wait_status(second, FINISHED, what="the second backup", logs=qclusters.logs)
    took = time.monotonic() - started
    assert second.status == Backup.Status.COMPLETE, second.failure_reason
    verification.refresh_from_db()
    assert verification.status == V.IN_PROGRESS, "the verification was to be still running"
    print(f"backup during a running verification: {took:.1f} s")  # noqa: T201
    assert took < 60

    def feed() -> None:
        # The read-back's reader gets the bytes; before it can see the end of them (the pipe
        # closed), the path becomes the plain file again, which the trial restore then opens.
        with open(location, "wb") as pipe:
            pipe.write(data)
            pipe.flush()
            plain = location + ".plain"
            with open(plain, "wb") as f:
                f.write(data)
            os.replace(plain, location)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    wait_status(
        verification,
        {V.VERIFIED, V.FAILED},
        what="the verification",
        logs=verification_cluster.logs,
    )
    feeder.join(timeout=10)
    assert verification.status == V.VERIFIED, verification.reason
    assert verification.completed_at > second.completed_at

"""Webhooks (SPEC A4, issue #14 item 4) against a real HTTP receiver on 127.0.0.1: the signed
body arrives, a failing receiver gets its tries on the 1/5/30/120-minute schedule, and a
receiver that hangs never holds up the backup that raised the event."""

import hashlib
import hmac
import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django_q.models import OrmQ, Schedule

from backups import credentials
from backups.models import AuditEvent, Backup, BackupExpiryNotice, WebhookDelivery, WebhookEvent
from backups.services import webhooks
from backups.services.notifications import notify_expiring_backups, notify_verification_failed
from backups.services.webhooks import (
    MAX_ATTEMPTS,
    endpoint_gets,
    next_attempt_at,
    signature,
    webhook_deliver,
    webhook_endpoint_create,
    webhook_url_problem,
)
from tests.services.helpers import run_backup_of

SECRET = "whsec_test-secret"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


# --- pure decisions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, extra, problem",
    [
        ("https://hooks.slack.com/services/T0/B0/x", [], None),
        ("https://example.com:8443/hook?team=1", [], None),
        ("http://hooks.example.com/x", [], "Webhooks are sent over HTTPS only"),
        ("http://127.0.0.1:9000/hook", ["127.0.0.1"], None),
        ("http://127.0.0.1:9000/hook", [], "Webhooks are sent over HTTPS only"),
        ("https://127.0.0.1/hook", [], "That address is inside a private network"),
        ("https://10.1.2.3/hook", [], "That address is inside a private network"),
        ("https://[::1]/hook", [], "That address is inside a private network"),
        ("https://localhost/hook", [], "That address is inside a private network"),
        ("https://user:pw@example.com/x", [], "Leave the user name and password out"),
        ("ftp://example.com/x", [], "That is not a web address"),
        ("example.com", [], "That is not a web address"),
        ("https://example.com:port/", [], "That is not a web address"),
    ],
)
def test_webhook_url_problem(url, extra, problem):
    found = webhook_url_problem(url, extra_hosts=extra)
    if problem is None:
        assert found is None
    else:
        assert found and found.startswith(problem)


def test_the_retry_schedule_is_1_5_30_120_minutes_then_failed():
    waits = [next_attempt_at(n, NOW) for n in range(1, 6)]
    assert [w - NOW for w in waits[:4]] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
    ]
    assert waits[4] is None and MAX_ATTEMPTS == 5


def test_an_endpoint_gets_its_events_and_tests():
    assert endpoint_gets(["backup.finished"], "backup.finished")
    assert not endpoint_gets(["backup.finished"], "restore.finished")
    assert endpoint_gets([], "test")


def test_signature_is_hex_hmac_sha256_of_the_raw_body():
    # RFC 4231 test case 2
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


# --- a real receiver -------------------------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 in a thread that records each POST and answers `status`
    (or holds the connection until `release` is set, when `hang` is on)."""

    def __init__(self, status=200):
        self.status = status
        self.hang = False
        self.release = threading.Event()
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                if receiver.hang:
                    receiver.release.wait(30)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok thanks" if receiver.status < 300 else b"boom: it broke")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_EXTRA_HOSTS = ["127.0.0.1"]
    with Receiver() as r:
        yield r


def endpoint_for(demo, url, events=("backup.finished",)):
    endpoint, _ = webhook_endpoint_create(
        organization=demo.acme, actor=demo.alice, url=url, events=list(events), secret=SECRET
    )
    return endpoint


def test_the_receiver_gets_the_signed_body_of_a_finished_backup(
    demo, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(demo, receiver.url)
    assert credentials.decrypt(endpoint.secret_encrypted) == SECRET
    assert SECRET not in endpoint.secret_encrypted

    with django_capture_on_commit_callbacks(execute=True):
        backup = run_backup_of(demo.jira, demo.alice)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    # Queued for a worker, not sent by the backup: nothing has reached the receiver yet.
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert receiver.requests == []
    assert OrmQ.objects.count() >= 1

    assert webhook_deliver(delivery.pk) == WebhookDelivery.Status.DELIVERED
    [(headers, body)] = receiver.requests
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Backupsite-Signature"] == f"sha256={expected}"
    assert headers["X-Backupsite-Event"] == "backup.finished"
    payload = json.loads(body)
    assert payload["text"] == "Backup of Acme Jira ended: Complete."
    assert payload["event"] == "backup.finished"
    assert payload["organization"] == {"slug": "acme", "name": demo.acme.name}
    assert payload["data"]["backup"]["id"] == backup.pk
    assert payload["data"]["backup"]["status"] == "COMPLETE"
    assert payload["data"]["product"]["name"] == "Acme Jira"

    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (1, 200)
    assert delivery.response_excerpt == "ok thanks"
    # A redelivered task finds the delivery done and calls nobody.
    assert webhook_deliver(delivery.pk) is None
    assert len(receiver.requests) == 1


def test_an_endpoint_without_the_event_gets_nothing(demo, receiver):
    endpoint_for(demo, receiver.url, events=["restore.finished"])
    run_backup_of(demo.jira, demo.alice)
    assert not WebhookDelivery.objects.exists()


def test_a_receiver_answering_500_gets_five_tries_on_the_schedule(demo, receiver):
    receiver.status = 500
    with time_machine.travel(NOW, tick=False) as traveller:
        endpoint = endpoint_for(demo, receiver.url)
        [delivery] = webhooks.webhook_event_emit(
            organization=demo.acme, event="backup.finished", text="hello", data={}
        )
        seen = []
        for wait in [timedelta(0), *webhooks.RETRY_DELAYS]:
            traveller.shift(wait - timedelta(seconds=1) if wait else timedelta(0))
            if wait:
                # Not yet due: a schedule that fires early sends nothing.
                assert webhook_deliver(delivery.pk) is None
                traveller.shift(timedelta(seconds=1))
            status = webhook_deliver(delivery.pk)
            delivery.refresh_from_db()
            seen.append((status, delivery.attempts, delivery.next_attempt_at))
            if delivery.next_attempt_at:
                # The next try is a one-off django-q2 schedule at that moment.
                assert Schedule.objects.filter(
                    func=webhooks.DELIVER_TASK,
                    args=f"({delivery.pk},)",
                    next_run=delivery.next_attempt_at,
                ).exists()

    start = NOW
    assert seen == [
        ("RETRYING", 1, start + timedelta(minutes=1)),
        ("RETRYING", 2, start + timedelta(minutes=6)),
        ("RETRYING", 3, start + timedelta(minutes=36)),
        ("RETRYING", 4, start + timedelta(minutes=156)),
        ("FAILED", 5, None),
    ]
    assert len(receiver.requests) == 5
    # Every try sends the same bytes, so the same signature and the same event id.
    assert len({body for _, body in receiver.requests}) == 1
    assert delivery.response_code == 500
    assert delivery.error == "The endpoint answered 500."
    assert delivery.response_excerpt == "boom: it broke"
    assert endpoint.deliveries.get() == delivery


def test_a_hanging_receiver_never_delays_the_backup(
    demo, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    receiver.hang = True
    endpoint_for(demo, receiver.url)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        backup = run_backup_of(demo.jira, demo.alice)
    took = time.monotonic() - started
    assert backup.status == Backup.Status.COMPLETE
    assert took < 10, f"the backup took {took:.1f} s"  # the receiver would hold it 30 s
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING

    # The worker's try gives up after its timeout and schedules the next.
    monkeypatch.setattr(webhooks, "TIMEOUT", httpx.Timeout(0.5))
    assert webhook_deliver(delivery.pk) == WebhookDelivery.Status.RETRYING
    delivery.refresh_from_db()
    assert delivery.error == "No answer within 0.5 s."
    assert delivery.response_code is None


def test_a_refused_connection_is_logged_and_retried(demo, settings):
    settings.WEBHOOK_EXTRA_HOSTS = ["127.0.0.1"]
    with Receiver() as gone:
        url = gone.url
    endpoint_for(demo, url)
    [delivery] = webhooks.webhook_event_emit(
        organization=demo.acme, event="backup.finished", text="x", data={}
    )
    assert webhook_deliver(delivery.pk) == WebhookDelivery.Status.RETRYING
    delivery.refresh_from_db()
    assert delivery.error.startswith("ConnectError")


def test_verification_failed_is_emailed_to_the_org_admins_and_sent(demo, receiver):
    endpoint_for(demo, receiver.url, events=["verification.failed"])
    backup = run_backup_of(demo.jira, demo.alice)
    mail.outbox.clear()
    notify_verification_failed(backup, "attachments/17 has another SHA-256 than the manifest's")

    [message] = mail.outbox
    assert message.subject == "Backup of Acme Jira could not be verified"
    assert demo.alice.email in message.to
    assert "attachments/17 has another SHA-256" in message.body
    delivery = WebhookDelivery.objects.get(event=WebhookEvent.VERIFICATION_FAILED)
    webhook_deliver(delivery.pk)
    payload = json.loads(receiver.requests[0][1])
    assert payload["event"] == "verification.failed"
    assert payload["data"]["reason"] == "attachments/17 has another SHA-256 than the manifest's"
    assert payload["text"].startswith(f"Backup #{backup.pk} of Acme Jira could not be verified")


def test_an_expiring_undownloaded_backup_is_announced_once(demo, receiver):
    endpoint_for(demo, receiver.url, events=["backup.expiring"])
    with time_machine.travel(NOW, tick=False):
        backup = run_backup_of(demo.jira, demo.alice)
    mail.outbox.clear()

    with time_machine.travel(NOW + timedelta(days=11, hours=23), tick=False):
        assert notify_expiring_backups() == []  # 2 days and 1 hour left: not yet
    with time_machine.travel(NOW + timedelta(days=12, hours=1), tick=False):
        call_command("notify_expiring_backups", stdout=(out := __import__("io").StringIO()))
        assert "1 expiring backup announced." in out.getvalue()
        assert notify_expiring_backups() == []  # the second run announces nothing
    assert BackupExpiryNotice.objects.get().backup == backup
    [message] = mail.outbox
    assert message.subject == "Backup of Acme Jira expires in less than 48 hours"
    assert "was never downloaded" in message.body
    assert WebhookDelivery.objects.filter(event="backup.expiring").count() == 1


def test_a_downloaded_or_expired_backup_is_not_announced(demo):
    with time_machine.travel(NOW, tick=False):
        backup = run_backup_of(demo.jira, demo.alice)
    from backups.models import BackupFile

    BackupFile.objects.create(
        backup=backup, status="READY", downloads_used=1, created_at=NOW, ready_at=NOW
    )
    with time_machine.travel(NOW + timedelta(days=13), tick=False):
        assert notify_expiring_backups() == []
    BackupFile.objects.filter(backup=backup).delete()
    with time_machine.travel(NOW + timedelta(days=14, minutes=1), tick=False):
        assert notify_expiring_backups() == []  # already past its 14 days


def test_endpoint_changes_are_audited(demo, receiver):
    endpoint = endpoint_for(demo, receiver.url)
    webhooks.webhook_send_test(endpoint=endpoint, actor=demo.alice)
    webhooks.webhook_endpoint_update(
        endpoint=endpoint, actor=demo.alice, url=receiver.url, events=["backup.finished"]
    )
    webhooks.webhook_endpoint_delete(endpoint=endpoint, actor=demo.alice)
    actions = list(
        AuditEvent.objects.filter(action__startswith="webhook.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["webhook.created", "webhook.test_sent", "webhook.updated", "webhook.deleted"]
    assert not WebhookDelivery.objects.exists()  # the log goes with its endpoint


def test_fail_stale_jobs_takes_up_deliveries_lost_with_their_worker_or_queue(
    demo, receiver, django_capture_on_commit_callbacks
):
    """E3 for A4: a try whose worker died mid-send, and a due delivery whose queued task was
    lost, are queued again by the cron command and then delivered; a last try that died
    is FAILED, not left "Sending" for ever."""
    endpoint = endpoint_for(demo, receiver.url)
    with time_machine.travel(NOW, tick=False) as traveller:
        died, lost, last = (
            webhooks.webhook_event_emit(
                organization=demo.acme, event="backup.finished", text=text, data={}
            )[0]
            for text in ("died", "lost", "last")
        )
        # The worker claimed `died` and `last` (SENDING, a try counted), then died.
        WebhookDelivery.objects.filter(pk=died.pk).update(
            status="SENDING", attempts=1, last_attempt_at=NOW, next_attempt_at=None
        )
        WebhookDelivery.objects.filter(pk=last.pk).update(
            status="SENDING", attempts=webhooks.MAX_ATTEMPTS, last_attempt_at=NOW
        )
        OrmQ.objects.all().delete()  # `lost`'s task never reached a worker

        traveller.shift(timedelta(minutes=59))
        with django_capture_on_commit_callbacks(execute=True):
            call_command("fail_stale_jobs", stale_after=3600, stdout=io.StringIO())
        assert OrmQ.objects.count() == 0  # nothing is stale yet

        traveller.shift(timedelta(minutes=2))
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("fail_stale_jobs", stale_after=3600, stdout=out)
        assert f"webhook delivery #{died.pk}: its try stopped with its worker; queued again" in (
            out.getvalue()
        )
        assert f"webhook delivery #{lost.pk}: due since 2026-12-02 09:00 UTC; queued again" in (
            out.getvalue()
        )
        assert "3 webhook delivery(ies) taken up again." in out.getvalue()
        queued = sorted(
            task.args()[0] for task in OrmQ.objects.all() if task.func() == webhooks.DELIVER_TASK
        )
        assert queued == sorted([died.pk, lost.pk])
        for pk in queued:
            assert webhook_deliver(pk) == WebhookDelivery.Status.DELIVERED

    assert sorted(json.loads(body)["text"] for _, body in receiver.requests) == ["died", "lost"]
    last.refresh_from_db()
    assert (last.status, last.error) == ("FAILED", "The worker stopped while sending this try.")
    died.refresh_from_db()
    assert died.attempts == 2  # the lost try counts: at most 5 in all (A4)
    assert endpoint.deliveries.filter(status="DELIVERED").count() == 2

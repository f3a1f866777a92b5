"""Backup files and downloads as an org admin sees them (D1-D5, SPEC §4 and §8).

Every assertion is on what the person gets: the words on the page, the disabled button and its
reason, the status code, the bytes of the file.
"""

import hashlib
import random
import re
import threading
from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backups import storage
from backups.demo import make_attachment
from backups.models import (
    Backup,
    BackupFile,
    BackupPolicy,
    DownloadLink,
    JiraAttachment,
    JiraIssue,
    Membership,
)
from backups.rules import download_link_budget, format_when, human_bytes
from backups.services.backups import backup_expire, backup_request
from backups.services.files import backup_file_generate, backup_file_request, file_name
from backups.tasks import backup_file_task
from tests.components import need_postgres
from tests.services.helpers import run_backup_of
from tests.views.helpers import text

pytestmark = pytest.mark.django_db

FOURTH = (
    "This backup has been downloaded 3 times, the most allowed. "
    "Run a new backup to download its file."
)


def detail_url(backup, slug="acme"):
    return reverse("backup_detail", args=[slug, backup.pk])


def fragment_url(backup, slug="acme"):
    return reverse("backup_detail_fragment", args=[slug, backup.pk])


def generate_url(backup, slug="acme"):
    return reverse("backup_file_generate", args=[slug, backup.pk])


def download_url(backup, slug="acme"):
    return reverse("backup_download", args=[slug, backup.pk])


def section(page: bytes | str) -> str:
    """The HTML of the Backup file section."""
    if isinstance(page, bytes):
        page = page.decode()
    found = re.findall(r'<section class="[^"]*" id="file".*?</section>', page, flags=re.S)
    assert len(found) == 1, f"expected one Backup file section, found {len(found)}"
    return found[0]


def button(html: str, name: str) -> str:
    """The <button> tag whose text starts with `name`."""
    found = re.findall(rf"<button\b[^>]*>{re.escape(name)}\b", html)
    assert len(found) == 1, f"expected one {name!r} button, found {len(found)}"
    return found[0]


def is_disabled(html: str, name: str) -> bool:
    return " disabled" in button(html, name)


def body_of(response) -> bytes:
    # The test client closes a streaming response once its content is read, with the
    # database connection kept; a response.close() here would close the connection too
    # (request_finished -> close_old_connections), which PostgreSQL tests then feel.
    return b"".join(response.streaming_content)


def stored_bytes(backup_file) -> bytes:
    with storage.open_object(backup_file.storage_name) as f:
        return f.read()


@pytest.fixture
def alice(client, demo):
    client.force_login(demo.alice)
    return client


@pytest.fixture
def complete(demo):
    backup = run_backup_of(demo.jira, demo.alice)
    assert backup.status == Backup.Status.COMPLETE
    return backup


@pytest.fixture
def ready(alice, complete, sync_tasks, django_capture_on_commit_callbacks):
    """The complete backup with its file generated through the page (the task runs inline)."""
    with django_capture_on_commit_callbacks(execute=True):
        alice.post(generate_url(complete))
    backup_file = BackupFile.objects.get(backup=complete)
    assert backup_file.status == BackupFile.Status.READY
    return backup_file


def take_download(client, backup) -> str:
    response = client.post(download_url(backup))
    assert response.status_code == 302
    link = response["Location"]
    assert link.startswith("/downloads/")
    return link


# --- Generate -------------------------------------------------------------------------------


def test_generate_then_the_page_shows_download_size_and_sha256(
    alice, demo, complete, sync_tasks, django_capture_on_commit_callbacks
):
    before = section(alice.get(detail_url(complete)).content)
    assert text(before) == (
        "Backup file One ZIP file with everything in this backup, to keep on your own machine. "
        "It can be downloaded 3 times. Generate backup file"
    )
    assert not is_disabled(before, "Generate backup file")

    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(generate_url(complete))
    assert response.status_code == 302
    assert response["Location"] == detail_url(complete) + "#file"

    backup_file = BackupFile.objects.get(backup=complete)
    assert backup_file.status == BackupFile.Status.READY
    assert backup_file.created_by == demo.alice
    page = alice.get(response["Location"]).content
    assert "Generating the backup file. This page shows its progress." in text(page)
    name = file_name(complete)
    assert text(section(page)) == (
        f"Backup file {name} Ready Size {human_bytes(backup_file.size)} "
        f"Made {backup_file.ready_at:%-d %b %Y, %H:%M} UTC "
        f"SHA-256 {backup_file.sha256} Copy SHA-256 "
        "Download 3 of 3 downloads left "
        "Download gives you a link made for you alone, valid for 10 minutes. "
        "A download that stops and resumes on the same link counts once. "
        f"To check it on your own machine: sha256sum {name} prints the SHA-256 above, and "
        f"python manage.py verify_backup_file {name} checks every entry inside."
    )
    assert backup_file.size == len(stored_bytes(backup_file)) > 0
    assert backup_file.sha256 == hashlib.sha256(stored_bytes(backup_file)).hexdigest()
    # The full checksum, in its own labelled element.
    assert (
        f'<code class="sha256" id="sha256" aria-labelledby="sha256-label">{backup_file.sha256}'
        "</code>"
    ) in section(page)
    assert not is_disabled(section(page), "Download")
    # Nothing is being made: no polling, only the one refresh after a Download click.
    assert "every 2s" not in page.decode()
    assert 'hx-trigger="download-started delay:2s"' in page.decode()


def test_the_page_follows_the_file_while_it_is_made_and_stops_polling_when_ready(alice, complete):
    response = alice.post(generate_url(complete), follow=True)
    backup_file = BackupFile.objects.get(backup=complete)
    assert backup_file.status == BackupFile.Status.GENERATING
    page = response.content.decode()
    assert f'hx-get="{fragment_url(complete)}" hx-trigger="every 2s"' in page
    assert text(section(page)) == (
        "Backup file Generating the backup file… Starting… "
        "This page follows it as it is made; you can leave and come back."
    )
    assert "Generate backup file" not in section(page)

    BackupFile.objects.filter(pk=backup_file.pk).update(
        bytes_done=4_000_000, bytes_total=10_000_000
    )
    fragment = alice.get(fragment_url(complete), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="backup-detail"')
    assert 'hx-trigger="every 2s"' in fragment
    assert "Generating the backup file… 40% · 4 MB of about 10 MB" in text(section(fragment))
    assert '<progress class="progress" max="100" value="40"' in section(fragment)

    # The worker makes the file; the next poll shows it ready and the polling stops.
    assert backup_file_task(backup_file.pk) == BackupFile.Status.READY
    fragment = alice.get(fragment_url(complete), HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in fragment
    backup_file.refresh_from_db()
    assert f"SHA-256 {backup_file.sha256}" in text(section(fragment))
    assert "Download 3 of 3 downloads left" in text(section(fragment))


def test_a_double_click_on_generate_makes_one_file(alice, complete):
    first = alice.post(generate_url(complete), follow=True)
    second = alice.post(generate_url(complete), follow=True)
    assert BackupFile.objects.filter(backup=complete).count() == 1
    assert "Generating the backup file. This page shows its progress." in text(first.content)
    assert second.redirect_chain[-1][0] == detail_url(complete) + "#file"
    assert "The backup file is being generated." in text(second.content)
    assert "This page shows its progress." not in text(second.content)


def test_generate_on_a_ready_file_says_it_is_ready(alice, complete, ready):
    again = alice.post(generate_url(complete), follow=True)
    assert "The backup file is ready." in text(again.content)
    assert BackupFile.objects.filter(backup=complete).count() == 1
    assert BackupFile.objects.get(backup=complete).sha256 == ready.sha256


def test_a_failed_file_says_why_and_can_be_generated_again(alice, complete, ready):
    BackupFile.objects.filter(pk=ready.pk).update(
        status=BackupFile.Status.FAILED,
        failure_reason="The file could not be made: No space left on device.",
    )
    html = section(alice.get(detail_url(complete)).content)
    assert text(html) == (
        "Backup file Generating the backup file failed. The file could not be made: "
        "No space left on device. You can generate it again. Generate backup file"
    )
    assert not is_disabled(html, "Generate backup file")
    assert "Download" not in text(html)


# --- Refusals of Generate backup file (D1, D2) ---------------------------------------------


def assert_generate_refused(client, backup, reason: str) -> None:
    """Disabled, with the reason beside it; pressing it anyway (a stale page) says the same."""
    html = section(client.get(detail_url(backup)).content)
    assert is_disabled(html, "Generate backup file")
    assert 'aria-describedby="generate-reason"' in button(html, "Generate backup file")
    assert text(html).endswith(f"Generate backup file {reason}")
    refused = client.post(generate_url(backup), follow=True)
    assert reason in text(refused.content)
    assert not BackupFile.objects.filter(backup=backup).exists()


def test_an_expired_backup_cannot_have_a_file(alice, complete):
    assert backup_expire(backup=complete, now=timezone.now(), force=True)
    complete.refresh_from_db()
    expired_on = format_when(complete.started_at + timedelta(days=14))
    assert_generate_refused(
        alice,
        complete,
        f"The backup expired on {expired_on} (14 days after it was taken); its stored data "
        "was deleted.",
    )


def test_a_failed_backup_cannot_have_a_file(alice, demo):
    BackupPolicy.objects.create(product=demo.jira)
    backup = backup_request(product=demo.jira, actor=demo.alice)
    Backup.objects.filter(pk=backup.pk).update(
        status=Backup.Status.FAILED, completed_at=timezone.now(), failure_reason="Worker died."
    )
    assert_generate_refused(alice, backup, "The backup failed: it has no data to use.")


def test_a_running_backup_cannot_have_a_file_yet(alice, demo):
    BackupPolicy.objects.create(product=demo.jira)
    backup = backup_request(product=demo.jira, actor=demo.alice)
    assert_generate_refused(alice, backup, "The backup is still running.")


def test_a_backup_over_the_local_limit_cannot_have_a_file(alice, complete, settings):
    settings.LOCAL_DOWNLOAD_LIMIT = complete.total_bytes - 1
    assert_generate_refused(
        alice,
        complete,
        f"This backup is {human_bytes(complete.total_bytes)}; a backup file can be at most "
        f"{human_bytes(complete.total_bytes - 1)} (the local download limit), so it can only "
        "be restored from the service's storage.",
    )


# --- Download (D3, D4) ----------------------------------------------------------------------


def test_three_downloads_then_the_fourth_is_refused_with_the_reason(alice, complete, ready):
    stored = stored_bytes(ready)
    for n in (1, 2, 3):
        link = take_download(alice, complete)
        got = alice.get(link)
        assert got.status_code == 200
        assert got["Content-Length"] == str(ready.size)
        assert got["Accept-Ranges"] == "bytes"
        assert got["Content-Disposition"] == f'attachment; filename="{file_name(complete)}"'
        body = body_of(got)
        assert len(body) == ready.size
        assert hashlib.sha256(body).hexdigest() == ready.sha256
        assert body == stored
        html = section(alice.get(detail_url(complete)).content)
        assert f"Download {3 - n} of 3 downloads left" in text(html)

    assert is_disabled(html, "Download")
    assert 'aria-describedby="download-reason"' in button(html, "Download")
    assert f"Download 0 of 3 downloads left {FOURTH}" in text(html)

    fourth = alice.post(download_url(complete), follow=True)
    assert fourth.redirect_chain == [(detail_url(complete) + "#file", 302)]
    assert FOURTH in text(fourth.content)
    ready.refresh_from_db()
    assert ready.downloads_used == 3


def test_a_range_request_resumes_without_using_a_download(alice, complete, ready):
    stored = stored_bytes(ready)
    link = take_download(alice, complete)
    ready.refresh_from_db()
    assert ready.downloads_used == 1

    part = alice.get(link, HTTP_RANGE="bytes=10-99")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-99/{ready.size}"
    assert part["Content-Length"] == "90"
    assert part["Accept-Ranges"] == "bytes"
    assert body_of(part) == stored[10:100]

    rest = alice.get(link, HTTP_RANGE="bytes=100-")
    assert rest.status_code == 206
    assert rest["Content-Range"] == f"bytes 100-{ready.size - 1}/{ready.size}"
    assert body_of(rest) == stored[100:]

    ready.refresh_from_db()
    assert ready.downloads_used == 1
    assert "Download 2 of 3 downloads left" in text(
        section(alice.get(detail_url(complete)).content)
    )


def test_a_range_past_the_end_is_not_satisfiable(alice, complete, ready):
    link = take_download(alice, complete)
    response = alice.get(link, HTTP_RANGE=f"bytes={ready.size}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{ready.size}"
    # A range that ends before it starts is no range at all: the whole file, as for no header.
    whole = alice.get(link, HTTP_RANGE="bytes=99-10")
    assert whole.status_code == 200
    assert hashlib.sha256(body_of(whole)).hexdigest() == ready.sha256


def test_an_expired_link_is_refused(alice, complete, ready, settings):
    link = take_download(alice, complete)
    later = timezone.now() + timedelta(minutes=settings.DOWNLOAD_LINK_MINUTES, seconds=1)
    with time_machine.travel(later):
        response = alice.get(link)
    assert response.status_code == 403
    page = text(response.content)
    assert "Download refused" in page
    assert (
        "This download link has expired. Links are valid for 10 minutes: go back to the backup "
        "and download again."
    ) in page
    # Within its minutes the same link still works.
    assert alice.get(link).status_code == 200


def test_a_link_opened_by_another_user_is_refused(alice, client, demo, complete, ready):
    link = take_download(alice, complete)
    client.force_login(demo.bob)
    response = client.get(link)
    assert response.status_code == 403
    assert "This download link was made for another user." in text(response.content)
    assert not response.has_header("Content-Disposition")


def test_a_link_needs_a_logged_in_user(alice, complete, ready):
    link = take_download(alice, complete)
    alice.logout()
    response = alice.get(link)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(link, safe='/')}"
    for url in (generate_url(complete), download_url(complete)):
        response = alice.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_tampered_link_is_refused(alice, complete, ready):
    link = take_download(alice, complete)
    response = alice.get(link.rstrip("/")[:-2] + "xx/")
    assert response.status_code == 403
    assert "This download link is not valid." in text(response.content)


def test_download_before_a_file_exists_says_to_generate_it(alice, complete):
    response = alice.post(download_url(complete), follow=True)
    assert "Generate the backup file first." in text(response.content)


# --- Who may do what ------------------------------------------------------------------------


def test_another_organizations_admin_gets_404(client, make_org, complete, ready):
    org, admin = make_org("initech")
    client.force_login(admin)
    for slug in ("acme", "initech"):
        assert client.get(detail_url(complete, slug)).status_code == 404
        assert client.post(generate_url(complete, slug)).status_code == 404
        assert client.post(download_url(complete, slug)).status_code == 404
    ready.refresh_from_db()
    assert ready.downloads_used == 0


def test_get_on_generate_and_download_is_not_allowed(alice, complete, ready):
    assert alice.get(generate_url(complete)).status_code == 405
    assert alice.get(download_url(complete)).status_code == 405
    ready.refresh_from_db()
    assert ready.downloads_used == 0


# --- One link, one copy (D6) ----------------------------------------------------------------

MiB = 1024 * 1024
USED = "This download link has already delivered its copy of the backup file."
SPENT = (
    "This download link has already sent as many bytes as one copy of the backup file, so it "
    "cannot send this part again."
)
EXPLAINED = (
    "A download link gives one copy of the backup file. A download that stopped midway resumes "
    "on the same link while the link is valid, but the link does not start a second copy."
)


def used_page(response, left: int) -> str:
    """The refusal a browser shows for a link that gave its copy, checked whole; its text."""
    assert response.status_code == 403
    assert not response.has_header("Content-Disposition")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = text(response.content)
    what_next = (
        f"For another copy, open the backup and click Download: that gives you a new link, and "
        f"uses one of the {left} downloads left."
        if left
        # B3: when the next backup may run, from the rules' own date (#13 item 5).
        else "No downloads are left for this backup. A new backup of Acme Jira can run after "
    )
    assert (
        f"{EXPLAINED} {left} of 3 downloads left for this backup. If your download finished, you "
        f"have the file: compare its SHA-256 with the one on the backup's page. {what_next}"
    ) in page
    if not left:
        assert (
            "(7 days after its last complete backup): run one then to download its data again. "
            "Open the backup · Back to your organizations"
        ) in page
    return page


def cut_after(response, pieces: int) -> bytes:
    """Read `pieces` pieces of a streaming body, then drop the connection: the server closes the
    response, as a WSGI server does when its client goes away. Needs a transactional database
    (closing fires request_finished, which closes the test's connection)."""
    chunks = response.streaming_content
    got = b"".join(next(chunks) for _ in range(pieces))
    response.close()
    return got


@pytest.fixture
def big(demo):
    """A backup file of about 12 MiB: two blocks of a link's reservations (8 MiB), and a budget
    of 1.5 copies (the slack is capped at half the file)."""
    issue = JiraIssue.objects.filter(product=demo.jira).order_by("pk").first()
    make_attachment(
        JiraAttachment,
        product=demo.jira,
        issue=issue,
        name="big.bin",
        data=random.Random(6).randbytes(12 * MiB),  # random: the ZIP cannot shrink it
        created=timezone.now(),
    )
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    assert 12 * MiB < backup_file.size < 13 * MiB
    return backup_file


def test_d6_a_second_full_get_on_a_used_link_is_refused_with_a_page(alice, complete, ready):
    link = take_download(alice, complete)
    first = alice.get(link)
    assert first.status_code == 200
    assert body_of(first) == stored_bytes(ready)

    second = alice.get(link)
    page = used_page(second, left=2)
    assert f"Download refused {USED} {EXPLAINED}" in page
    assert f'<a href="{detail_url(complete)}">Open the backup</a>' in second.content.decode()
    # A resume asked of a link that completed its copy is refused the same way.
    used_page(alice.get(link, HTTP_RANGE="bytes=0-99"), left=2)
    ready.refresh_from_db()
    assert ready.downloads_used == 1


def test_d6_with_no_downloads_left_the_used_link_says_to_run_a_new_backup(alice, complete, ready):
    links = [take_download(alice, complete) for _ in range(3)]
    for link in links:
        assert hashlib.sha256(body_of(alice.get(link))).hexdigest() == ready.sha256
    for link in links:
        used_page(alice.get(link), left=0)


def test_d6_a_head_request_sends_nothing_and_uses_nothing(alice, complete, ready):
    link = take_download(alice, complete)
    head = alice.head(link)
    assert head.status_code == 200
    assert head["Content-Length"] == str(ready.size)
    assert head["Accept-Ranges"] == "bytes"
    assert head.content == b""
    got = alice.get(link)
    assert got.status_code == 200
    assert body_of(got) == stored_bytes(ready)
    again = alice.head(link)
    assert again.status_code == 403
    assert not again.has_header("Content-Disposition")


@pytest.mark.django_db(transaction=True)
def test_d6_a_cut_transfer_resumes_on_the_same_link_until_the_file_is_whole(alice, big):
    backup = big.backup
    link = take_download(alice, backup)

    first = alice.get(link)
    assert first.status_code == 200
    assert first["Content-Length"] == str(big.size)
    assert first["ETag"] == f'"{big.sha256}"'
    head = cut_after(first, 1)  # 1 MiB of the first 8 MiB block, then the connection drops
    assert len(head) == MiB

    # The browser resumes where it stopped, if the file is still the same one (If-Range).
    second = alice.get(link, HTTP_RANGE=f"bytes={len(head)}-", HTTP_IF_RANGE=first["ETag"])
    assert second.status_code == 206
    assert second["Content-Range"] == f"bytes {len(head)}-{big.size - 1}/{big.size}"
    middle = cut_after(second, 9)  # cut again, inside the second block
    assert len(middle) == 9 * MiB

    third = alice.get(link, HTTP_RANGE=f"bytes={len(head) + len(middle)}-")
    assert third.status_code == 206
    tail = body_of(third)
    whole = head + middle + tail
    assert len(whole) == big.size
    assert hashlib.sha256(whole).hexdigest() == big.sha256

    # The copy is delivered: the same link gives no second one, and it counted one download.
    used_page(alice.get(link), left=2)
    big.refresh_from_db()
    assert big.downloads_used == 1


def test_d6_many_small_range_requests_cannot_add_up_to_a_second_copy(alice, complete, ready):
    stored = stored_bytes(ready)
    budget = download_link_budget(ready.size)
    link = take_download(alice, complete)
    step = ready.size // 10
    # Every range but the file's last byte, twice over: what a client collecting copies asks.
    ranges = [(o, min(o + step, ready.size - 1) - 1) for o in range(0, ready.size - 1, step)]
    delivered, first_copy = 0, b""
    for n, (start, end) in enumerate(ranges * 2):
        part = alice.get(link, HTTP_RANGE=f"bytes={start}-{end}")
        if part.status_code != 206:
            break
        body = body_of(part)
        assert body == stored[start : end + 1]
        delivered += len(body)
        if n < len(ranges):
            first_copy += body
    else:
        raise AssertionError("the link sent every range twice")

    assert first_copy == stored[:-1]  # the first pass gets its copy
    assert n > len(ranges)  # refused during the second pass, not before
    assert SPENT in used_page(part, left=2)
    assert budget - step < delivered <= budget < 2 * ready.size


def test_d4_an_admin_demoted_to_member_cannot_use_their_link(alice, demo, complete, ready):
    link = take_download(alice, complete)
    membership = Membership.objects.get(user=demo.alice, organization=demo.acme)
    membership.role = Membership.Role.MEMBER
    membership.save()

    refused = alice.get(link)
    assert refused.status_code == 404
    assert "Page not found There is nothing here, or you do not have access to it." in text(
        refused.content
    )
    assert not refused.has_header("Content-Disposition")
    assert DownloadLink.objects.get().bytes_served == 0

    # Made admin again within the link's minutes, the same link works: the check is per request.
    membership.role = Membership.Role.ADMIN
    membership.save()
    assert body_of(alice.get(link)) == stored_bytes(ready)


def test_d4_a_link_stops_when_its_user_leaves_or_the_organization_leaves_early_access(
    alice, demo, complete, ready
):
    link = take_download(alice, complete)
    demo.acme.enrolled = False
    demo.acme.save()
    assert alice.get(link).status_code == 404
    demo.acme.enrolled = True
    demo.acme.save()
    Membership.objects.filter(user=demo.alice, organization=demo.acme).delete()
    assert alice.get(link).status_code == 404
    assert DownloadLink.objects.get().bytes_served == 0


def parallel(n: int, work) -> list:
    """Run work(i) in n threads started together; their results, in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def client_of(logged_in) -> Client:
    """A client of its own for a thread, with the same session."""
    other = Client()
    other.cookies = logged_in.cookies
    return other


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_d6_ten_parallel_gets_on_one_link_deliver_one_copy(alice, big):
    need_postgres()
    link = take_download(alice, big.backup)

    def get(_):
        response = client_of(alice).get(link)
        if response.status_code == 200:
            return 200, body_of(response)
        return response.status_code, text(response.content)

    results = parallel(10, get)

    copies = [body for status, body in results if status == 200]
    assert len(copies) == 1
    assert hashlib.sha256(copies[0]).hexdigest() == big.sha256
    refusals = [page for status, page in results if status == 403]
    assert len(refusals) == 9
    assert all(USED in page or SPENT in page for page in refusals)
    assert used_page(alice.get(link), left=2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_d6_parallel_range_requests_on_one_link_stay_within_one_copy(alice, big):
    need_postgres()
    link = take_download(alice, big.backup)
    budget = download_link_budget(big.size)
    step = MiB

    def collect(i):
        """Ask for the whole file but its last byte in 1 MiB ranges, from its own offset."""
        client, got = client_of(alice), 0
        offsets = list(range(0, big.size - 1, step))
        offsets = offsets[i:] + offsets[:i]
        for start in offsets:
            end = min(start + step, big.size - 1) - 1
            part = client.get(link, HTTP_RANGE=f"bytes={start}-{end}")
            if part.status_code != 206:
                assert SPENT in text(part.content)
                break
            got += len(body_of(part))
        return got

    delivered = parallel(10, collect)

    assert sum(delivered) <= budget < 2 * big.size
    assert sum(delivered) > budget - 10 * step  # the budget was used, not refused early
    assert DownloadLink.objects.get().bytes_served == sum(delivered)

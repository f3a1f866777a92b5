"""Backups of a connected Confluence Cloud site (SPEC C1, C3–C5, B5), played by the contract
server: every space (global and personal, current and archived), pages and blog posts in every
status with their tree, storage-format bodies and versions, footer and inline comments,
labels, attachments, into the same backup format; a space that cannot be read whole is left
out whole and named (INCOMPLETE); bad credentials make the backup FAILED, saying what to fix."""

import hashlib
import logging
from datetime import timedelta

import pytest
import time_machine

from backups.models import (
    AuditEvent,
    Backup,
    BackupBlob,
    Page,
    PageAttachment,
    Product,
    Restore,
    Space,
)
from backups.productdata import for_product
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.services.helpers import read_manifest, read_rows, run_backup_of

from . import confluence_helpers
from .confluence_helpers import seed_site
from .conftest import ADMIN_EMAIL, ADMIN_TOKEN
from .helpers import leaks

pytestmark = pytest.mark.django_db

connected = confluence_helpers.connected  # the fixture, by the name the tests ask for


def test_a_connected_site_is_backed_up_whole_in_the_same_format(confluence_site, connected):
    connection, admin = connected
    files = seed_site(confluence_site)
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason or backup.missing

    manifest = read_manifest(backup)
    assert manifest["source"] == {
        "home": "connected",
        "site_url": confluence_site.wiki_url,
        "account": "Site Admin",
    }
    spaces = {s["key"]: s for s in read_rows(backup, "spaces")}
    assert {k: (s["kind"], s["state"]) for k, s in spaces.items()} == {
        "DOCS": ("global", "active"),
        "OPS": ("global", "archived"),
        "TEAM": ("global", "active"),
        "~5b10ac8d82e05b22cc7d4ef5": ("personal", "active"),
    }
    pages = {p["title"]: p for p in read_rows(backup, "pages")}
    docs_home = confluence_site.space_by_key("DOCS").homepage_id
    assert spaces["DOCS"]["homepage"] == docs_home
    # The tree, by the site's ids; bodies in storage format; versions; every status.
    assert pages["Guide"]["parent"] == docs_home
    assert pages["Install"]["parent"] == pages["Guide"]["id"]
    assert pages["Linux"]["parent"] == pages["Install"]["id"]
    assert pages["Linux"]["version"] == 4
    assert pages["Install"]["body"] == "<p>Step <b>one</b></p>"
    assert pages["Old notes"]["state"] == "archived"
    assert pages["Draft gone wrong"]["state"] == "trashed"
    assert pages["Withdrawn post"]["kind"] == "blogpost"
    assert pages["Withdrawn post"]["state"] == "trashed"
    assert pages["Guide"]["labels"] == ["howto"]
    assert pages["Release 2.0"]["labels"] == ["release"]
    comments = {c["body"]: c for c in read_rows(backup, "comments")}
    assert comments["<p>typo here</p>"]["inline"] is True
    assert comments["<p>Very clear, thanks</p>"]["page"] == pages["Guide"]["id"]
    assert comments["<p>Congratulations</p>"]["page"] == pages["Release 2.0"]["id"]
    attachments = {a["name"]: a for a in read_rows(backup, "attachments")}
    for name, content in files.items():
        assert attachments[name]["sha256"] == hashlib.sha256(content).hexdigest()
        assert attachments[name]["size"] == len(content)
    assert attachments["release.pdf"]["page"] == pages["Release 2.0"]["id"]
    assert manifest["attachments"] == {"count": 3, "bytes": sum(map(len, files.values()))}
    # The pages show what the site held, without calling it again.
    connection.refresh_from_db()
    summary = for_product(connection.product).summary()
    assert (summary.items, summary.comments, summary.attachments) == (len(pages), 3, 3)
    assert summary.containers_by_state == {"active": 3, "archived": 1}
    assert summary.personal_spaces == 1


def test_the_policy_can_leave_personal_spaces_and_attachments_out(confluence_site, connected):
    connection, admin = connected
    seed_site(confluence_site)
    backup = run_backup_of(
        connection.product, admin, include_personal_spaces=False, include_attachments=False
    )
    assert backup.status == Backup.Status.COMPLETE
    assert sorted(s["key"] for s in read_rows(backup, "spaces")) == ["DOCS", "OPS", "TEAM"]
    assert read_rows(backup, "attachments") == []
    assert not any(r[1].startswith("/media/") for r in confluence_site.requests)


def test_a_space_that_cannot_be_read_whole_is_left_out_whole(
    confluence_site, connected, backups_root, settings
):
    """B5: one attachment of DOCS that stays unreadable leaves DOCS out — its pages, and the
    files already downloaded — and the backup is INCOMPLETE naming it."""
    connection, admin = connected
    settings.SITE_RETRY_BASE_DELAY = 0.001  # every retry fails: their waits prove nothing here
    seed_site(confluence_site)
    notes = next(a for a in confluence_site.attachments.values() if a.title == "notes.txt")
    confluence_site.fail("GET", rf"/child/attachment/{notes.id}/download$", "503", times=100)
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.INCOMPLETE
    assert [m["what"] for m in backup.missing] == ["space DOCS"]
    assert (
        "notes.txt could not be read: The site failed with HTTP 503" in backup.missing[0]["reason"]
    )
    assert sorted(s["key"] for s in read_rows(backup, "spaces")) == [
        "OPS",
        "TEAM",
        "~5b10ac8d82e05b22cc7d4ef5",
    ]
    assert {p["space"] for p in read_rows(backup, "pages")} == {"OPS", "TEAM"} | {
        "~5b10ac8d82e05b22cc7d4ef5"
    }
    assert read_rows(backup, "attachments") == []
    # The files downloaded before DOCS failed are gone: no stored copy, no object left. The
    # store holds the backup's entities files only (#16).
    held = set(BackupBlob.objects.filter(backup=backup).values_list("path", "blob__storage_name"))
    assert {path for path, _ in held} == {f"entities/{t}.jsonl" for t in backup.counts}
    left = [p.relative_to(backups_root).as_posix() for p in backups_root.rglob("*") if p.is_file()]
    assert left and not [n for n in left if "attachments" in n.split("/")]
    assert {n for n in left if n.startswith("blobs/")} == {name for _, name in held}


def test_rate_limits_and_transient_failures_recover(confluence_site, connected, settings):
    connection, admin = connected
    seed_site(confluence_site)
    confluence_site.fail("GET", r"/wiki/api/v2/spaces/\d+/pages$", "429", times=2, retry_after="0")
    confluence_site.fail("GET", r"/wiki/api/v2/spaces$", "500", times=1)
    confluence_site.fail("GET", r"/footer-comments$", "drop", times=2)
    confluence_site.fail("GET", r"^/media/", "drop", times=1)  # one transfer cut, then whole
    settings.SITE_RETRY_BASE_DELAY = 0.001  # the backoff's waits, shortened
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.COMPLETE, backup.missing
    assert len(read_rows(backup, "attachments")) == 3
    assert len(read_rows(backup, "comments")) == 3


def test_a_token_revoked_midway_fails_the_backup_saying_what_to_fix(confluence_site, connected):
    connection, admin = connected
    seed_site(confluence_site)
    confluence_site.fail("GET", r"/blogposts$", "revoke")
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.FAILED
    assert backup.failure_reason == (
        "The site refused the email and API token (401). Check the email, or create a new "
        "API token and edit the connection."
    )
    assert ADMIN_TOKEN not in backup.failure_reason


def test_a_response_of_the_wrong_shape_leaves_its_space_out(confluence_site, connected):
    """C8: never half-imported."""
    connection, admin = connected
    seed_site(confluence_site)
    team = confluence_site.space_by_key("TEAM")
    confluence_site.fail("GET", rf"/wiki/api/v2/spaces/{team.id}/pages$", "shape")
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.INCOMPLETE
    assert [m["what"] for m in backup.missing] == ["space TEAM"]
    assert (
        "unexpected shape" in backup.missing[0]["reason"]
        or "publishes" in (backup.missing[0]["reason"])
    )
    assert "TEAM" not in {s["key"] for s in read_rows(backup, "spaces")}


def test_an_account_that_is_not_a_confluence_admin_backs_up_nothing(confluence_site, connected):
    connection, admin = connected
    seed_site(confluence_site)
    confluence_site.accounts[ADMIN_EMAIL].admin = False
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.FAILED
    assert backup.failure_reason.startswith(
        f"The connection to {confluence_site.wiki_url} failed its check, so nothing was backed "
        "up: The account Site Admin can sign in, but it is not a Confluence administrator"
    )
    assert not any("/pages" in r[1] for r in confluence_site.requests)


def test_a_connected_backup_restores_into_an_embedded_confluence(confluence_site, connected):
    """C6: into an embedded Confluence product, equal in what it holds: spaces with their
    states and home page, the tree, titles, bodies, states, labels, comments, file bytes."""
    connection, admin = connected
    files = seed_site(confluence_site)
    backup = run_backup_of(connection.product, admin)
    destination = Product.objects.create(
        organization=connection.product.organization, kind="confluence", name="Embedded wiki"
    )
    restore = restore_request(backup=backup, destination=destination, actor=admin)
    assert restore_execute(restore_id=restore.pk) == "COMPLETE"
    spaces = {s.key: s for s in Space.objects.filter(product=destination)}
    assert sorted(spaces) == ["DOCS", "OPS", "TEAM", "~5b10ac8d82e05b22cc7d4ef5"]
    assert spaces["OPS"].state == "archived"
    assert spaces["DOCS"].homepage.title == "Documentation Home"
    linux = Page.objects.get(space=spaces["DOCS"], title="Linux")
    assert (linux.parent.title, linux.parent.parent.title) == ("Install", "Guide")
    assert linux.parent.parent.parent == spaces["DOCS"].homepage
    assert linux.version == 4
    assert Page.objects.get(title="Draft gone wrong").state == "trashed"
    assert Page.objects.get(title="Withdrawn post").kind == "blogpost"
    assert Page.objects.get(title="Guide").labels == ["howto"]
    assert sorted(Page.objects.get(title="Guide").comments.values_list("body", flat=True)) == [
        "<p>Very clear, thanks</p>",
        "<p>typo here</p>",
    ]
    shas = dict(PageAttachment.objects.filter(product=destination).values_list("name", "sha256"))
    assert shas == {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}


def test_slow_attachments_arrive_whole(confluence_site, connected):
    """A media host that sends slowly (10 ms between 64 KiB blocks) delays the backup, and
    every byte still arrives: the SHA-256 of each file is the site's."""
    connection, admin = connected
    files = seed_site(confluence_site)
    confluence_site.fail("GET", r"^/media/", "slow", times=3, seconds=0.01)
    backup = run_backup_of(connection.product, admin)
    assert backup.status == Backup.Status.COMPLETE, backup.missing
    shas = {a["name"]: a["sha256"] for a in read_rows(backup, "attachments")}
    assert shas == {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}


def test_the_token_is_nowhere_after_a_backup_a_failure_and_a_restore(
    confluence_site, connected, caplog, backups_root
):
    """C2 for Confluence: no log line, audit event, backup, report or error holds it."""
    caplog.set_level(logging.DEBUG)
    connection, admin = connected
    seed_site(confluence_site)
    good = run_backup_of(connection.product, admin)
    assert good.status == Backup.Status.COMPLETE
    confluence_site.wipe()
    restore = restore_request(backup=good, destination=connection.product, actor=admin)
    assert restore_execute(restore_id=restore.pk) == "COMPLETE"
    confluence_site.fail("GET", r"/wiki/api/v2/spaces$", "revoke")
    with time_machine.travel(timedelta(days=8)):  # B3: a week after the first
        failed = run_backup_of(connection.product, admin)
    assert failed.status == Backup.Status.FAILED
    assert leaks(caplog.text) == []
    for event in AuditEvent.objects.all():
        assert leaks(event.target + str(event.details)) == []
    for row in Backup.objects.all():
        assert leaks(row.failure_reason + str(row.missing) + str(row.options)) == []
    for row in Restore.objects.all():
        assert leaks(row.failure_reason + str(row.report)) == []
    for path in (p for p in backups_root.rglob("*") if p.is_file()):
        assert leaks(path.read_bytes()) == [], path

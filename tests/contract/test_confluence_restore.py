"""Restores into a connected Confluence Cloud site (SPEC C6, C7, R6, R8), played by the
contract server: spaces with their keys, the page tree parents first, bodies, blog posts,
labels, comments, attachments, statuses; spaces whose key the site has are skipped and left
untouched; a restore that fails deletes the spaces it created."""

import pytest
from django.urls import reverse

from backups.models import Product, Space
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request
from tests.services.helpers import alter_stored_attachment, run_backup_of

from .confluence_helpers import connected, restore_into, seed_site, without_personal  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

PERSONAL = "~5b10ac8d82e05b22cc7d4ef5"


def test_site_to_backup_to_emptied_site_is_equal(confluence_site, connected):  # noqa: F811
    connection, admin = connected
    seed_site(confluence_site)
    before = without_personal(confluence_site.snapshot())
    backup = run_backup_of(connection.product, admin)
    confluence_site.wipe()  # the site's content, not its accounts

    status, restore = restore_into(connection.product, backup, admin)
    assert status == "COMPLETE", restore.failure_reason
    after = without_personal(confluence_site.snapshot())
    for key in before:
        assert after.get(key) == before[key], key
    assert after == before
    docs = before["DOCS"]
    assert docs["homepage"] == "Documentation Home"
    statuses = {(c["kind"], c["status"]) for c in docs["content"]}
    assert statuses == {
        ("page", "current"),
        ("page", "archived"),
        ("page", "trashed"),
        ("blogpost", "current"),
        ("blogpost", "trashed"),
    }
    assert before["OPS"]["status"] == "archived"
    assert restore.report["restored"] == {
        "spaces": 3,
        "pages": 11,
        "comments": 3,
        "attachments": 3,
    }
    assert restore.report["skipped"] == {"spaces": 1, "pages": 1}
    assert f"Personal space {PERSONAL} (Site Admin): left out." in restore.report["not_restored"]
    assert "1 inline comment(s) restored as footer comments." in restore.report["not_restored"]


def test_spaces_whose_key_the_site_has_are_skipped_and_left_untouched(confluence_site, connected):  # noqa: F811
    """R6: two of the keys exist on the destination: those two are skipped (and reported),
    the rest restored, and the existing two are exactly as they were."""
    connection, admin = connected
    seed_site(confluence_site)
    before = without_personal(confluence_site.snapshot())
    backup = run_backup_of(connection.product, admin, include_personal_spaces=False)
    confluence_site.wipe()
    docs = confluence_site.add_space("DOCS", "Their own docs")
    confluence_site.add_page(docs, "Kept", "<p>not ours</p>")
    confluence_site.add_space("TEAM", "Their team")
    theirs = without_personal(confluence_site.snapshot())

    status, restore = restore_into(connection.product, backup, admin)
    assert status == "COMPLETE", restore.failure_reason
    after = without_personal(confluence_site.snapshot())
    assert sorted(after) == ["DOCS", "OPS", "TEAM"]
    assert after["DOCS"] == theirs["DOCS"] and after["TEAM"] == theirs["TEAM"]
    assert after["OPS"] == before["OPS"]
    assert restore.report["skipped_space_keys"] == ["DOCS", "TEAM"]
    assert restore.report["restored"]["spaces"] == 1


def test_a_space_made_after_the_review_is_skipped_when_writing(confluence_site, connected):  # noqa: F811
    """C7: the destination's keys are read again just before writing."""
    connection, admin = connected
    seed_site(confluence_site)
    backup = run_backup_of(connection.product, admin, include_personal_spaces=False)
    confluence_site.wipe()
    restore = restore_request(backup=backup, destination=connection.product, actor=admin)
    confluence_site.add_space("OPS", "Made meanwhile")
    assert restore_execute(restore_id=restore.pk) == "COMPLETE"
    restore.refresh_from_db()
    assert restore.report["skipped_space_keys"] == ["OPS"]
    assert confluence_site.snapshot()["spaces"]["OPS"]["name"] == "Made meanwhile"


def test_site_to_embedded_and_back_is_equal(confluence_site, connected):  # noqa: F811
    """C6 both ways: the site's backup into an embedded product, that product's backup into
    the emptied site: the same spaces, tree, bodies, statuses, comments and files."""
    connection, admin = connected
    seed_site(confluence_site)
    before = without_personal(confluence_site.snapshot())
    first = run_backup_of(connection.product, admin)
    embedded = Product.objects.create(
        organization=connection.product.organization, kind="confluence", name="Embedded wiki"
    )
    assert restore_into(embedded, first, admin)[0] == "COMPLETE"
    assert Space.objects.filter(product=embedded).count() == 4
    second = run_backup_of(embedded, admin)
    confluence_site.wipe()

    status, restore = restore_into(connection.product, second, admin)
    assert status == "COMPLETE", restore.failure_reason
    assert without_personal(confluence_site.snapshot()) == before


def test_a_restore_that_fails_halfway_removes_the_spaces_it_created(confluence_site, connected):  # noqa: F811
    connection, admin = connected
    seed_site(confluence_site)
    backup = run_backup_of(connection.product, admin)
    confluence_site.wipe()
    confluence_site.add_space("TEAM", "Theirs, kept")
    confluence_site.fail("POST", r"/child/attachment$", "400", times=1)
    status, restore = restore_into(connection.product, backup, admin)
    assert status == "FAILED"
    assert "HTTP 400" in restore.failure_reason
    assert sorted(confluence_site.snapshot()["spaces"]) == ["TEAM"]


def test_an_attachment_altered_in_the_backup_stops_the_restore(
    confluence_site,
    connected,  # noqa: F811
):
    connection, admin = connected
    seed_site(confluence_site)
    backup = run_backup_of(connection.product, admin)
    alter_stored_attachment(backup)
    confluence_site.wipe()
    status, restore = restore_into(connection.product, backup, admin)
    assert status == "FAILED"
    assert "does not match its checksum" in restore.failure_reason
    assert confluence_site.snapshot()["spaces"] == {}


def test_the_review_and_the_report_say_what_the_api_cannot_set(confluence_site, connected, client):  # noqa: F811
    """C6: listed on the review page before the restore starts, and in its report; the
    review names the spaces that will be skipped (R6), asked of the site."""
    connection, admin = connected
    seed_site(confluence_site)
    backup = run_backup_of(connection.product, admin)
    confluence_site.wipe()
    confluence_site.add_space("TEAM", "Theirs")
    client.force_login(admin)
    org = connection.product.organization.slug
    review = client.get(
        reverse("restore_review", args=[org]),
        {"backup": backup.pk, "destination": connection.product.pk, "attachments": "1"},
    )
    text = review.content.decode()
    assert "is a connected site:" in text
    assert "Personal spaces: the API cannot create a person&#x27;s personal space" in text
    assert "TEAM" in text
    status, restore = restore_into(connection.product, backup, admin)
    assert status == "COMPLETE", restore.failure_reason
    page = client.get(reverse("restore_detail", args=[org, restore.pk])).content.decode()
    assert "Not set by the site&#x27;s API" in page or "Not set by the site's API" in page
    assert "Inline comments: restored as footer comments" in page

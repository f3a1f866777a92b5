"""A connected Confluence Cloud site for the contract tests: its content, the connection
fixture, and what the restore tests compare (#13 item 17: no test module imports from another)."""

import pytest

from backups.services.connections import SiteDetails, connection_create
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN


def seed_site(site) -> dict[str, bytes]:
    """Four spaces: DOCS (a tree three deep, a blog post, an archived and a trashed page,
    labels, comments of both kinds, attachments), OPS (archived), a personal space, and TEAM
    (plain). Returns the attachments' bytes by file name."""
    docs = site.add_space("DOCS", "Documentation")
    home = site.pages[docs.homepage_id]
    guide = site.add_page(docs, "Guide", "<p>How to use it</p>", parent=home, labels=["howto"])
    install = site.add_page(docs, "Install", "<p>Step <b>one</b></p>", parent=guide)
    site.add_page(docs, "Linux", "<p>apt-get install</p>", parent=install, version=4)
    site.add_page(docs, "Old notes", "<p>2019</p>", status="archived")
    site.add_page(docs, "Draft gone wrong", "<p>oops</p>", parent=guide, status="trashed")
    post = site.add_blogpost(docs, "Release 2.0", "<p>It is out</p>", labels=["release"])
    site.add_blogpost(docs, "Withdrawn post", "<p>never mind</p>", status="trashed")
    site.add_comment(guide, "<p>Very clear, thanks</p>")
    site.add_comment(guide, "<p>typo here</p>", inline=True)
    site.add_comment(post, "<p>Congratulations</p>")
    ops = site.add_space("OPS", "Operations", status="archived")
    site.add_page(ops, "Runbook", "<p>restart it</p>", parent=site.pages[ops.homepage_id])
    site.add_space("~5b10ac8d82e05b22cc7d4ef5", "Site Admin", type="personal")
    site.add_space("TEAM", "Team")
    files = {
        "diagram.png": bytes(range(256)) * 1024,
        "notes.txt": b"line of notes\n" * 500,
        "release.pdf": b"%PDF-1.4 release notes" * 300,
    }
    site.add_attachment(guide, "diagram.png", files["diagram.png"], "image/png")
    site.add_attachment(install, "notes.txt", files["notes.txt"], "text/plain")
    site.add_attachment(post, "release.pdf", files["release.pdf"], "application/pdf")
    return files


def connect(site, org, admin, name="Initech Confluence Cloud"):
    connection = connection_create(
        organization=org,
        actor=admin,
        details=SiteDetails("confluence", name, site.wiki_url, ADMIN_EMAIL, ADMIN_TOKEN),
    )
    assert connection.check_ok, connection.check_message
    return connection


@pytest.fixture
def connected(confluence_site, make_org):
    org, admin = make_org("initech")
    return connect(confluence_site, org, admin), admin


def restore_into(product, backup, admin):
    restore = restore_request(backup=backup, destination=product, actor=admin)
    status = restore_execute(restore_id=restore.pk)
    restore.refresh_from_db()
    return status, restore


def without_personal(snapshot: dict) -> dict:
    """A site's content but its personal spaces (the API cannot create them: C6)."""
    return {k: v for k, v in snapshot["spaces"].items() if not k.startswith("~")}

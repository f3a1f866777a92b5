"""`make run`'s local test site (#11 item 7): the demo's connected product and the site it
points at agree, so a newcomer's first "Check now" says "Connected as …"."""

import pytest
from django.core.management import call_command

from backups import credentials
from backups.connectors.http import SiteHTTP
from backups.connectors.jira import JiraCloud
from backups.demo import LOCAL_CONFLUENCE_PRODUCT, LOCAL_SITE_PRODUCT, seed_demo
from backups.devsite import confluence_demo, local_site
from backups.devsite.confluence_site import ConfluenceSite
from backups.devsite.jira_site import JiraSite
from backups.devsite.serve import seed
from backups.models import BackupPolicy, Product, SiteConnection
from backups.services.connections import connection_check
from tests.services.helpers import read_rows, run_backup_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def served():
    """The local test site's content and accounts, on a free port (8001 may be in use)."""
    site = JiraSite()
    seed(site)
    site.start()
    yield site
    site.stop()
    assert site.violations == [], "schema violations:\n" + "\n".join(site.violations)


def test_seed_demo_connects_the_local_test_site_once(db):
    seed_demo(with_local_site=True)
    seed_demo(with_local_site=True)  # idempotent

    connection = SiteConnection.objects.select_related("product__organization").get(
        product__kind="jira"
    )
    assert connection.product.name == LOCAL_SITE_PRODUCT
    assert connection.product.organization.slug == "acme"
    assert connection.product.kind == "jira"
    assert connection.site_url == connection.product.url == "http://127.0.0.1:8001"
    assert connection.email == local_site.ADMIN_EMAIL
    # C2: encrypted with the configured keys, as the service does.
    assert local_site.ADMIN_TOKEN not in connection.token_encrypted
    assert credentials.decrypt(connection.token_encrypted) == local_site.ADMIN_TOKEN
    assert connection.checked_at is None and not connection.check_ok
    assert connection.created_by.username == "alice"
    # Like the other demo products, its policy is the org admin's to create.
    assert not BackupPolicy.objects.filter(product=connection.product).exists()


def test_seed_demo_connects_the_local_confluence_site_too(db):
    seed_demo(with_local_site=True)
    seed_demo(with_local_site=True)  # idempotent

    connection = SiteConnection.objects.get(product__kind="confluence")
    assert connection.product.name == LOCAL_CONFLUENCE_PRODUCT
    assert connection.product.organization.slug == "acme"
    assert connection.site_url == connection.product.url == "http://127.0.0.1:8002/wiki"
    assert credentials.decrypt(connection.token_encrypted) == local_site.ADMIN_TOKEN
    assert not BackupPolicy.objects.filter(product=connection.product).exists()


def test_the_seed_demo_command_adds_it_on_a_development_server(db, settings):
    settings.DEBUG = True  # as `make run` (the command refuses to run without it)
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Product.objects.filter(name=LOCAL_SITE_PRODUCT, connection__isnull=False).exists()


def test_the_test_suites_demo_has_no_local_site(demo):
    products = Product.objects.filter(name__in=[LOCAL_SITE_PRODUCT, LOCAL_CONFLUENCE_PRODUCT])
    assert not products.exists()


def test_the_first_check_of_the_demo_connection_says_connected(db, served):
    seed_demo(with_local_site=True)
    connection = SiteConnection.objects.get(product__kind="jira")
    # The same site and account, on this test's port instead of 8001.
    SiteConnection.objects.filter(pk=connection.pk).update(site_url=served.url)
    connection.refresh_from_db()

    result = connection_check(connection=connection)

    assert result.ok
    assert connection.check_message == (
        f"Connected as {local_site.ADMIN_NAME}, an administrator of the site."
    )


def test_the_member_account_is_refused_as_not_a_site_admin(served):
    http = SiteHTTP(served.url, email=local_site.MEMBER_EMAIL, token=local_site.MEMBER_TOKEN)
    with http:
        result = JiraCloud(http).check_connection()
    assert not result.ok
    assert result.message.startswith(
        f"The account {local_site.MEMBER_NAME} can sign in, but it does not administer this "
        "Jira site"
    )


def test_the_demo_content_reads_back_through_the_client(served):
    http = SiteHTTP(served.url, email=local_site.ADMIN_EMAIL, token=local_site.ADMIN_TOKEN)
    with http:
        jira = JiraCloud(http)
        projects = {p["key"]: p for p in jira.projects()}
        issues = {key: list(jira.issues(key)) for key in projects}
        shop = issues["SHOP"]
        comments = sum(len(list(jira.comments(i["key"]))) for i in shop)
        attachment = next(a for i in shop for a in i["fields"]["attachment"])
        content = b"".join(jira.attachment_chunks(attachment["id"]))

    # Live, archived and in the trash (C4).
    assert {k: (p["archived"], p["deleted"]) for k, p in projects.items()} == {
        "SHOP": (False, False),
        "SUP": (False, False),
        "MOB": (True, False),
        "LEGACY": (False, True),
    }
    assert sum(len(v) for v in issues.values()) == 30
    # SHOP-7 and SHOP-8 were deleted: a gap a restore must keep.
    assert [i["key"] for i in shop] == [f"SHOP-{n}" for n in (1, 2, 3, 4, 5, 6, *range(9, 15))]
    description = shop[0]["fields"]["description"]
    assert description["type"] == "doc" and description["version"] == 1
    assert comments > 0
    assert len(content) == attachment["size"]
    # Downloaded through the media host's redirect, as from Jira Cloud.
    assert content == served.state.files[attachment["id"]]


@pytest.fixture
def served_confluence():
    """The local test Confluence site's content and accounts, on a free port."""
    site = ConfluenceSite()
    confluence_demo.seed(site)
    site.start()
    yield site
    site.stop()
    assert site.violations == [], "schema violations:\n" + "\n".join(site.violations)


def test_the_demo_confluence_connection_checks_and_backs_up_the_local_site(db, served_confluence):
    """A newcomer's Check now and Run backup on the demo's connected Confluence (#12): the
    whole local site, every space and status, COMPLETE."""
    seed_demo(with_local_site=True)
    connection = SiteConnection.objects.get(product__kind="confluence")
    SiteConnection.objects.filter(pk=connection.pk).update(site_url=served_confluence.wiki_url)
    connection.refresh_from_db()

    result = connection_check(connection=connection)
    assert result.ok, result.message
    assert connection.check_message == (
        f"Connected as {local_site.ADMIN_NAME}, a Confluence administrator."
    )
    backup = run_backup_of(connection.product, connection.created_by)
    assert backup.status == "COMPLETE", backup.failure_reason or backup.missing
    spaces = {s["key"]: s for s in read_rows(backup, "spaces")}
    assert spaces.keys() == {s.key for s in served_confluence.spaces.values()}
    states = {p["state"] for p in read_rows(backup, "pages")}
    assert states == {"active", "archived", "trashed"}
    assert len(read_rows(backup, "pages")) == len(served_confluence.pages)

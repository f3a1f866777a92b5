"""The Products table says where each product lives (#11 item 1, SPEC §8, C1): embedded, or a
connected site with its last check in plain words and its actions; a connected site's counts
come from its last backup, never from calling the site on a page view."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backups import credentials
from backups.demo import (
    LOCAL_CONFLUENCE_PRODUCT,
    LOCAL_SITE_PRODUCT,
    seed_local_site_connection,
)
from backups.devsite import local_site
from backups.models import Product, SiteConnection
from backups.services.connections import SiteDetails, connection_create, connection_disconnect
from tests.contract.conftest import ADMIN_EMAIL, ADMIN_TOKEN, jira_site  # noqa: F401 - fixture
from tests.views.helpers import ORG_URL, text
from tests.views.helpers import row_text as page_row_text

pytestmark = pytest.mark.django_db

LOCAL_NOTE = (
    "Local test site: the Jira Cloud stand-in that make run starts on this machine, not a real "
    "Atlassian site."
)
DISCONNECT_STEP = (
    "Disconnect… The API token is deleted. {name} and its backups stay, and the backups can "
    "still be restored; backing the site up again needs a token again. Disconnect and delete "
    "the token"
)


def actions(name: str) -> str:
    return "Check now Edit connection " + DISCONNECT_STEP.format(name=name)


def connect(demo, site, *, name="Acme Jira Cloud", token=ADMIN_TOKEN) -> SiteConnection:
    return connection_create(
        organization=demo.acme,
        actor=demo.alice,
        details=SiteDetails(
            kind="jira", name=name, site_url=site.url, email=ADMIN_EMAIL, token=token
        ),
    )


def checked(connection) -> str:
    # The time is a <time> element: `text` leaves a space where its tag was.
    return f"{connection.checked_at.astimezone(UTC):%-d %b %Y, %H:%M} UTC ."


@pytest.fixture
def alice(client, demo):
    client.force_login(demo.alice)
    return client


def row_text(page: bytes, product_name: str) -> str:
    """The text of the product's row in the Products table (the policies table names it too)."""
    start = page.index(b'<section class="section" id="products"')
    return page_row_text(page[start : page.index(b"</section>", start)], product_name)


def org_page(client) -> bytes:
    response = client.get(ORG_URL.format("acme"))
    assert response.status_code == 200
    return response.content


def test_embedded_products_say_embedded(alice, demo):
    page = org_page(alice)
    assert row_text(page, "Acme Jira").startswith(f"Acme Jira Jira Embedded {demo.jira.url} ")
    assert row_text(page, "Acme Confluence sandbox").startswith(
        f"Acme Confluence sandbox Confluence Embedded {demo.confluence_sandbox.url} Empty As of "
    )
    assert "Products Product Kind Home Content" in text(page)


@pytest.fixture
def local_test_site(demo):
    """The demo's connected product of `make run` (seed_demo adds it on a development server)."""
    return seed_local_site_connection(demo.acme, demo.alice)


def test_the_demo_local_test_site_is_labelled_and_not_checked_yet(alice, local_test_site):
    assert row_text(org_page(alice), LOCAL_SITE_PRODUCT) == (
        f"{LOCAL_SITE_PRODUCT} Jira Connected site: {local_site.URL} {LOCAL_NOTE} "
        f"Not checked yet: Check now to see whether it works. {actions(LOCAL_SITE_PRODUCT)} "
        "Not backed up yet"
    )


def test_the_demo_local_confluence_site_is_labelled_as_a_confluence_stand_in(alice, demo):
    seed_local_site_connection(demo.acme, demo.alice, kind="confluence")
    assert row_text(org_page(alice), LOCAL_CONFLUENCE_PRODUCT) == (
        f"{LOCAL_CONFLUENCE_PRODUCT} Confluence Connected site: {local_site.CONFLUENCE_URL} "
        f"{LOCAL_NOTE.replace('Jira', 'Confluence')} "
        "Not checked yet: Check now to see whether it works. "
        f"{actions(LOCAL_CONFLUENCE_PRODUCT)} Not backed up yet"
    )


def test_connect_a_site_is_a_page_action(alice):
    page = org_page(alice).decode()
    url = reverse("connection_new", args=["acme"])
    assert f'<a class="button button--secondary" href="{url}">Connect a site</a>' in page


def test_a_working_connection_says_so_with_when(alice, demo, jira_site):  # noqa: F811
    connection = connect(demo, jira_site)
    page = org_page(alice)
    assert row_text(page, "Acme Jira Cloud") == (
        f"Acme Jira Cloud Jira Connected site: {jira_site.url} {LOCAL_NOTE} "
        "Working: Connected as Site Admin, an administrator of the site. "
        f"Checked {checked(connection)} {actions('Acme Jira Cloud')} Not backed up yet"
    )
    html = page.decode()
    for name in ("connection_check", "connection_disconnect"):
        url = reverse(name, args=["acme", connection.pk])
        assert f'<form method="post" action="{url}"' in html
    assert f'href="{reverse("connection_edit", args=["acme", connection.pk])}"' in html
    # C2: neither the token nor its ciphertext reaches the page.
    assert ADMIN_TOKEN not in html and connection.token_encrypted not in html


def test_a_refused_token_is_shown_in_plain_words(alice, demo, jira_site):  # noqa: F811
    connection = connect(demo, jira_site, token="not-the-token")
    assert row_text(org_page(alice), "Acme Jira Cloud") == (
        f"Acme Jira Cloud Jira Connected site: {jira_site.url} {LOCAL_NOTE} "
        "Not working: The site refused the email and API token (401). Check the email, or "
        "create a new API token and edit the connection. "
        f"Checked {checked(connection)} {actions('Acme Jira Cloud')} Not backed up yet"
    )


def test_a_disconnected_site_says_how_to_connect_it_again(alice, demo, jira_site):  # noqa: F811
    connection = connect(demo, jira_site)
    connection_disconnect(connection=connection, actor=demo.alice)
    row = row_text(org_page(alice), "Acme Jira Cloud")
    assert row == (
        f"Acme Jira Cloud Jira Connected site: {jira_site.url} {LOCAL_NOTE} "
        "Disconnected by alice: the API token was deleted. Edit the connection and enter an API "
        "token to connect it again. Edit connection Not backed up yet"
    )


def test_counts_come_from_the_last_backup_without_calling_the_site(alice, demo, jira_site):  # noqa: F811
    connection = connect(demo, jira_site)
    SiteConnection.objects.filter(pk=connection.pk).update(
        content_summary={
            "kind": "jira",
            "containers_by_state": {"active": 2, "archived": 1, "trashed": 1},
            "items": 30,
            "comments": 41,
            "attachments": 9,
            "attachment_bytes": 20_480,
            "data_bytes": 123_456,
            "personal_spaces": 0,
        },
        summary_at=datetime(2026, 9, 14, 8, 30, tzinfo=UTC),
    )
    calls = len(jira_site.requests)
    row = row_text(org_page(alice), "Acme Jira Cloud")
    assert row.endswith(
        "4 projects (1 archived, 1 in trash) · 30 issues · 41 comments · 9 attachments (20.5 KB) "
        "At the last backup, 14 Sep 2026, 08:30 UTC ."  # a <time> the browser rewrites
    )
    assert len(jira_site.requests) == calls  # the page view asked the site nothing


def test_the_page_costs_the_same_queries_with_more_connected_sites(alice, demo, local_test_site):
    def make(n: int) -> None:
        for i in range(n):
            product = Product.objects.create(
                organization=demo.acme,
                kind="jira",
                name=f"Cloud {i}",
                url=f"http://127.0.0.1:{9000 + i}",
            )
            SiteConnection.objects.create(
                product=product,
                site_url=product.url,
                email="a@example.com",
                token_encrypted=credentials.encrypt("t"),
                check_message="Connected as A, an administrator of the site.",
                check_ok=True,
                checked_at=datetime(2026, 9, 1, tzinfo=UTC),
            )

    def queries() -> int:
        with CaptureQueriesContext(db_connection) as ctx:
            org_page(alice)
        return len(ctx.captured_queries)

    org_page(alice)  # the first view counts the embedded products once and stores it
    make(1)
    one = queries()
    Product.objects.filter(name__startswith="Cloud ").delete()
    make(6)
    assert queries() == one
    assert len(re.findall(r">Check now<", org_page(alice).decode())) == 7  # the demo's + six

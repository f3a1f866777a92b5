"""Connect a site as an org admin clicks it (#11 item 1, SPEC C1, C2), against the contract
server: connect, see it working, check now, a wrong token refused in plain words, disconnect.
And the Products table fits a desktop and a phone with connected sites in it."""

import re

import pytest
from playwright.sync_api import expect

from backups.demo import LOCAL_SITE_PRODUCT, seed_local_site_connection
from backups.models import SiteConnection
from backups.services.connections import SiteDetails, connection_create
from tests.contract.conftest import ADMIN_EMAIL, ADMIN_TOKEN, jira_site  # noqa: F401 - fixture

from .conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.browser

NAME = "Acme Jira Cloud"
WORKING = "Connected as Site Admin, an administrator of the site."
REFUSED = (
    "The site refused the email and API token (401). Check the email, or create a new API "
    "token and edit the connection."
)


def products_row(page, product_name: str):
    return page.locator("table.products tbody tr").filter(
        has=page.get_by_role("rowheader", name=product_name, exact=True)
    )


def test_connect_check_edit_with_a_wrong_token_and_disconnect(
    page,
    live_server,
    demo,
    jira_site,  # noqa: F811 - the fixture imported above
):
    org_url = f"{live_server.url}/orgs/acme/backup-and-restore/"
    login(page, live_server, "alice")
    page.goto(org_url)

    page.get_by_role("link", name="Connect a site").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connect a site")
    page.get_by_label("Jira Cloud").check()
    page.get_by_label("Name in backupsite").fill(NAME)
    page.get_by_label("Site address").fill(jira_site.url)
    page.get_by_label("Account email").fill(ADMIN_EMAIL)
    page.get_by_label("API token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Connect and check").click()

    page.wait_for_url(re.compile(r".*/orgs/acme/backup-and-restore/#products$"))
    expect(page.get_by_role("status")).to_contain_text(f"{NAME}: {WORKING}")
    row = products_row(page, NAME)
    expect(row).to_contain_text(f"Connected site: {jira_site.url}")
    expect(row).to_contain_text(f"Working: {WORKING}")
    expect(row).to_contain_text("Not backed up yet")
    expect(page.get_by_text(ADMIN_TOKEN)).to_have_count(0)
    checks = len(jira_site.requests)

    row.get_by_role("button", name="Check now").click()
    expect(page.get_by_role("status")).to_contain_text(f"{NAME}: {WORKING}")
    expect(products_row(page, NAME)).to_contain_text(
        re.compile(r"Checked \d+ \w+ \d{4}, \d\d:\d\d UTC")
    )
    assert ("GET", "/rest/api/3/myself", 200) in jira_site.requests[checks:]

    products_row(page, NAME).get_by_role("link", name="Edit connection").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit connection")
    expect(page.get_by_label("API token")).to_have_value("")  # never shown back (C2)
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Save and check").click()

    page.wait_for_url(re.compile(r".*#products$"))
    expect(page.get_by_role("status")).to_contain_text(
        f"{NAME} is saved, but it cannot be used yet: {REFUSED}"
    )
    expect(products_row(page, NAME)).to_contain_text(f"Not working: {REFUSED}")

    row = products_row(page, NAME)
    delete = row.get_by_role("button", name="Disconnect and delete the token")
    expect(delete).to_be_hidden()  # a second step: nothing is deleted by one click
    row.get_by_text("Disconnect…").click()
    expect(row).to_contain_text(
        f"The API token is deleted. {NAME} and its backups stay, and the backups can still be "
        "restored; backing the site up again needs a token again."
    )
    delete.click()

    expect(page.get_by_role("status")).to_contain_text(
        f"{NAME} is disconnected: its API token was deleted. Its backups stay and can still be "
        "restored."
    )
    row = products_row(page, NAME)
    expect(row).to_contain_text(
        "Disconnected by alice: the API token was deleted. Edit the connection and enter an API "
        "token to connect it again."
    )
    expect(row.get_by_role("button", name="Check now")).to_have_count(0)
    assert SiteConnection.objects.get(product__name=NAME).token_encrypted == ""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_the_products_table_fits_without_scrolling_sideways(
    page,
    live_server,
    demo,
    jira_site,  # noqa: F811 - the fixture imported above
    viewport,
):
    # The longest words the table holds: a refused token's message and the local site's note.
    seed_local_site_connection(demo.acme, demo.alice)
    connection_create(
        organization=demo.acme,
        actor=demo.alice,
        details=SiteDetails(
            kind="jira",
            name=NAME,
            site_url=jira_site.url,
            email=ADMIN_EMAIL,
            token="not-the-token",
        ),
    )
    page.set_viewport_size(viewport)
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/")
    expect(products_row(page, NAME)).to_contain_text(f"Not working: {REFUSED}")
    expect(products_row(page, LOCAL_SITE_PRODUCT)).to_contain_text("Local test site:")
    products_row(page, NAME).get_by_text("Disconnect…").click()  # the open step fits too

    overflow = page.evaluate(
        """() => {
            const scroller = document.querySelector("table.products").parentElement;
            return {
                page: document.documentElement.scrollWidth - window.innerWidth,
                table: scroller.scrollWidth - scroller.clientWidth,
            };
        }"""
    )
    assert overflow["page"] <= 0 and overflow["table"] <= 0, overflow

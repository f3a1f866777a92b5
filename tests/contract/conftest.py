import pytest

from backups.devsite.confluence_site import ConfluenceSite
from backups.devsite.jira_site import JiraSite

ADMIN_EMAIL = "admin@example.com"
ADMIN_TOKEN = "ATATT3xFfGF0-contract-test-token-0001"  # not a real token: the contract server's


@pytest.fixture
def jira_site():
    """A Jira Cloud site played by the contract server, with one site administrator.

    Every request and response of the test is validated against the API's schemas; a
    violation fails the test at teardown even if the client coped with it.
    """
    site = JiraSite().start()
    site.admin = site.add_account(ADMIN_EMAIL, ADMIN_TOKEN, name="Site Admin")
    yield site
    site.stop()
    assert site.violations == [], "schema violations:\n" + "\n".join(site.violations)


@pytest.fixture
def confluence_site():
    """A Confluence Cloud site played by the contract server, with one site administrator
    (`site.admin`); its address as a person types it is `site.wiki_url`.

    Every request and response of the test is validated against the published v1 and v2
    schemas; a violation fails the test at teardown even if the client coped with it.
    """
    site = ConfluenceSite().start()
    site.admin = site.add_account(ADMIN_EMAIL, ADMIN_TOKEN, name="Site Admin")
    yield site
    site.stop()
    assert site.violations == [], "schema violations:\n" + "\n".join(site.violations)

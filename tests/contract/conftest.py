import pytest

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

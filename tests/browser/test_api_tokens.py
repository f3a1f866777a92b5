"""Alice makes an API token on its page, sees it once, a script uses it, the page shows where
from, and she revokes it: the script is refused with the page's words (SPEC K2, K3; #15)."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.browser


def test_make_a_token_use_it_and_revoke_it(page, live_server, demo):
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("nightly check")
    page.get_by_role("button", name="Make token").click()

    token = page.locator("#api-token").inner_text()
    assert re.fullmatch(r"bks_\w+_\S{20,}", token), token
    prefix = token.split("_")[1]
    page.get_by_role("link", name="Done").click()
    table = page.locator("#api-tokens")
    row = table.locator("tbody tr", has_text="nightly check")
    expect(row).to_contain_text(f"bks_{prefix}_…")
    expect(row).to_contain_text("Never")
    assert token not in page.content()  # shown once, never again

    api = f"{live_server.url}/api/v1/organization/"
    used = httpx.get(api, headers={"Authorization": f"Bearer {token}"})
    assert used.status_code == 200 and used.json()["slug"] == "acme"
    page.reload()
    expect(row).to_contain_text("from 127.0.0.1")

    row.get_by_text("Revoke…").click()
    row.get_by_role("button", name="Revoke token").click()
    expect(table.locator("tbody tr", has_text="nightly check")).to_contain_text("Revoked")
    refused = httpx.get(api, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith("This API token was revoked on ")

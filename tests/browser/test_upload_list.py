"""The upload page's list at 1280 and 390 px (#13 item 2): valid files first, 20 a page with
Newer/Older links, and Cancel upload… as an admin clicks it (a <details> second step, no
script), with no table scrolling sideways, even with the second step open."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from backups.models import Upload

from .conftest import DESKTOP, PHONE, login
from .helpers import shoot

pytestmark = pytest.mark.browser
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

OVERFLOW = """() => {
  const out = [];
  const wide = (el) => el.scrollWidth > el.clientWidth;
  const doc = document.documentElement;
  if (wide(doc)) out.push(`document ${doc.scrollWidth} > ${doc.clientWidth}`);
  for (const box of document.querySelectorAll(".table-scroll")) {
    if (wide(box)) out.push(`table ${box.scrollWidth} > ${box.clientWidth}`);
  }
  return out;
}"""


@pytest.fixture
def uploads(demo):
    """25 uploads of Acme: the oldest is valid, 24 abandoned "Uploading 0%" after it."""
    rows = []
    for n in range(1, 26):
        valid = n == 1
        rows.append(
            Upload(
                organization=demo.acme,
                created_by=demo.alice,
                file_name=f"acme-jira-{n:02}.zip",
                declared_size=44_214,
                received_bytes=44_214 if valid else 0,
                storage_name=f"uploads/{demo.acme.pk}/x{n}/acme-jira-{n:02}.zip",
                status=Upload.Status.VALID if valid else Upload.Status.RECEIVING,
                manifest={"taken_at": "2026-11-01T08:00:00+00:00"} if valid else None,
                created_at=T0 + timedelta(hours=n),
                updated_at=T0 + timedelta(hours=n),
            )
        )
    Upload.objects.bulk_create(rows)
    return demo


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_the_list_pages_and_an_unfinished_upload_is_cancelled(page, live_server, uploads, viewport):
    page.set_viewport_size(viewport)
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/orgs/acme/backup-and-restore/uploads/new/")
    section = page.locator("#uploads")
    expect(section).to_contain_text("Uploads 1–20 of 25. Valid files first")
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text("acme-jira-01.zip")
    expect(rows.first).to_contain_text("Valid")
    assert page.evaluate(OVERFLOW) == []

    # The newest abandoned upload: open its second step, which must fit too, then confirm.
    row = section.locator("tr", has_text="acme-jira-25.zip")
    confirm = row.get_by_role("button", name="Cancel and delete what was received")
    expect(confirm).to_be_hidden()
    row.locator("summary").click()
    expect(row).to_contain_text("The 0 bytes received so far (0%) are deleted")
    assert page.evaluate(OVERFLOW) == []
    shoot(page, f"upload-list-cancel-{viewport['width']}")
    confirm.click()
    expect(page.locator(".messages")).to_contain_text(
        "The upload of acme-jira-25.zip is cancelled: the 0 bytes received were deleted."
    )
    row = page.locator("#uploads tr", has_text="acme-jira-25.zip")
    expect(row).to_contain_text("Deleted")
    expect(row).to_contain_text("Cancelled by alice before it was complete")
    expect(row.locator("summary")).to_have_count(0)

    # Older, without script, to the last 5.
    page.get_by_role("link", name="Older").click()
    expect(page.locator("#uploads")).to_contain_text("Uploads 21–25 of 25")
    expect(page.locator("#uploads tbody tr")).to_have_count(5)
    assert page.evaluate(OVERFLOW) == []
    assert Upload.objects.get(file_name="acme-jira-25.zip").status == Upload.Status.DELETED

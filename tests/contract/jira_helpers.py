"""A connected Jira Cloud site for the contract tests: its content, the connection fixture, and
what the restore tests compare (#13 item 17: no test module imports from another)."""

import pytest

from backups.services.connections import SiteDetails, connection_create
from backups.services.restore_engine import restore_execute
from backups.services.restores import restore_request

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN


def adf(text: str) -> dict:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def seed_site(site) -> dict[str, bytes]:
    """Three projects (live, archived, in the trash), issues with a gap in their numbering,
    custom fields, 25 comments on one issue (more than Jira puts inline), attachments."""
    admin = site.admin
    site.add_project("ACME", "Acme", lead=admin)
    site.add_project("OLD", "Old work", state="archived", lead=admin)
    site.add_project("GONE", "Gone", state="deleted", lead=admin)
    for n in (1, 2, 3, 5, 8):  # 4, 6 and 7 were deleted on the site
        site.add_issue(
            "ACME",
            {
                "summary": f"Acme issue {n}",
                "description": adf(f"Steps for {n}"),
                "labels": ["backup", f"n{n}"],
                "customfield_10010": {"value": f"team-{n % 2}"},
                "issuelinks": [],
            },
            number=n,
        )
    site.add_issue(
        "OLD", {"summary": "Archived work", "priority": {"name": "Low"}, "status": {"name": "Done"}}
    )
    site.add_issue("GONE", {"summary": "In the trash"})
    site.state.issues["ACME-3"]["fields"]["status"] = {"name": "In Progress"}
    site.add_link("Blocks", "ACME-1", "ACME-2")
    site.add_link("Relates", "ACME-5", "OLD-1")
    for n in range(25):
        site.add_comment("ACME-2", adf(f"comment {n}"), admin)
    site.add_comment("OLD-1", adf("old comment"), admin)
    files = {
        "ACME-1": b"first attachment\n" * 1000,
        "ACME-5": bytes(range(256)) * 2048,
    }
    for key, content in files.items():
        site.add_attachment(key, f"{key}.bin", content, admin)
    return files


@pytest.fixture
def connected(jira_site, make_org):
    org, admin = make_org("initech")
    connection = connection_create(
        organization=org,
        actor=admin,
        details=SiteDetails("jira", "Initech Jira Cloud", jira_site.url, ADMIN_EMAIL, ADMIN_TOKEN),
    )
    assert connection.check_ok, connection.check_message
    return connection, admin


def projection(snapshot: dict) -> dict:
    """What a restore through the public API can bring back, issue by issue."""
    return {
        "projects": snapshot["projects"],
        "issues": {
            key: {
                "summary": issue["fields"]["summary"],
                "description": issue["fields"].get("description"),
                "labels": issue["fields"].get("labels") or [],
                "status": issue["fields"]["status"]["name"],
                "priority": issue["fields"]["priority"]["name"],
                "links": sorted(
                    (
                        link["type"]["name"],
                        "outward" if "outwardIssue" in link else "inward",
                        (link.get("outwardIssue") or link.get("inwardIssue"))["key"],
                    )
                    for link in issue["fields"].get("issuelinks") or []
                ),
                "comments": issue["comments"],
                "attachments": issue["attachments"],
            }
            for key, issue in snapshot["issues"].items()
        },
    }


def restore_into(connection, backup, admin):
    restore = restore_request(backup=backup, destination=connection.product, actor=admin)
    status = restore_execute(restore_id=restore.pk)
    restore.refresh_from_db()
    return status, restore

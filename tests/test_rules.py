"""backups.rules, without a database: each rule by id, at its boundaries."""

from datetime import UTC, datetime, timedelta

import pytest

from backups import rules
from backups.rules import ProductActivity

GB = 1000**3
NOW = datetime(2026, 11, 25, 14, 5, 30, tzinfo=UTC)
LIMITS = {
    "jira": {"data": 40 * GB, "attachments": 500 * GB},
    "confluence": {"data": 30 * GB, "attachments": 800 * GB},
}


def decide(now=NOW, **overrides):
    args = {
        "is_org_admin": True,
        "enrolled": True,
        "product_name": "Acme Jira",
        "kind": "jira",
        "activity": ProductActivity(),
        "data_bytes": 10 * GB,
        "attachment_bytes": 100 * GB,
        "limits": LIMITS,
        "now": now,
    }
    args.update(overrides)
    return rules.backup_allowed(**args)


def test_b3_first_backup_is_allowed_at_any_time():
    assert decide().allowed


def test_b3_one_second_before_the_mark_is_refused_with_the_exact_time():
    done = NOW - timedelta(days=7) + timedelta(seconds=1)
    d = decide(activity=ProductActivity(last_complete_at=done))
    assert not d.allowed
    assert d.not_before == done + timedelta(days=7) == NOW + timedelta(seconds=1)
    assert d.reason == (
        "The next backup can run after 25 Nov 2026, 14:05 UTC — 7 days after the last "
        "complete backup."
    )


def test_b3_at_the_mark_it_is_allowed():
    d = decide(activity=ProductActivity(last_complete_at=NOW - timedelta(days=7)))
    assert d.allowed and d.not_before is None


def test_b3_wait_is_shown_in_utc_whatever_the_input_zone():
    from zoneinfo import ZoneInfo

    done = datetime(2026, 11, 25, 15, 5, tzinfo=ZoneInfo("Europe/Paris"))  # 14:05 UTC
    d = decide(now=done, activity=ProductActivity(last_complete_at=done))
    assert "2 Dec 2026, 14:05 UTC" in d.reason


@pytest.mark.parametrize(
    "activity, reason",
    [
        (
            ProductActivity(backup_in_progress=True),
            "A backup of Acme Jira is already in progress.",
        ),
        (
            ProductActivity(restore_in_progress=True),
            "A restore into Acme Jira is in progress; a backup can run once it has ended.",
        ),
    ],
    ids=["B4-backup-running", "B4-restore-running"],
)
def test_b4_nothing_runs_beside_a_job_on_the_product(activity, reason):
    d = decide(activity=activity)
    assert (d.allowed, d.reason, d.not_before) == (False, reason, None)


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"is_org_admin": False}, "Only org admins can run backups."),
        (
            {"enrolled": False},
            "Backup and restore is in early access and this organization is not enrolled yet.",
        ),
    ],
    ids=["B1-member", "B1-not-enrolled"],
)
def test_b1_only_an_org_admin_of_an_enrolled_org(overrides, reason):
    d = decide(**overrides)
    assert (d.allowed, d.reason) == (False, reason)


@pytest.mark.parametrize(
    "kind, data, files, reason",
    [
        ("jira", 40 * GB, 500 * GB, None),
        (
            "jira",
            40 * GB + 1,
            0,
            "Acme Jira holds 40 GB of data; a Jira backup can hold at most 40 GB of data.",
        ),
        (
            "jira",
            40_500_000_000,
            0,
            "Acme Jira holds 40.5 GB of data; a Jira backup can hold at most 40 GB of data.",
        ),
        (
            "jira",
            0,
            512 * GB,
            "Acme Jira holds 512 GB of attachments; a Jira backup can hold at most 500 GB of "
            "attachments.",
        ),
        ("confluence", 30 * GB, 800 * GB, None),
        (
            "confluence",
            31 * GB,
            0,
            "Acme Jira holds 31 GB of data; a Confluence backup can hold at most 30 GB of data.",
        ),
    ],
)
def test_b6_size_limits_refuse_with_the_sizes(kind, data, files, reason):
    d = decide(kind=kind, data_bytes=data, attachment_bytes=files)
    assert d.allowed is (reason is None)
    assert d.reason == (reason or "")


def test_b6_limit_refusal_comes_after_the_wait():
    d = decide(
        data_bytes=50 * GB, activity=ProductActivity(last_complete_at=NOW - timedelta(days=1))
    )
    assert d.not_before is not None


@pytest.mark.parametrize(
    "n, text",
    [(0, "0 bytes"), (999, "999 bytes"), (1000, "1 KB"), (43_214, "43.2 KB"), (40 * GB, "40 GB")],
)
def test_human_bytes(n, text):
    assert rules.human_bytes(n) == text

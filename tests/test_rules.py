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


# --- D1-D5: backup files and downloads ---------------------------------------------------------

TAKEN = NOW - timedelta(days=1)


@pytest.mark.parametrize(
    "status, started, size, reason",
    [
        ("COMPLETE", TAKEN, 10, None),
        ("INCOMPLETE", TAKEN, 10, None),
        ("IN_PROGRESS", TAKEN, 10, "The backup is still running."),
        ("FAILED", TAKEN, 10, "The backup failed: it has no data to use."),
        (
            "EXPIRED",
            TAKEN,
            10,
            "The backup expired on 8 Dec 2026, 14:05 UTC (14 days after it was taken); "
            "its stored data was deleted.",
        ),
        # Not yet marked EXPIRED by cron, but past 14 days: the same answer, to the second.
        ("COMPLETE", NOW - timedelta(days=14), 10, "The backup expired on 25 Nov 2026, 14:05 UTC"),
        ("COMPLETE", NOW - timedelta(days=14) + timedelta(seconds=1), 10, None),
        (
            "COMPLETE",
            TAKEN,
            51 * GB,
            "This backup is 51 GB; a backup file can be at most 50 GB (the local download "
            "limit), so it can only be restored from the service's storage.",
        ),
    ],
)
def test_d1_d2_backup_file_allowed(status, started, size, reason):
    d = rules.backup_file_allowed(
        status=status, started_at=started, total_bytes=size, limit=50 * GB, now=NOW
    )
    assert d.allowed is (reason is None)
    assert d.reason.startswith(reason or "")


@pytest.mark.parametrize(
    "file_status, used, reason",
    [
        ("READY", 0, None),
        ("READY", 2, None),
        (
            "READY",
            3,
            "This backup has been downloaded 3 times, the most allowed. Run a new backup to "
            "download its file.",
        ),
        ("GENERATING", 0, "The backup file is not ready yet."),
    ],
)
def test_d3_download_allowed(file_status, used, reason):
    d = rules.download_allowed(
        file_status=file_status, downloads_used=used, status="COMPLETE", started_at=TAKEN, now=NOW
    )
    assert (d.allowed, d.reason) == (reason is None, reason or "")


# --- D4, D6: download links ------------------------------------------------------------------

MiB = 1024 * 1024
USED = "This download link has already delivered its copy of the backup file."
SPENT = (
    "This download link has already sent as many bytes as one copy of the backup file, so it "
    "cannot send this part again."
)


@pytest.mark.parametrize(
    "size, budget",
    [
        # Small files: the slack is half the file, never enough for a second copy.
        (1, 1),
        (10_000, 15_000),
        (31 * MiB, 31 * MiB + 31 * MiB // 2),
        # From 32 MiB the 16 MiB floor, then 2 % of the file (past 800 MiB).
        (32 * MiB, 48 * MiB),
        (800 * MiB, 816 * MiB),
        (50 * GB, 50 * GB + GB),
    ],
)
def test_d6_a_link_sends_one_copy_plus_a_slack_below_a_second_copy(size, budget):
    assert rules.download_link_budget(size) == budget
    assert budget < 2 * size or size == 1


@pytest.mark.parametrize(
    "completed, served, wanted, reason",
    [
        (False, 0, 100, None),
        (False, 40, 110, None),  # a resume that repeats 40 bytes fits the slack of 50
        (False, 40, 111, SPENT),
        (False, 150, 1, SPENT),
        (False, 150, 0, None),
        (True, 100, 1, USED),
        (True, 100, 0, USED),
    ],
)
def test_d6_a_link_serves_within_its_budget_until_its_copy_is_delivered(
    completed, served, wanted, reason
):
    d = rules.download_link_has_copy_left(
        completed=completed, bytes_served=served, budget=150, wanted=wanted
    )
    assert (d.allowed, d.reason) == (reason is None, reason or "")


def test_d4_a_link_is_valid_until_its_minutes_are_over():
    expires = NOW + timedelta(minutes=10)
    assert rules.download_link_valid(expires_at=expires, link_minutes=10, now=NOW)
    assert rules.download_link_valid(
        expires_at=expires, link_minutes=10, now=expires - timedelta(microseconds=1)
    )
    d = rules.download_link_valid(expires_at=expires, link_minutes=10, now=expires)
    assert (d.allowed, d.reason) == (
        False,
        "This download link has expired. Links are valid for 10 minutes: go back to the backup "
        "and download again.",
    )


# --- R1-R6: restores ------------------------------------------------------------------------------


def source(**kw):
    args = {
        "backup_id": 1,
        "status": "COMPLETE",
        "kind": "jira",
        "organization_id": 7,
        "taken_at": TAKEN,
        "from_file": False,
    }
    args.update(kw)
    return rules.RestoreSourceFacts(**args)


def destination(**kw):
    args = {
        "product_name": "ACME Jira sandbox",
        "kind": "jira",
        "organization_id": 7,
        "activity": ProductActivity(),
        "containers_by_state": {},
        "items": 0,
    }
    args.update(kw)
    return rules.RestoreDestination(**args)


def restore_decision(src=None, dst=None, last=None, now=NOW):
    return rules.restore_allowed(
        source=src or source(),
        destination=dst or destination(),
        last_restore_started_at=last,
        now=now,
    )


@pytest.mark.parametrize(
    "src, dst, last, reason",
    [
        # R2: COMPLETE and INCOMPLETE are restorable; FAILED, IN_PROGRESS and EXPIRED are not.
        (source(), destination(), None, None),
        (source(status="INCOMPLETE"), destination(), None, None),
        (source(status="FAILED"), destination(), None, "A failed backup cannot be restored."),
        (source(status="IN_PROGRESS"), destination(), None, "The backup is still running"),
        (source(status="EXPIRED"), destination(), None, "The backup expired on"),
        # R3: from storage until 14 days after it was taken, to the second.
        (source(taken_at=NOW - timedelta(days=14)), destination(), None, "The backup expired on"),
        (source(taken_at=NOW - timedelta(days=14, seconds=-1)), destination(), None, None),
        # R4: from a file until 60 days after it was taken.
        (source(taken_at=NOW - timedelta(days=60), from_file=True), destination(), None, None),
        (
            source(taken_at=NOW - timedelta(days=60, seconds=1), from_file=True),
            destination(),
            None,
            "The backup was taken more than 60 days ago",
        ),
        # R5: once in 7 days, counted from the start of the last restore that did not fail.
        (
            source(),
            destination(),
            NOW - timedelta(days=7) + timedelta(seconds=1),
            "This backup was restored on",
        ),
        (source(), destination(), NOW - timedelta(days=7), None),
        # R1: same organization, same kind.
        (
            source(),
            destination(organization_id=8),
            None,
            "A backup can only be restored into a product of its own organization.",
        ),
        (
            source(),
            destination(kind="confluence", product_name="Wiki"),
            None,
            "Wiki is a Confluence site; this is a Jira backup.",
        ),
        # R6: the destination is idle, and a Jira destination is empty in every state.
        (
            source(),
            destination(activity=ProductActivity(backup_in_progress=True)),
            None,
            "A backup of ACME Jira sandbox is in progress",
        ),
        (
            source(),
            destination(activity=ProductActivity(restore_in_progress=True)),
            None,
            "A restore into ACME Jira sandbox is already in progress.",
        ),
        (
            source(),
            destination(containers_by_state={"active": 1, "archived": 1}, items=14),
            None,
            "ACME Jira sandbox has 2 projects (1 archived) and 14 issues. A Jira backup can only "
            "be restored into an empty Jira site",
        ),
        (
            source(),
            destination(containers_by_state={"trashed": 1}, items=0),
            None,
            "ACME Jira sandbox has 1 project (1 in trash) and 0 issues.",
        ),
        # Confluence need not be empty.
        (
            source(kind="confluence"),
            destination(kind="confluence", containers_by_state={"active": 3}, items=9),
            None,
            None,
        ),
    ],
)
def test_restore_rules(src, dst, last, reason):
    d = restore_decision(src, dst, last)
    assert d.allowed is (reason is None), d.reason
    assert d.reason.startswith(reason or "")


def test_r5_wait_carries_the_time_it_ends():
    last = NOW - timedelta(days=2)
    d = restore_decision(last=last)
    assert d.not_before == last + timedelta(days=7)
    assert "It can be restored again after 30 Nov 2026, 14:05 UTC." in d.reason


# --- uploads: what an upload may reserve (D2, issue #10 item 9) -------------------------------


def upload(**overrides):
    args = {
        "size": 10 * GB,
        "limit": 50 * GB,
        "free_bytes": 66 * GB,
        "unfinished_bytes": 0,
        "unfinished_limit": 100 * GB,
    }
    args.update(overrides)
    return rules.upload_size_allowed(**args)


@pytest.mark.parametrize(
    "overrides, bound, reason",
    [
        ({"size": 0}, "empty", "The file is empty."),
        ({"size": -1}, "empty", "The file is empty."),
        (
            {"size": 51 * GB},
            "limit",
            "The file is 51 GB; a backup file can be at most 50 GB (the local download limit).",
        ),
        (
            {"size": 50 * GB, "free_bytes": 16 * GB},
            "free_space",
            "The file is 50 GB; the upload storage has 16 GB free for it. Try again once other "
            "uploads have finished, or ask the service's operator for more space.",
        ),
        (
            {"size": GB, "free_bytes": -34 * GB},
            "free_space",
            "The file is 1 GB; the upload storage has 0 bytes free for it. Try again once other "
            "uploads have finished, or ask the service's operator for more space.",
        ),
        (
            {"size": 50 * GB, "unfinished_bytes": 50 * GB + 1, "free_bytes": None},
            "unfinished",
            "You have 50 GB in unfinished uploads; with this file of 50 GB that would pass the "
            "100 GB one person may have unfinished. Finish those uploads first (an upload left "
            "unfinished for a day is deleted).",
        ),
    ],
    ids=["empty", "negative", "over-d2", "over-free-space", "no-space-left", "over-unfinished"],
)
def test_d2_upload_size_refusals_name_the_bound(overrides, bound, reason):
    decision = upload(**overrides)
    assert (decision.allowed, decision.bound, decision.reason) == (False, bound, reason)


@pytest.mark.parametrize(
    "overrides",
    [
        {"size": 1},
        {"size": 50 * GB},  # exactly the limit
        {"size": 50 * GB, "free_bytes": 50 * GB},  # exactly the free space
        {"size": 50 * GB, "free_bytes": None},  # S3: free space unknown, not checked
        {"size": 50 * GB, "unfinished_bytes": 50 * GB},  # exactly the cap
    ],
    ids=["one-byte", "at-d2", "at-free-space", "s3", "at-cap"],
)
def test_d2_upload_sizes_at_the_bounds_are_allowed(overrides):
    decision = upload(**overrides)
    assert decision.allowed and decision.reason == ""


def test_d2_twenty_uploads_of_50_gb_do_not_fit_in_66_gb():
    """Issue #10 item 9: 20 x 50 GB were all accepted with 66 GB free. The service sets aside
    what unfinished uploads still expect; the second one no longer fits."""
    free, accepted = 66 * GB, 0
    for _ in range(20):
        if upload(size=50 * GB, free_bytes=free - accepted * 50 * GB, unfinished_limit=10**15):
            accepted += 1
    assert accepted == 1


# --- Connected sites (SPEC §8) --------------------------------------------------------------


def test_r6_cannot_be_judged_for_a_site_that_does_not_answer():
    """C7: a connected destination that cannot be asked now is refused, saying why."""
    decision = restore_decision(dst=destination(unreachable="The site failed with HTTP 503."))
    assert not decision
    assert decision.reason == (
        "ACME Jira sandbox cannot be checked now, so nothing can be restored into it: The site "
        "failed with HTTP 503."
    )


@pytest.mark.parametrize(
    ("url", "kind", "problem"),
    [
        ("https://acme.atlassian.net", "jira", None),
        ("https://acme.atlassian.net/", "jira", None),
        ("https://acme.atlassian.net/wiki", "confluence", None),
        ("https://acme.atlassian.net", "confluence", "ends in /wiki"),
        ("http://acme.atlassian.net", "jira", "Atlassian Cloud sites only"),
        ("https://acme.atlassian.net:8443", "jira", "Atlassian Cloud sites only"),
        ("https://atlassian.net.evil.example", "jira", "Atlassian Cloud sites only"),
        ("https://10.0.0.5", "jira", "Atlassian Cloud sites only"),
        ("https://acme.atlassian.net/jira", "jira", "without a path"),
        ("https://acme.atlassian.net?x=1", "jira", "address alone"),
        ("http://127.0.0.1:8001", "jira", None),  # an allowed extra host (the local test site)
        ("ftp://127.0.0.1", "jira", "Use the site's address"),
        ("http://[::1", "jira", "not a web address"),
    ],
)
def test_c1_only_atlassian_cloud_addresses_and_allowed_hosts(url, kind, problem):
    found = rules.site_url_problem(url, kind, extra_hosts=["127.0.0.1"])
    if problem is None:
        assert found is None
    else:
        assert problem in found


# --- #13 item 12: the decisions moved into rules --------------------------------------------


@pytest.mark.parametrize(
    "status, from_file, reason",
    [
        ("COMPLETE", False, None),
        ("INCOMPLETE", False, None),
        ("COMPLETE", True, None),
        ("INCOMPLETE", True, None),
        (
            "IN_PROGRESS",
            False,
            "The backup is still running; it can be restored once it is complete.",
        ),
        ("FAILED", False, "A failed backup cannot be restored."),
        ("FAILED", True, "A failed backup cannot be restored."),
        ("EXPIRED", False, "The backup expired on 8 Dec 2026, 14:05 UTC; restore it from its"),
    ],
)
def test_r2_only_complete_and_incomplete_backups_are_restorable(status, from_file, reason):
    """R2: COMPLETE and INCOMPLETE backups can be restored (from storage or a file);
    IN_PROGRESS, FAILED and EXPIRED ones cannot, and the refusal says why."""
    d = rules.restore_source_allowed(
        source=source(status=status, from_file=from_file, taken_at=NOW - timedelta(days=1)),
        now=NOW,
    )
    assert d.allowed is (reason is None), d.reason
    assert d.reason.startswith(reason or "")


@pytest.mark.parametrize(
    "data, files, reason",
    [
        (40 * GB, 500 * GB, None),
        (
            40 * GB + 1,
            0,
            "The backup crossed the Jira data limit of 40 GB while it ran (40 GB written).",
        ),
        (
            0,
            500 * GB + 10**8,
            "The backup crossed the Jira attachment limit of 500 GB while it ran "
            "(500.1 GB copied).",
        ),
    ],
)
def test_b6_a_limit_crossed_while_running_is_the_failure_reason(data, files, reason):
    d = rules.size_crossed_while_running(
        kind="jira", data_bytes=data, attachment_bytes=files, limits=LIMITS
    )
    assert d.allowed is (reason is None)
    assert d.reason == (reason or "")


@pytest.mark.parametrize(
    "containers, items, empty", [(0, 0, True), (1, 0, False), (0, 1, False), (2, 14, False)]
)
def test_r6_empty_means_no_container_and_no_item_in_any_state(containers, items, empty):
    assert rules.content_empty(containers=containers, items=items) is empty
    still = rules.destination_still_empty(
        product_name="Sandbox", containers=containers, items=items
    )
    assert still.allowed is empty
    if not empty:
        assert still.reason == (
            f"Sandbox is no longer empty: it now has {containers} project(s) and {items} "
            "issue(s). A Jira restore needs an empty destination."
        )


@pytest.mark.parametrize(
    "of_backup, of_destination, allowed",
    [(True, True, True), (True, False, False), (False, True, False)],
)
def test_r1_only_an_org_admin_of_both_organizations_restores(of_backup, of_destination, allowed):
    d = rules.restore_by_admin(
        admin_of_backup_org=of_backup, admin_of_destination_org=of_destination
    )
    assert d.allowed is allowed
    assert d.reason == (
        "" if allowed else "Only org admins of the backup's organization can restore it."
    )


BOTH = {"include_attachments": True, "include_users_and_groups": True}
NEITHER = {"include_attachments": False, "include_users_and_groups": False}


@pytest.mark.parametrize(
    "backup_options, asked, chosen",
    [
        (
            {"include_attachments": True, "include_users_and_groups": True},
            (True, True),
            (True, True),
        ),
        (
            {"include_attachments": True, "include_users_and_groups": True},
            (False, False),
            (False, False),
        ),
        (
            {"include_attachments": False, "include_users_and_groups": False},
            (True, True),
            (False, False),
        ),
        ({}, (True, True), (False, False)),
    ],
)
def test_r7_restore_options_only_what_the_backup_has(backup_options, asked, chosen):
    assert rules.restore_options(
        backup_options=backup_options,
        include_attachments=asked[0],
        include_users_and_groups=asked[1],
    ) == {"include_attachments": chosen[0], "include_users_and_groups": chosen[1]}


def _manifest(org_id=7, kind="jira", status="COMPLETE"):
    return {
        "organization": {"id": org_id, "name": "Globex"},
        "product": {"kind": kind, "name": "Acme Jira"},
        "status": status,
    }


def test_r9_context_checks_name_each_failure():
    taken = NOW - timedelta(days=61)
    checks = rules.upload_context_checks(
        manifest=_manifest(org_id=8, kind="bitbucket", status="FAILED"),
        taken_at=taken,
        organization_id=7,
        now=NOW,
    )
    assert [(c["name"], c["passed"]) for c in checks] == [
        ("organization", False),
        ("kind", False),
        ("age", False),
        ("status", False),
    ]
    assert checks[0]["detail"] == "It is a backup of Globex, another organization."
    assert checks[2]["title"] == "Taken no more than 60 days ago"
    assert checks[2]["detail"] == (
        "Taken 25 Sep 2026, 14:05 UTC; it can be restored from a file until 24 Nov 2026, 14:05 UTC."
    )


def test_r4_r9_a_file_is_restorable_until_60_days_after_it_was_taken_to_the_second():
    taken = NOW - timedelta(days=60)
    assert rules.upload_restorable_until(taken) == NOW
    checks = rules.upload_context_checks(
        manifest=_manifest(), taken_at=taken, organization_id=7, now=NOW
    )
    assert all(c["passed"] for c in checks)


@pytest.mark.parametrize(
    "status, updated, taken, reason",
    [
        ("RECEIVING", NOW - timedelta(days=1, seconds=1), None, "abandoned unfinished for a day"),
        ("RECEIVING", NOW - timedelta(days=1), None, None),
        ("VALID", NOW, NOW - timedelta(days=60, seconds=1), "its 60-day window has passed"),
        ("VALID", NOW, NOW - timedelta(days=60), None),
        ("INVALID", NOW - timedelta(days=90), NOW - timedelta(days=90), None),
    ],
)
def test_e2_when_an_uploaded_file_is_deleted(status, updated, taken, reason):
    assert (
        rules.upload_deletion_reason(status=status, updated_at=updated, taken_at=taken, now=NOW)
        == reason
    )


def test_day_words_are_built_from_the_periods():
    assert rules.days(rules.BACKUP_INTERVAL) == "7 days"
    assert rules.days(rules.RETENTION) == "14 days"
    assert rules.days(rules.UPLOAD_WINDOW) == "60 days"
    assert rules.days(rules.ABANDONED_AFTER) == "1 day"
    assert rules.days(rules.ABANDONED_AFTER, one="a day") == "a day"


def test_day_words_follow_a_changed_period(monkeypatch):
    """Changing a period changes every sentence that names it (#13 item 12)."""
    from backups.rules import backups as backup_rules

    monkeypatch.setattr(backup_rules, "BACKUP_INTERVAL", timedelta(days=3))
    d = decide(activity=ProductActivity(last_complete_at=NOW - timedelta(days=1)))
    assert "— 3 days after the last complete backup." in d.reason


def test_the_package_reexports_every_public_name():
    """`from backups import rules; rules.x` and `from backups.rules import x` both work."""
    import importlib

    for module in ("backups", "decision", "downloads", "restores", "sites", "uploads", "words"):
        sub = importlib.import_module(f"backups.rules.{module}")
        for name in dir(sub):
            value = getattr(sub, name)
            if name.startswith("_") or getattr(value, "__module__", None) != sub.__name__:
                continue
            assert getattr(rules, name) is value, name

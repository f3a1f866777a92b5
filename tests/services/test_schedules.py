"""A1: weekly scheduled backups, ticked through time with an explicit `now` (time travelled,
not waited for): each slot starts once, B3/B4 hold a slot back, a missed slot runs once, DST,
the organization's time zone. Rules are tested without a database at the top."""

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection

from backups.models import AuditEvent, Backup, BackupPolicy
from backups.rules.schedules import (
    local_slot,
    next_weekly_slot,
    schedule_words,
    time_zone_problem,
)
from backups.services.backup_engine import backup_execute
from backups.services.errors import Refused
from backups.services.organizations import organization_set_time_zone
from backups.services.policies import backup_policy_create, backup_policy_update
from backups.services.schedules import automation_tick
from tests.components import need_postgres
from tests.factories import jira_product, org_with_admin
from tests.services.helpers import ticks_at_once

MONDAY = BackupPolicy.Weekday.MONDAY
SUNDAY = BackupPolicy.Weekday.SUNDAY
UTC_TICK = timedelta(minutes=15)


# --- rules: no database ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "weekday", "at", "zone", "slot"),
    [
        # Monday 02:00 in Paris (CET, UTC+1) is 01:00 UTC; from a Monday past it, next week.
        (
            datetime(2026, 11, 1, tzinfo=UTC),
            MONDAY,
            time(2),
            "Europe/Paris",
            datetime(2026, 11, 2, 1, 0, tzinfo=UTC),
        ),
        (
            datetime(2026, 11, 2, 1, 0, tzinfo=UTC),
            MONDAY,
            time(2),
            "Europe/Paris",
            datetime(2026, 11, 9, 1, 0, tzinfo=UTC),
        ),
        # Summer time (CEST, UTC+2).
        (
            datetime(2026, 7, 1, tzinfo=UTC),
            MONDAY,
            time(2),
            "Europe/Paris",
            datetime(2026, 7, 6, 0, 0, tzinfo=UTC),
        ),
        # Spring forward: 29 Mar 2026 02:30 does not exist in Paris; the first valid instant
        # after it is 03:00 CEST = 01:00 UTC.
        (
            datetime(2026, 3, 28, tzinfo=UTC),
            SUNDAY,
            time(2, 30),
            "Europe/Paris",
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        ),
        # Fall back: 25 Oct 2026 02:30 happens twice in Paris; the first (CEST) = 00:30 UTC.
        (
            datetime(2026, 10, 24, tzinfo=UTC),
            SUNDAY,
            time(2, 30),
            "Europe/Paris",
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
        # ... and once that first one has passed, the second is not another slot.
        (
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            SUNDAY,
            time(2, 30),
            "Europe/Paris",
            datetime(2026, 11, 1, 1, 30, tzinfo=UTC),
        ),
        # New York: 8 Mar 2026 02:30 does not exist; 03:00 EDT = 07:00 UTC.
        (
            datetime(2026, 3, 7, tzinfo=UTC),
            SUNDAY,
            time(2, 30),
            "America/New_York",
            datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        ),
        # 1 Nov 2026 01:30 happens twice in New York; the first (EDT) = 05:30 UTC.
        (
            datetime(2026, 10, 31, tzinfo=UTC),
            SUNDAY,
            time(1, 30),
            "America/New_York",
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        ),
        # A day ahead of UTC: Monday 01:00 in Tokyo is Sunday 16:00 UTC.
        (
            datetime(2026, 11, 1, tzinfo=UTC),
            MONDAY,
            time(1),
            "Asia/Tokyo",
            datetime(2026, 11, 1, 16, 0, tzinfo=UTC),
        ),
    ],
)
def test_a1_next_weekly_slot(after, weekday, at, zone, slot):
    assert next_weekly_slot(after=after, weekday=weekday, at=at, time_zone=zone) == slot


def test_a1_local_slot_keeps_an_ordinary_time():
    from zoneinfo import ZoneInfo

    slot = local_slot(datetime(2026, 11, 2).date(), time(2), ZoneInfo("Europe/Paris"))
    assert slot == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def test_a1_schedule_words():
    assert (
        schedule_words(schedule="weekly", weekday=0, at=time(2), time_zone="Europe/Paris")
        == "Weekly on Monday at 02:00 (Europe/Paris)"
    )
    assert schedule_words(schedule="manual", weekday=None, at=None, time_zone="UTC") == "Manually"


def test_a1_time_zone_names():
    assert time_zone_problem("Europe/Paris") is None
    assert time_zone_problem("Mars/Olympus") == (
        "“Mars/Olympus” is not a time zone name this service knows (for example Europe/Paris)."
    )


# --- the scheduler ---------------------------------------------------------------------------


@pytest.fixture
def acme(db):
    org, alice = org_with_admin("acme", admin="alice")
    jira = jira_product(org, "Acme Jira", projects=1, issues=2)
    return SimpleNamespace(org=org, alice=alice, jira=jira)


def weekly(acme, *, now, weekday=MONDAY, at=time(2), zone="Europe/Paris") -> BackupPolicy:
    acme.org.time_zone = zone
    acme.org.save(update_fields=["time_zone"])
    return backup_policy_create(
        product=acme.jira,
        actor=acme.alice,
        now=now,
        include_attachments=True,
        include_users_and_groups=True,
        schedule=BackupPolicy.Schedule.WEEKLY,
        schedule_weekday=weekday,
        schedule_time=at,
    )


def finish_started(now) -> None:
    """Run every backup the tick started to its end, on the clock `now` (the engine's
    completed_at), as the worker would."""
    for backup in Backup.objects.filter(status=Backup.Status.IN_PROGRESS):
        with time_machine.travel(now, tick=False):
            backup_execute(backup_id=backup.pk)


def tick_through(start, end, *, step=UTC_TICK, finish_after=timedelta(0)) -> list[str]:
    """Tick every `step` from `start` to `end`; each backup started ends `finish_after` later."""
    done = []
    now = start
    while now <= end:
        for backup in Backup.objects.filter(status=Backup.Status.IN_PROGRESS):
            if backup.started_at + finish_after <= now:
                with time_machine.travel(backup.started_at + finish_after, tick=False):
                    backup_execute(backup_id=backup.pk)
        done += automation_tick(now)
        if not finish_after:
            finish_started(now)
        now += step
    return done


def started_at():
    return list(
        Backup.objects.filter(trigger=Backup.Trigger.SCHEDULE)
        .order_by("started_at")
        .values_list("started_at", flat=True)
    )


def test_a1_five_weeks_start_five_backups_at_their_slots(acme):
    start = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # a Sunday; Paris is on CET (UTC+1)
    policy = weekly(acme, now=start)
    assert policy.next_run_at == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

    done = tick_through(start, start + timedelta(weeks=5) - UTC_TICK)

    slots = [datetime(2026, 11, 2, 1, 0, tzinfo=UTC) + timedelta(weeks=n) for n in range(5)]
    assert started_at() == slots
    assert Backup.objects.count() == 5
    assert set(Backup.objects.values_list("status", flat=True)) == {Backup.Status.COMPLETE}
    assert len(done) == 5 and done[0].startswith("started scheduled backup #")
    policy.refresh_from_db()
    assert policy.next_run_at == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert AuditEvent.objects.filter(action="backup.schedule_started").count() == 5
    started = AuditEvent.objects.filter(action="backup.started").first()
    assert (started.actor, started.details["trigger"]) == (None, "schedule")


def test_a1_a_slot_held_by_b3_starts_exactly_when_the_seven_days_have_passed(acme):
    start = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    policy = weekly(acme, now=start)
    # An admin's backup, complete on Sunday 10:00 UTC: B3 holds Monday's slot until the next
    # Sunday 10:00.
    taken = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(taken, tick=False):
        from tests.services.helpers import run_backup_of

        assert run_backup_of(acme.jira, acme.alice).status == Backup.Status.COMPLETE

    # Hourly through the week, then every 15 minutes up to the moment B3 allows.
    tick_through(taken, taken + timedelta(days=6, hours=23), step=timedelta(hours=1))
    tick_through(taken + timedelta(days=6, hours=23), taken + timedelta(days=7) - UTC_TICK)
    assert started_at() == []  # due since Monday 01:00, held back all week
    policy.refresh_from_db()
    assert policy.next_run_at == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

    tick_through(taken + timedelta(days=7), taken + timedelta(days=7, hours=1))
    assert started_at() == [datetime(2026, 11, 8, 10, 0, tzinfo=UTC)]
    policy.refresh_from_db()
    assert policy.next_run_at == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)


def test_a1_a_slot_held_by_b4_starts_once_the_running_backup_ends(acme):
    start = datetime(2026, 11, 2, 0, 50, tzinfo=UTC)
    weekly(acme, now=start)
    # An admin's backup started at 00:55 and running for 40 minutes, past the 01:00 slot.
    from backups.services.backups import backup_request

    running = backup_request(
        product=acme.jira, actor=acme.alice, now=datetime(2026, 11, 2, 0, 55, tzinfo=UTC)
    )
    assert automation_tick(datetime(2026, 11, 2, 1, 0, tzinfo=UTC)) == []
    assert automation_tick(datetime(2026, 11, 2, 1, 15, tzinfo=UTC)) == []
    with time_machine.travel(datetime(2026, 11, 2, 1, 35, tzinfo=UTC), tick=False):
        backup_execute(backup_id=running.pk)
    # It ended COMPLETE: now B3 holds the slot a week from 01:35.
    assert automation_tick(datetime(2026, 11, 2, 1, 45, tzinfo=UTC)) == []
    done = automation_tick(datetime(2026, 11, 9, 1, 45, tzinfo=UTC))
    assert len(done) == 1
    assert started_at() == [datetime(2026, 11, 9, 1, 45, tzinfo=UTC)]


def test_a1_slots_missed_during_an_outage_run_once(acme):
    start = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    policy = weekly(acme, now=start)
    tick_through(start, datetime(2026, 11, 2, 0, 45, tzinfo=UTC))
    assert started_at() == []

    # Down from Monday 00:45 to Thursday 09:00: Monday 01:00's slot was missed.
    back = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    done = tick_through(back, back + timedelta(hours=6))
    assert started_at() == [back]
    assert len(done) == 1
    policy.refresh_from_db()
    assert policy.next_run_at == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)


def test_a1_three_missed_slots_run_once_not_three_times(acme):
    start = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    weekly(acme, now=start)
    back = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # slots of 2, 9 and 16 Nov missed
    tick_through(back, back + timedelta(days=1))
    assert started_at() == [back]


def test_a1_dst_spring_forward_and_fall_back(acme):
    # Sunday 02:30 in Paris: on 29 Mar 2026 that time does not exist (it starts at 03:00
    # CEST); on 25 Oct 2026 it happens twice (it starts once, at the first).
    start = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)
    weekly(acme, now=start, weekday=SUNDAY, at=time(2, 30))
    tick_through(start, datetime(2026, 3, 30, tzinfo=UTC))
    assert started_at() == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]  # 03:00 CEST
    policy = BackupPolicy.objects.get(product=acme.jira)
    assert policy.next_run_at == datetime(2026, 4, 5, 0, 30, tzinfo=UTC)  # 02:30 CEST
    # That slot is 30 minutes short of a week after the backup of 01:00 UTC: B3 holds it
    # until 01:00, when it starts.
    tick_through(datetime(2026, 4, 5, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC))
    assert started_at()[1:] == [datetime(2026, 4, 5, 1, 0, tzinfo=UTC)]

    Backup.objects.all().delete()
    autumn = datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
    BackupPolicy.objects.filter(product=acme.jira).update(
        next_run_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    )
    tick_through(autumn, datetime(2026, 10, 26, tzinfo=UTC))
    assert started_at() == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]  # 02:30 CEST, once


def test_a1_changing_the_time_zone_moves_the_next_run(acme):
    now = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    policy = weekly(acme, now=now, zone="UTC")
    assert policy.next_run_at == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)

    assert organization_set_time_zone(
        organization=acme.org, time_zone="Asia/Tokyo", actor=acme.alice, now=now
    )
    policy.refresh_from_db()
    # Monday 02:00 in Tokyo (UTC+9) is Sunday 17:00 UTC.
    assert policy.next_run_at == datetime(2026, 11, 1, 17, 0, tzinfo=UTC)
    event = AuditEvent.objects.get(action="organization.time_zone_changed")
    assert (event.actor, event.details) == (acme.alice, {"from": "UTC", "to": "Asia/Tokyo"})
    # The same again changes nothing and records nothing.
    assert not organization_set_time_zone(
        organization=acme.org, time_zone="Asia/Tokyo", actor=acme.alice, now=now
    )
    assert AuditEvent.objects.filter(action="organization.time_zone_changed").count() == 1
    with pytest.raises(Refused, match="is not a time zone name"):
        organization_set_time_zone(
            organization=acme.org, time_zone="Asia/Atlantis", actor=acme.alice, now=now
        )


def test_a1_switching_to_manual_clears_the_slot_and_back_sets_it(acme):
    now = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    policy = weekly(acme, now=now)
    backup_policy_update(policy=policy, actor=acme.alice, now=now, schedule="manual")
    policy.refresh_from_db()
    assert (policy.next_run_at, policy.schedule_weekday, policy.schedule_time) == (None, None, None)
    assert automation_tick(datetime(2026, 11, 10, tzinfo=UTC)) == []

    backup_policy_update(
        policy=policy,
        actor=acme.alice,
        now=now,
        schedule="weekly",
        schedule_weekday=BackupPolicy.Weekday.WEDNESDAY,
        schedule_time=time(23, 15),
    )
    policy.refresh_from_db()
    assert policy.next_run_at == datetime(2026, 11, 4, 22, 15, tzinfo=UTC)  # 23:15 CET
    # Saving other options leaves a due slot due (held by B3, it must not jump a week).
    backup_policy_update(
        policy=policy, actor=acme.alice, now=now + timedelta(days=9), include_attachments=False
    )
    policy.refresh_from_db()
    assert policy.next_run_at == datetime(2026, 11, 4, 22, 15, tzinfo=UTC)


def test_a1_a_refusal_for_good_is_recorded_once_and_the_slot_moves_on(acme, settings):
    start = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    policy = weekly(acme, now=start)
    settings.BACKUP_LIMITS = {
        **settings.BACKUP_LIMITS,
        "jira": {"data": 10, "attachments": 10**12},
    }
    done = tick_through(
        datetime(2026, 11, 2, 1, 0, tzinfo=UTC), datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    )

    assert len(done) == 1
    assert done[0].startswith("did not start the scheduled backup of Acme Jira: Acme Jira holds ")
    assert not Backup.objects.exists()
    event = AuditEvent.objects.get(action="backup.schedule_refused")
    assert "a Jira backup can hold at most 10 bytes of data" in event.details["reason"]
    assert event.details["slot"] == "2026-11-02T01:00:00+00:00"
    policy.refresh_from_db()
    assert policy.next_run_at == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)


def test_a1_the_tick_task_and_the_command(acme, capsys):
    from django.core.management import call_command

    from backups.tasks import automation_tick as task

    weekly(acme, now=datetime(2026, 11, 1, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 11, 1, 12, 0, tzinfo=UTC), tick=False):
        assert task() == []
        call_command("run_automation")
    assert capsys.readouterr().out == "Nothing due.\n"
    with time_machine.travel(datetime(2026, 11, 2, 1, 0, tzinfo=UTC), tick=False):
        call_command("run_automation")
    backup = Backup.objects.get()
    assert capsys.readouterr().out == f"started scheduled backup #{backup.pk} of Acme Jira\n"


def test_a1_migrate_made_the_every_minute_schedule(db):
    from django_q.models import Schedule

    from backups.apps import AUTOMATION_SCHEDULE, ensure_automation_schedule

    schedule = Schedule.objects.get(name=AUTOMATION_SCHEDULE)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "backups.tasks.automation_tick",
        Schedule.MINUTES,
        1,
    )
    ensure_automation_schedule()  # every later migrate: still one
    assert Schedule.objects.filter(func="backups.tasks.automation_tick").count() == 1


# --- two schedulers at once (PostgreSQL: real row locks) ---------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a1_two_schedulers_ticking_at_once_start_one_backup(acme):
    need_postgres()
    weekly(acme, now=datetime(2026, 11, 1, tzinfo=UTC))
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    outcomes = ticks_at_once(now)

    assert connection.vendor == "postgresql"
    assert sorted(len(o) for o in outcomes) == [0, 1]
    assert Backup.objects.filter(trigger=Backup.Trigger.SCHEDULE).count() == 1
    assert AuditEvent.objects.filter(action="backup.schedule_started").count() == 1
    assert BackupPolicy.objects.get().next_run_at == datetime(2026, 11, 9, 1, 0, tzinfo=UTC)


def test_a1_the_demo_seed_schedules_the_local_sites_product_weekly(db):
    from backups.demo import seed_demo
    from backups.demo.seed import LOCAL_SITE_PRODUCT

    with time_machine.travel(datetime(2026, 11, 4, 12, 0, tzinfo=UTC), tick=False):
        seed_demo(with_local_site=True, with_weekly_policy=True)
        seed_demo(with_local_site=True, with_weekly_policy=True)  # idempotent
    policy = BackupPolicy.objects.get()
    assert policy.product.name == LOCAL_SITE_PRODUCT
    assert (policy.schedule, policy.schedule_weekday, policy.schedule_time) == (
        "weekly",
        SUNDAY,
        time(3, 0),
    )
    assert policy.next_run_at == datetime(2026, 11, 8, 3, 0, tzinfo=UTC)  # acme is on UTC

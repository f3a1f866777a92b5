"""A1: when a weekly scheduled backup runs, in the organization's time zone, and its words."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .words import format_when

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def time_zone_problem(name: str) -> str | None:
    """Why `name` is not a time zone a schedule can use, or None (an IANA name, "Europe/Paris")."""
    if name in available_timezones():
        return None
    return f"“{name}” is not a time zone name this service knows (for example Europe/Paris)."


def schedule_problems(*, schedule: str, weekday: int | None, at: time | None) -> dict[str, str]:
    """A1: what a weekly schedule lacks, by field (the policy form and the API say the same);
    the database's policy_schedule_complete constraint is the last line behind it."""
    problems = {}
    if schedule == "weekly":
        if weekday is None:
            problems["schedule_weekday"] = "Choose the day of the week backups run."
        if at is None:
            problems["schedule_time"] = "Choose the time of day backups run."
    return problems


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a name that passed time_zone_problem never gets here


def local_slot(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) that reads `day` `at` on the clocks of `zone`.

    DST: a local time that does not exist (the clocks jump from 02:00 to 03:00) moves forward
    to the first instant that does (03:00); one that happens twice (the clocks go back from
    03:00 to 02:00) is the first of the two."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == wall:
        return utc  # exists (once, or twice: fold=0 is the first occurrence)
    # In a gap: fold=0 read it with the offset from before the jump (an instant past the gap),
    # fold=1 with the one after (an instant before it). The gap ends on a whole minute between.
    moment = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while moment.astimezone(zone).replace(tzinfo=None) < wall:
        moment += timedelta(minutes=1)
    return moment


def next_weekly_slot(*, after: datetime, weekday: int, at: time, time_zone: str) -> datetime:
    """The first slot strictly after `after` of a backup run weekly on `weekday` (0 = Monday)
    at `at` on the clocks of `time_zone`, as a UTC instant."""
    zone = _zone(time_zone)
    today = after.astimezone(zone).date()
    for offset in range(-1, 15):
        day = today + timedelta(days=offset)
        if day.weekday() != weekday:
            continue
        slot = local_slot(day, at, zone)
        if slot > after:
            return slot
    raise AssertionError("a weekday comes round within two weeks")


def schedule_words(*, schedule: str, weekday: int | None, at: time | None, time_zone: str) -> str:
    """'Weekly on Monday at 02:00 (Europe/Paris)', or 'Manually'."""
    if schedule != "weekly" or weekday is None or at is None:
        return "Manually"
    return f"Weekly on {WEEKDAY_NAMES[weekday]} at {at:%H:%M} ({time_zone})"


def local_time_words(moment: datetime, time_zone: str) -> str:
    """'Mon 7 Dec 2026, 02:00 Europe/Paris' — a slot as the schedule's clocks read it."""
    local = moment.astimezone(_zone(time_zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {time_zone}"


def slot_held_words(*, not_before: datetime | None, reason: str) -> str:
    """What the policies table says of a due slot that the rules hold back (A1): until when
    (B3), or why (B4: it starts once the running backup or restore has ended)."""
    if not_before is not None:
        return f"Due — starts {format_when(not_before)}, when the 7-day rule allows"
    return f"Due — waiting: {reason}"

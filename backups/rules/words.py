"""The words every rule and page writes: times, durations, sizes, counts, day counts."""

from datetime import UTC, datetime, timedelta


def format_when(moment: datetime) -> str:
    """'2 Dec 2026, 14:05 UTC' — the way every wait is shown (SPEC §8)."""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def format_duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} hour(s)"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} minute(s)"
    return f"{seconds} second(s)"


KIND_LABEL = {"jira": "Jira", "confluence": "Confluence"}


_BYTE_UNITS = ("KB", "MB", "GB", "TB", "PB")


def human_bytes(n: int) -> str:
    """A size as every page writes it: '44.2 KB', '40 GB', '999 bytes', '1 byte'.

    Decimal units (1 KB = 1,000 bytes, 1 GB = 10^9 bytes), because the SPEC's limits are
    written that way (B6 "40 GB", D2 "50 GB") and browsers' download bars and disk makers count
    so too. Django's `filesizeformat` is binary (1 KB = 1,024 bytes) under the same names, which
    is how one size read 43.2 KB on one page and 44.2 KB on another: it is not used.

    One decimal, rounded half up, ".0" dropped; the unit moves up when the rounding reaches
    1,000 (999,950 bytes is "1 MB", not "1000 KB"). Integer arithmetic only, so that
    static/js/format.js (`humanBytes`) gives the same string for the same number: both are
    tested against tests/formatting_cases.json.
    """
    n = int(n)
    if n < 0:
        return f"-{human_bytes(-n)}"
    if n < 1000:
        return "1 byte" if n == 1 else f"{n} bytes"
    for power, unit in enumerate(_BYTE_UNITS, start=1):
        base = 1000**power
        tenths = (n * 10 + base // 2) // base
        if tenths < 10_000 or unit == _BYTE_UNITS[-1]:
            break
    whole, tenth = divmod(tenths, 10)
    return f"{whole} {unit}" if tenth == 0 else f"{whole}.{tenth} {unit}"


def format_elapsed(seconds: float) -> str:
    """How long a job has run: '12 s', '4 min', '1 h 5 min', '3 days'. Rounded down: a
    job that has run 4 min 59 s has not run 5 min."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 2 * 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h" if m == 0 else f"{h} h {m} min"
    return f"{s // 86400} days"


def format_time_left(seconds: float) -> str:
    """An estimate of the time left, said as one: 'about 3 min left'. Rounded to the nearest
    minute (the estimate is not better than that); under a minute it says so rather than
    counting seconds down. The upload page (static/js/format.js `timeLeft`) says the same."""
    s = max(0, int(seconds))
    if s < 60:
        return "less than a minute left"
    minutes = (s + 30) // 60
    if minutes < 60:
        return f"about {minutes} min left"
    if s < 2 * 86400:
        h, m = divmod(minutes, 60)
        return f"about {h} h left" if m == 0 else f"about {h} h {m} min left"
    return f"about {(s + 43200) // 86400} days left"


# Below these the rate is noise: 1% done after 2 s says nothing about the other 99%.
ETA_MIN_FRACTION = 0.01
ETA_MIN_SECONDS = 10


def progress_times(
    *, started_at: datetime, fraction: float, now: datetime, working_since: datetime | None = None
) -> str:
    """'4 min elapsed · about 3 min left' for a running job, from its start and how much of it
    is done (0..1).

    Elapsed counts from `started_at` (what the page shows as Started); the estimate assumes
    the rest goes at the rate so far, measured from `working_since` (when a worker took the
    job) if given, so time waiting in the queue does not inflate it. Nothing in the first
    seconds ("0 s elapsed" says nothing the "Starting…" beside it does not); no estimate before
    there is a rate to speak of (0%, the first seconds of work); and "finishing" once all is
    counted but the job has not ended yet (the last step — the manifest, the publish — is not
    counted).
    """
    elapsed = (now - started_at).total_seconds()
    if elapsed < ETA_MIN_SECONDS:
        return ""
    parts = [f"{format_elapsed(elapsed)} elapsed"]
    working = (now - (working_since or started_at)).total_seconds()
    if fraction >= 1:
        parts.append("finishing")
    elif fraction >= ETA_MIN_FRACTION and working >= ETA_MIN_SECONDS:
        parts.append(format_time_left(working * (1 - fraction) / fraction))
    return " · ".join(parts)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def days(delta: timedelta, *, one: str = "1 day") -> str:
    """A rule's period in words: '7 days', '14 days', `one` for a single day. Every sentence
    that names one of the periods (B3, B7, R4, R5, E2) builds it from its constant, so changing
    the constant changes the words (templates: the `rule_days` tag)."""
    return one if delta.days == 1 else plural(delta.days, "day")

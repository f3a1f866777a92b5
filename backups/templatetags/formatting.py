"""One way to write a size, a time and a job's progress on every page (issue #13, item 4/3).

    {% load formatting %}
    {{ backup.total_bytes|size }}      44.2 KB            (rules.human_bytes: decimal units)
    {{ backup.started_at|when }}       <time datetime="2026-12-02T14:05:00Z"
                                         title="2 Dec 2026, 14:05 UTC">2 Dec 2026, 14:05 UTC</time>
    {% progress_times backup %}        4 min elapsed · about 3 min left

`when` writes UTC, the time the server knows for sure; static/js/local_time.js rewrites the
text to the reader's time zone and keeps UTC in the title. The wording lives in rules.py, so
views, services and e-mails that write sizes and times outside a template say the same.
"""

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from backups import rules

register = template.Library()


@register.filter
def size(n) -> str:
    """A byte count as every page writes it (rules.human_bytes)."""
    if n is None or n == "":
        return "—"
    return rules.human_bytes(n)


@register.filter
def when(moment: datetime | None) -> str:
    """A moment as a <time> element: UTC text, ISO UTC datetime, UTC title; '—' if none."""
    if not moment:
        return "—"
    text = rules.format_when(moment)
    iso = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, text, text)


def _progress(job) -> tuple[datetime | None, float, datetime | None]:
    """(started, fraction done, when a worker took it) of a backup, backup file or restore.

    Finer than `progress_percent` (an int capped at 99) so the estimate moves smoothly; a
    backup counts bytes when it knows the total, as its percent does.
    """
    started = getattr(job, "started_at", None) or getattr(job, "created_at", None)
    done = getattr(job, "bytes_done", 0) or 0
    total = getattr(job, "bytes_total", 0) or 0
    if not total:
        done = getattr(job, "items_done", 0) or 0
        total = getattr(job, "items_total", 0) or 0
    fraction = min(1.0, done / total) if total else 0.0
    return started, fraction, getattr(job, "claimed_at", None)


@register.simple_tag
def progress_times(job, now: datetime | None = None) -> str:
    """'4 min elapsed · about 3 min left' for a running job, '' once it has ended. Until a
    worker takes it, only the elapsed time: nothing has been done to measure a rate by."""
    if getattr(job, "status", None) not in ("IN_PROGRESS", "GENERATING"):
        return ""
    started, fraction, claimed = _progress(job)
    if started is None:
        return ""
    if claimed is None:
        fraction = 0.0
    return rules.progress_times(
        started_at=started, fraction=fraction, now=now or timezone.now(), working_since=claimed
    )

"""A2: when a FAILED backup is tried again, or why it is not, and the words for its attempts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

RETRY_DELAY = timedelta(minutes=30)
MAX_ATTEMPTS = 3

NOT_TRANSIENT = "Not retried: the reason will not pass by itself"
SUPERSEDED = "Not retried: a later backup of this product has finished"


@dataclass(frozen=True)
class RetryPlan:
    """`due_at`: when the next attempt starts (None: no next attempt); `reason`: why none,
    in the page's words ('' when there is nothing to say: not failed, or retried already)."""

    due_at: datetime | None = None
    reason: str = ""


def no_attempts_left(attempt: int) -> str:
    return f"No attempts left ({attempt} of {MAX_ATTEMPTS})"


def retry_plan(
    *,
    status: str,
    transient: bool,
    attempt: int,
    completed_at: datetime | None,
    retried: bool = False,
    superseded: bool = False,
) -> RetryPlan:
    """A2: a backup that FAILED for a reason that may pass is tried again RETRY_DELAY after it
    ended, at most MAX_ATTEMPTS times in all; not once a later attempt exists (`retried`), nor
    once a later backup of the product finished COMPLETE or INCOMPLETE (`superseded`)."""
    if status != "FAILED" or retried:
        return RetryPlan()
    if not transient:
        return RetryPlan(reason=NOT_TRANSIENT)
    if attempt >= MAX_ATTEMPTS:
        return RetryPlan(reason=no_attempts_left(attempt))
    if superseded:
        return RetryPlan(reason=SUPERSEDED)
    return RetryPlan(due_at=completed_at + RETRY_DELAY if completed_at else None)


def attempt_label(*, trigger: str, attempt: int, plan: RetryPlan, compact: bool = False) -> str:
    """'Attempt 2 of 3' beside a next attempt's time, 'Automatic retry: attempt 2 of 3' for a
    retry, '' for a backup that ran once and will not run again (a plain manual backup)."""
    if plan.due_at is not None:
        return f"Attempt {attempt} of {MAX_ATTEMPTS}"
    if trigger == "retry" or attempt > 1:
        return f"Automatic retry: attempt {attempt} of {MAX_ATTEMPTS}"
    return ""

"""Decision: what every rule returns, and refuse() to make a refusal."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    not_before: datetime | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def refuse(reason: str, not_before: datetime | None = None) -> Decision:
    return Decision(False, reason, not_before)

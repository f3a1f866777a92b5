from backups.rules import Decision


class Refused(Exception):
    """An action the rules do not allow now; `reason` is the sentence the user reads."""

    def __init__(self, reason: str | Decision):
        self.decision = reason if isinstance(reason, Decision) else Decision(False, reason)
        super().__init__(self.decision.reason)

    @property
    def reason(self) -> str:
        return self.decision.reason

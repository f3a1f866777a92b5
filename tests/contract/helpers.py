"""Shared by the contract tests of both kinds (#13 item 17: no test module imports from another)."""

import base64

from .conftest import ADMIN_EMAIL, ADMIN_TOKEN

# The connected site's token, as given and in its Basic-auth form (C2: never written anywhere).
SECRETS = [
    ADMIN_TOKEN.encode(),
    base64.b64encode(f"{ADMIN_EMAIL}:{ADMIN_TOKEN}".encode()),
]


class Waits(list):
    """The client's sleep: records each wait instead of waiting (retries are time-travelled)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def leaks(data: bytes | str) -> list[bytes]:
    data = data.encode() if isinstance(data, str) else data
    return [s for s in SECRETS if s in data]

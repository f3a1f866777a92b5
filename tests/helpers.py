"""Shared by the top-level tests: manage.py in a fresh process, with a clean environment.
(#13 item 17: no test module imports from another.)"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clean_env(**env: str) -> dict[str, str]:
    # Nothing of the test run's own configuration leaks in (DJANGO_DEBUG, DATABASE_URL, S3 and
    # Redis settings, and DJANGO_ALLOW_ASYNC_UNSAFE, which the browser tests set and check
    # --deploy rejects).
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "BACKUPSITE_", "DATABASE_", "S3_", "Q_"))
        and k != "REDIS_URL"
    }
    return {**clean, **env}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )

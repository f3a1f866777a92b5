"""Shared by the browser tests (#13 item 17: no test module imports from another)."""

from pathlib import Path

from .conftest import PHONE

SHOTS = Path("/tmp/shots")


def shoot(page, name: str) -> None:
    """Desktop and phone screenshots of the current page, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    desktop = page.viewport_size
    page.screenshot(path=SHOTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SHOTS / f"{name}-phone.png", full_page=True)
    page.set_viewport_size(desktop)

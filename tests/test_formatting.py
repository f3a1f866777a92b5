"""One way to write a size, a time and a job's progress (issue #13, items 3 and 4).

Python (rules.py) and the browser (static/js/format.js) are held to one table,
tests/formatting_cases.json, so the upload page and the server's pages write the same
number the same way. No database: the formatting is pure.
"""

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template

from backups import rules

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "formatting_cases.json").read_text())
NOW = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(("n", "text"), CASES["bytes"])
def test_human_bytes(n, text):
    assert rules.human_bytes(n) == text


@pytest.mark.parametrize(("seconds", "text"), CASES["time_left"])
def test_time_left(seconds, text):
    assert rules.format_time_left(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), CASES["elapsed"])
def test_elapsed(seconds, text):
    assert rules.format_elapsed(seconds) == text


NODE_SCRIPT = """
const f = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
console.log(JSON.stringify({
  bytes: cases.bytes.map(([n]) => f.humanBytes(n)),
  time_left: cases.time_left.map(([s]) => f.timeLeft(s)),
  elapsed: cases.elapsed.map(([s]) => f.elapsed(s)),
}));
"""


def test_the_browser_writes_the_same_strings():
    node = shutil.which("node")
    if not node:
        pytest.skip("needs node to run static/js/format.js; Python is checked against the table")
    out = subprocess.run(
        [
            node,
            "-e",
            NODE_SCRIPT,
            str(ROOT / "static" / "js" / "format.js"),
            str(ROOT / "tests" / "formatting_cases.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout)
    for table in ("bytes", "time_left", "elapsed"):
        assert got[table] == [text for _, text in CASES[table]], table


@pytest.mark.parametrize(
    ("minutes_ago", "fraction", "working_minutes", "text"),
    [
        # 0%: no rate yet, so no estimate — only the time it has run.
        (4, 0.0, 4, "4 min elapsed"),
        # The first seconds say nothing, even at 50%; then no estimate until work has run 10 s.
        (0.1, 0.5, 0.1, ""),
        (0.5, 0.5, 0.1, "30 s elapsed"),
        (4, 0.4, 4, "4 min elapsed · about 6 min left"),
        (4, 0.5, 4, "4 min elapsed · about 4 min left"),
        (4, 0.99, 4, "4 min elapsed · less than a minute left"),
        # Everything counted but not ended: the last step (manifest, publish) is running.
        (4, 1.0, 4, "4 min elapsed · finishing"),
        # 10 minutes in the queue, 2 of work for a quarter: the wait does not count in the rate.
        (12, 0.25, 2, "12 min elapsed · about 6 min left"),
        (90, 0.001, 90, "1 h 30 min elapsed"),
        (90, 0.01, 90, "1 h 30 min elapsed · about 6 days left"),
    ],
)
def test_progress_times(minutes_ago, fraction, working_minutes, text):
    assert (
        rules.progress_times(
            started_at=NOW - timedelta(minutes=minutes_ago),
            fraction=fraction,
            now=NOW,
            working_since=NOW - timedelta(minutes=working_minutes),
        )
        == text
    )


def render(source: str, **context) -> str:
    return Template("{% load formatting %}" + source).render(Context(context))


def test_when_writes_utc_text_and_an_iso_datetime_for_the_browser():
    moment = datetime(2026, 12, 2, 15, 5, tzinfo=ZoneInfo("Europe/Paris"))
    assert render("{{ t|when }}", t=moment) == (
        '<time datetime="2026-12-02T14:05:00Z" title="2 Dec 2026, 14:05 UTC">'
        "2 Dec 2026, 14:05 UTC</time>"
    )
    assert render("{{ t|when }}", t=None) == "—"


def test_size_filter_is_human_bytes():
    assert render("{{ n|size }}", n=44_214) == "44.2 KB"
    assert render("{{ n|size }}", n=40 * 10**9) == "40 GB"
    assert render("{{ n|size }}", n=None) == "—"


def job(**fields):
    base = {"status": "IN_PROGRESS", "claimed_at": None, "items_done": 0, "items_total": 0}
    return SimpleNamespace(**(base | fields))


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        # A backup that knows its bytes counts them, as its percent does.
        (
            {
                "started_at": NOW - timedelta(minutes=4),
                "claimed_at": NOW - timedelta(minutes=4),
                "items_done": 90,
                "items_total": 100,
                "bytes_done": 4_000_000,
                "bytes_total": 10_000_000,
            },
            "4 min elapsed · about 6 min left",
        ),
        # A restore counts items.
        (
            {
                "started_at": NOW - timedelta(minutes=3),
                "claimed_at": NOW - timedelta(minutes=3),
                "items_done": 25,
                "items_total": 100,
            },
            "3 min elapsed · about 9 min left",
        ),
        # A backup file: created_at, bytes, GENERATING.
        (
            {
                "status": "GENERATING",
                "created_at": NOW - timedelta(minutes=2),
                "claimed_at": NOW - timedelta(minutes=2),
                "bytes_done": 30,
                "bytes_total": 60,
            },
            "2 min elapsed · about 2 min left",
        ),
        # Not yet taken by a worker: only the wait.
        ({"started_at": NOW - timedelta(seconds=40), "items_total": 100}, "40 s elapsed"),
        # Ended: nothing.
        ({"status": "COMPLETE", "started_at": NOW - timedelta(minutes=4)}, ""),
    ],
)
def test_progress_times_tag(fields, text):
    assert render("{% progress_times j now %}", j=job(**fields), now=NOW) == text

"""Fuzzing the backup-file reader (R9, issue #10): hypothesis mutates a real backup file made
by the service — flips bytes, truncates, changes header fields of local and central headers
and of the end record at random, renames, adds, drops and duplicates entries — and every
outcome must be one of two:

- VALID, and then every entry reads back exactly as in the original file (a change the reader
  accepted changed nothing a restore reads), or
- a refusal that names the check that failed, with a detail;

never an exception, never more than TIME_BOUND seconds, never a query or a file written.

The normal test run tries FUZZ_EXAMPLES examples (default 800, about 30 s); a longer run:
    FUZZ_EXAMPLES=20000 DJANGO_DEBUG=1 .venv/bin/pytest tests/fuzz -q -p no:randomly --timeout=0
"""

import io
import os
import time
import warnings
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backups import archive
from tests import zipbytes
from tests.components import sqlite_pass_only
from tests.corpus.variants import rewrite
from tests.services.helpers import backup_file_bytes

pytestmark = sqlite_pass_only  # the reader under test uses no database

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "800"))
TIME_BOUND = 5.0  # seconds for one verification; these files take milliseconds
SECRET = "fuzz secret key"  # the file is re-signed with it: mutations start from a valid file


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- mutations -----------------------------------------------------------------------------------

FIELD_WIDTH = {"H": 0xFFFF, "I": 0xFFFFFFFF}


def interesting(width: int) -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(0, width),
        st.sampled_from([0, 1, 2, 8, 9, 12, 14, 99, 0x20, 0x40, 0x800, 0x2000, width]),
    )


@st.composite
def field_change(draw, data: bytes):
    recs = zipbytes.records(data)
    rec = draw(st.sampled_from(recs))
    where = draw(st.sampled_from(["local", "central"]))
    fields = zipbytes.LOCAL_FIELDS if where == "local" else zipbytes.CENTRAL_FIELDS
    name = draw(st.sampled_from(sorted(fields)))
    offset, fmt = fields[name]
    header = rec.local if where == "local" else rec.central
    now = zipbytes.field_of(data, header, fields, name)
    width = FIELD_WIDTH[fmt]
    value = draw(
        st.one_of(
            interesting(width),
            st.integers(-64, 64).map(lambda d: (now + d) % (width + 1)),
            st.integers(2, 100).map(lambda k: min(now * k, width)),
            st.integers(0, 15).map(lambda bit: now ^ (1 << bit)),
        )
    )
    return (f"{where} {name} of {rec.name}: {now} -> {value}", ("put", header + offset, fmt, value))


@st.composite
def end_record_change(draw, data: bytes):
    end = zipbytes.eocd(data)
    name = draw(st.sampled_from(sorted(zipbytes.EOCD_FIELDS)))
    offset, fmt = zipbytes.EOCD_FIELDS[name]
    now = zipbytes.field_of(data, end, zipbytes.EOCD_FIELDS, name)
    value = draw(
        st.one_of(
            interesting(FIELD_WIDTH[fmt]),
            st.integers(-64, 64).map(lambda d: (now + d) % (FIELD_WIDTH[fmt] + 1)),
        )
    )
    return (f"end record {name}: {now} -> {value}", ("put", end + offset, fmt, value))


NAMES = st.one_of(
    st.sampled_from(
        [
            "manifest.json",
            "manifest.sig",
            "entities/issues.jsonl",
            "entities/attachments.jsonl",
            "attachments/1/screenshot-ACME-1.png",
            "attachments/",
            "../escape",
            "/etc/passwd",
            "C:\\x",
            "a\\..\\..\\b",
            "entities/new.jsonl",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30),
)


@st.composite
def entry_change(draw, data: bytes):
    names = [r.name for r in zipbytes.records(data)]
    op = draw(st.sampled_from(["rename", "add", "drop", "duplicate"]))
    victim = draw(st.sampled_from(names))
    if op == "rename":
        return (f"rename {victim}", ("rename", victim, draw(NAMES)))
    if op == "add":
        body = draw(st.binary(max_size=200))
        return ("add an entry", ("add", draw(NAMES), body, draw(st.sampled_from([0, 8]))))
    if op == "drop":
        return (f"drop {victim}", ("drop", victim))
    return (f"duplicate {victim}", ("duplicate", victim))


@st.composite
def byte_change(draw, data: bytes):
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
    at = draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        return (f"flip byte {at}", ("flip", at, draw(st.integers(1, 255))))
    if kind == "truncate":
        return (f"truncate at {at}", ("truncate", at))
    if kind == "insert":
        return (f"insert at {at}", ("insert", at, draw(st.binary(min_size=1, max_size=8))))
    return (f"delete at {at}", ("delete", at, draw(st.integers(1, 64))))


def mutation(data: bytes):
    return st.one_of(
        field_change(data), end_record_change(data), entry_change(data), byte_change(data)
    )


def apply(data: bytes, change: tuple) -> bytes:
    op, *args = change
    if op == "put":
        at, fmt, value = args
        return zipbytes.put(data, at, fmt, value) if at + 4 <= len(data) else data
    if op == "flip":
        at, mask = args
        return zipbytes.flip(data, at % len(data), mask) if data else data
    if op == "truncate":
        return data[: args[0]]
    if op == "insert":
        at, extra = args
        return data[:at] + extra + data[at:]
    if op == "delete":
        at, n = args
        return data[:at] + data[at + n :]
    # Entry operations rewrite with zipfile (its headers stay consistent, the content
    # changes); on a file an earlier mutation broke they cannot, and leave it as it is.
    try:
        return _entry_operation(data, op, args)
    except Exception:
        return data


def _entry_operation(data: bytes, op: str, args: list) -> bytes:
    if op == "rename":
        victim, new = args
        return _copy(data, lambda info: _renamed(info, new) if info.filename == victim else info)
    if op == "drop":
        return rewrite(data, drop={args[0]})
    if op == "duplicate":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            body = z.read(args[0])
        return rewrite(data, add=[(args[0], body)])
    name, body, method = args
    info = zipfile.ZipInfo(name)
    info.compress_type = method
    return _added(data, info, body)


def _renamed(info: zipfile.ZipInfo, new: str) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(new, date_time=info.date_time)
    copy.compress_type, copy.external_attr = info.compress_type, info.external_attr
    return copy


def _copy(data: bytes, change_info) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                zout.writestr(change_info(info), zin.read(info))
    return out.getvalue()


def _added(data: bytes, info: zipfile.ZipInfo, body: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z.writestr(info, body)
    return out.getvalue()


# --- the property ----------------------------------------------------------------------------


def contents(data: bytes) -> dict[str, bytes]:
    """Every file entry's bytes, read the way a restore reads them (services.uploads)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.filename.endswith("/")}


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.timeout(600)  # a hang fails the run instead of blocking it (R9: bounded time)
def test_r9_fuzz_the_reader_never_raises_never_hangs_never_writes(demo, isolated_storage):
    good, _ = backup_file_bytes(demo.jira, demo.alice)
    # Signed with a key of its own, so the property holds whatever the settings' key is.
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        manifest = z.read("manifest.json")
    original = rewrite(
        good, change={"manifest.sig": lambda _: archive.sign(manifest, SECRET).encode()}
    )
    assert archive.verify(io.BytesIO(original), secret_key=SECRET).ok
    expected = contents(original)
    files_before = sorted(p for p in isolated_storage.rglob("*"))
    outcomes = {"valid": 0, "refused": {}}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,  # TIME_BOUND is asserted below, per verification
        database=None,  # nothing written by the test run either
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(changes=st.lists(mutation(original), min_size=1, max_size=3))
    def one(changes):
        data = original
        for _, change in changes:
            data = apply(data, change)
        with CaptureQueriesContext(connection) as queries:
            began = time.monotonic()
            result = archive.verify(io.BytesIO(data), secret_key=SECRET, max_total_bytes=10**9)
            took = time.monotonic() - began
        assert took < TIME_BOUND, [d for d, _ in changes]
        assert len(queries) == 0
        if result.ok:
            assert contents(data) == expected, [d for d, _ in changes]
            outcomes["valid"] += 1
        else:
            failed = result.failed
            assert failed.name in archive.CHECK_TITLES, failed
            assert failed.detail.strip(), failed
            outcomes["refused"][failed.name] = outcomes["refused"].get(failed.name, 0) + 1

    one()
    assert sorted(p for p in isolated_storage.rglob("*")) == files_before
    print(f"\nfuzz: {EXAMPLES} examples; valid {outcomes['valid']}; refused {outcomes['refused']}")
    # The mutations reach past the first check: the fuzzer is not only testing "not a ZIP".
    assert len(outcomes["refused"]) >= 4, outcomes

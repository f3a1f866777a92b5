"""Backup file reader (SPEC §7, R9): `verify` a backup file, check by check, without a database.

The format itself (names, manifest, signature, the streaming writer) is in backups/archive.py;
this module holds what reading a file back needs: the `Check` and `Verification` results and
their titles, the manifest shape check, and the checksum chain; the structural ZIP checks that
run before zipfile decompresses a byte, and the reader that names the entry a refusal is
about, are in archive_zip.py. It was split out of archive.py so that the
format (what is written) and the verifier (what is believed of a hostile file) each have one
home; archive.py re-exports the public names (`verify`, `verify_file`, `Verification`,
`Check`, `CHECK_TITLES`), so existing callers of `archive.verify` keep working.

Like archive.py it needs no database and no configured Django: `manage.py verify_backup_file`
runs `verify_file`, and anyone can run it on their own machine.
"""

import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from backups.archive import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    REQUIRED_MANIFEST_FIELDS,
    SIGNATURE_NAME,
    entities_file,
    signature_valid,
)
from backups.archive_zip import (
    MAX_RATIO,
    _CallerFailed,
    _check_structure,
    _holds_data,
    _is_link,
    _Reader,
    _Refused,
    _unsafe_path,
)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class Verification:
    """Every check made on a backup file, in order; `ok` when all passed."""

    checks: list[Check] = field(default_factory=list)
    manifest: dict | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failed(self) -> Check | None:
        return next((c for c in self.checks if not c.passed), None)

    def add(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed


CHECK_TITLES = {
    "zip": "A ZIP archive",
    "paths": "Safe entry paths (no absolute path, no '..', no link, no duplicate)",
    "size": "Size and compression ratio within bounds",
    "manifest": "manifest.json present, format v1",
    "signature": "manifest.sig valid (made by this service)",
    "entries": "Every entry's SHA-256 as in the manifest; none missing, none extra",
}

# What this service writes (zip_chunks): stored or deflated entries, nothing else.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_SIGNATURE_BYTES = 1024
CONTENT_TYPE = re.compile(r"[a-z][a-z_]{0,40}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def verify(
    fileobj: BinaryIO,
    *,
    secret_key: str | bytes | None,
    max_total_bytes: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Verification:
    """Check a backup file's structure, signature and every checksum; stop at the first failure.

    Never raises for anything in the file: every input ends as a Verification whose failed
    check names the entry at fault (R9). With `secret_key` None the signature is not checked
    (reported as skipped, not passed).
    """
    result = Verification()
    try:
        zf = zipfile.ZipFile(fileobj)
    except Exception as exc:  # noqa: BLE001 - R9: any unreadable input is a refusal
        result.add("zip", False, f"The file is not a ZIP archive, or it is truncated ({exc}).")
        return result
    reader = _Reader(zf, on_bytes)
    try:
        with zf:
            _verify(reader, result, secret_key=secret_key, max_total_bytes=max_total_bytes)
    except _CallerFailed as failed:
        raise failed.__cause__ from None
    except _Refused as refused:
        result.add(refused.check, False, refused.detail)
    except Exception as exc:  # noqa: BLE001 - R9: the last net, see the comment above _Reader
        refused = reader.unexpected(exc)
        result.add(refused.check, False, refused.detail)
    return result


def _verify(reader: _Reader, result: Verification, *, secret_key, max_total_bytes) -> None:
    zf = reader.zf
    infos = zf.infolist()
    _check_structure(reader, infos)
    result.add("zip", True, f"{len(infos)} entries")

    reader.check = "paths"
    seen: set[str] = set()
    for info in infos:
        # orig_filename: zipfile cuts `filename` at a NUL byte, hiding what the entry is called.
        problem = _unsafe_path(info.orig_filename)
        if problem is None and _is_link(info):
            problem = f"{info.filename!r} is a symbolic link"
        if problem is None and info.filename in seen:
            problem = f"{info.filename!r} appears twice"
        if problem:
            raise _Refused("paths", problem)
        seen.add(info.filename)
    result.add("paths", True)

    reader.check = "size"
    total = sum(i.file_size for i in infos)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > MAX_RATIO:
            raise _Refused(
                "size",
                f"{info.filename!r} would expand {ratio:.0f} times (at most {MAX_RATIO}): "
                "a zip bomb?",
            )
    if max_total_bytes is not None and total > max_total_bytes:
        raise _Refused("size", f"It would expand to {total} bytes; the limit is {max_total_bytes}.")
    result.add("size", True, f"{total} bytes uncompressed")

    reader.check = "manifest"
    if MANIFEST_NAME not in seen:
        raise _Refused("manifest", "manifest.json is missing.")
    manifest_data = reader.read_bytes(zf.getinfo(MANIFEST_NAME), MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(manifest_data)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise _Refused("manifest", f"manifest.json is not valid JSON ({exc}).") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT_NAME
        or manifest.get("version") != FORMAT_VERSION
    ):
        fmt, version = (
            (manifest.get("format"), manifest.get("version"))
            if isinstance(manifest, dict)
            else (None, None)
        )
        raise _Refused(
            "manifest",
            f"Not a backupsite backup file of format version {FORMAT_VERSION} "
            f"(format {fmt!r}, version {version!r}).",
        )
    absent = [k for k in REQUIRED_MANIFEST_FIELDS if k not in manifest]
    if absent:
        raise _Refused("manifest", f"manifest.json lacks {', '.join(absent)}.")
    problem = _manifest_problem(manifest)
    if problem:
        raise _Refused("manifest", f"manifest.json is not as this service writes it: {problem}.")
    result.manifest = manifest
    result.add("manifest", True)

    if secret_key is not None:
        reader.check = "signature"
        if SIGNATURE_NAME not in seen:
            raise _Refused("signature", "manifest.sig is missing.")
        signature = reader.read_bytes(zf.getinfo(SIGNATURE_NAME), MAX_SIGNATURE_BYTES)
        if not signature_valid(manifest_data, signature.decode(errors="replace"), secret_key):
            raise _Refused(
                "signature",
                "manifest.sig does not match: the manifest was changed, or the file was "
                "not made by this service.",
            )
        result.add("signature", True)

    reader.check = "entries"
    problem = _check_entries(reader, manifest, seen)
    if problem:
        raise _Refused("entries", problem)
    result.add("entries", True)


def _is_int(value, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _manifest_problem(manifest: dict) -> str | None:
    """The shape of a v1 manifest, field by field: later code (the checks, the restore wizard,
    the verifier) reads these fields without a second thought."""
    org, product = manifest["organization"], manifest["product"]
    if not (isinstance(org, dict) and _is_int(org.get("id")) and isinstance(org.get("name"), str)):
        return "organization needs an id and a name"
    if not (
        isinstance(product, dict)
        and _is_int(product.get("id"))
        and isinstance(product.get("kind"), str)
        and isinstance(product.get("name"), str)
    ):
        return "product needs an id, a kind and a name"
    if not _is_int(manifest["backup_id"]):
        return "backup_id is not a number"
    for key in ("taken_at", "completed_at"):
        try:
            moment = datetime.fromisoformat(manifest[key])
        except (TypeError, ValueError):
            return f"{key} is not an ISO 8601 time"
        if moment.tzinfo is None:
            return f"{key} has no time zone"
    if not isinstance(manifest["status"], str) or not isinstance(manifest["options"], dict):
        return "status or options is malformed"
    entities = manifest["entities"]
    if not isinstance(entities, dict):
        return "entities is not a mapping"
    for content_type, info in entities.items():
        if not (
            CONTENT_TYPE.fullmatch(content_type)
            and isinstance(info, dict)
            and info.get("file") == entities_file(content_type)
            and _is_int(info.get("rows"))
            and _is_int(info.get("bytes"))
            and isinstance(info.get("sha256"), str)
            and SHA256_HEX.fullmatch(info["sha256"])
        ):
            return f"entities[{content_type!r}] needs its file, rows, bytes and sha256"
    attachments = manifest["attachments"]
    if not (
        isinstance(attachments, dict)
        and _is_int(attachments.get("count"))
        and _is_int(attachments.get("bytes"))
    ):
        return "attachments needs a count and bytes"
    missing = manifest["missing"]
    if not isinstance(missing, list) or not all(
        isinstance(m, dict) and isinstance(m.get("what"), str) and isinstance(m.get("reason"), str)
        for m in missing
    ):
        return "missing is not a list of what and why"
    return None


def _check_entries(reader: _Reader, manifest: dict, names: set[str]) -> str | None:
    zf = reader.zf
    entities = manifest["entities"].values()
    for info in entities:
        if info["file"] not in names:
            return f"{info['file']} is missing."
    # Entities first: the attachments file must be proven before its rows are believed.
    for info in entities:
        path = info["file"]
        # reader.digest refuses an entry whose bytes are not the size its header says.
        got, size, lines = reader.digest(zf.getinfo(path))
        if got != info["sha256"] or size != info["bytes"]:
            return f"{path} does not match its SHA-256 in the manifest."
        if lines != info["rows"]:
            return f"{path} does not hold the {info['rows']} rows the manifest says."
    expected: dict[str, tuple[str, int]] = {}
    attachments_file = manifest["entities"].get("attachments", {}).get("file")
    if attachments_file:
        bad_line = _read_attachment_rows(reader, zf.getinfo(attachments_file), expected)
        if bad_line:
            return f"{attachments_file} line {bad_line} is not an attachment row."
    allowed = set(expected) | manifest_files(manifest) | {MANIFEST_NAME, SIGNATURE_NAME}
    # A folder entry (another ZIP tool adds them) is harmless if it holds nothing.
    extra = sorted(
        n for n in names if n not in allowed and not (n.endswith("/") and not _holds_data(zf, n))
    )
    if extra:
        return f"{extra[0]} is not listed in the manifest (an extra entry)."
    for path, (sha, size) in expected.items():
        if path not in names:
            return f"{path} is missing."
        got, got_size, _ = reader.digest(zf.getinfo(path), count_lines=False)
        if got != sha or got_size != size:
            return f"{path} does not match its SHA-256 in entities/attachments.jsonl."
    return None


def _read_attachment_rows(reader: _Reader, info: zipfile.ZipInfo, expected: dict) -> int:
    """Fill `expected` with path -> (sha256, size), line by line as the entry streams in; the
    number of the first line that is not a row, or 0. The file was proven above, so its rows
    are the service's; they are parsed defensively all the same (a file checked without the
    secret key has an unproven manifest)."""
    state = {"pending": b"", "number": 0, "bad": 0}

    def take(line: bytes) -> None:
        state["number"] += 1
        if state["bad"]:
            return
        try:
            row = json.loads(line)
            path, sha, size = row["path"], row["sha256"], row["size"]
        except (ValueError, TypeError, KeyError):
            path = sha = size = None
        if (
            isinstance(path, str)
            and path.startswith("attachments/")
            and isinstance(sha, str)
            and _is_int(size)
        ):
            expected[path] = (sha, size)
            return
        state["bad"] = state["number"]

    def sink(chunk: bytes) -> None:
        *complete, state["pending"] = (state["pending"] + chunk).split(b"\n")
        for line in complete:
            take(line)

    reader.read(info, sink)
    if state["pending"]:
        take(state["pending"])
    return state["bad"]


def manifest_files(manifest: dict) -> set[str]:
    return {info["file"] for info in manifest["entities"].values()}


def verify_file(
    path: str, *, secret_key: str | bytes | None = None, max_total_bytes: int | None = None
) -> Verification:
    """Verify a backup file on disk; usable from plain Python, without the service."""
    with open(path, "rb") as f:
        return verify(f, secret_key=secret_key, max_total_bytes=max_total_bytes)

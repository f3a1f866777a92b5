"""Backup file reader (SPEC §7, R9): `verify` a backup file, check by check, without a database.

The format itself (names, manifest, signature, the streaming writer) is in backups/archive.py;
this module holds only what reading a file back needs: the `Check` and `Verification` results
and their titles, the structural ZIP checks that run before zipfile decompresses a byte, the
manifest shape check, and the checksum chain. It was split out of archive.py so that the
format (what is written) and the verifier (what is believed of a hostile file) each have one
home; archive.py re-exports the public names (`verify`, `verify_file`, `Verification`,
`Check`, `CHECK_TITLES`), so existing callers of `archive.verify` keep working.

Like archive.py it needs no database and no configured Django: `manage.py verify_backup_file`
runs `verify_file`, and anyone can run it on their own machine.
"""

import hashlib
import json
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from backups.archive import (
    CHUNK,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    REQUIRED_MANIFEST_FIELDS,
    SIGNATURE_NAME,
    entities_file,
    signature_valid,
)

# Zip-bomb bounds (R9): an entry may expand at most this many times (JSON lines compress
# about 5-10x; attachments are stored), and the whole file to at most this many bytes.
MAX_RATIO = 100

# --- reader and checks -------------------------------------------------------------------------
#
# The file is hostile until proven otherwise (R9). zipfile trusts the central directory and
# raises whatever its input leads it to (BadZipFile, RuntimeError for an encrypted entry,
# NotImplementedError for an unknown method, zlib.error, EOFError, struct.error, …). So the
# reader checks the structure itself before zipfile decompresses a byte: only stored or
# deflated entries, none encrypted, each local header agreeing with the central directory, no
# two entries sharing bytes, every size within bounds; then it reads every entry to its end
# and compares the bytes read with the header and the manifest. Whatever still escapes is
# turned into a refusal of the check that was running, naming the entry being read: a
# validation always ends, and always says which check failed on which entry.


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
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
# General-purpose flag bits: 0 encrypted, 6 strong encryption, 13 encrypted central directory;
# 5 compressed patched data. zipfile answers these with RuntimeError / NotImplementedError.
ENCRYPTED_FLAGS = 0x0001 | 0x0040 | 0x2000
PATCHED_FLAG = 0x0020
DATA_DESCRIPTOR_FLAG = 0x0008
UTF8_FLAG = 0x0800
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
LOCAL_SIGNATURE = b"PK\x03\x04"
ZIP64_LIMIT = 0xFFFFFFFF
# The manifest and its signature are read whole into memory: bound them (a manifest lists five
# entities files and what is missing; a signature is 64 hex digits).
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_SIGNATURE_BYTES = 1024
CONTENT_TYPE = re.compile(r"[a-z][a-z_]{0,40}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class _Refused(Exception):
    """One check failed: stop, and report `detail` under `check`."""

    def __init__(self, check: str, detail: str):
        super().__init__(detail)
        self.check = check
        self.detail = detail


class _CallerFailed(Exception):
    """The caller's on_bytes raised (its database, say): not the file's fault, so re-raised
    as it was instead of being reported as a refusal of the file."""


class _Reader:
    """Where the verification is: the check running and the entry being read, so that any
    exception a hostile file provokes is reported under that check, naming that entry."""

    def __init__(self, zf: zipfile.ZipFile, on_bytes: Callable[[int], None] | None):
        self.zf = zf
        self.on_bytes = on_bytes
        self.check = "zip"
        self.entry: str | None = None

    def read(self, info: zipfile.ZipInfo, sink: Callable[[bytes], None], limit: int | None = None):
        """Every byte of one entry, in chunks, to `sink`; exactly the size its header says."""
        self.entry = info.filename
        if limit is not None and info.file_size > limit:
            raise _Refused(
                self.check,
                f"{info.filename} is {info.file_size} bytes; it can be at most {limit}.",
            )
        size = 0
        with self.zf.open(info) as f:
            while chunk := f.read(CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    break  # zipfile stops at the declared size; this is only a guard
                sink(chunk)
                if self.on_bytes:
                    try:
                        self.on_bytes(len(chunk))
                    except Exception as exc:
                        raise _CallerFailed from exc
        if size != info.file_size:
            raise _Refused(
                self.check,
                f"{info.filename}: its ZIP header says {info.file_size} bytes, "
                f"{size} were read: a size in the headers lies.",
            )
        self.entry = None
        return size

    def read_bytes(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        parts: list[bytes] = []
        self.read(info, parts.append, limit)
        return b"".join(parts)

    def digest(self, info: zipfile.ZipInfo) -> tuple[str, int, int]:
        """SHA-256, size and number of lines of one entry."""
        digest = hashlib.sha256()
        lines = 0

        def sink(chunk: bytes) -> None:
            nonlocal lines
            digest.update(chunk)
            lines += chunk.count(b"\n")

        size = self.read(info, sink)
        return digest.hexdigest(), size, lines

    def unexpected(self, exc: Exception) -> _Refused:
        """A refusal for an exception the checks did not foresee, naming the entry."""
        entry = self.entry
        if entry is None:
            return _Refused(self.check, f"The archive cannot be read ({_describe(exc)}).")
        if isinstance(exc, zlib.error):
            why = f": its compressed data is damaged ({exc})"
        elif isinstance(exc, EOFError):
            why = f": its compressed data ends early ({exc})"
        elif isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
            why = ": its CRC-32 does not match its bytes"
        else:
            why = f" ({_describe(exc)})"
        return _Refused(self.check, f"{entry} cannot be read{why}.")


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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


def _check_structure(reader: _Reader, infos: list[zipfile.ZipInfo]) -> None:
    """What zipfile does not check, or answers with an exception: refused by entry name."""
    zf = reader.zf
    for info in infos:
        name = reader.entry = info.filename
        if info.flag_bits & ENCRYPTED_FLAGS:
            raise _Refused("zip", f"{name} is encrypted; a backup file never is.")
        if info.flag_bits & PATCHED_FLAG:
            raise _Refused("zip", f"{name} is compressed patched data; a backup file never is.")
        if info.compress_type not in METHODS:
            raise _Refused(
                "zip",
                f"{name} is compressed with method {info.compress_type}; a backup file uses "
                "only stored (0) or deflate (8).",
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise _Refused(
                "zip",
                f"{name} is stored uncompressed, yet its header says {info.compress_size} bytes "
                f"stored for {info.file_size}: a size in the headers lies.",
            )
    # Each entry's local header, then its data, must end before the next entry begins: entries
    # that share bytes are how a small file expands without end (an overlapping zip bomb).
    ordered = sorted(infos, key=lambda i: i.header_offset)
    ends = [i.header_offset for i in ordered[1:]] + ([zf.start_dir] if ordered else [])
    for info, next_start in zip(ordered, ends, strict=True):
        reader.entry = info.filename
        data_end = _local_header_end(zf, info) + info.compress_size
        if data_end > next_start:
            raise _Refused(
                "zip",
                f"{info.filename} overlaps the next entry: its data ends at byte {data_end}, "
                f"past byte {next_start}. A size or an offset in the headers lies.",
            )
    reader.entry = None


def _local_header_end(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Where the entry's data begins, after checking its local header agrees with the central
    directory (zipfile reads only the name from it; another tool would believe the rest)."""
    name = info.filename
    fp = zf.fp
    raw = b""
    if info.header_offset >= 0:  # zipfile shifts offsets by what it takes for a prefix
        fp.seek(info.header_offset)
        raw = fp.read(LOCAL_HEADER.size)
    if len(raw) != LOCAL_HEADER.size or raw[:4] != LOCAL_SIGNATURE:
        raise _Refused("zip", f"{name} has no local header where the central directory says.")
    (_, _, flags, method, _, _, crc, csize, usize, name_len, extra_len) = LOCAL_HEADER.unpack(raw)
    local_name = fp.read(name_len)
    try:
        decoded = local_name.decode("utf-8" if flags & UTF8_FLAG else "cp437")
    except UnicodeDecodeError:
        decoded = None
    differ = []
    if decoded != info.orig_filename:
        differ.append(f"name {local_name!r}")
    if flags != info.flag_bits:
        differ.append(f"flags {flags:#06x}, not {info.flag_bits:#06x}")
    if method != info.compress_type:
        differ.append(f"compression method {method}, not {info.compress_type}")
    if not flags & DATA_DESCRIPTOR_FLAG:
        for label, local, central in (
            ("CRC-32", crc, info.CRC),
            ("compressed size", csize, info.compress_size),
            ("size", usize, info.file_size),
        ):
            if local != central and not (label != "CRC-32" and local == ZIP64_LIMIT):
                differ.append(f"{label} {local}, not {central}")
    if differ:
        raise _Refused(
            "zip",
            f"{name}: its local header disagrees with the central directory ({'; '.join(differ)}).",
        )
    return info.header_offset + LOCAL_HEADER.size + name_len + extra_len


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


def _unsafe_path(name: str) -> str | None:
    if name.startswith("/") or name.startswith("\\") or (len(name) > 1 and name[1] == ":"):
        return f"{name!r} is an absolute path"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return f"{name!r} points outside the archive ('..')"
    if "\x00" in name:
        return f"{name!r} contains a NUL byte"
    return None


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode) if mode else False


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
        got, got_size, _ = reader.digest(zf.getinfo(path))
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


def _holds_data(zf: zipfile.ZipFile, name: str) -> bool:
    info = zf.getinfo(name)
    return info.file_size > 0 or info.compress_size > 0


def manifest_files(manifest: dict) -> set[str]:
    return {info["file"] for info in manifest["entities"].values()}


def verify_file(
    path: str, *, secret_key: str | bytes | None = None, max_total_bytes: int | None = None
) -> Verification:
    """Verify a backup file on disk; usable from plain Python, without the service."""
    with open(path, "rb") as f:
        return verify(f, secret_key=secret_key, max_total_bytes=max_total_bytes)

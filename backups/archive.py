"""Backup file format version 1 (SPEC §7): manifest, signature, streaming ZIP writer, reader.

A backup file is a ZIP (ZIP64 where needed) holding, in this order:
  manifest.json          the stored backup's manifest, unchanged
  manifest.sig           HMAC-SHA256 of manifest.json, hex, keyed by a key derived from the
                         service's secret key for this purpose only
  entities/<type>.jsonl  as stored; each file's SHA-256 and row count are in the manifest
  attachments/<id>/<name>  each listed with its SHA-256 and size in entities/attachments.jsonl

So the signature vouches for the manifest, the manifest for every entities file, and the
attachments entities file for every attachment: one chain, checkable without a database.
The standard library's zipfile writes to an unseekable stream (data descriptors) and reads
with streaming decompression; no third-party ZIP library is needed.

This module needs no database and no configured Django: `verify_file(path, secret_key)` is
what `manage.py verify_backup_file` runs, and what anyone can run on their own machine.
"""

import hashlib
import hmac
import json
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

FORMAT_NAME = "backupsite-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
SIGNING_SALT = "backupsite.archive.manifest-signature.v1"
CHUNK = 1024 * 1024

# Zip-bomb bounds (R9): an entry may expand at most this many times (JSON lines compress
# about 5-10x; attachments are stored), and the whole file to at most this many bytes.
MAX_RATIO = 100
REQUIRED_MANIFEST_FIELDS = (
    "format",
    "version",
    "backup_id",
    "organization",
    "product",
    "taken_at",
    "completed_at",
    "status",
    "options",
    "entities",
    "attachments",
    "missing",
)


def entities_file(content_type: str) -> str:
    return f"entities/{content_type}.jsonl"


# --- manifest and signature -----------------------------------------------------------------


def build_manifest(
    *,
    backup,
    status: str,
    completed_at,
    entities: dict[str, dict],
    attachment_count: int,
    attachment_bytes: int,
    missing: list[dict],
) -> dict:
    product = backup.product
    org = product.organization
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "backup_id": backup.id,
        "organization": {"id": org.id, "name": org.name},
        "product": {"id": product.id, "kind": product.kind, "name": product.name},
        "taken_at": backup.started_at.astimezone(UTC).isoformat(),
        "completed_at": completed_at.astimezone(UTC).isoformat(),
        "status": status,
        "options": backup.options,
        "entities": entities,
        "attachments": {"count": attachment_count, "bytes": attachment_bytes},
        "missing": missing,
    }


def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"


def signing_key(secret_key: str | bytes) -> bytes:
    """A key for signing manifests only, derived from the secret key (never the key itself)."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(secret, SIGNING_SALT.encode(), hashlib.sha256).digest()


def sign(data: bytes, secret_key: str | bytes) -> str:
    return hmac.new(signing_key(secret_key), data, hashlib.sha256).hexdigest()


def signature_valid(data: bytes, signature: str, secret_key: str | bytes) -> bool:
    return hmac.compare_digest(sign(data, secret_key), signature.strip())


# --- writer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One file to put in the archive: its name, its size, and how to read its bytes."""

    name: str
    size: int
    chunks: Callable[[], Iterable[bytes]]
    compress: bool = False


class _Sink:
    """Where zipfile writes; the generator drains it, so nothing accumulates."""

    def __init__(self):
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> Iterator[bytes]:
        if self._parts:
            data = b"".join(self._parts)
            self._parts.clear()
            yield data


# A fixed time for every entry: the same backup always makes the same bytes.
ENTRY_TIME = (2020, 1, 1, 0, 0, 0)


def zip_chunks(entries: Iterable[Entry]) -> Iterator[bytes]:
    """Stream a ZIP of `entries` as byte chunks, never holding an entry whole in memory."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=ENTRY_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if entry.compress else zipfile.ZIP_STORED
            info.file_size = entry.size  # lets zipfile choose ZIP64 for a large entry
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            with zf.open(info, "w") as out:
                for chunk in entry.chunks():
                    out.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


def read_chunks(fileobj: BinaryIO) -> Iterator[bytes]:
    with fileobj:
        while chunk := fileobj.read(CHUNK):
            yield chunk


def archive_entries(
    *,
    manifest_data: bytes,
    secret_key: str | bytes,
    open_object: Callable[[str], BinaryIO],
) -> Iterator[Entry]:
    """The entries of a backup file, read from a stored backup through `open_object(path)`."""
    manifest = json.loads(manifest_data)
    signature = sign(manifest_data, secret_key).encode()
    yield Entry(MANIFEST_NAME, len(manifest_data), lambda: [manifest_data])
    yield Entry(SIGNATURE_NAME, len(signature), lambda: [signature])
    for info in manifest["entities"].values():
        path = info["file"]
        yield Entry(
            path, info["bytes"], lambda path=path: read_chunks(open_object(path)), compress=True
        )
    if "attachments" in manifest["entities"]:
        with open_object(manifest["entities"]["attachments"]["file"]) as rows:
            for line in rows:
                row = json.loads(line)
                path, sha, size = row["path"], row["sha256"], row["size"]
                yield Entry(
                    path,
                    size,
                    lambda path=path, sha=sha, size=size: _verified(
                        read_chunks(open_object(path)), path, sha, size
                    ),
                )


class ChecksumMismatch(Exception):
    """A stored object is not what its row says: the file must not be made."""


def _verified(chunks: Iterable[bytes], path: str, sha256: str, size: int) -> Iterator[bytes]:
    # On S3 attachments are copied server-side, unhashed; the file is where they are proven.
    digest = hashlib.sha256()
    n = 0
    for chunk in chunks:
        digest.update(chunk)
        n += len(chunk)
        yield chunk
    if digest.hexdigest() != sha256 or n != size:
        raise ChecksumMismatch(
            f"{path} in the stored backup does not match its SHA-256 and size "
            f"({size} bytes expected, {n} read): the backup is damaged."
        )


# --- reader and checks -------------------------------------------------------------------------


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


def _hash_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, on_bytes=None) -> tuple[str, int, int]:
    """SHA-256, size and number of lines of one entry, read in chunks."""
    digest = hashlib.sha256()
    size = lines = 0
    with zf.open(info) as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
            if size > info.file_size:
                raise zipfile.BadZipFile(f"{info.filename} expands beyond its declared size")
            if on_bytes:
                on_bytes(len(chunk))
    return digest.hexdigest(), size, lines


def verify(
    fileobj: BinaryIO,
    *,
    secret_key: str | bytes | None,
    max_total_bytes: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Verification:
    """Check a backup file's structure, signature and every checksum; stop at the first failure.

    With `secret_key` None the signature is not checked (reported as skipped, not passed).
    """
    result = Verification()
    try:
        zf = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        result.add("zip", False, f"The file is not a ZIP archive, or it is truncated ({exc}).")
        return result
    with zf:
        infos = zf.infolist()
        result.add("zip", True, f"{len(infos)} entries")

        seen: set[str] = set()
        for info in infos:
            problem = _unsafe_path(info.filename)
            if problem is None and _is_link(info):
                problem = f"{info.filename!r} is a symbolic link"
            if problem is None and info.filename in seen:
                problem = f"{info.filename!r} appears twice"
            if problem:
                result.add("paths", False, problem)
                return result
            seen.add(info.filename)
        result.add("paths", True)

        total = sum(i.file_size for i in infos)
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 1024 * 1024 and ratio > MAX_RATIO:
                result.add(
                    "size",
                    False,
                    f"{info.filename!r} would expand {ratio:.0f} times (at most {MAX_RATIO}): "
                    "a zip bomb?",
                )
                return result
        if max_total_bytes is not None and total > max_total_bytes:
            result.add(
                "size", False, f"It would expand to {total} bytes; the limit is {max_total_bytes}."
            )
            return result
        result.add("size", True, f"{total} bytes uncompressed")

        if MANIFEST_NAME not in seen:
            result.add("manifest", False, "manifest.json is missing.")
            return result
        try:
            manifest_data = zf.read(MANIFEST_NAME)
            manifest = json.loads(manifest_data)
        except (ValueError, zipfile.BadZipFile) as exc:
            result.add("manifest", False, f"manifest.json is not valid JSON ({exc}).")
            return result
        absent = [k for k in REQUIRED_MANIFEST_FIELDS if k not in manifest]
        if manifest.get("format") != FORMAT_NAME or manifest.get("version") != FORMAT_VERSION:
            result.add(
                "manifest",
                False,
                f"Not a backupsite backup file of format version {FORMAT_VERSION} "
                f"(format {manifest.get('format')!r}, version {manifest.get('version')!r}).",
            )
            return result
        if absent:
            result.add("manifest", False, f"manifest.json lacks {', '.join(absent)}.")
            return result
        result.manifest = manifest
        result.add("manifest", True)

        if secret_key is not None:
            if SIGNATURE_NAME not in seen:
                result.add("signature", False, "manifest.sig is missing.")
                return result
            signature = zf.read(SIGNATURE_NAME).decode(errors="replace")
            if not signature_valid(manifest_data, signature, secret_key):
                result.add(
                    "signature",
                    False,
                    "manifest.sig does not match: the manifest was changed, or the file was "
                    "not made by this service.",
                )
                return result
            result.add("signature", True)

        try:
            problem = _check_entries(zf, manifest, seen, on_bytes)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
            problem = f"The archive is damaged: {exc}."
        result.add("entries", problem is None, problem or "")
    return result


def _check_entries(zf, manifest: dict, names: set[str], on_bytes) -> str | None:
    entities = manifest["entities"].values()
    for info in entities:
        if info["file"] not in names:
            return f"{info['file']} is missing."
    # Entities first: the attachments file must be proven before its rows are believed.
    for info in entities:
        path = info["file"]
        got, size, lines = _hash_entry(zf, zf.getinfo(path), on_bytes)
        if got != info["sha256"] or size != info["bytes"]:
            return f"{path} does not match its SHA-256 in the manifest."
        if lines != info["rows"]:
            return f"{path} does not hold the {info['rows']} rows the manifest says."
    expected: dict[str, tuple[str, int]] = {}
    attachments_file = manifest["entities"].get("attachments", {}).get("file")
    if attachments_file:
        with zf.open(attachments_file) as f:
            for line in f:
                row = json.loads(line)
                expected[row["path"]] = (row["sha256"], row["size"])
    allowed = set(expected) | manifest_files(manifest) | {MANIFEST_NAME, SIGNATURE_NAME}
    extra = sorted(n for n in names if n not in allowed and not n.endswith("/"))
    if extra:
        return f"{extra[0]} is not listed in the manifest (an extra entry)."
    for path, (sha, size) in expected.items():
        if path not in names:
            return f"{path} is missing."
        got, got_size, _ = _hash_entry(zf, zf.getinfo(path), on_bytes)
        if got != sha or got_size != size:
            return f"{path} does not match its SHA-256 in entities/attachments.jsonl."
    return None


def manifest_files(manifest: dict) -> set[str]:
    return {info["file"] for info in manifest["entities"].values()}


def verify_file(
    path: str, *, secret_key: str | bytes | None = None, max_total_bytes: int | None = None
) -> Verification:
    """Verify a backup file on disk; usable from plain Python, without the service."""
    with open(path, "rb") as f:
        return verify(f, secret_key=secret_key, max_total_bytes=max_total_bytes)


def taken_at(manifest: dict) -> datetime:
    return datetime.fromisoformat(manifest["taken_at"])

"""Backup file format version 1 (SPEC §7): manifest, signature, streaming ZIP writer.

A backup file is a ZIP (ZIP64 where needed) holding, in this order:
  manifest.json          the stored backup's manifest, unchanged
  manifest.sig           HMAC-SHA256 of manifest.json, hex, keyed by a key derived from the
                         service's secret key for this purpose only
  entities/<type>.jsonl  as stored; each file's SHA-256 and row count are in the manifest
  attachments/<id>/<name>  each listed with its SHA-256 and size in entities/attachments.jsonl

So the signature vouches for the manifest, the manifest for every entities file, and the
attachments entities file for every attachment: one chain, checkable without a database.
The file is a stream (a data descriptor after each entry), its records written by
archive_zip.ZipStream as the standard library's zipfile wrote them; CRC-32s and the entities'
deflate by ISA-L (#16). Attachments are read, and proven against their SHA-256s, by
archive_attachments.py, on a second thread.

This module needs no database and no configured Django: `verify_file(path, secret_key)` is
what `manage.py verify_backup_file` runs, and what anyone can run on their own machine.
The reader and its checks (`verify`, `verify_file`, `Verification`, `CHECK_TITLES`) live in
backups/archive_reader.py; they are re-exported here, so `archive.verify` still works.
"""

import hashlib
import hmac
import json
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import orjson

from backups.archive_attachments import (  # noqa: F401 - ATTACHMENT_CHUNK: archive's name
    ATTACHMENT_CHUNK,
    ChecksumMismatch,
    _AttachmentReader,
    _Chunks,
)
from backups.archive_zip import CHUNK, ZipStream, crc32, deflater

FORMAT_NAME = "backupsite-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
SIGNING_SALT = "backupsite.archive.manifest-signature.v1"

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


# A fixed time for every entry: the same backup always makes the same bytes.
ENTRY_TIME = (2020, 1, 1, 0, 0, 0)
ENTRY_MODE = stat.S_IFREG | 0o644


def zip_chunks(entries: Iterable[Entry]) -> Iterator[bytes | memoryview]:
    """Stream a ZIP of `entries` as byte chunks, never holding an entry whole in memory.

    An attachment's chunks are views of buffers its reader reuses (_Read): each is valid
    until the chunk after the next one is asked for, so the caller writes (and hashes) a chunk
    before going on and keeps no reference to it (storage.write_chunks does exactly that); to
    keep the bytes, copy them (`bytes(chunk)`). A chunk is handed on as it came, never copied
    or joined (#16); only the small records between entries are joined.
    """
    stream = ZipStream()
    records = b""  # the last entry's data descriptor, then the next one's local header
    for entry in entries:
        records += stream.begin(
            entry.name,
            size=entry.size,
            deflated=entry.compress,
            mode=ENTRY_MODE,
            date_time=ENTRY_TIME,
        )
        yield records
        crc = size = stored = 0
        deflate = deflater()  # ISA-L's: zlib's default level was 36-60 MB/s (#16)
        chunks = entry.chunks()
        counted = isinstance(chunks, _Chunks)  # an attachment: its reader computes its CRC-32
        for chunk in chunks:
            if not counted:
                crc = crc32(chunk, crc)
            size += len(chunk)
            if entry.compress:
                chunk = deflate.compress(chunk)
            if chunk:
                stored += len(chunk)
                yield chunk
        if entry.compress and (rest := deflate.flush()):
            stored += len(rest)
            yield rest
        records = stream.end(chunks.crc32 if counted else crc, stored, size)
    yield records + stream.finish()


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
        reader = _AttachmentReader(open_object)
        try:
            with open_object(manifest["entities"]["attachments"]["file"]) as lines:
                rows = (json.loads(line) for line in lines)
                row = next(rows, None)
                while row is not None:
                    after = next(rows, None)  # read ahead of this one: see _AttachmentReader
                    reader.upcoming = _row(after) if after is not None else None
                    path, sha, size = _row(row)
                    yield Entry(
                        path,
                        size,
                        lambda path=path, sha=sha, size=size: reader.chunks(path, sha, size),
                    )
                    row = after
        finally:
            reader.close()


def _row(row: dict) -> tuple[str, str, int]:
    return row["path"], row["sha256"], row["size"]


class EntitiesFileDamaged(Exception):
    """An entities file of the backup is not what its manifest recorded (R8: the restore stops
    before its publish, so the destination never shows a row of it). Said the same way
    wherever the file is read (here, or by a restore's parsing process: parsed_rows)."""

    @classmethod
    def at_line(cls, name: str, number: int) -> "EntitiesFileDamaged":
        return cls(
            f"The backup's {name} is damaged (line {number} is not a row): it does not match "
            "its checksum."
        )

    @classmethod
    def if_digest_differs(cls, info: dict, read: str) -> None:
        """Raised when the file's SHA-256 is not the one its manifest entry recorded."""
        expected = info.get("sha256")  # in every manifest this service wrote (D1)
        if expected and read != expected:
            raise cls(
                f"The backup's {info['file']} does not match its checksum (expected SHA-256 "
                f"{expected[:12]}…, read {read[:12]}…)."
            )


def entities_rows(lines, info: dict) -> Iterator[dict]:
    """The rows of an entities file, each line parsed as it comes; the whole file checked
    against the manifest's SHA-256 once read (D1), before the import that reads it can end.
    A line that is not JSON stops it at once, with the same words."""
    digest = hashlib.sha256()
    for number, line in enumerate(lines, 1):
        digest.update(line)
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise EntitiesFileDamaged.at_line(info["file"], number) from None
        yield row
    EntitiesFileDamaged.if_digest_differs(info, digest.hexdigest())


def taken_at(manifest: dict) -> datetime:
    return datetime.fromisoformat(manifest["taken_at"])


# The reader, in its own module (backups/archive_reader.py), which imports from this one: its
# public names are resolved on first use, not imported here, so that importing either module
# first never meets the other half-initialised.
_READER_NAMES = frozenset({"Check", "CHECK_TITLES", "Verification", "verify", "verify_file"})


def __getattr__(name: str):
    if name in _READER_NAMES:
        from backups import archive_reader

        return getattr(archive_reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

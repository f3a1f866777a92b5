"""The bad-file corpus (R9, issue #10): each variant is a real backup file made by the service,
changed the way a truncated download, a damaged disk, a careless tool or an attacker changes it.

A variant is (id, make, check, detail): `make(data)` returns the bad bytes; the upload must be
refused by `check` with `detail` in its message (the entry named where one is at fault). The
ids are the test ids, so a test run lists every variant by name.
"""

import io
import json
import stat
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from backups import archive
from tests import zipbytes

ISSUES = "entities/issues.jsonl"
ATTACHMENTS_FILE = "entities/attachments.jsonl"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


@dataclass(frozen=True)
class Variant:
    id: str
    make: Callable[[bytes], bytes]
    check: str
    detail: str  # in the refusal's message; "{attachment}" stands for the first attachment
    settings: dict = field(default_factory=dict)


def first_attachment(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return next(n for n in z.namelist() if n.startswith("attachments/"))


def rewrite(data: bytes, *, change=None, drop=(), add=()) -> bytes:
    """Copy entry by entry with zipfile (consistent headers), changing, dropping, adding."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            body = zin.read(info)
            if change and info.filename in change:
                body = change[info.filename](body)
            zout.writestr(info, body)
        for item in add:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Duplicate name" is the point
                if isinstance(item, zipfile.ZipInfo):
                    zout.writestr(item, b"x")
                else:
                    zout.writestr(*item)
    return out.getvalue()


def flip_last(body: bytes) -> bytes:
    return body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]


def link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def folder_with_data(name: str) -> zipfile.ZipInfo:
    return zipfile.ZipInfo(name)


def bomb(data: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("entities/zeros.jsonl", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


def manifest_json(change: Callable[[dict], object]) -> Callable[[bytes], bytes]:
    def edit(body: bytes) -> bytes:
        manifest = json.loads(body)
        return json.dumps(change(manifest)).encode()

    return edit


def without(key: str) -> Callable[[dict], dict]:
    return lambda m: {k: v for k, v in m.items() if k != key}


def signed_with(key: str) -> Callable[[bytes], bytes]:
    def resign(data: bytes) -> bytes:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            manifest = z.read(MANIFEST)
        return rewrite(data, change={SIGNATURE: lambda _: archive.sign(manifest, key).encode()})

    return resign


def attachment_field(field_name: str, value) -> Callable[[bytes], bytes]:
    return lambda d: zipbytes.set_both(d, first_attachment(d), field_name, value)


def cut_in_central_directory(data: bytes) -> bytes:
    at = zipbytes.field_of(data, zipbytes.eocd(data), zipbytes.EOCD_FIELDS, "cd_offset")
    return data[: at + 10]


def eocd_field(name: str, delta: int) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        end = zipbytes.eocd(data)
        offset, fmt = zipbytes.EOCD_FIELDS[name]
        value = zipbytes.field_of(data, end, zipbytes.EOCD_FIELDS, name)
        return zipbytes.put(data, end + offset, fmt, value + delta)

    return change


def second_points_at_first(data: bytes) -> bytes:
    """Two central entries for one local header: one entry's bytes read twice."""
    recs = [r for r in zipbytes.records(data) if r.name.startswith("attachments/")]
    offset, fmt = zipbytes.CENTRAL_FIELDS["local_offset"]
    return zipbytes.put(data, recs[1].central + offset, fmt, recs[0].local)


def central_size(name: str, value: Callable[[int], int], field_name="file_size"):
    def change(data: bytes) -> bytes:
        now = zipbytes.get_field(data, name, "central", field_name)
        return zipbytes.set_field(data, name, "central", field_name, value(now))

    return change


def renamed(old: str, new: str) -> Callable[[bytes], bytes]:
    return lambda d: zipbytes.rename(d, old, new)


def renamed_attachment(data: bytes) -> bytes:
    name = first_attachment(data)
    return zipbytes.rename(data, name, name[:-5] + "X" + name[-4:])


DAMAGED = "cannot be read: its compressed data is damaged"
LIES = "a size in the headers lies"

VARIANTS = [
    # --- not a ZIP, or not a whole one ----------------------------------------------------------
    Variant("not-a-zip", lambda d: b"this is not a zip file at all", "zip", "not a ZIP archive"),
    Variant("pdf-renamed-zip", lambda d: b"%PDF-1.7\n" + d[:4000], "zip", "not a ZIP archive"),
    Variant(
        "empty-zip",
        lambda d: zipbytes.EOCD_SIGNATURE + bytes(18),
        "manifest",
        "manifest.json is missing.",
    ),
    Variant("truncated-half", lambda d: d[: len(d) // 2], "zip", "not a ZIP archive"),
    Variant("truncated-last-byte", lambda d: d[:-1], "zip", "not a ZIP archive"),
    Variant("truncated-in-central-directory", cut_in_central_directory, "zip", "not a ZIP"),
    Variant(
        "central-directory-offset-lies",
        eocd_field("cd_offset", 1),
        "zip",
        "manifest.json has no local header where the central directory says.",
    ),
    # --- encryption and compression methods (item 2) ---------------------------------------------
    Variant(
        "encrypted-manifest",
        lambda d: zipbytes.set_both(d, MANIFEST, "flags", 0x0009),
        "zip",
        "manifest.json is encrypted; a backup file never is.",
    ),
    Variant(
        "encrypted-signature",
        lambda d: zipbytes.set_both(d, SIGNATURE, "flags", 0x0009),
        "zip",
        "manifest.sig is encrypted",
    ),
    Variant(
        "encrypted-entities-file",
        lambda d: zipbytes.set_both(d, ISSUES, "flags", 0x0009),
        "zip",
        f"{ISSUES} is encrypted",
    ),
    Variant(
        "encrypted-attachment",
        attachment_field("flags", 0x0009),
        "zip",
        "{attachment} is encrypted",
    ),
    Variant(
        "strong-encryption-flag",
        lambda d: zipbytes.set_both(d, ISSUES, "flags", 0x0049),
        "zip",
        f"{ISSUES} is encrypted",
    ),
    Variant(
        "patched-data-flag",
        lambda d: zipbytes.set_both(d, ISSUES, "flags", 0x0028),
        "zip",
        f"{ISSUES} is compressed patched data",
    ),
    Variant(
        "method-99-manifest",
        lambda d: zipbytes.set_both(d, MANIFEST, "method", 99),
        "zip",
        "manifest.json is compressed with method 99",
    ),
    Variant(
        "method-99-entities-file",
        lambda d: zipbytes.set_both(d, ISSUES, "method", 99),
        "zip",
        f"{ISSUES} is compressed with method 99",
    ),
    Variant(
        "method-bzip2-entities-file",
        lambda d: zipbytes.set_both(d, ISSUES, "method", 12),
        "zip",
        f"{ISSUES} is compressed with method 12",
    ),
    Variant(
        "method-lzma-attachment",
        attachment_field("method", 14),
        "zip",
        "{attachment} is compressed with method 14",
    ),
    Variant(
        "method-deflate-on-stored-manifest",
        lambda d: zipbytes.set_both(d, MANIFEST, "method", 8),
        "manifest",
        "manifest.json cannot be read",
    ),
    # --- headers that disagree, sizes that lie (items 3, 4) --------------------------------------
    Variant(
        "local-method-differs",
        lambda d: zipbytes.set_field(d, ISSUES, "local", "method", 99),
        "zip",
        f"{ISSUES}: its local header disagrees with the central directory",
    ),
    Variant(
        "local-flags-differ",
        lambda d: zipbytes.set_field(d, MANIFEST, "local", "flags", 0x0009),
        "zip",
        "manifest.json: its local header disagrees with the central directory",
    ),
    Variant(
        "local-name-differs",
        lambda d: zipbytes.put(d, zipbytes.record(d, ISSUES).local + 30, "B", ord("E")),
        "zip",
        f"{ISSUES}: its local header disagrees with the central directory (name",
    ),
    Variant(
        "local-header-offset-lies",
        central_size(ISSUES, lambda v: v + 1, "local_offset"),
        "zip",
        f"{ISSUES} has no local header where the central directory says.",
    ),
    Variant(
        "two-entries-one-local-header",
        second_points_at_first,
        "zip",
        "{attachment} overlaps the next entry",
    ),
    Variant(
        "central-size-raised-12130-to-606500",
        central_size(ISSUES, lambda v: 606500),
        "entries",
        f"{ISSUES}: its ZIP header says 606500 bytes, 12130 were read: {LIES}.",
    ),
    Variant(
        "central-size-lowered",
        central_size(ISSUES, lambda v: v - 130),
        "entries",
        f"{ISSUES} cannot be read",
    ),
    Variant(
        "stored-size-lie-manifest",
        central_size(MANIFEST, lambda v: v + 1),
        "zip",
        "manifest.json is stored uncompressed, yet its header says",
    ),
    Variant(
        "compressed-size-overlaps-next-entry",
        central_size(ISSUES, lambda v: v + 100, "compress_size"),
        "zip",
        f"{ISSUES} overlaps the next entry",
    ),
    Variant(
        "compressed-size-short",
        central_size(ISSUES, lambda v: v - 100, "compress_size"),
        "entries",
        f"{ISSUES} cannot be read",
    ),
    Variant(
        "crc-lie-entities-file",
        central_size(ISSUES, lambda v: v ^ 0x1, "crc"),
        "entries",
        f"{ISSUES} cannot be read: its CRC-32 does not match its bytes.",
    ),
    Variant(
        "crc-lie-attachment",
        lambda d: central_size(first_attachment(d), lambda v: v ^ 0x1, "crc")(d),
        "entries",
        "{attachment} cannot be read: its CRC-32 does not match its bytes.",
    ),
    Variant(
        "damaged-deflate-issues",
        lambda d: zipbytes.damage_deflate(d, ISSUES),
        "entries",
        f"{ISSUES} {DAMAGED}",
    ),
    Variant(
        "damaged-deflate-attachments-file",
        lambda d: zipbytes.damage_deflate(d, ATTACHMENTS_FILE),
        "entries",
        f"{ATTACHMENTS_FILE} {DAMAGED}",
    ),
    # --- paths ------------------------------------------------------------------------------------
    Variant(
        "dot-dot-path",
        lambda d: rewrite(d, add=[("../evil.txt", b"x")]),
        "paths",
        "outside the archive",
    ),
    Variant(
        "absolute-path",
        lambda d: rewrite(d, add=[("/etc/cron.d/evil", b"x")]),
        "paths",
        "absolute path",
    ),
    Variant(
        "windows-drive-path",
        lambda d: rewrite(d, add=[("C:\\evil.bat", b"x")]),
        "paths",
        "absolute path",
    ),
    Variant(
        "symlink", lambda d: rewrite(d, add=[link("attachments/link")]), "paths", "symbolic link"
    ),
    Variant(
        "duplicate-manifest",
        lambda d: rewrite(d, add=[(MANIFEST, b"{}")]),
        "paths",
        "'manifest.json' appears twice",
    ),
    Variant(
        "duplicate-entities-file",
        lambda d: rewrite(d, add=[(ISSUES, b"{}\n")]),
        "paths",
        f"'{ISSUES}' appears twice",
    ),
    Variant(
        "nul-in-a-name",
        renamed(ISSUES, "entities/issues\0jsonl"),
        "paths",
        "'entities/issues\\x00jsonl' contains a NUL byte",
    ),
    # --- size (zip bombs, D2) ---------------------------------------------------------------------
    Variant("zip-bomb", bomb, "size", "a zip bomb?"),
    Variant(
        "expands-past-the-local-limit",
        lambda d: d,
        "size",
        "It would expand to",
        settings={"LOCAL_DOWNLOAD_LIMIT": 60_000},
    ),
    # --- the manifest -----------------------------------------------------------------------------
    Variant(
        "no-manifest",
        lambda d: rewrite(d, drop={MANIFEST}),
        "manifest",
        "manifest.json is missing.",
    ),
    Variant(
        "manifest-not-json",
        lambda d: rewrite(d, change={MANIFEST: lambda b: b"not json {"}),
        "manifest",
        "manifest.json is not valid JSON",
    ),
    Variant(
        "manifest-a-list",
        lambda d: rewrite(d, change={MANIFEST: lambda b: b"[1, 2, 3]"}),
        "manifest",
        "Not a backupsite backup file of format version 1",
    ),
    Variant(
        "manifest-other-format",
        lambda d: rewrite(d, change={MANIFEST: manifest_json(lambda m: {**m, "format": "x"})}),
        "manifest",
        "(format 'x', version 1)",
    ),
    Variant(
        "manifest-version-2",
        lambda d: rewrite(d, change={MANIFEST: manifest_json(lambda m: {**m, "version": 2})}),
        "manifest",
        "version 2",
    ),
    Variant(
        "manifest-lacks-entities",
        lambda d: rewrite(d, change={MANIFEST: manifest_json(without("entities"))}),
        "manifest",
        "manifest.json lacks entities.",
    ),
    Variant(
        "manifest-rows-a-string",
        lambda d: rewrite(
            d, change={MANIFEST: lambda b: b.replace(b'"rows": 30,', b'"rows": "30",')}
        ),
        "manifest",
        "entities['issues'] needs its file, rows, bytes and sha256",
    ),
    Variant(
        "manifest-taken-at-not-a-time",
        lambda d: rewrite(
            d, change={MANIFEST: manifest_json(lambda m: {**m, "taken_at": "yesterday"})}
        ),
        "manifest",
        "taken_at is not an ISO 8601 time",
    ),
    # --- the signature ----------------------------------------------------------------------------
    Variant(
        "manifest-edited",
        lambda d: rewrite(d, change={MANIFEST: lambda b: b.replace(b'"Acme"', b'"Acne"')}),
        "signature",
        "manifest.sig does not match",
    ),
    Variant("signature-missing", lambda d: rewrite(d, drop={SIGNATURE}), "signature", "missing"),
    Variant(
        "signature-wrong",
        lambda d: rewrite(d, change={SIGNATURE: lambda b: b"f" * 64}),
        "signature",
        "does not match",
    ),
    Variant(
        "signature-of-another-installation",
        signed_with("another installation's secret key"),
        "signature",
        "does not match",
    ),
    Variant(
        "signature-too-large",
        lambda d: rewrite(d, change={SIGNATURE: lambda b: b * 32}),
        "signature",
        "manifest.sig is 2048 bytes; it can be at most 1024.",
    ),
    # --- the entries ------------------------------------------------------------------------------
    Variant(
        "entities-byte-flipped",
        lambda d: rewrite(d, change={ISSUES: flip_last}),
        "entries",
        f"{ISSUES} does not match its SHA-256 in the manifest.",
    ),
    Variant(
        "attachment-replaced",
        lambda d: rewrite(d, change={first_attachment(d): lambda b: b"another file"}),
        "entries",
        "{attachment} does not match its SHA-256 in entities/attachments.jsonl.",
    ),
    Variant(
        "attachment-missing",
        lambda d: rewrite(d, drop={first_attachment(d)}),
        "entries",
        "{attachment} is missing.",
    ),
    Variant(
        "attachment-renamed",
        renamed_attachment,
        "entries",
        "is not listed in the manifest (an extra entry).",
    ),
    Variant(
        "entities-file-missing",
        lambda d: rewrite(d, drop={"entities/comments.jsonl"}),
        "entries",
        "entities/comments.jsonl is missing.",
    ),
    Variant(
        "extra-entry",
        lambda d: rewrite(d, add=[("notes.txt", b"hi")]),
        "entries",
        "notes.txt is not listed in the manifest (an extra entry).",
    ),
    Variant(
        "folder-entry-with-data",
        lambda d: rewrite(d, add=[("attachments/", b"hidden bytes")]),
        "entries",
        "attachments/ is not listed in the manifest (an extra entry).",
    ),
]

IDS = [v.id for v in VARIANTS]
assert len(set(IDS)) == len(IDS), "variant ids are test ids: each once"

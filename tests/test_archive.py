"""Backup file format v1 (SPEC §7, issue #4): the file opens anywhere, every tampering is named."""

import hashlib
import io
import json
import random
import shutil
import struct
import subprocess
import zipfile
import zlib

import pytest
from django.conf import settings

from backups import archive, storage
from backups.models import BackupFile
from backups.services.files import backup_file_generate, backup_file_request
from tests import zipbytes
from tests.components import need
from tests.services.helpers import run_backup_of


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The demo's four users hashed with PBKDF2 cost 2 s a test; their passwords are not what
    this module checks."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def backup_zip(demo, tmp_path):
    """A generated backup file of the demo Jira, copied out of storage to a local path."""
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    path = tmp_path / "backup.zip"
    with storage.open_object(backup_file.storage_name) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path, backup, backup_file


def rewrite(src, dst, *, change=None, drop=(), add=(), raw_infos=None):
    """Copy a ZIP entry by entry, changing, dropping or adding entries."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info)
            if change and info.filename in change:
                data = change[info.filename](data)
            zout.writestr(info, data)
        for name, data in add:
            zout.writestr(name, data)
    return dst


def flip_last_byte(data: bytes) -> bytes:
    return data[:-2] + bytes([data[-2] ^ 0x01]) + data[-1:]


def test_the_file_opens_with_zipfile_and_unzip_and_verifies(backup_zip):
    path, backup, backup_file = backup_zip
    assert hashlib.sha256(path.read_bytes()).hexdigest() == backup_file.sha256
    assert path.stat().st_size == backup_file.size
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names[:2] == ["manifest.json", "manifest.sig"]
        manifest = json.loads(zf.read("manifest.json"))
    need(
        "unzip", shutil.which("unzip") is not None, "needs Info-ZIP's unzip (apt-get install unzip)"
    )
    out = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No errors detected" in out.stdout
    # Every field of SPEC §7.
    assert set(archive.REQUIRED_MANIFEST_FIELDS) <= set(manifest)
    assert manifest["format"] == "backupsite-backup" and manifest["version"] == 1
    assert manifest["backup_id"] == backup.pk
    assert manifest["status"] == "COMPLETE"
    assert set(manifest["entities"]) == {"projects", "issues", "comments", "attachments", "groups"}
    for info in manifest["entities"].values():
        assert set(info) == {"file", "rows", "bytes", "sha256"}
    attachments = [n for n in names if n.startswith("attachments/")]
    assert len(attachments) == manifest["attachments"]["count"] > 0

    result = archive.verify_file(str(path), secret_key=settings.SECRET_KEY)
    assert result.ok, result.failed
    assert [c.name for c in result.checks] == [
        "zip",
        "paths",
        "size",
        "manifest",
        "signature",
        "entries",
    ]


def test_the_same_backup_makes_the_same_bytes(backup_zip, demo):
    path, backup, _ = backup_zip
    with storage.open_object(backup.storage_prefix + "manifest.json") as f:
        manifest_data = f.read()
    # A chunk may be a view of a buffer the writer reuses: kept, it is copied (zip_chunks).
    again = b"".join(
        bytes(chunk)
        for chunk in archive.zip_chunks(
            archive.archive_entries(
                manifest_data=manifest_data,
                secret_key=settings.SECRET_KEY,
                open_object=lambda p: storage.open_object(backup.storage_prefix + p),
            )
        )
    )
    assert again == path.read_bytes()


@pytest.mark.parametrize(
    "tamper, check, detail",
    [
        (
            lambda p, d: rewrite(p, d, change={"entities/issues.jsonl": flip_last_byte}),
            "entries",
            "entities/issues.jsonl does not match its SHA-256 in the manifest.",
        ),
        (
            lambda p, d: rewrite(
                p, d, change={"manifest.json": lambda b: b.replace(b'"COMPLETE"', b'"INCOMPLETE"')}
            ),
            "signature",
            "manifest.sig does not match",
        ),
        (
            lambda p, d: rewrite(p, d, change={"manifest.sig": lambda b: b"0" * 64}),
            "signature",
            "manifest.sig does not match",
        ),
        (
            lambda p, d: rewrite(p, d, drop={"manifest.sig"}),
            "signature",
            "manifest.sig is missing.",
        ),
        (
            lambda p, d: rewrite(p, d, drop={"entities/comments.jsonl"}),
            "entries",
            "entities/comments.jsonl is missing.",
        ),
        (
            lambda p, d: rewrite(p, d, drop={"manifest.json"}),
            "manifest",
            "manifest.json is missing.",
        ),
        (
            lambda p, d: rewrite(p, d, add=[("notes/extra.txt", b"hello")]),
            "entries",
            "notes/extra.txt is not listed in the manifest (an extra entry).",
        ),
    ],
    ids=[
        "flipped-entity-byte",
        "edited-manifest",
        "wrong-signature",
        "no-signature",
        "removed-entity",
        "no-manifest",
        "extra-entry",
    ],
)
def test_tampering_is_detected_by_name(backup_zip, tmp_path, tamper, check, detail):
    path, _, _ = backup_zip
    bad = tamper(path, tmp_path / "bad.zip")
    result = archive.verify_file(str(bad), secret_key=settings.SECRET_KEY)
    assert not result.ok
    assert result.failed.name == check
    assert detail in result.failed.detail


def test_a_flipped_byte_in_an_attachment_is_named(backup_zip, tmp_path):
    path, _, _ = backup_zip
    with zipfile.ZipFile(path) as zf:
        victim = next(n for n in zf.namelist() if n.startswith("attachments/"))
    bad = rewrite(path, tmp_path / "bad.zip", change={victim: flip_last_byte})
    result = archive.verify_file(str(bad), secret_key=settings.SECRET_KEY)
    assert (result.failed.name, result.failed.detail) == (
        "entries",
        f"{victim} does not match its SHA-256 in entities/attachments.jsonl.",
    )


def test_a_removed_attachment_is_named(backup_zip, tmp_path):
    path, _, _ = backup_zip
    with zipfile.ZipFile(path) as zf:
        victim = [n for n in zf.namelist() if n.startswith("attachments/")][-1]
    bad = rewrite(path, tmp_path / "bad.zip", drop={victim})
    result = archive.verify_file(str(bad), secret_key=settings.SECRET_KEY)
    assert (result.failed.name, result.failed.detail) == ("entries", f"{victim} is missing.")


def test_a_flipped_byte_in_the_raw_file_is_caught(backup_zip, tmp_path):
    path, _, _ = backup_zip
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # somewhere in the middle: an attachment's bytes
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    result = archive.verify_file(str(bad), secret_key=settings.SECRET_KEY)
    assert not result.ok
    assert result.failed.name in {"entries", "zip"}


def test_not_a_zip_and_truncated(tmp_path, backup_zip):
    path, _, _ = backup_zip
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip file at all")
    result = archive.verify_file(str(junk), secret_key=settings.SECRET_KEY)
    assert result.failed.name == "zip"
    assert "not a ZIP archive" in result.failed.detail
    cut = tmp_path / "cut.zip"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert archive.verify_file(str(cut), secret_key=settings.SECRET_KEY).failed.name == "zip"


def test_without_the_secret_the_signature_is_not_claimed(backup_zip):
    path, _, _ = backup_zip
    result = archive.verify_file(str(path), secret_key=None)
    assert result.ok
    assert "signature" not in [c.name for c in result.checks]


def test_a_key_derived_for_this_purpose_only():
    assert archive.signing_key("k") != b"k"
    assert archive.sign(b"x", "k") != archive.sign(b"x", "other")


def test_verify_works_on_a_stream_without_django(backup_zip):
    path, _, _ = backup_zip
    code = (
        "import sys; sys.modules['django'] = None\n"  # no Django at all
        "from backups import archive\n"
        f"r = archive.verify_file({str(path)!r}, secret_key={settings.SECRET_KEY!r})\n"
        "print('OK' if r.ok else r.failed)\n"
    )
    out = subprocess.run(
        [__import__("sys").executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert out.stdout.strip() == "OK", out.stderr


def test_an_in_memory_stream_reads_the_same(backup_zip):
    path, _, _ = backup_zip
    result = archive.verify(io.BytesIO(path.read_bytes()), secret_key=settings.SECRET_KEY)
    assert result.ok


def test_verify_backup_file_command_prints_the_summary_and_ok(backup_zip):
    from io import StringIO

    from django.core.management import call_command

    path, backup, _ = backup_zip
    out = StringIO()
    call_command("verify_backup_file", str(path), stdout=out)
    text = out.getvalue()
    assert f"Backup #{backup.pk} of Acme Jira (jira)" in text
    assert "[passed] manifest.sig valid (made by this service)" in text
    assert text.rstrip().endswith("OK")


def test_verify_backup_file_command_names_the_failed_check(backup_zip, tmp_path):
    from django.core.management import CommandError, call_command

    path, _, _ = backup_zip
    bad = rewrite(path, tmp_path / "bad.zip", change={"entities/issues.jsonl": flip_last_byte})
    with pytest.raises(CommandError) as failed:
        call_command("verify_backup_file", str(bad), stdout=io.StringIO())
    assert str(failed.value) == (
        "NOT OK: Every entry's SHA-256 as in the manifest; none missing, none extra: "
        "entities/issues.jsonl does not match its SHA-256 in the manifest."
    )


# --- issue #10: every malformed ZIP ends as a refusal naming the check and the entry (R9) ------

ENTITY = "entities/issues.jsonl"


def verified(data: bytes) -> archive.Verification:
    return archive.verify(io.BytesIO(data), secret_key=settings.SECRET_KEY)


def refusal(data: bytes) -> tuple[str, str]:
    result = verified(data)
    assert not result.ok
    return result.failed.name, result.failed.detail


@pytest.mark.parametrize("name", ["manifest.json", "manifest.sig", ENTITY])
def test_r9_an_encrypted_entry_is_refused_by_name_not_raised(backup_zip, name):
    """Before: zipfile's RuntimeError ("password required") escaped and the check never ended."""
    data = zipbytes.set_both(backup_zip[0].read_bytes(), name, "flags", 0x0009)
    assert refusal(data) == ("zip", f"{name} is encrypted; a backup file never is.")


@pytest.mark.parametrize("name", ["manifest.json", ENTITY])
def test_r9_an_unknown_compression_method_is_refused_by_name_not_raised(backup_zip, name):
    """Before: zipfile's NotImplementedError escaped."""
    data = zipbytes.set_both(backup_zip[0].read_bytes(), name, "method", 99)
    assert refusal(data) == (
        "zip",
        f"{name} is compressed with method 99; a backup file uses only stored (0) or deflate (8).",
    )


def test_r9_a_local_header_that_disagrees_with_the_central_directory_is_named(backup_zip):
    data = zipbytes.set_field(backup_zip[0].read_bytes(), ENTITY, "local", "method", 99)
    assert refusal(data) == (
        "zip",
        f"{ENTITY}: its local header disagrees with the central directory "
        "(compression method 99, not 8).",
    )


def test_r9_a_size_lie_in_the_central_directory_is_refused_by_name(backup_zip):
    """Issue #10 item 3: 12,130 -> 606,500 in the central directory passed as valid before."""
    data = backup_zip[0].read_bytes()
    assert zipbytes.get_field(data, ENTITY, "central", "file_size") == 12130
    lie = zipbytes.set_field(data, ENTITY, "central", "file_size", 606500)
    assert refusal(lie) == (
        "entries",
        f"{ENTITY}: its ZIP header says 606500 bytes, 12130 were read: a size in the headers lies.",
    )


def test_r9_a_stored_entry_whose_sizes_disagree_is_refused_by_name(backup_zip):
    data = backup_zip[0].read_bytes()
    size = zipbytes.get_field(data, "manifest.json", "central", "file_size")
    lie = zipbytes.set_field(data, "manifest.json", "central", "file_size", size + 1)
    assert refusal(lie) == (
        "zip",
        f"manifest.json is stored uncompressed, yet its header says {size} bytes stored for "
        f"{size + 1}: a size in the headers lies.",
    )


def test_r9_a_compressed_size_that_overlaps_the_next_entry_is_refused_by_name(backup_zip):
    data = backup_zip[0].read_bytes()
    size = zipbytes.get_field(data, ENTITY, "central", "compress_size")
    lie = zipbytes.set_field(data, ENTITY, "central", "compress_size", size + 100)
    name, detail = refusal(lie)
    assert name == "zip"
    assert detail.startswith(f"{ENTITY} overlaps the next entry: its data ends at byte ")


def test_r9_damaged_compressed_data_is_refused_naming_the_entry(backup_zip):
    """Issue #10 item 4: "Error -3 while decompressing data" came without the entry's name."""
    data = zipbytes.damage_deflate(backup_zip[0].read_bytes(), ENTITY)
    name, detail = refusal(data)
    assert name == "entries"
    assert detail.startswith(f"{ENTITY} cannot be read: its compressed data is damaged (Error -3")


def test_r9_a_manifest_of_the_wrong_shape_is_refused_without_a_signature_key(backup_zip, tmp_path):
    """--no-signature believes the manifest's shape, never its types: refused by name."""
    bad = rewrite(
        backup_zip[0],
        tmp_path / "bad.zip",
        change={"manifest.json": lambda b: b.replace(b'"rows": 30', b'"rows": "30"')},
    )
    result = archive.verify_file(str(bad), secret_key=None)
    assert (result.failed.name, result.failed.detail) == (
        "manifest",
        "manifest.json is not as this service writes it: entities['issues'] needs its file, "
        "rows, bytes and sha256.",
    )


@pytest.mark.parametrize("variant", ["encrypted", "method-99", "size-lie"])
def test_r9_verify_backup_file_prints_not_ok_instead_of_a_traceback(backup_zip, tmp_path, variant):
    from django.core.management import CommandError, call_command

    data = backup_zip[0].read_bytes()
    bad = {
        "encrypted": lambda: zipbytes.set_both(data, ENTITY, "flags", 0x0009),
        "method-99": lambda: zipbytes.set_both(data, "manifest.json", "method", 99),
        "size-lie": lambda: zipbytes.set_field(data, ENTITY, "central", "file_size", 606500),
    }[variant]()
    path = tmp_path / "bad.zip"
    path.write_bytes(bad)
    with pytest.raises(CommandError) as failed:
        call_command("verify_backup_file", str(path), stdout=io.StringIO())
    assert str(failed.value).startswith("NOT OK: ")
    assert (ENTITY if variant != "method-99" else "manifest.json") in str(failed.value)


# --- the writer's bytes do not depend on how it reads (#16) -------------------------------------


def _fixed_backup() -> tuple[bytes, dict[str, bytes]]:
    """A stored backup made of fixed bytes: attachments around and across the reader's buffer
    size (empty, one byte, one buffer, one byte over, several buffers), and entities files."""
    import random

    rng = random.Random(16)
    chunk = 256 * 1024
    objects: dict[str, bytes] = {}
    rows = []
    for k, size in enumerate((0, 1, chunk - 1, chunk, chunk + 1, 5 * chunk // 2, 1024 * 1024 + 7)):
        path = f"attachments/{k}/file-{k}.bin"
        objects[path] = data = rng.randbytes(size)
        rows.append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": size})
    objects["entities/attachments.jsonl"] = b"".join(
        json.dumps(row, sort_keys=True).encode() + b"\n" for row in rows
    )
    objects["entities/issues.jsonl"] = b"".join(
        json.dumps({"key": f"FIX-{i}", "summary": "x" * (i % 97)}).encode() + b"\n"
        for i in range(20000)
    )
    entities = {
        kind: {"file": f"entities/{kind}.jsonl", "bytes": len(objects[f"entities/{kind}.jsonl"])}
        for kind in ("issues", "attachments")
    }
    manifest = json.dumps({"entities": entities}, sort_keys=True).encode()
    return manifest, objects


def _fixed_file(consume) -> bytes:
    manifest, objects = _fixed_backup()
    entries = archive.archive_entries(
        manifest_data=manifest,
        secret_key="a fixed key",
        open_object=lambda path: io.BytesIO(objects[path]),
    )
    return consume(archive.zip_chunks(entries))


# The SHA-256 of _fixed_file made by the writer before #16's single pass (commit bc7eb86:
# zipfile, whole 1 MiB `bytes` reads, each chunk copied into the sink). SPEC §7: the same
# backup makes the same bytes, whatever the reader's buffers. Since #16 the entities files are
# deflated by ISA-L, not zlib: with zlib's compressor the writer still makes these bytes.
FIXED_FILE_SHA256 = "8aee0101a36432f5d059f8066e2f02af29a7531783ef024b22c69bf676f42637"


def zipfiles_deflate():
    """zipfile's compressor for a ZIP_DEFLATED entry: zlib's raw deflate at its default level."""
    return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)


def write_like_storage(chunks) -> bytes:
    # As storage.write_chunks: each chunk written (here copied) before the next is asked for.
    out = io.BytesIO()
    for chunk in chunks:
        out.write(chunk)
    return out.getvalue()


def test_the_backup_file_is_byte_identical_to_the_one_made_before_the_single_pass(monkeypatch):
    with monkeypatch.context() as zipfiles:
        zipfiles.setattr(archive, "deflater", zipfiles_deflate)
        assert hashlib.sha256(_fixed_file(write_like_storage)).hexdigest() == FIXED_FILE_SHA256
    # As made (ISA-L's deflate): the same bytes each time, and every entry comes out as it
    # went in, across the reused buffers, CRC-32s right.
    data = _fixed_file(write_like_storage)
    assert _fixed_file(write_like_storage) == data
    _, objects = _fixed_backup()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        for path, content in objects.items():
            assert zf.read(path) == content, path


# --- the ZIP records are those zipfile wrote (#16: zipfile's CRC-32 was a third of the time) ----

BIG = bytes(64 * 1024 * 1024)


def _zipfile_stream(entries: list[archive.Entry]) -> tuple[list[bytes], int]:
    """What zipfile writes for `entries` to an unseekable stream, as the writer before #16
    called it: every record it writes, and its length (the big chunks are counted, not kept)."""

    class Sink:
        def __init__(self):
            self.records: list[bytes] = []
            self.size = 0

        def write(self, data) -> int:
            self.size += len(data)
            if data is not BIG:
                self.records.append(bytes(data))
            return len(data)

        def flush(self) -> None:
            pass

    sink = Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=archive.ENTRY_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if entry.compress else zipfile.ZIP_STORED
            info.file_size = entry.size
            info.external_attr = archive.ENTRY_MODE << 16
            with zf.open(info, "w") as out:
                for chunk in entry.chunks():
                    out.write(chunk)
    return sink.records, sink.size


def _our_stream(entries: list[archive.Entry]) -> tuple[list[bytes], int]:
    records, size = [], 0
    for chunk in archive.zip_chunks(entries):
        size += len(chunk)
        if chunk is not BIG:
            records.append(bytes(chunk))
    return records, size


def _entry(name: str, data: bytes, *, compress: bool = False) -> archive.Entry:
    return archive.Entry(name, len(data), lambda: [data], compress=compress)


@pytest.mark.parametrize("case", ["zip64-sizes-and-offsets", "more-than-65535-entries"])
def test_the_zip_records_are_the_ones_zipfile_wrote(case, monkeypatch):
    # Past 2 GiB an entry's sizes and the offsets after it take ZIP64 fields; past 65,535
    # entries the end record does. Both are compared with zipfile's, record by record, the
    # entities file deflated as zipfile does (zlib's; the writer's own is ISA-L's).
    monkeypatch.setattr(archive, "deflater", zipfiles_deflate)
    if case == "zip64-sizes-and-offsets":
        count = 33  # 33 x 64 MiB: past zipfile's ZIP64 threshold of 2 GiB - 1
        entries = [
            _entry("entities/issues.jsonl", b'{"key": "A-1"}\n' * 5000, compress=True),
            archive.Entry("attachments/1/big.bin", count * len(BIG), lambda: [BIG] * count),
            _entry("attachments/2/résumé.txt", "naïve\n".encode()),
            _entry("attachments/3/empty.bin", b""),
        ]
    else:
        entries = [_entry(f"attachments/{i}/a", b"") for i in range(70_000)]
    ours, theirs = _our_stream(entries), _zipfile_stream(entries)
    assert ours[1] == theirs[1]
    assert b"".join(ours[0]) == b"".join(theirs[0])
    assert b"PK\x06\x06" in ours[0][-1]  # the ZIP64 end record: the case is the one named


def _one_attachment_file(stored: bytes, recorded: bytes):
    """A stored backup with one attachment, whose row says `recorded` and whose object holds
    `stored`: the entries of its file, and the opened objects."""
    path = "attachments/1/report.bin"
    row = {"path": path, "sha256": hashlib.sha256(recorded).hexdigest(), "size": len(recorded)}
    objects = {"entities/attachments.jsonl": json.dumps(row).encode() + b"\n", path: stored}
    entities = {"attachments": {"file": "entities/attachments.jsonl", "bytes": 1}}
    opened: dict[str, io.BytesIO] = {}

    def open_object(name: str) -> io.BytesIO:
        opened[name] = io.BytesIO(objects[name])
        return opened[name]

    entries = archive.archive_entries(
        manifest_data=json.dumps({"entities": entities}).encode(),
        secret_key="a key",
        open_object=open_object,
    )
    return entries, opened


# One buffer's worth (read on the caller's thread), and several (read ahead on the hashing one).
SIZES = [1000, 3 * archive.ATTACHMENT_CHUNK + 5]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("damage", ["one byte changed", "cut short", "grown"])
def test_a_damaged_stored_attachment_stops_the_file_by_name(size, damage):
    recorded = random.Random(size).randbytes(size)
    stored = {
        "one byte changed": recorded[:500] + b"?" + recorded[501:],
        "cut short": recorded[:-1],
        "grown": recorded + b"!",
    }[damage]
    entries, _ = _one_attachment_file(stored, recorded)
    with pytest.raises(archive.ChecksumMismatch) as failed:
        for _ in archive.zip_chunks(entries):
            pass
    assert str(failed.value) == (
        "attachments/1/report.bin in the stored backup does not match its SHA-256 and size "
        f"({size} bytes expected, {len(stored)} read): the backup is damaged."
    )


@pytest.mark.parametrize("size", SIZES)
def test_a_file_given_up_halfway_closes_the_attachment_it_was_reading(size):
    # The storage failed, say: the writer is closed mid-attachment, with a read pending.
    data = random.Random(size).randbytes(size)
    entries, opened = _one_attachment_file(data, data)
    chunks = archive.zip_chunks(entries)
    while "attachments/1/report.bin" not in opened:
        chunk = next(chunks)  # the attachment is opened for its first chunk
    first = bytes(chunk)
    chunks.close()
    assert first == data[: len(first)]
    assert opened["attachments/1/report.bin"].closed


def test_an_attachment_is_read_to_its_end_once_then_the_next_one_is_read_ahead():
    # No read past the one that finds an attachment's end: on the one hashing thread it would
    # queue behind the next attachment's first reads, and the attachment could not be closed
    # until those were done (#16). Each is read ceil(size / chunk) + 1 times, the same bytes.
    chunk = archive.ATTACHMENT_CHUNK
    datas = [random.Random(i).randbytes(n) for i, n in enumerate([3 * chunk + 5, 2 * chunk, 7])]
    rows = [
        {"path": f"attachments/{i}/a.bin", "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
        for i, d in enumerate(datas)
    ]
    objects = {row["path"]: data for row, data in zip(rows, datas, strict=True)}
    objects["entities/attachments.jsonl"] = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    reads: dict[str, int] = {}

    class Counted(io.BytesIO):
        def __init__(self, name: str):
            super().__init__(objects[name])
            self.name = name

        def readinto(self, buffer) -> int:
            reads[self.name] = reads.get(self.name, 0) + 1
            return super().readinto(buffer)

    entities = {"attachments": {"file": "entities/attachments.jsonl", "bytes": 1}}
    entries = archive.archive_entries(
        manifest_data=json.dumps({"entities": entities}).encode(),
        secret_key="a key",
        open_object=Counted,
    )
    written = b"".join(bytes(c) for c in archive.zip_chunks(entries))

    with zipfile.ZipFile(io.BytesIO(written)) as z:
        assert [z.read(r["path"]) for r in rows] == datas
    assert reads == {r["path"]: -(-r["size"] // chunk) + 1 for r in rows}


def test_a_missing_attachment_is_named_even_while_the_one_before_is_read_ahead_of_it():
    # The next attachment is opened early, while the one before is still read (#16): its
    # failure to open is reported in its own turn, by its own name, not by the one before.
    big = random.Random(1).randbytes(3 * archive.ATTACHMENT_CHUNK)
    rows = [
        {"path": "attachments/1/big.bin", "sha256": hashlib.sha256(big).hexdigest(), "size": 3},
        {"path": "attachments/2/gone.bin", "sha256": "0" * 64, "size": 10},
    ]
    rows[0]["size"] = len(big)
    listing = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    objects = {"entities/attachments.jsonl": listing, "attachments/1/big.bin": big}
    tries = []

    def open_object(name: str) -> io.BytesIO:
        tries.append(name)
        if name not in objects:
            raise FileNotFoundError(f"No such object: {name}")
        return io.BytesIO(objects[name])

    entities = {"attachments": {"file": "entities/attachments.jsonl", "bytes": len(listing)}}
    entries = archive.archive_entries(
        manifest_data=json.dumps({"entities": entities}).encode(),
        secret_key="a key",
        open_object=open_object,
    )
    read = {}
    with pytest.raises(FileNotFoundError) as failed:
        for entry in entries:
            read[entry.name] = b"".join(bytes(chunk) for chunk in entry.chunks())
    assert str(failed.value) == "No such object: attachments/2/gone.bin"
    assert read["attachments/1/big.bin"] == big
    assert tries.count("attachments/2/gone.bin") == 2  # read ahead, then in its turn


def test_a_file_zipped_again_with_every_entry_stored_verifies(backup_zip, tmp_path):
    # Someone unzipped it and zipped it again with `zip -0`: the entities files are stored too,
    # and read by the verifier's own reader of stored entries (#16); their rows still count.
    path, _, _ = backup_zip
    again = tmp_path / "stored.zip"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(again, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    result = archive.verify_file(str(again), secret_key=settings.SECRET_KEY)
    assert result.ok, result.failed


def test_a_byte_changed_in_a_stored_attachment_is_refused_by_its_crc(backup_zip, tmp_path):
    path, _, _ = backup_zip
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        victim = max(
            (i for i in zf.infolist() if i.filename.startswith("attachments/")),
            key=lambda i: i.file_size,
        )
        name_len, extra_len = struct.unpack("<HH", data[victim.header_offset + 26 :][:4])
        at = victim.header_offset + 30 + name_len + extra_len + victim.file_size // 2
    data[at] ^= 0x01
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    result = archive.verify_file(str(bad), secret_key=settings.SECRET_KEY)
    assert (result.failed.name, result.failed.detail) == (
        "entries",
        f"{victim.filename} cannot be read: its CRC-32 does not match its bytes.",
    )

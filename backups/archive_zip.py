"""The ZIP layer of backup files, both ways.

Writing: `ZipStream` and ISA-L's `crc32`, in zip_stream.py (re-exported here); reading a
stored entry uses the same CRC-32 (#16).

Reading (R9): a hostile file's structure checked before zipfile decompresses a byte, and
every entry read to its end through `_Reader`, which turns whatever a hostile file provokes
into a refusal naming the check and the entry.

Split out of archive_reader.py (which keeps the checks of the format itself: the manifest,
the signature, the checksum chain) so that each module reads in one sitting.
"""

import hashlib
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable

from backups.zip_stream import (  # noqa: F401 - ZipStream, deflater, DEFLATE_LEVEL re-exported
    DATA_DESCRIPTOR_FLAG,
    DEFLATE_LEVEL,
    LOCAL_SIGNATURE,
    UTF8_FLAG,
    ZIP64_LIMIT,
    ZipStream,
    crc32,
    deflater,
)

# The size of a read from a stored object or a backup file's entry.
CHUNK = 1024 * 1024

# Zip-bomb bounds (R9): an entry may expand at most this many times (JSON lines compress
# about 5-10x; attachments are stored), and the whole file to at most this many bytes.
MAX_RATIO = 100

METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
# General-purpose flag bits: 0 encrypted, 6 strong encryption, 13 encrypted central directory;
# 5 compressed patched data. zipfile answers these with RuntimeError / NotImplementedError.
ENCRYPTED_FLAGS = 0x0001 | 0x0040 | 0x2000
PATCHED_FLAG = 0x0020
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


# The manifest and its signature are read whole into memory: bound them (a manifest lists five
# entities files and what is missing; a signature is 64 hex digits).
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
        self.data_start: dict[int, int] = {}  # header offset -> where the entry's data begins

    def read(self, info: zipfile.ZipInfo, sink: Callable[[bytes], None], limit: int | None = None):
        """Every byte of one entry, in chunks, to `sink`; exactly the size its header says."""
        self.entry = info.filename
        if limit is not None and info.file_size > limit:
            raise _Refused(
                self.check,
                f"{info.filename} is {info.file_size} bytes; it can be at most {limit}.",
            )
        size = 0
        with self._open(info) as f:
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

    def _open(self, info: zipfile.ZipInfo):
        """A stored entry is read here, straight from the file: _check_structure found where
        its data is, and that it is the size its headers say; zipfile's reader, with zlib's
        CRC-32 and a new bytes object for every read, was half of verify_file's time (#16)."""
        start = self.data_start.get(info.header_offset)
        if info.compress_type != zipfile.ZIP_STORED or start is None:
            return self.zf.open(info)
        return _StoredEntry(self.zf.fp, info, start)

    def read_bytes(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        parts: list[bytes] = []
        self.read(info, lambda chunk: parts.append(bytes(chunk)), limit)
        return b"".join(parts)

    def digest(self, info: zipfile.ZipInfo, *, count_lines: bool = True) -> tuple[str, int, int]:
        """SHA-256, size and (for an entities file) number of lines of one entry. Counting
        the newlines of a binary attachment was a fifth of verify_file's time (#16)."""
        digest = hashlib.sha256()
        lines = 0

        def sink(chunk: bytes) -> None:
            nonlocal lines
            digest.update(chunk)
            if count_lines:
                lines += bytes(chunk).count(b"\n")  # a stored entry comes as a view

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


class _StoredEntry:
    """A stored entry's bytes, read with one reused buffer; its CRC-32 checked at the end, as
    zipfile would (and refused in zipfile's words: _Reader.unexpected)."""

    def __init__(self, fp, info: zipfile.ZipInfo, start: int):
        self.fp, self.info = fp, info
        self.left = info.file_size
        self.crc = 0
        self.buffer = memoryview(bytearray(min(CHUNK, info.file_size)))
        fp.seek(start)

    def read(self, n: int) -> memoryview | bytes:
        """Up to `n` bytes, as a view valid until the next read (the sinks copy what they keep)."""
        if not self.left:
            if self.crc != self.info.CRC:
                raise zipfile.BadZipFile(f"Bad CRC-32 for file {self.info.filename!r}")
            return b""
        want = min(n, self.left, len(self.buffer))
        got = self.fp.readinto(self.buffer[:want])
        if not got:
            raise EOFError  # as zipfile's: "its compressed data ends early"
        chunk = self.buffer[:got]
        self.crc = crc32(chunk, self.crc)
        self.left -= got
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.buffer.release()


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
        reader.data_start[info.header_offset] = start = _local_header_end(zf, info)
        data_end = start + info.compress_size
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


def _holds_data(zf: zipfile.ZipFile, name: str) -> bool:
    info = zf.getinfo(name)
    return info.file_size > 0 or info.compress_size > 0

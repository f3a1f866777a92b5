"""The writing half of backup files' ZIP layer (SPEC §7; #16): `ZipStream` writes the records
of a streamed ZIP, byte for byte what zipfile writes to an unseekable stream, with each entry's
CRC-32 given by the caller (archive.zip_chunks), computed with ISA-L's `crc32` here instead of
zlib's; `deflater` compresses the entities files. The reading half, and R9's checks of a
hostile file, are in archive_zip.py, which re-exports these names."""

import struct
import zipfile
import zlib

try:
    # ISA-L's CRC-32 (pclmulqdq): 36 GB/s here against zlib's 2.4, the same values; zipfile's
    # own (zlib's) was a third of the backup file's time (#16). Its deflate, at its default
    # level, 540-620 MB/s on JSON lines against 36-60 for zlib's default level (which zipfile
    # uses), for entities files a third larger (5.3x smaller than the rows, not 8x). isal is a
    # dependency; zlib stays as the fallback for someone running the verifier with the
    # standard library alone (any deflate reads as deflate).
    from isal import isal_zlib as _deflate

    DEFLATE_LEVEL = _deflate.ISAL_DEFAULT_COMPRESSION
except ImportError:  # pragma: no cover - isal is in requirements.lock
    import zlib as _deflate

    DEFLATE_LEVEL = zlib.Z_DEFAULT_COMPRESSION

crc32 = _deflate.crc32


def deflater():
    """A raw deflate stream (wbits -15), as a ZIP entry holds it."""
    return _deflate.compressobj(DEFLATE_LEVEL, _deflate.DEFLATED, -15)


# --- writer ------------------------------------------------------------------------------------
#
# zipfile computes every entry's CRC-32 itself, with zlib's crc32, and offers no way to give it
# one (#16: 0.8 s of a 1 GB file's 2.7). So the backup file's ZIP framing is written here: the
# records zipfile wrote for the same entries to an unseekable stream (a data descriptor after
# each entry, ZIP64 records where zipfile put them), so a backup makes the bytes it made before
# (tests/test_archive.py pins them), which any unzip reads.

DATA_DESCRIPTOR_FLAG = 0x0008
UTF8_FLAG = 0x0800
LOCAL_SIGNATURE = b"PK\x03\x04"
ZIP64_LIMIT = 0xFFFFFFFF
_FILE_HEADER = struct.Struct("<4s2B4HL2L2H")
_CENTRAL_HEADER = struct.Struct("<4s4B4HL2L5H2L")
_END_RECORD = struct.Struct("<4s4H2LH")
_END_RECORD64 = struct.Struct("<4sQ2H2L4Q")
_END_LOCATOR64 = struct.Struct("<4sLQL")
# zipfile's threshold for ZIP64 fields, not the format's (0xFFFFFFFF): the files it made used it.
_ZIP64_AT = (1 << 31) - 1
_COUNT_LIMIT = (1 << 16) - 1
_VERSION, _VERSION64 = 20, 45
_UNIX = 3  # "made by": the system whose external attributes (mode bits) an entry carries


class ZipStream:
    """The records of a ZIP written as a stream: `begin` an entry (its local header), hand on its
    data, `end` it with its CRC-32 and sizes (the data descriptor), and `finish` (the central
    directory). Each returns the bytes to write; `offset` counts every byte of the file."""

    def __init__(self):
        self.offset = 0
        self._central: list[bytes] = []
        self._entry: tuple | None = None

    def begin(self, name: str, *, size: int, deflated: bool, mode: int, date_time: tuple) -> bytes:
        """The local header of an entry of about `size` bytes (its sizes come after its data)."""
        name = name.split("\x00", 1)[0]  # as zipfile.ZipInfo
        try:
            encoded, flags = name.encode("ascii"), DATA_DESCRIPTOR_FLAG
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), DATA_DESCRIPTOR_FLAG | UTF8_FLAG
        year, month, day, hour, minute, second = date_time
        dos = (year - 1980) << 9 | month << 5 | day, hour << 11 | minute << 5 | second // 2
        method = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
        zip64 = size * 1.05 > _ZIP64_AT  # deflate can grow what it cannot shrink
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if zip64 else b""
        version = _VERSION64 if zip64 else _VERSION
        header = _FILE_HEADER.pack(
            LOCAL_SIGNATURE, version, 0, flags, method, dos[1], dos[0], 0,
            ZIP64_LIMIT if zip64 else 0, ZIP64_LIMIT if zip64 else 0, len(encoded), len(extra),
        )  # fmt: skip
        self._entry = (encoded, flags, method, dos, zip64, mode, self.offset)
        return self._counted(header + encoded + extra)

    def end(self, crc: int, compress_size: int, file_size: int) -> bytes:
        """The data descriptor of the entry begun last, once its data is handed on."""
        encoded, flags, method, dos, zip64, mode, offset = self._entry
        self._entry = None
        self.offset += compress_size  # the data, handed on between begin and end
        if not zip64 and max(file_size, compress_size) > _ZIP64_AT:
            raise RuntimeError(f"{encoded!r} is larger than its size said: {file_size} bytes.")
        layout = "<LLQQ" if zip64 else "<LLLL"
        descriptor = struct.pack(layout, 0x08074B50, crc, compress_size, file_size)
        fields = []
        if file_size > _ZIP64_AT or compress_size > _ZIP64_AT:
            fields += [file_size, compress_size]
            compress_size = file_size = ZIP64_LIMIT
        if offset > _ZIP64_AT:
            fields.append(offset)
            offset = ZIP64_LIMIT
        extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
        version = _VERSION64 if zip64 or fields else _VERSION
        self._central.append(
            _CENTRAL_HEADER.pack(
                b"PK\x01\x02",
                version,
                _UNIX,
                version,
                0,
                flags,
                method,
                dos[1],
                dos[0],
                crc,
                compress_size,
                file_size,
                len(encoded),
                len(extra),
                0,
                0,
                0,
                mode << 16,
                offset,
            )  # fmt: skip
            + encoded
            + extra
        )
        return self._counted(descriptor)

    def finish(self) -> bytes:
        """The central directory and the end records."""
        start = self.offset
        central = b"".join(self._central)
        count, size = len(self._central), len(central)
        tail = b""
        if count > _COUNT_LIMIT or start > _ZIP64_AT or size > _ZIP64_AT:
            tail = _END_RECORD64.pack(
                b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start
            ) + _END_LOCATOR64.pack(b"PK\x06\x07", 0, start + size, 1)
            count, size, start = min(count, 0xFFFF), min(size, ZIP64_LIMIT), min(start, ZIP64_LIMIT)
        end = _END_RECORD.pack(b"PK\x05\x06", 0, 0, count, count, size, start, 0)
        return self._counted(central + tail + end)

    def _counted(self, data: bytes) -> bytes:
        self.offset += len(data)
        return data


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

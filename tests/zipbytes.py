"""Byte-level surgery on a ZIP, as an attacker or a damaged disk would do it (R9 tests).

zipfile rewrites a whole archive consistently; the bad files that matter are the ones whose
headers disagree with each other or with the data. These helpers find every local and central
header of a (non-ZIP64) archive and change one field, or the bytes of one entry, in place.
"""

import struct
import zlib
from dataclasses import dataclass

EOCD_SIGNATURE = b"PK\x05\x06"
CENTRAL_SIGNATURE = b"PK\x01\x02"
LOCAL_SIGNATURE = b"PK\x03\x04"

# field -> (offset in the header, struct format)
LOCAL_FIELDS = {
    "version": (4, "H"),
    "flags": (6, "H"),
    "method": (8, "H"),
    "time": (10, "H"),
    "date": (12, "H"),
    "crc": (14, "I"),
    "compress_size": (18, "I"),
    "file_size": (22, "I"),
    "name_length": (26, "H"),
    "extra_length": (28, "H"),
}
CENTRAL_FIELDS = {
    "version_made": (4, "H"),
    "version": (6, "H"),
    "flags": (8, "H"),
    "method": (10, "H"),
    "time": (12, "H"),
    "date": (14, "H"),
    "crc": (16, "I"),
    "compress_size": (20, "I"),
    "file_size": (24, "I"),
    "name_length": (28, "H"),
    "extra_length": (30, "H"),
    "comment_length": (32, "H"),
    "disk": (34, "H"),
    "internal_attr": (36, "H"),
    "external_attr": (38, "I"),
    "local_offset": (42, "I"),
}
EOCD_FIELDS = {
    "disk": (4, "H"),
    "cd_disk": (6, "H"),
    "disk_entries": (8, "H"),
    "entries": (10, "H"),
    "cd_size": (12, "I"),
    "cd_offset": (16, "I"),
    "comment_length": (20, "H"),
}


@dataclass(frozen=True)
class Record:
    """One entry as laid out in the bytes: where its two headers and its data are."""

    name: str
    local: int  # offset of the local header
    central: int  # offset of the central directory header
    data: int  # offset of the (compressed) data
    compress_size: int


def eocd(data: bytes) -> int:
    at = data.rfind(EOCD_SIGNATURE)
    assert at >= 0, "no end of central directory"
    return at


def field_of(data: bytes, header: int, fields: dict, name: str) -> int:
    offset, fmt = fields[name]
    return struct.unpack_from("<" + fmt, data, header + offset)[0]


def records(data: bytes) -> list[Record]:
    end = eocd(data)
    count = field_of(data, end, EOCD_FIELDS, "entries")
    at = field_of(data, end, EOCD_FIELDS, "cd_offset")
    out = []
    for _ in range(count):
        assert data[at : at + 4] == CENTRAL_SIGNATURE
        n = field_of(data, at, CENTRAL_FIELDS, "name_length")
        m = field_of(data, at, CENTRAL_FIELDS, "extra_length")
        k = field_of(data, at, CENTRAL_FIELDS, "comment_length")
        name = data[at + 46 : at + 46 + n].decode("utf-8")
        local = field_of(data, at, CENTRAL_FIELDS, "local_offset")
        ln = field_of(data, local, LOCAL_FIELDS, "name_length")
        lm = field_of(data, local, LOCAL_FIELDS, "extra_length")
        out.append(
            Record(
                name=name,
                local=local,
                central=at,
                data=local + 30 + ln + lm,
                compress_size=field_of(data, at, CENTRAL_FIELDS, "compress_size"),
            )
        )
        at += 46 + n + m + k
    return out


def record(data: bytes, name: str) -> Record:
    return next(r for r in records(data) if r.name == name)


def put(data: bytes, at: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<" + fmt, out, at, value)
    return bytes(out)


def set_field(data: bytes, name: str, where: str, field: str, value: int) -> bytes:
    """Set `field` of entry `name`'s "local" or "central" header (others left as they are)."""
    rec = record(data, name)
    fields = LOCAL_FIELDS if where == "local" else CENTRAL_FIELDS
    offset, fmt = fields[field]
    return put(data, (rec.local if where == "local" else rec.central) + offset, fmt, value)


def set_both(data: bytes, name: str, field: str, value: int) -> bytes:
    """The same field in both headers: a change the headers agree on."""
    return set_field(set_field(data, name, "local", field, value), name, "central", field, value)


def get_field(data: bytes, name: str, where: str, field: str) -> int:
    rec = record(data, name)
    fields = LOCAL_FIELDS if where == "local" else CENTRAL_FIELDS
    return field_of(data, rec.local if where == "local" else rec.central, fields, field)


def rename(data: bytes, name: str, new: str) -> bytes:
    """Give an entry another name of the same length, in both headers."""
    assert len(new.encode()) == len(name.encode())
    rec = record(data, name)
    out = bytearray(data)
    out[rec.local + 30 : rec.local + 30 + len(new)] = new.encode()
    out[rec.central + 46 : rec.central + 46 + len(new)] = new.encode()
    return bytes(out)


def entry_bytes(data: bytes, name: str) -> tuple[int, int]:
    """(start, end) of an entry's compressed data."""
    rec = record(data, name)
    return rec.data, rec.data + rec.compress_size


def flip(data: bytes, at: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[at] ^= mask
    return bytes(out)


def damage_deflate(data: bytes, name: str) -> bytes:
    """Corrupt an entry's deflate stream so that zlib itself refuses it ("invalid distance too
    far back", "invalid block type", …), keeping every header as it was."""
    start, end = entry_bytes(data, name)
    for at in range(start + (end - start) // 3, end):
        for mask in (0xFF, 0x80, 0x40, 0x10):
            bad = flip(data, at, mask)
            try:
                zlib.decompressobj(-15).decompress(bad[start:end])
            except zlib.error:
                return bad
    raise AssertionError(f"no single byte change of {name} upsets zlib")

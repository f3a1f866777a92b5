"""backups/storage.py on folders and on a real S3 server (rclone, over HTTP): the same behaviour."""

import hashlib
import random
import re

import pytest

from backups import storage

MiB = 1024 * 1024


def pattern(n: int, seed: int = 0) -> bytes:
    """n pseudo-random bytes: a lost, repeated or reordered part changes the hash."""
    return random.Random(seed).randbytes(n)


def read_all(name: str) -> bytes:
    with storage.open_object(name) as f:
        return f.read()


def test_a_write_takes_exactly_the_name_asked_and_never_replaces_an_object(storage_backend, db):
    # db: a backup's entities/ name is looked up as a reference first (storage.resolve).
    written = storage.write_chunks("backups/1/2/3/entities/issues.jsonl", [b"a\n", b"b\n"])

    assert written == storage.Written(
        "backups/1/2/3/entities/issues.jsonl", 4, hashlib.sha256(b"a\nb\n").hexdigest()
    )
    assert storage.list_prefix("backups/1/2/3/") == ["backups/1/2/3/entities/issues.jsonl"]
    with pytest.raises(
        storage.StorageError,
        match=r"^The backup storage \((folder|bucket) .*\) refused to write "
        r"backups/1/2/3/entities/issues.jsonl: the name is taken\.$",
    ):
        storage.write_chunks("backups/1/2/3/entities/issues.jsonl", [b"other"])
    assert read_all("backups/1/2/3/entities/issues.jsonl") == b"a\nb\n"
    assert storage.object_size("backups/1/2/3/entities/issues.jsonl") == 4
    assert storage.exists("backups/1/2/3/entities/issues.jsonl")
    assert not storage.exists("backups/1/2/3/entities/pages.jsonl")
    with pytest.raises(FileNotFoundError):
        storage.open_object("backups/1/2/3/entities/pages.jsonl")
    with pytest.raises(FileNotFoundError):
        storage.object_size("backups/1/2/3/entities/pages.jsonl")


def test_a_large_write_streams_in_parts_and_reads_back_whole(storage_backend, s3_log):
    size = 2 * storage.PART_SIZE + 12345  # three parts on S3
    data = pattern(size)

    written = storage.write_chunks(
        "big/object.bin", (data[i : i + MiB] for i in range(0, size, MiB))
    )

    assert (written.size, written.sha256) == (size, hashlib.sha256(data).hexdigest())
    digest, total = hashlib.sha256(), 0
    with storage.open_object("big/object.bin") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
            total += len(chunk)
    assert (total, digest.hexdigest()) == (size, written.sha256)
    if storage_backend == "s3":
        # The server was sent three parts of one multipart upload, then asked to join them.
        log = s3_log()
        assert len(re.findall(r"initiate multipart upload \S+ big/object\.bin\n", log)) == 1
        assert len(re.findall(r"put multipart upload \S+ big/object\.bin ", log)) == 3
        assert len(re.findall(r"complete multipart upload \S+ big/object\.bin ", log)) == 1


def test_a_failing_chunk_iterator_leaves_no_object(storage_backend):
    broken = RuntimeError("the source broke")

    def chunks():
        for _ in range(storage.PART_SIZE // MiB + 4):  # past the first part on S3
            yield pattern(MiB)
        raise broken

    with pytest.raises(RuntimeError) as raised:
        storage.write_chunks("broken/object.bin", chunks())

    assert raised.value is broken
    assert not storage.exists("broken/object.bin")
    assert storage.list_prefix("broken/") == []


def test_an_opened_object_iterates_by_line_across_read_boundaries(storage_backend):
    lines = [f'{{"row": {i}, "pad": "{"x" * (i % 700)}"}}\n'.encode() for i in range(5000)]
    # Chunks cut lines in the middle, as the engine's 256 KiB chunks do.
    blob = b"".join(lines)
    storage.write_chunks("rows.jsonl", (blob[i : i + 1000] for i in range(0, len(blob), 1000)))

    with storage.open_object("rows.jsonl") as f:
        assert list(f) == lines


def test_delete_prefix_pages_through_and_leaves_nothing(storage_backend, monkeypatch, s3_log, db):
    monkeypatch.setattr(storage, "PAGE_SIZE", 3)  # several list and delete pages
    names = [f"backups/9/9/9/entities/{i}.jsonl" for i in range(8)]
    for name in names:
        storage.write_chunks(name, [name.encode()])
    storage.write_chunks("backups/9/9/10/manifest.json", [b"{}"])  # a neighbour

    assert storage.list_prefix("backups/9/9/9/") == sorted(names)
    if storage_backend == "s3":
        assert "Listed 3 keys" in s3_log() and "(truncated=true)" in s3_log()
    assert storage.delete_prefix("backups/9/9/9/") == 8

    assert storage.list_prefix("backups/9/9/9/") == []
    assert storage.delete_prefix("backups/9/9/9/") == 0
    assert storage.list_prefix("backups/9/9/") == ["backups/9/9/10/manifest.json"]
    with pytest.raises(ValueError, match="not a folder prefix"):
        storage.delete_prefix("backups/9/9/10")

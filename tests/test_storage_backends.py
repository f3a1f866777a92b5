"""The two storage backends (backups/storage/filesystem.py and s3.py), method by method.

Each test runs on a folder, then on a real S3 server (rclone, over HTTP): the same bytes, the
same SHA-256, the same refusals for a taken name or a missing object. The public functions in
backups/storage/__init__.py only pick a backend, so what holds here holds for every caller.
"""

import hashlib
import random
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from backups import storage

MiB = 1024 * 1024


def pattern(n: int, seed: int = 0) -> bytes:
    """n pseudo-random bytes: a lost, repeated or reordered piece changes the hash."""
    return random.Random(seed).randbytes(n)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def backend(storage_backend):
    """The backup storage's backend, on a folder or on an S3 bucket."""
    found = storage.backend(storage.backup_storage())
    assert found.kind == storage_backend
    return found


def read(backend, name: str) -> bytes:
    with backend.open(name) as f:
        return f.read()


def test_backend_is_chosen_once_per_django_storage(storage_backend):
    backups, attachments = storage.backup_storage(), storage.attachment_storage()

    assert storage.backend(backups) is storage.backend(backups)
    assert storage.backend(backups) is not storage.backend(attachments)
    assert storage.is_s3(backups) is (storage_backend == "s3")
    assert (
        type(storage.backend(backups))
        is {
            "filesystem": storage.FilesystemBackend,
            "s3": storage.S3Backend,
        }[storage_backend]
    )


def test_label_names_the_folder_or_the_bucket_and_endpoint(backend, storage_backend):
    options = settings.STORAGES["backups"]["OPTIONS"]
    where = {
        "filesystem": f"folder {options.get('location')}",
        "s3": f"bucket {options.get('bucket_name')} at {options.get('endpoint_url')}",
    }[storage_backend]

    assert backend.label() == f"backup storage ({where})"
    assert backend.label("attachment storage") == f"attachment storage ({where})"
    assert storage.storage_label() == backend.label()


def test_write_returns_the_size_and_sha256_of_exactly_the_bytes_stored(backend):
    data = pattern(storage.PART_SIZE + 12345)  # two parts on S3

    written = backend.write("w/a.bin", (data[i : i + MiB] for i in range(0, len(data), MiB)))

    assert written == storage.Written("w/a.bin", len(data), sha(data))
    assert sha(read(backend, "w/a.bin")) == sha(data)
    assert backend.write("w/empty.txt", []) == storage.Written("w/empty.txt", 0, sha(b""))
    assert read(backend, "w/empty.txt") == b""


def test_write_of_views_of_one_reused_buffer_stores_and_hashes_each_as_it_was(backend):
    # The backup file's and the engine's chunks are views of buffers their reader refills as
    # soon as the next chunk is asked for (storage.write_chunks): each is written and hashed
    # before that. Sizes on both sides of 256 KiB (large chunks were once hashed elsewhere).
    data = pattern(5 * MiB + 64 * 1024 + 777, seed=3)
    sizes = [MiB, 64 * 1024, 3 * MiB, 1, MiB + 776]
    buffer = bytearray(3 * MiB)

    def chunks():
        at = 0
        for n in sizes:
            buffer[:n] = data[at : at + n]
            yield memoryview(buffer)[:n]
            buffer[:n] = bytes(n)  # the reader's next read lands here
            at += n

    written = backend.write("w/reused.bin", chunks())

    assert written == storage.Written("w/reused.bin", len(data), sha(data))
    assert read(backend, "w/reused.bin") == data


@pytest.mark.parametrize("fallocate_fails", [False, True])
def test_write_of_a_large_object_stores_exactly_its_bytes_past_its_preallocated_blocks(
    backend, storage_backend, monkeypatch, fallocate_fails
):
    # A folder allocates a large object's blocks ahead of its writes, then lets go of what is
    # past its last byte; where the filesystem cannot, the write goes on without. Small steps
    # here: a write that ends inside a step, after several steps.
    from backups.storage import filesystem

    monkeypatch.setattr(filesystem, "PREALLOCATE_FROM", MiB)
    monkeypatch.setattr(filesystem, "PREALLOCATE_STEP", 2 * MiB)
    if fallocate_fails:

        def refuse(fd, offset, length):
            raise OSError(95, "Operation not supported")

        monkeypatch.setattr(filesystem.os, "posix_fallocate", refuse)
    data = pattern(6 * MiB + 4321, seed=5)

    written = backend.write("w/large.bin", (data[i : i + MiB] for i in range(0, len(data), MiB)))

    assert written == storage.Written("w/large.bin", len(data), sha(data))
    assert read(backend, "w/large.bin") == data
    assert backend.size("w/large.bin") == len(data)
    if storage_backend == "filesystem":
        path = Path(backend.storage.path("w/large.bin"))
        assert path.stat().st_blocks * 512 < len(data) + MiB  # no preallocated block kept


def test_write_of_a_large_object_that_fails_leaves_no_object(backend, monkeypatch):
    from backups.storage import filesystem

    monkeypatch.setattr(filesystem, "PREALLOCATE_FROM", MiB)
    monkeypatch.setattr(filesystem, "PREALLOCATE_STEP", 2 * MiB)
    broken = RuntimeError("the source broke")

    def chunks():
        for i in range(4):
            yield pattern(MiB, seed=i)
        raise broken

    with pytest.raises(RuntimeError) as raised:
        backend.write("w/large-broken.bin", chunks())

    assert raised.value is broken
    assert not backend.exists("w/large-broken.bin")


def test_write_refuses_a_taken_name_and_keeps_the_object(backend):
    backend.write("w/taken.txt", [b"first"])

    with pytest.raises(storage.StorageError) as refused:
        backend.write("w/taken.txt", [b"second"])

    assert str(refused.value) == (
        f"The {backend.label()} refused to write w/taken.txt: the name is taken."
    )
    assert read(backend, "w/taken.txt") == b"first"


def test_write_with_a_failing_iterator_leaves_no_object(backend):
    broken = RuntimeError("the source broke")

    def chunks():
        yield pattern(storage.PART_SIZE + MiB)  # past the first part on S3
        raise broken

    with pytest.raises(RuntimeError) as raised:
        backend.write("w/broken.bin", chunks())

    assert raised.value is broken
    assert not backend.exists("w/broken.bin")
    assert backend.list("w/", page_size=storage.PAGE_SIZE) == []


def test_open_streams_the_bytes_and_refuses_a_missing_object(backend):
    data = b"".join(f"line {i}\n".encode() for i in range(20000))
    backend.write("r/rows.jsonl", (data[i : i + 777] for i in range(0, len(data), 777)))

    with backend.open("r/rows.jsonl") as f:
        assert f.read(5) == b"line "
        assert f.readline() == b"0\n"
    with backend.open("r/rows.jsonl") as f:
        # Lines across the writer's 777-byte pieces. (Iterate a fresh stream: Django's File
        # restarts from byte 0 when iterated, S3's stream goes on from where it is.)
        assert list(f) == data.splitlines(keepends=True)
    with pytest.raises(FileNotFoundError):
        backend.open("r/missing.jsonl")
    with pytest.raises(FileNotFoundError):
        backend.open("r/missing.jsonl", role="attachment storage")


def test_size_and_exists_agree_with_what_was_written_and_refuse_a_missing_object(backend):
    backend.write("s/seven.txt", [b"sev", b"en!!"])

    assert backend.size("s/seven.txt") == 7
    assert backend.exists("s/seven.txt")
    assert not backend.exists("s/eight.txt")
    assert not backend.exists("s/seven")  # a name is exact: no prefix match
    with pytest.raises(FileNotFoundError):
        backend.size("s/eight.txt")


def test_delete_removes_one_object_and_a_missing_one_is_no_error(backend):
    backend.write("d/one.txt", [b"1"])
    backend.write("d/two.txt", [b"2"])

    backend.delete("d/one.txt")
    backend.delete("d/one.txt")
    backend.delete("d/never.txt")

    assert backend.list("d/", page_size=storage.PAGE_SIZE) == ["d/two.txt"]


def test_list_gives_every_name_under_the_prefix_sorted_across_pages(backend):
    names = [f"l/p/{i % 3}/f{i}.txt" for i in range(7)]
    for name in reversed(names):
        backend.write(name, [name.encode()])
    backend.write("l/q/neighbour.txt", [b"n"])

    assert backend.list("l/p/", page_size=2) == sorted(names)
    assert backend.list("l/", page_size=1000) == sorted([*names, "l/q/neighbour.txt"])
    assert backend.list("l/none/", page_size=2) == []


def test_delete_prefix_counts_what_it_removed_and_is_idempotent(backend):
    for i in range(5):
        backend.write(f"x/a/{i}/f.txt", [b"x"])
    backend.write("x/b/keep.txt", [b"k"])

    assert backend.delete_prefix("x/a/", page_size=2) == 5
    assert backend.delete_prefix("x/a/", page_size=2) == 0
    assert backend.list("x/", page_size=2) == ["x/b/keep.txt"]


def test_url_is_a_working_link_on_s3_and_none_on_a_folder(backend, storage_backend):
    backend.write("u/file.zip", [b"zip bytes"])

    url = backend.url("u/file.zip", filename="b.zip", expires=timedelta(minutes=5))

    if storage_backend == "filesystem":
        assert url is None  # the service serves the file itself
        return
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the test server
        assert answer.read() == b"zip bytes"
        assert answer.headers["Content-Disposition"] == 'attachment; filename="b.zip"'


def test_local_file_is_seekable_and_holds_the_same_bytes(backend):
    data = pattern(3 * MiB + 5, seed=3)
    backend.write("f/b.zip", [data])

    with backend.local_file("f/b.zip") as f:
        assert f.seekable()
        f.seek(-5, 2)
        assert f.read() == data[-5:]
        f.seek(0)
        assert sha(f.read()) == sha(data)
    with pytest.raises(FileNotFoundError), backend.local_file("f/missing.zip"):
        pass


def test_upload_chunks_become_one_object_and_a_retried_chunk_counts_once(backend):
    chunk = storage.UPLOAD_CHUNK
    data = pattern(chunk + 1000, seed=4)
    parts = [(0, data[:chunk]), (chunk, data[chunk:])]

    upload_id = ""
    for offset, piece in [parts[0], parts[0], parts[1]]:  # the first chunk is sent twice
        upload_id = backend.upload_write(
            "up/b.zip",
            offset=offset,
            part_number=offset // chunk + 1,
            data=piece,
            multipart_id=upload_id,
        )
    backend.upload_finish("up/b.zip", multipart_id=upload_id)

    assert bool(upload_id) is (backend.kind == "s3")
    assert backend.size("up/b.zip") == len(data)
    assert sha(read(backend, "up/b.zip")) == sha(data)


@pytest.mark.parametrize("finished", [True, False])
def test_upload_discard_leaves_nothing_finished_or_not(backend, finished):
    upload_id = backend.upload_write(
        "up/c.zip", offset=0, part_number=1, data=b"only chunk", multipart_id=""
    )
    if finished:
        backend.upload_finish("up/c.zip", multipart_id=upload_id)

    backend.upload_discard("up/c.zip", multipart_id=upload_id)
    backend.upload_discard("up/c.zip", multipart_id=upload_id)  # twice: still no error

    assert backend.list("up/", page_size=storage.PAGE_SIZE) == []


def test_copy_from_is_server_side_between_buckets_only(backend, storage_backend):
    attachments = storage.backend(storage.attachment_storage())
    data = pattern(2 * MiB + 7, seed=5)
    attachments.write("att/1/report.pdf", [data])

    if storage_backend == "filesystem":
        # Bytes between folders pass through the worker: the engine streams them instead.
        assert not backend.can_copy_from(attachments)
        assert not storage.server_side_copy_available()
        with pytest.raises(NotImplementedError):
            backend.copy_from(attachments, "att/1/report.pdf", "c/report.pdf", size=len(data))
        return
    assert backend.can_copy_from(attachments)
    assert storage.server_side_copy_available()

    size = backend.copy_from(attachments, "att/1/report.pdf", "c/report.pdf", size=len(data))

    assert size == len(data)
    assert sha(read(backend, "c/report.pdf")) == sha(data)
    with pytest.raises(storage.StorageError) as refused:
        backend.copy_from(attachments, "att/1/report.pdf", "c/report.pdf", size=len(data))
    assert str(refused.value) == (
        f"The {backend.label()} refused to write c/report.pdf: the name is taken."
    )
    with pytest.raises(FileNotFoundError, match=r"att/2/gone\.pdf is not in the attachment"):
        backend.copy_from(attachments, "att/2/gone.pdf", "c/gone.pdf", size=1)
    assert not backend.exists("c/gone.pdf")


def test_the_public_functions_reach_the_backend_of_the_right_storage(backend):
    """One round through the API every caller uses: backups in one storage, attachments in
    the other, and the upload part number derived from UPLOAD_CHUNK."""
    storage.attachment_storage().save("att/a.txt", _file(b"attachment"))

    with storage.open_attachment("att/a.txt") as f:
        assert f.read() == b"attachment"
    assert not storage.exists("att/a.txt")  # not in the backup storage
    written = storage.write_chunks("api/x.txt", [b"x" * 10])
    assert (storage.object_size("api/x.txt"), storage.exists("api/x.txt")) == (10, True)
    assert written.sha256 == sha(b"x" * 10)
    assert storage.list_prefix("api/") == ["api/x.txt"]
    storage.delete_object("api/x.txt")
    assert storage.delete_prefix("api/") == 0
    with pytest.raises(ValueError, match="not a folder prefix"):
        storage.delete_prefix("api")


def _file(data: bytes):
    from django.core.files.base import ContentFile

    return ContentFile(data)


def test_free_bytes_is_the_folders_filesystem_or_none_for_a_bucket(storage_backend):
    """The upload page's "free space" check (D2): a folder's filesystem; a bucket has none."""
    free = storage.free_bytes()
    if storage_backend == "s3":
        assert free is None
    else:
        import shutil
        from pathlib import Path

        folder = Path(storage.backup_storage().location)
        while not folder.exists():
            folder = folder.parent
        assert abs(free - shutil.disk_usage(folder).free) < 64 * 1024 * 1024

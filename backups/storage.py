"""The one place that touches storages["backups"]: key naming, streaming writes, copies, deletes.

Everything streams: a write takes an iterator of byte chunks, a read hands out a stream, so no
backup object is ever held whole in memory. Two backends, the same behaviour:

- a folder (FileSystemStorage), the embedded default;
- an S3 bucket (django-storages' S3Storage over boto3). A write is a multipart upload fed part
  by part from the chunk iterator; reads stream the GET response (S3File would first download
  the whole object into a temporary file, in memory by default); listing and deleting page
  through list_objects_v2 and batch delete_objects; downloads are presigned URLs.

When the product attachments (STORAGES["default"]) and the backups are buckets on the same S3
endpoint, an attachment is copied into a backup server-side (CopyObject): no bytes pass through
the worker. The copy's size is checked against the recorded size; its SHA-256 cannot be computed
server-side, so it is checked where the bytes are read anyway: when a backup file is verified
(archive.verify) and when a restore writes the attachment back (store_attachment).

Every failure of a storage is raised as StorageError, whose message names the storage (folder,
or bucket and endpoint), so a FAILED backup tells the admin which storage failed.
"""

import hashlib
import io
import mimetypes
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import storages
from django.core.files.storage.filesystem import FileSystemStorage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name
from urllib3.exceptions import HTTPError as Urllib3Error

CHUNK_SIZE = 1024 * 1024
MiB = 1024 * 1024

# A multipart upload's part size. Parts are uploaded one at a time, in the caller's thread:
# the chunk iterator is the caller's code (it reads the database, reports progress, may stop
# the job), and Django's database connections belong to one thread. One part in memory at a
# time keeps memory flat; 10,000 parts of 16 MiB allow objects up to 156 GiB, past every
# backup limit. rclone serve s3 buffers out-of-order parts up to 256 MiB per upload: part
# size x upload threads (16 MiB x 1) stays far below it.
PART_SIZE = 16 * MiB
# CopyObject copies objects up to 5 GiB; a larger attachment is copied with UploadPartCopy
# (boto3's managed copy), still server-side.
COPY_OBJECT_LIMIT = 5 * 1024**3
COPY_PART_SIZE = 256 * MiB
# Keys per list_objects_v2 page and per delete_objects request (S3 allows at most 1000).
PAGE_SIZE = 1000


class StorageError(Exception):
    """A storage failed; the message names the storage and the object."""


def backup_storage():
    return storages["backups"]


def attachment_storage():
    return storages["default"]


def is_s3(storage) -> bool:
    return isinstance(storage, S3Storage)


def _label(storage, role: str) -> str:
    if isinstance(storage, FileSystemStorage):
        return f"{role} (folder {storage.location})"
    bucket = getattr(storage, "bucket_name", "?")
    endpoint = getattr(storage, "endpoint_url", None)
    return f"{role} (bucket {bucket} at {endpoint})" if endpoint else f"{role} (bucket {bucket})"


def storage_label(storage=None) -> str:
    return _label(storage or backup_storage(), "backup storage")


def backup_prefix(*, organization_id: int, product_id: int, backup_id: int) -> str:
    return f"backups/{organization_id}/{product_id}/{backup_id}/"


@dataclass(frozen=True)
class Written:
    name: str
    size: int
    sha256: str


def _taken(storage, name: str) -> StorageError:
    return StorageError(f"The {storage_label(storage)} refused to write {name}: the name is taken.")


class _ChunkReader(io.RawIOBase):
    """A read()-able file over an iterator of byte chunks, hashing and counting as it reads."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = bytearray()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if n < 0 or n >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), bytearray()
        else:
            data = bytes(self._buffer[:n])
            del self._buffer[:n]
        self.sha256.update(data)
        self.size += len(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


# --- writes ---------------------------------------------------------------------------------


def write_chunks(name: str, chunks: Iterable[bytes]) -> Written:
    """Write an object from an iterator of byte chunks; return its size and SHA-256.

    The name is used exactly; an object that already has it is never replaced (StorageError).
    If the iterator raises, its exception propagates and no object is left under the name.
    """
    storage = backup_storage()
    if is_s3(storage):
        return _write_s3(storage, name, chunks)
    return _write_file(storage, name, chunks)


def _write_file(storage: FileSystemStorage, name: str, chunks: Iterable[bytes]) -> Written:
    # Straight to the file, chunk by chunk: Storage.save would re-slice every chunk into
    # 64 KiB pieces, which costs more than the copy itself on large attachments.
    path = Path(storage.path(name))
    digest = hashlib.sha256()
    size = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = open(path, "xb")  # noqa: SIM115 - closed below. "x": never overwrite an object
    except FileExistsError as exc:
        if path.exists() and path.is_file():
            raise _taken(storage, name) from exc
        raise StorageError(f"The {storage_label(storage)} failed to write {name}: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"The {storage_label(storage)} failed to write {name}: {exc}") from exc
    try:
        with out:
            for chunk in chunks:
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise StorageError(
                        f"The {storage_label(storage)} failed to write {name}: {exc}"
                    ) from exc
                digest.update(chunk)
                size += len(chunk)
    except BaseException:
        # As on S3: a write that did not finish leaves no object under the name.
        path.unlink(missing_ok=True)
        raise
    return Written(name, size, digest.hexdigest())


def _upload_config() -> TransferConfig:
    return TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        use_threads=False,  # see PART_SIZE: the chunk iterator runs in the caller's thread
        preferred_transfer_client="classic",
    )


def _write_s3(storage: S3Storage, name: str, chunks: Iterable[bytes]) -> Written:
    client, bucket, key = _client(storage), storage.bucket_name, _key(storage, name)
    reader = _ChunkReader(chunks)
    with _errors(storage, "backup storage", f"write {name}"):
        # S3 has no "create only": check first. Keys under a backup's prefix are fresh, so a
        # taken name means something else wrote there; it is reported, never replaced.
        if _head(client, bucket, key) is not None:
            raise _taken(storage, name)
        # Below PART_SIZE one PutObject, above it a multipart upload: a part is read, sent,
        # then the next one. A failure (of the iterator or of the server) aborts the upload,
        # and S3 never shows a partial object under the key.
        client.upload_fileobj(
            reader,
            bucket,
            key,
            ExtraArgs={"ContentType": mimetypes.guess_type(name)[0] or "application/octet-stream"},
            Config=_upload_config(),
        )
    return Written(name, reader.size, reader.sha256.hexdigest())


# --- server-side copy of attachments -----------------------------------------------------------


def server_side_copy_available() -> bool:
    """True when attachments and backups are buckets on one S3 endpoint with one identity."""
    src, dst = attachment_storage(), backup_storage()
    return (
        is_s3(src)
        and is_s3(dst)
        and src.endpoint_url == dst.endpoint_url
        and src.region_name == dst.region_name
        and src.access_key == dst.access_key
        and src.session_profile == dst.session_profile
    )


def copy_attachment(source_name: str, name: str, *, size: int) -> int:
    """Copy an attachment from STORAGES["default"] into the backup storage, server-side.

    `size` is the attachment's recorded size (it chooses CopyObject or a multipart copy).
    Returns the size of the copy, read back with HeadObject. Raises FileNotFoundError when the
    source object is missing, StorageError when a storage fails or the name is taken.
    """
    src, dst = attachment_storage(), backup_storage()
    client, bucket, key = _client(dst), dst.bucket_name, _key(dst, name)
    source = {"Bucket": src.bucket_name, "Key": _key(src, source_name)}
    with _errors(dst, "backup storage", f"copy {name}"):
        if _head(client, bucket, key) is not None:
            raise _taken(dst, name)
        try:
            if size <= COPY_OBJECT_LIMIT:
                client.copy_object(CopySource=source, Bucket=bucket, Key=key)
            else:
                client.copy(
                    source,
                    bucket,
                    key,
                    Config=TransferConfig(
                        multipart_threshold=COPY_OBJECT_LIMIT,
                        multipart_chunksize=COPY_PART_SIZE,
                        max_concurrency=4,
                        preferred_transfer_client="classic",
                    ),
                )
        except ClientError as exc:
            if _not_found(exc) and _code(exc) != "NoSuchBucket":
                raise FileNotFoundError(
                    f"{source_name} is not in the {_label(src, 'attachment storage')}"
                ) from exc
            raise
        head = _head(client, bucket, key)
    if head is None:
        raise StorageError(f"The {storage_label(dst)} lost {name} right after copying it.")
    return head["ContentLength"]


def open_attachment(storage_name: str):
    """Open a product attachment in STORAGES["default"] for reading, as a stream."""
    storage = attachment_storage()
    if is_s3(storage):
        return _open_s3(storage, "attachment storage", storage_name)
    return storage.open(storage_name, "rb")


# --- reads ----------------------------------------------------------------------------------


def presigned_url(name: str, *, filename: str, expires: timedelta) -> str | None:
    """A short-lived URL straight to the object (S3), or None where the service must serve it."""
    storage = backup_storage()
    if not is_s3(storage):
        return None
    with _errors(storage, "backup storage", f"sign a link to {name}"):
        return storage.url(
            name,
            parameters={"ResponseContentDisposition": f'attachment; filename="{filename}"'},
            expire=int(expires.total_seconds()),
        )


def object_size(name: str) -> int:
    storage = backup_storage()
    if not is_s3(storage):
        return storage.size(name)
    with _errors(storage, "backup storage", f"read {name}"):
        head = _head(_client(storage), storage.bucket_name, _key(storage, name))
    if head is None:
        raise FileNotFoundError(f"{name} is not in the {storage_label(storage)}")
    return head["ContentLength"]


def open_object(name: str, mode: str = "rb"):
    """Open a backup object for reading, as a stream (iterating it gives lines)."""
    storage = backup_storage()
    if not is_s3(storage):
        return storage.open(name, mode)
    if mode != "rb":
        raise ValueError(f"backup objects are opened with mode 'rb', not {mode!r}")
    return _open_s3(storage, "backup storage", name)


def exists(name: str) -> bool:
    storage = backup_storage()
    if not is_s3(storage):
        return storage.exists(name)
    with _errors(storage, "backup storage", f"read {name}"):
        return _head(_client(storage), storage.bucket_name, _key(storage, name)) is not None


# --- deletes and listings -------------------------------------------------------------------


def delete_object(name: str) -> None:
    """Delete one object; deleting a missing object is not an error."""
    storage = backup_storage()
    if not is_s3(storage):
        storage.delete(name)
        return
    with _errors(storage, "backup storage", f"delete {name}"):
        _client(storage).delete_object(Bucket=storage.bucket_name, Key=_key(storage, name))


def list_prefix(prefix: str) -> list[str]:
    """Every object name under a prefix (for tests, cleanup and checks)."""
    storage = backup_storage()
    if is_s3(storage):
        with _errors(storage, "backup storage", f"list {prefix}"):
            return sorted(_s3_names(storage, prefix))
    names: list[str] = []

    def walk(folder: str) -> None:
        try:
            dirs, files = storage.listdir(folder)
        except FileNotFoundError:
            return
        names.extend(f"{folder}{f}" for f in files)
        for d in dirs:
            walk(f"{folder}{d}/")

    walk(prefix)
    return sorted(names)


def delete_prefix(prefix: str) -> int:
    """Delete everything under a prefix; return how many objects were removed. Idempotent."""
    if not prefix or not prefix.endswith("/"):
        raise ValueError(f"refusing to delete {prefix!r}: not a folder prefix")
    storage = backup_storage()
    if is_s3(storage):
        with _errors(storage, "backup storage", f"delete {prefix}"):
            return _s3_delete_prefix(storage, prefix)
    names = list_prefix(prefix)
    shutil.rmtree(Path(storage.path(prefix)), ignore_errors=True)
    return len(names)


def _s3_names(storage: S3Storage, prefix: str) -> Iterator[str]:
    paginator = _client(storage).get_paginator("list_objects_v2")
    pages = paginator.paginate(
        Bucket=storage.bucket_name,
        Prefix=_key(storage, prefix),
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    for page in pages:
        for item in page.get("Contents", ()):
            yield _name(storage, item["Key"])


def _s3_delete_prefix(storage: S3Storage, prefix: str) -> int:
    # List the first page, delete it, list again: memory stays one page whatever the count,
    # and no continuation token has to survive the deletes.
    client, bucket, key_prefix = _client(storage), storage.bucket_name, _key(storage, prefix)
    deleted = 0
    while True:
        page = client.list_objects_v2(Bucket=bucket, Prefix=key_prefix, MaxKeys=PAGE_SIZE)
        keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
        if not keys:
            return deleted
        answer = client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise StorageError(
                f"The {storage_label(storage)} failed to delete {len(answer['Errors'])} object(s) "
                f"under {prefix}, first {first.get('Key')}: {first.get('Code')} "
                f"({first.get('Message')})"
            )
        deleted += len(keys)


# --- uploads: a backup file received in chunks (R4) ------------------------------------------

# Every chunk the browser sends is this size but the last: on S3 each chunk is one part of a
# multipart upload (S3 wants parts of at least 5 MiB), so its part number is offset / size.
UPLOAD_CHUNK = 8 * MiB


def upload_write(name: str, *, offset: int, data: bytes, multipart_id: str) -> str:
    """Write one chunk at `offset` (the caller checked it is the next one). Returns the S3
    multipart upload id ("" on a folder). A chunk written twice (a retry) overwrites itself."""
    storage = backup_storage()
    if not is_s3(storage):
        path = Path(storage.path(name))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "r+b" if path.exists() else "wb") as f:
                f.seek(offset)
                f.write(data)
                f.truncate()  # bytes past a chunk a crash left half-written are not kept
        except OSError as exc:
            raise StorageError(f"The {storage_label(storage)} failed to write {name}: {exc}")
        return ""
    client, bucket, key = _client(storage), storage.bucket_name, _key(storage, name)
    with _errors(storage, "backup storage", f"write {name}"):
        if not multipart_id:
            multipart_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        client.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=multipart_id,
            PartNumber=offset // UPLOAD_CHUNK + 1,
            Body=data,
        )
    return multipart_id


def upload_finish(name: str, *, multipart_id: str) -> None:
    """Make the received chunks one object (S3: complete the multipart upload)."""
    storage = backup_storage()
    if not is_s3(storage):
        return
    client, bucket, key = _client(storage), storage.bucket_name, _key(storage, name)
    with _errors(storage, "backup storage", f"finish {name}"):
        parts = []
        for page in client.get_paginator("list_parts").paginate(
            Bucket=bucket, Key=key, UploadId=multipart_id
        ):
            parts += [
                {"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in page.get("Parts", [])
            ]
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=multipart_id,
            MultipartUpload={"Parts": sorted(parts, key=lambda p: p["PartNumber"])},
        )


def upload_discard(name: str, *, multipart_id: str) -> None:
    """Remove an upload, finished or not."""
    storage = backup_storage()
    if is_s3(storage) and multipart_id:
        with _errors(storage, "backup storage", f"abort {name}"):
            try:
                _client(storage).abort_multipart_upload(
                    Bucket=storage.bucket_name, Key=_key(storage, name), UploadId=multipart_id
                )
            except ClientError as exc:
                if _code(exc) != "NoSuchUpload":
                    raise
    delete_object(name)


@contextmanager
def local_file(name: str):
    """A seekable local file of a backup object (zipfile needs to seek): the file itself on a
    folder; on S3 a temporary copy, streamed down, deleted afterwards."""
    storage = backup_storage()
    if not is_s3(storage):
        with open(storage.path(name), "rb") as f:
            yield f
        return
    with tempfile.TemporaryFile() as tmp, open_object(name) as src:
        shutil.copyfileobj(src, tmp, CHUNK_SIZE)
        tmp.seek(0)
        yield tmp


# --- S3 plumbing ----------------------------------------------------------------------------


def _client(storage: S3Storage):
    return storage.connection.meta.client


def _key(storage: S3Storage, name: str) -> str:
    """The object key of a name, as S3Storage makes it (its `location` first; a "/" kept)."""
    return storage._normalize_name(clean_name(name))


def _name(storage: S3Storage, key: str) -> str:
    location = storage.location.strip("/")
    return key[len(location) + 1 :] if location else key


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _not_found(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or _code(exc) in {"404", "NoSuchKey", "NotFound"}


def _head(client, bucket: str, key: str) -> dict | None:
    try:
        return client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _not_found(exc) and _code(exc) != "NoSuchBucket":
            return None
        raise


def _detail(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', '?')} ({error.get('Message') or 'no message'})"
    return str(exc) or exc.__class__.__name__


@contextmanager
def _errors(storage, role: str, doing: str):
    """Raise the S3 client's failures as StorageError, naming the storage and what it did."""
    try:
        yield
    except (BotoCoreError, Boto3Error, ClientError, Urllib3Error) as exc:
        raise StorageError(
            f"The {_label(storage, role)} failed to {doing}: {_detail(exc)}"
        ) from exc


class _S3Stream(io.RawIOBase):
    """A GET response body as a raw stream; wrapped in a BufferedReader by _open_s3."""

    def __init__(self, body, storage, role: str, name: str):
        self._body = body
        self._storage, self._role, self._name = storage, role, name

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        with _errors(self._storage, self._role, f"read {self._name}"):
            data = self._body.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _open_s3(storage: S3Storage, role: str, name: str):
    with _errors(storage, role, f"read {name}"):
        try:
            answer = _client(storage).get_object(
                Bucket=storage.bucket_name, Key=_key(storage, name)
            )
        except ClientError as exc:
            if _not_found(exc) and _code(exc) != "NoSuchBucket":
                raise FileNotFoundError(f"{name} is not in the {_label(storage, role)}") from exc
            raise
    return io.BufferedReader(_S3Stream(answer["Body"], storage, role, name), CHUNK_SIZE)

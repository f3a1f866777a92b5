"""An S3 bucket as a storage (django-storages' S3Storage over boto3).

The methods are those of FilesystemBackend (backups/storage/filesystem.py), with the same
results and the same refusals; S3Storage's own file API is bypassed where it would not stream:

- a write is a multipart upload fed part by part from the chunk iterator;
- reads stream the GET response (S3File would first download the whole object into a
  temporary file, in memory by default);
- listing and deleting page through list_objects_v2 and batch delete_objects;
- downloads are presigned URLs.

Every failure of the client is raised as StorageError naming the bucket and endpoint.
"""

import hashlib
import io
import mimetypes
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from storages.utils import clean_name
from urllib3.exceptions import HTTPError as Urllib3Error

from .base import CHUNK_SIZE, MiB, StorageError, StoredObject, Written, taken

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


class S3Backend:
    """One S3Storage: its bucket, its key prefix (`location`), its client."""

    kind = "s3"

    def __init__(self, storage):
        self.storage = storage

    def label(self, role: str = "backup storage") -> str:
        bucket = getattr(self.storage, "bucket_name", "?")
        endpoint = getattr(self.storage, "endpoint_url", None)
        where = f"{bucket} at {endpoint}" if endpoint else bucket
        return f"{role} (bucket {where})"

    def free_bytes(self) -> None:
        """A bucket has no such figure."""
        return None

    # --- writes -------------------------------------------------------------------------------

    def write(self, name: str, chunks: Iterable[bytes]) -> Written:
        client, bucket, key = self._client(), self.storage.bucket_name, self._key(name)
        reader = _ChunkReader(chunks)
        with self._errors(f"write {name}"):
            # S3 has no "create only": check first. Keys under a backup's prefix are fresh, so
            # a taken name means something else wrote there; it is reported, never replaced.
            if _head(client, bucket, key) is not None:
                raise taken(self.label(), name)
            # Below PART_SIZE one PutObject, above it a multipart upload: a part is read, sent,
            # then the next one. A failure (of the iterator or of the server) aborts the
            # upload, and S3 never shows a partial object under the key.
            client.upload_fileobj(
                reader,
                bucket,
                key,
                ExtraArgs={
                    "ContentType": mimetypes.guess_type(name)[0] or "application/octet-stream"
                },
                Config=_upload_config(),
            )
        return Written(name, reader.size, reader.sha256.hexdigest())

    def can_copy_from(self, source) -> bool:
        """True when `source` is a bucket on this endpoint reached with this identity."""
        src, dst = source.storage, self.storage
        return (
            isinstance(source, S3Backend)
            and src.endpoint_url == dst.endpoint_url
            and src.region_name == dst.region_name
            and src.access_key == dst.access_key
            and src.session_profile == dst.session_profile
        )

    def copy_from(self, source: "S3Backend", source_name: str, name: str, *, size: int) -> int:
        """CopyObject (or a multipart copy past 5 GiB): no bytes pass through the worker."""
        client, bucket, key = self._client(), self.storage.bucket_name, self._key(name)
        copy_source = {"Bucket": source.storage.bucket_name, "Key": source._key(source_name)}
        with self._errors(f"copy {name}"):
            if _head(client, bucket, key) is not None:
                raise taken(self.label(), name)
            try:
                if size <= COPY_OBJECT_LIMIT:
                    client.copy_object(CopySource=copy_source, Bucket=bucket, Key=key)
                else:
                    client.copy(
                        copy_source,
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
                        f"{source_name} is not in the {source.label('attachment storage')}"
                    ) from exc
                raise
            head = _head(client, bucket, key)
        if head is None:
            raise StorageError(f"The {self.label()} lost {name} right after copying it.")
        return head["ContentLength"]

    # --- reads --------------------------------------------------------------------------------

    def open(self, name: str, mode: str = "rb", *, role: str = "backup storage"):
        if mode != "rb":
            raise ValueError(f"backup objects are opened with mode 'rb', not {mode!r}")
        with self._errors(f"read {name}", role):
            try:
                answer = self._client().get_object(
                    Bucket=self.storage.bucket_name, Key=self._key(name)
                )
            except ClientError as exc:
                if _not_found(exc) and _code(exc) != "NoSuchBucket":
                    raise FileNotFoundError(f"{name} is not in the {self.label(role)}") from exc
                raise
        return io.BufferedReader(_S3Stream(answer["Body"], self, role, name), CHUNK_SIZE)

    def size(self, name: str) -> int:
        with self._errors(f"read {name}"):
            head = _head(self._client(), self.storage.bucket_name, self._key(name))
        if head is None:
            raise FileNotFoundError(f"{name} is not in the {self.label()}")
        return head["ContentLength"]

    def exists(self, name: str) -> bool:
        with self._errors(f"read {name}"):
            return _head(self._client(), self.storage.bucket_name, self._key(name)) is not None

    def url(self, name: str, *, filename: str, expires: timedelta) -> str | None:
        with self._errors(f"sign a link to {name}"):
            return self.storage.url(
                name,
                parameters={"ResponseContentDisposition": f'attachment; filename="{filename}"'},
                expire=int(expires.total_seconds()),
            )

    @contextmanager
    def local_file(self, name: str):
        # zipfile needs to seek: a temporary copy, streamed down, deleted afterwards.
        with tempfile.TemporaryFile() as tmp, self.open(name) as src:
            shutil.copyfileobj(src, tmp, CHUNK_SIZE)
            tmp.seek(0)
            yield tmp

    # --- deletes and listings -----------------------------------------------------------------

    def delete(self, name: str) -> None:
        with self._errors(f"delete {name}"):
            self._client().delete_object(Bucket=self.storage.bucket_name, Key=self._key(name))

    def list(self, prefix: str, *, page_size: int) -> list[str]:
        with self._errors(f"list {prefix}"):
            return sorted(self._names(prefix, page_size))

    def _names(self, prefix: str, page_size: int) -> Iterator[str]:
        paginator = self._client().get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.storage.bucket_name,
            Prefix=self._key(prefix),
            PaginationConfig={"PageSize": page_size},
        )
        for page in pages:
            for item in page.get("Contents", ()):
                yield self._name(item["Key"])

    def objects(self, prefix: str, *, page_size: int) -> Iterator[StoredObject]:
        """Every object under a prefix with its size and LastModified, a page of list_objects_v2
        at a time (key order): memory is one page, whatever the total."""
        if not prefix.endswith("/"):
            raise ValueError(f"refusing to list {prefix!r}: not a folder prefix")
        paginator = self._client().get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.storage.bucket_name,
            Prefix=self._key(prefix),
            PaginationConfig={"PageSize": page_size},
        )
        with self._errors(f"list {prefix}"):
            for page in pages:
                for item in page.get("Contents", ()):
                    modified = item["LastModified"]  # botocore parses it, aware (UTC)
                    yield StoredObject(
                        name=self._name(item["Key"]),
                        size=item["Size"],
                        modified=modified.astimezone(UTC),
                    )

    def delete_prefix(self, prefix: str, *, page_size: int) -> int:
        with self._errors(f"delete {prefix}"):
            return self._delete_pages(prefix, page_size)

    def _delete_pages(self, prefix: str, page_size: int) -> int:
        # List the first page, delete it, list again: memory stays one page whatever the count,
        # and no continuation token has to survive the deletes.
        client, bucket, key_prefix = self._client(), self.storage.bucket_name, self._key(prefix)
        deleted = 0
        while True:
            page = client.list_objects_v2(Bucket=bucket, Prefix=key_prefix, MaxKeys=page_size)
            keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if not keys:
                return deleted
            answer = client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StorageError(
                    f"The {self.label()} failed to delete {len(answer['Errors'])} object(s) "
                    f"under {prefix}, first {first.get('Key')}: {first.get('Code')} "
                    f"({first.get('Message')})"
                )
            deleted += len(keys)

    # --- uploads: a backup file received in chunks (R4) ---------------------------------------

    def upload_write(
        self, name: str, *, offset: int, part_number: int, data: bytes, multipart_id: str
    ) -> str:
        # Each chunk is one part of a multipart upload, started by the first chunk; a part sent
        # again under its number (a retry) replaces itself.
        client, bucket, key = self._client(), self.storage.bucket_name, self._key(name)
        with self._errors(f"write {name}"):
            if not multipart_id:
                multipart_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
            client.upload_part(
                Bucket=bucket, Key=key, UploadId=multipart_id, PartNumber=part_number, Body=data
            )
        return multipart_id

    def upload_finish(self, name: str, *, multipart_id: str) -> None:
        client, bucket, key = self._client(), self.storage.bucket_name, self._key(name)
        with self._errors(f"finish {name}"):
            parts = []
            for page in client.get_paginator("list_parts").paginate(
                Bucket=bucket, Key=key, UploadId=multipart_id
            ):
                parts += [
                    {"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                    for p in page.get("Parts", [])
                ]
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=multipart_id,
                MultipartUpload={"Parts": sorted(parts, key=lambda p: p["PartNumber"])},
            )

    def upload_discard(self, name: str, *, multipart_id: str) -> None:
        # An unfinished upload's parts are not an object: they are removed by aborting it.
        if multipart_id:
            with self._errors(f"abort {name}"):
                try:
                    self._client().abort_multipart_upload(
                        Bucket=self.storage.bucket_name, Key=self._key(name), UploadId=multipart_id
                    )
                except ClientError as exc:
                    if _code(exc) != "NoSuchUpload":
                        raise
        self.delete(name)

    # --- plumbing -----------------------------------------------------------------------------

    def _client(self):
        return self.storage.connection.meta.client

    def _key(self, name: str) -> str:
        """The object key of a name, as S3Storage makes it (its `location` first; a "/" kept)."""
        return self.storage._normalize_name(clean_name(name))

    def _name(self, key: str) -> str:
        location = self.storage.location.strip("/")
        return key[len(location) + 1 :] if location else key

    @contextmanager
    def _errors(self, doing: str, role: str = "backup storage"):
        """Raise the S3 client's failures as StorageError, naming the storage and what it did."""
        try:
            yield
        except (BotoCoreError, Boto3Error, ClientError, Urllib3Error) as exc:
            raise StorageError(f"The {self.label(role)} failed to {doing}: {_detail(exc)}") from exc


def _upload_config() -> TransferConfig:
    return TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        use_threads=False,  # see PART_SIZE: the chunk iterator runs in the caller's thread
        preferred_transfer_client="classic",
    )


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


class _S3Stream(io.RawIOBase):
    """A GET response body as a raw stream; wrapped in a BufferedReader by S3Backend.open."""

    def __init__(self, body, backend: S3Backend, role: str, name: str):
        self._body = body
        self._backend, self._role, self._name = backend, role, name

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        with self._backend._errors(f"read {self._name}", self._role):
            data = self._body.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()

"""Uploads on S3 (issue #6 on #7's storage): chunks go into a multipart upload."""

import hashlib
import os

from backups import storage
from backups.models import Upload
from backups.services.uploads import upload_chunk, upload_start, upload_validate


def test_chunks_become_one_object_through_a_multipart_upload(storage_backend, demo):
    data = os.urandom(2 * storage.UPLOAD_CHUNK + 12345)  # three parts, the last one short
    upload = upload_start(
        organization=demo.acme, actor=demo.alice, file_name="b.zip", size=len(data)
    )
    for offset in range(0, len(data), storage.UPLOAD_CHUNK):
        upload = upload_chunk(
            upload=upload, offset=offset, data=data[offset : offset + storage.UPLOAD_CHUNK]
        )
    assert upload.status == Upload.Status.VALIDATING
    assert bool(upload.multipart_id) is (storage_backend == "s3")
    with storage.open_object(upload.storage_name) as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()

    # Random bytes are no backup file: refused by the first check, and not kept.
    assert upload_validate(upload_id=upload.pk) == Upload.Status.INVALID
    upload.refresh_from_db()
    assert upload.failed_check["name"] == "zip"
    assert not storage.exists(upload.storage_name)

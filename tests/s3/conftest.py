import pytest

from backups import storage


@pytest.fixture
def s3_log(request):
    """What the S3 server logged since the test started (its operations), or "" off S3."""
    if not storage.is_s3(storage.backup_storage()):
        return lambda: ""
    server = request.getfixturevalue("s3_server")
    offset = server.log_size()
    return lambda: server.log_text(offset)

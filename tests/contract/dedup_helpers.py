"""What the connected-site dedup tests of Jira and Confluence share (#16 item 2): which calls
were downloads, the organization's stored copies, and a backup file's attachments."""

import io
import re
import zipfile

from backups import storage
from backups.models import AttachmentBlob, BackupFile
from backups.services.files import backup_file_generate, backup_file_request
from tests.services.helpers import read_rows

JIRA_DOWNLOAD = re.compile(r"^/rest/api/3/attachment/content/")
CONFLUENCE_DOWNLOAD = re.compile(r"/child/attachment/[^/]+/download$")


def downloads(site, pattern) -> list[str]:
    """The site's attachment downloads so far (the API call, before the media host's redirect)."""
    return [path for _, path, _ in site.requests if pattern.search(path)]


def stored_blobs() -> dict[str, int]:
    """The organization's stored copies: object name -> size, as the storage has them."""
    return {
        name: storage.object_size(name)
        for name in AttachmentBlob.objects.values_list("storage_name", flat=True)
    }


def attachment_copies() -> dict[str, int]:
    """Of the stored copies, the attachments': the entities files are held there too (#16),
    under `blobs/<org>/written/`, and change whenever a row does."""
    return {name: size for name, size in stored_blobs().items() if "/written/" not in name}


def file_attachments(backup, admin) -> dict[str, bytes]:
    """The attachments of the backup's file (D1), by their row's owner and name."""
    backup_file = backup_file_request(backup=backup, actor=admin)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    with storage.open_object(backup_file.storage_name) as f:
        archive = zipfile.ZipFile(io.BytesIO(f.read()))
    rows = read_rows(backup, "attachments")
    owner = "issue" if "issue" in rows[0] else "page"
    return {(row[owner], row["name"]): archive.read(row["path"]) for row in rows}

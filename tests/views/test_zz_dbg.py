from tests.views.test_uploads import *
from backups.models import BackupFile
from backups.services.files import backup_file_generate, backup_file_request
def test_dbg(alice, demo, small_chunks):
    backup = run_backup_of(demo.jira, demo.alice, include_attachments=False, include_users_and_groups=False)
    print("OPT", backup.options)
    backup_file = backup_file_request(backup=backup, actor=demo.alice)
    assert backup_file_generate(file_id=backup_file.pk) == BackupFile.Status.READY
    backup_file.refresh_from_db()
    with storage.open_object(backup_file.storage_name) as f:
        data = f.read()
    upload = uploaded(alice, data)
    print("YY", text(alice.get(url("upload_detail", upload.pk)).content))

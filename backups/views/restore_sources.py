"""What a restore restores (R2-R5), as the wizard shows it: a backup in the service's storage,
or a validated uploaded backup file. Both answer the restore wizard's questions the same way
(`WizardSource`): what it is, what it holds, whether and where it may be restored, and the
service call that restores it. The services see one restore source (`source=`, a
services.restores.RestoreSource) and never ask which kind; only the words and links here
differ. The review step's words about a source and a destination (`review_context`) are here
too.
"""

from datetime import datetime
from urllib.parse import urlencode

from django.http import Http404
from django.urls import reverse

from backups import archive, rules, storage
from backups.access import OrgAccess, access_backup, access_upload
from backups.connectors.http import SiteError
from backups.models import Backup, Product, Restore, SiteConnection, Upload
from backups.rules import Decision, human_bytes, plural
from backups.services.restores import (
    RestoreSource,
    StoredBackupSource,
    UploadedFileSource,
    restore_decision,
    restore_destinations,
    restore_preview,
    restore_request,
    restore_source_decision,
)

from .backups import CONTENT_LABELS


class _Restorable:
    """The service calls, the same for both kinds: they go through the one reader."""

    source: RestoreSource

    def destinations(self, organization) -> list[tuple[Product, Decision]]:
        return restore_destinations(source=self.source, organization=organization)

    def decision_into(self, destination: Product) -> Decision:
        return restore_decision(source=self.source, destination=destination)

    def preview(self, destination: Product) -> dict:
        return restore_preview(source=self.source, destination=destination)

    def restore(self, *, destination: Product, actor, attachments: bool, groups: bool) -> Restore:
        return restore_request(
            source=self.source,
            destination=destination,
            actor=actor,
            include_attachments=attachments,
            include_users_and_groups=groups,
        )


class WizardStoredBackup(_Restorable):
    """A restore's source: a backup in the service's storage (R3: until it expires)."""

    def __init__(self, backup: Backup):
        self.backup = backup
        self.source = StoredBackupSource(backup)

    @property
    def params(self) -> dict:
        """How the URL names this source."""
        return {"backup": self.backup.pk}

    @property
    def product(self) -> Product:
        return self.backup.product

    @property
    def kind(self) -> str:
        return self.backup.product.kind

    @property
    def kind_label(self) -> str:
        return self.backup.product.get_kind_display()

    @property
    def label(self) -> str:
        return f"{self.backup.product.name}, backup #{self.backup.pk}"

    @property
    def from_file(self) -> bool:
        return False

    @property
    def taken_at(self) -> datetime:
        return self.backup.started_at

    @property
    def status(self) -> str:
        return self.backup.status

    @property
    def status_label(self) -> str:
        return self.backup.get_status_display()

    @property
    def missing(self) -> list:
        return self.backup.missing

    @property
    def has_attachments(self) -> bool:
        return bool(self.backup.options.get("include_attachments"))

    @property
    def has_users_and_groups(self) -> bool:
        return bool(self.backup.options.get("include_users_and_groups"))

    @property
    def attachment_bytes(self) -> int:
        return self.backup.counts.get("attachments", {}).get("files_bytes", 0)

    def decision(self) -> Decision:
        return restore_source_decision(source=self.source)

    def choose_again_url(self, org: OrgAccess, product: Product) -> str:
        """Where a source that cannot be restored sends the person back to."""
        url = reverse("restore_backup", args=[org.organization.slug])
        return f"{url}?{urlencode({'product': product.pk, 'backup': self.backup.pk})}"

    @property
    def choose_again_says_why(self) -> bool:
        """The backup step lists this backup with the reason it cannot be restored."""
        return True


class WizardUploadedFile(_Restorable):
    """A restore's source: a validated uploaded backup file (R4: until 60 days after taken).

    What it is comes from the file's manifest, proven at validation (R9). The product it was
    taken of may be gone, or renamed: the manifest's name is what the file says.
    """

    def __init__(self, upload: Upload, organization):
        self.upload = upload
        self.source = UploadedFileSource(upload)
        self.manifest = upload.manifest or {}
        product = self.manifest.get("product", {})
        self.product = (
            organization.products.filter(pk=product["id"], kind=product["kind"]).first()
            if product
            else None
        )

    @property
    def params(self) -> dict:
        return {"upload": self.upload.pk}

    @property
    def valid(self) -> bool:
        return self.upload.status == Upload.Status.VALID and bool(self.manifest)

    @property
    def kind(self) -> str:
        return self.manifest["product"]["kind"] if self.valid else ""

    @property
    def kind_label(self) -> str:
        return rules.KIND_LABEL.get(self.kind, "")

    @property
    def label(self) -> str:
        if not self.valid:
            return f"the uploaded file {self.upload.file_name}"
        return (
            f"{self.manifest['product']['name']}, backup #{self.manifest['backup_id']}, "
            f"from the uploaded file {self.upload.file_name}"
        )

    @property
    def from_file(self) -> bool:
        return True

    @property
    def taken_at(self) -> datetime | None:
        return archive.taken_at(self.manifest) if self.valid else None

    @property
    def status(self) -> str:
        return self.manifest.get("status", "")

    @property
    def status_label(self) -> str:
        return Backup.Status(self.status).label if self.status else ""

    @property
    def missing(self) -> list:
        return self.manifest.get("missing", [])

    @property
    def has_attachments(self) -> bool:
        return bool(self.manifest.get("options", {}).get("include_attachments"))

    @property
    def has_users_and_groups(self) -> bool:
        return bool(self.manifest.get("options", {}).get("include_users_and_groups"))

    @property
    def attachment_bytes(self) -> int:
        return self.manifest.get("attachments", {}).get("bytes", 0)

    def decision(self) -> Decision:
        if self.upload.status == Upload.Status.DELETED:
            return rules.refuse(
                f"The uploaded file {self.upload.file_name} was deleted "
                f"({self.upload.deleted_reason}); upload it again to restore it."
            )
        if not self.valid:
            return rules.refuse(
                f"The uploaded file {self.upload.file_name} has not been validated for a restore."
            )
        return restore_source_decision(source=self.source)

    def choose_again_url(self, org: OrgAccess, product: Product | None) -> str:
        return reverse("upload_detail", args=[org.organization.slug, self.upload.pk])

    @property
    def choose_again_says_why(self) -> bool:
        """A valid file's page says why it cannot be restored; the page of a file not checked,
        refused or deleted says what became of it, not this sentence."""
        return self.valid


WizardSource = WizardStoredBackup | WizardUploadedFile


def wizard_source(org: OrgAccess, data: dict) -> WizardSource | None:
    """The source the wizard's URL names, through access.py (another org's: 404)."""
    if data.get("backup") and data.get("upload"):
        raise Http404("A restore has one source")
    if data.get("backup"):
        return WizardStoredBackup(access_backup(org, data["backup"]))
    if data.get("upload"):
        return WizardUploadedFile(access_upload(org, data["upload"]), org.organization)
    return None


# --- The review step's words -----------------------------------------------------------------


def not_settable_into(destination) -> list[str]:
    """What a restore into a connected site cannot set through the site's API (C6)."""
    if not SiteConnection.objects.filter(product=destination).exists():
        return []
    from backups.productdata.confluence_cloud import NOT_SETTABLE as CONFLUENCE
    from backups.productdata.jira_cloud import NOT_SETTABLE as JIRA

    return CONFLUENCE if destination.kind == Product.Kind.CONFLUENCE else JIRA


def review_context(
    source: WizardSource,
    destination: Product,
    *,
    include_attachments: bool,
    include_users_and_groups: bool,
) -> dict:
    """What the review step says will be restored, skipped and left out (R6, R7, C6)."""
    try:
        preview = source.preview(destination)
    except (OSError, storage.StorageError) as exc:
        return {"preview_error": f"The backup's stored data could not be read: {exc}"}
    except SiteError as exc:  # a connected Confluence destination is asked for its spaces
        return {"preview_error": f"The destination site could not be asked what it holds: {exc}"}
    counts = preview["counts"]
    restored = []
    for name, n in counts.items():
        if name == "attachments" and not include_attachments:
            continue
        if name == "groups" and not include_users_and_groups:
            continue
        restored.append({"label": CONTENT_LABELS.get(name, name.capitalize()), "rows": n})
    left_out = []
    if source.has_attachments and not include_attachments:
        n = counts.get("attachments", 0)
        left_out.append(
            f"{plural(n, 'attachment')} ({human_bytes(source.attachment_bytes)}): "
            "you chose not to restore attachments."
        )
    if source.has_users_and_groups and not include_users_and_groups:
        left_out.append(
            f"{plural(counts.get('groups', 0), 'group')}: you chose not to restore users and "
            "groups."
        )
    return {
        "restored": restored,
        "skipped_space_keys": preview["skipped_space_keys"],
        "left_out": left_out,
        # C6: said before the restore starts, as in its report afterwards.
        "not_settable": not_settable_into(destination),
        "missing": preview["missing"] if source.status == Backup.Status.INCOMPLETE else [],
    }

from .audit import AuditEvent
from .backups import RETENTION, Backup, BackupVerification
from .blobs import AttachmentBlob, BackupBlob
from .confluence import Page, PageAttachment, PageComment, Space
from .connections import SiteConnection
from .content import ContentState
from .downloads import DownloadLink
from .files import MAX_DOWNLOADS, BackupFile
from .jira import JiraAttachment, JiraComment, JiraIssue, JiraProject
from .organizations import Membership, Organization, OrgGroup
from .policies import BackupPolicy
from .products import Product, ProductAccess
from .restores import Restore
from .tokens import ApiToken
from .uploads import Upload
from .webhooks import BackupExpiryNotice, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "ApiToken",
    "AttachmentBlob",
    "AuditEvent",
    "Backup",
    "BackupBlob",
    "BackupExpiryNotice",
    "BackupFile",
    "BackupPolicy",
    "BackupVerification",
    "ContentState",
    "DownloadLink",
    "JiraAttachment",
    "JiraComment",
    "JiraIssue",
    "JiraProject",
    "MAX_DOWNLOADS",
    "Membership",
    "OrgGroup",
    "Organization",
    "Page",
    "PageAttachment",
    "PageComment",
    "Product",
    "ProductAccess",
    "RETENTION",
    "Restore",
    "SiteConnection",
    "Space",
    "Upload",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]

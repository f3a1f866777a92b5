from django.contrib.auth import views as auth_views
from django.urls import path

from backups.views import (
    audit_log,
    backups,
    connections,
    files,
    pages,
    policies,
    restore_wizard,
    restores,
    upload_list,
    uploads,
    webhooks,
)

ORG = "orgs/<slug:org_slug>/backup-and-restore/"

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", pages.home, name="home"),
    path(ORG, pages.backup_and_restore, name="org"),
    path(ORG + "policies/new/", policies.policy_create, name="policy_create"),
    path(ORG + "policies/<int:policy_id>/edit/", policies.policy_edit, name="policy_edit"),
    path(ORG + "connections/new/", connections.connection_new, name="connection_new"),
    path(
        ORG + "connections/<int:connection_id>/edit/",
        connections.connection_edit,
        name="connection_edit",
    ),
    path(
        ORG + "connections/<int:connection_id>/check/",
        connections.connection_check_view,
        name="connection_check",
    ),
    path(
        ORG + "connections/<int:connection_id>/disconnect/",
        connections.connection_disconnect_view,
        name="connection_disconnect",
    ),
    path(ORG + "products/<int:product_id>/run-backup/", backups.backup_run_view, name="backup_run"),
    path(ORG + "backups/<int:backup_id>/", backups.backup_detail, name="backup_detail"),
    # A detail page's htmx polls: the same view, asked for the body alone.
    path(
        ORG + "backups/<int:backup_id>/progress/",
        backups.backup_detail,
        {"fragment": True},
        name="backup_detail_fragment",
    ),
    path(ORG + "backups/<int:backup_id>/file/", files.generate_file, name="backup_file_generate"),
    path(ORG + "backups/<int:backup_id>/download/", files.download_file, name="backup_download"),
    path("downloads/<str:token>/", files.download_link, name="download"),
    # Restores (R1-R8): the wizard (GET steps, one POST), the table, a restore, product access.
    path(ORG + "restores/new/", restore_wizard.restore_new, name="restore_new"),
    path(ORG + "restores/new/backup/", restore_wizard.restore_backup, name="restore_backup"),
    path(ORG + "restores/new/options/", restore_wizard.restore_options, name="restore_options"),
    path(
        ORG + "restores/new/destination/",
        restore_wizard.restore_destination,
        name="restore_destination",
    ),
    path(ORG + "restores/new/review/", restore_wizard.restore_review, name="restore_review"),
    path(ORG + "restores/new/start/", restore_wizard.restore_start, name="restore_start"),
    path(ORG + "restores/<int:restore_id>/", restores.restore_detail, name="restore_detail"),
    path(
        ORG + "restores/<int:restore_id>/progress/",
        restores.restore_detail,
        {"fragment": True},
        name="restore_detail_fragment",
    ),
    path(ORG + "product-access/", restores.product_access_review, name="product_access_review"),
    path(
        ORG + "product-access/<int:access_id>/approve/",
        restores.product_access_approve,
        name="product_access_approve",
    ),
    path(
        ORG + "product-access/<int:access_id>/deny/",
        restores.product_access_deny,
        name="product_access_deny",
    ),
    path(
        ORG + "product-access/<int:access_id>/revoke/",
        restores.product_access_revoke,
        name="product_access_revoke",
    ),
    # Upload backup file (R4, R9): the page, its script's JSON endpoints, an upload's report.
    path(ORG + "uploads/new/", upload_list.upload_new, name="upload_new"),
    path(ORG + "uploads/start/", uploads.upload_start_view, name="upload_start"),
    path(ORG + "uploads/<int:upload_id>/", uploads.upload_detail, name="upload_detail"),
    path(
        ORG + "uploads/<int:upload_id>/progress/",
        uploads.upload_detail,
        {"fragment": True},
        name="upload_detail_fragment",
    ),
    path(ORG + "uploads/<int:upload_id>/status/", uploads.upload_status, name="upload_status"),
    path(ORG + "uploads/<int:upload_id>/chunk/", uploads.upload_chunk_view, name="upload_chunk"),
    # An org admin's cancel and delete, each the second step of its button (#13 item 2, E2).
    path(
        ORG + "uploads/<int:upload_id>/cancel/",
        upload_list.upload_cancel_view,
        name="upload_cancel",
    ),
    path(
        ORG + "uploads/<int:upload_id>/delete/",
        upload_list.upload_delete_view,
        name="upload_delete",
    ),
    # Webhooks (A4) and the audit log (A5).
    path(ORG + "webhooks/", webhooks.webhooks, name="webhooks"),
    path(ORG + "webhooks/new/", webhooks.webhook_new, name="webhook_new"),
    path(ORG + "webhooks/<int:endpoint_id>/", webhooks.webhook_detail, name="webhook_detail"),
    path(ORG + "webhooks/<int:endpoint_id>/test/", webhooks.webhook_test, name="webhook_test"),
    path(
        ORG + "webhooks/<int:endpoint_id>/delete/", webhooks.webhook_delete, name="webhook_delete"
    ),
    path(ORG + "audit-log/", audit_log.audit_log, name="audit_log"),
    path(ORG + "audit-log/csv/", audit_log.audit_log_csv, name="audit_log_csv"),
]

"""The JSON API's routes under /api/v1/ (SPEC §10). Ids are the rows' own, stable ids."""

from django.urls import path

from . import docs, restores, views

urlpatterns = [
    path("schema/", docs.schema_view, name="api_schema"),
    path("docs/", docs.docs_view, name="api_docs"),
    path("organization/", views.OrganizationView.as_view(), name="api_organization"),
    path("products/", views.ProductList.as_view(), name="api_products"),
    path("products/<int:product_id>/", views.ProductDetail.as_view(), name="api_product"),
    path("connections/", views.ConnectionList.as_view(), name="api_connections"),
    path(
        "connections/<int:connection_id>/",
        views.ConnectionDetail.as_view(),
        name="api_connection",
    ),
    path("policies/", views.PolicyList.as_view(), name="api_policies"),
    path("policies/<int:policy_id>/", views.PolicyDetail.as_view(), name="api_policy"),
    path("backups/", views.BackupList.as_view(), name="api_backups"),
    path("backups/<int:backup_id>/", views.BackupDetail.as_view(), name="api_backup"),
    path("backups/<int:backup_id>/file/", views.BackupFileView.as_view(), name="api_backup_file"),
    path(
        "backups/<int:backup_id>/downloads/",
        views.DownloadStart.as_view(),
        name="api_backup_downloads",
    ),
    path("downloads/<str:token>/", views.DownloadView.as_view(), name="api_download"),
    path("restores/", restores.RestoreList.as_view(), name="api_restores"),
    path("restores/plan/", restores.RestorePlan.as_view(), name="api_restore_plan"),
    path("restores/<int:restore_id>/", restores.RestoreDetail.as_view(), name="api_restore"),
    path("uploads/", restores.UploadList.as_view(), name="api_uploads"),
    path("uploads/<int:upload_id>/", restores.UploadDetail.as_view(), name="api_upload"),
    path("uploads/<int:upload_id>/chunk/", restores.UploadChunk.as_view(), name="api_upload_chunk"),
    path("audit-events/", views.AuditEventList.as_view(), name="api_audit_events"),
]

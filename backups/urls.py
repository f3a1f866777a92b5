from django.contrib.auth import views as auth_views
from django.urls import path

from backups.views import backups, files, pages, policies

ORG = "orgs/<slug:org_slug>/backup-and-restore/"

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", pages.home, name="home"),
    path(ORG, pages.backup_and_restore, name="org"),
    path(ORG + "policies/new/", policies.policy_create, name="policy_create"),
    path(ORG + "policies/<int:policy_id>/edit/", policies.policy_edit, name="policy_edit"),
    path(ORG + "products/<int:product_id>/run-backup/", backups.backup_run, name="backup_run"),
    path(ORG + "backups/table/", backups.backups_table, name="backups_table"),
    path(ORG + "backups/<int:backup_id>/", backups.backup_detail, name="backup_detail"),
    path(
        ORG + "backups/<int:backup_id>/progress/",
        backups.backup_detail_fragment,
        name="backup_detail_fragment",
    ),
    path(ORG + "backups/<int:backup_id>/file/", files.generate_file, name="backup_file_generate"),
    path(ORG + "backups/<int:backup_id>/download/", files.download_file, name="backup_download"),
    path("downloads/<str:token>/", files.download_link, name="download"),
]

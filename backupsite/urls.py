from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "backupsite administration"
admin.site.site_title = "backupsite"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("backups.urls")),
]

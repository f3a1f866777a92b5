from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "backupsite administration"
admin.site.site_title = "backupsite"

urlpatterns = [
    path("admin/", admin.site.urls),
    # The JSON API (SPEC §10) and its tokens page (K2).
    path("api/v1/", include("backups.api.urls")),
    path("", include("backups.api.token_urls")),
    path("", include("backups.urls")),
]

# The site's own error pages (backups/views/errors.py); CSRF failures: CSRF_FAILURE_VIEW.
handler400 = "backups.views.errors.bad_request"
handler403 = "backups.views.errors.permission_denied"
handler404 = "backups.views.errors.page_not_found"
handler500 = "backups.views.errors.server_error"

"""The site's URLs plus one view that fails, for tests/views/test_error_pages.py."""

from django.urls import path

from backupsite.urls import handler400, handler403, handler404, handler500  # noqa: F401
from backupsite.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", boom), *site_urlpatterns]

"""The JSON API's routes under /api/v1/ (SPEC §10)."""

from django.urls import path

from . import docs

urlpatterns = [
    path("schema/", docs.schema_view, name="api_schema"),
    path("docs/", docs.docs_view, name="api_docs"),
]

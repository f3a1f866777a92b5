"""Admin: product content, Jira (projects, issues, comments, attachments) and Confluence
(spaces, pages, comments, attachments)."""

from django.contrib import admin
from django.db.models import Count

from backups.models import (
    JiraAttachment,
    JiraComment,
    JiraIssue,
    JiraProject,
    Page,
    PageAttachment,
    PageComment,
    Space,
)

from .base import AttachmentAdmin, SiteModelAdmin

# --- Jira content: project, issue, comment, attachment -----------------------------------


@admin.register(JiraProject)
class JiraProjectAdmin(SiteModelAdmin):
    list_display = ["key", "name", "state", "product", "issue_count"]
    list_filter = ["state", "product"]
    search_fields = ["key", "name"]
    autocomplete_fields = ["product"]
    list_select_related = ["product"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_issue_count=Count("issues"))

    @admin.display(description="issues", ordering="_issue_count")
    def issue_count(self, obj):
        return obj._issue_count


@admin.register(JiraIssue)
class JiraIssueAdmin(SiteModelAdmin):
    list_display = ["key", "summary", "status", "project", "updated"]
    # By its project's product: a running restore's issues already carry their destination's
    # product but stay under the hidden staging product's projects until it publishes (#16).
    list_filter = ["status", "project__state", "project__product"]
    search_fields = ["key", "summary"]
    autocomplete_fields = ["product", "project"]
    list_select_related = ["project"]


@admin.register(JiraComment)
class JiraCommentAdmin(SiteModelAdmin):
    list_display = ["__str__", "author", "issue", "created"]
    list_filter = ["issue__project__product"]
    search_fields = ["author", "body", "issue__key"]
    autocomplete_fields = ["issue"]
    list_select_related = ["issue"]


@admin.register(JiraAttachment)
class JiraAttachmentAdmin(AttachmentAdmin):
    list_display = ["name", "human_size", "sha256_short", "issue", "created"]
    autocomplete_fields = ["product", "issue"]
    list_select_related = ["issue"]


# --- Confluence content: space, page, comment, attachment --------------------------------


@admin.register(Space)
class SpaceAdmin(SiteModelAdmin):
    list_display = ["key", "name", "kind", "state", "product", "page_count"]
    list_filter = ["kind", "state", "product"]
    search_fields = ["key", "name"]
    autocomplete_fields = ["product"]
    list_select_related = ["product"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_page_count=Count("pages"))

    @admin.display(description="pages", ordering="_page_count")
    def page_count(self, obj):
        return obj._page_count


@admin.register(Page)
class PageAdmin(SiteModelAdmin):
    list_display = ["title", "kind", "space", "parent", "version", "updated"]
    list_filter = ["kind", "space__product"]
    search_fields = ["title"]
    autocomplete_fields = ["space"]
    raw_id_fields = ["parent"]
    list_select_related = ["space", "parent"]


@admin.register(PageComment)
class PageCommentAdmin(SiteModelAdmin):
    list_display = ["__str__", "author", "page", "created"]
    list_filter = ["page__space__product"]
    search_fields = ["author", "body", "page__title"]
    autocomplete_fields = ["page"]
    list_select_related = ["page"]


@admin.register(PageAttachment)
class PageAttachmentAdmin(AttachmentAdmin):
    list_display = ["name", "human_size", "sha256_short", "page", "created"]
    autocomplete_fields = ["product", "page"]
    list_select_related = ["page"]

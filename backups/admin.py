"""Django admin for staff (SPEC §8): every model, searchable and filterable.

One `@admin.register` class per model, grouped by aggregate. List pages name their related
objects through `list_select_related` and edit them through `autocomplete_fields` /
`raw_id_fields`, so a page costs the same number of queries whatever its number of rows.
"""

from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import ngettext

from backups.models import (
    AuditEvent,
    Backup,
    BackupFile,
    BackupPolicy,
    DownloadLink,
    JiraAttachment,
    JiraComment,
    JiraIssue,
    JiraProject,
    Membership,
    Organization,
    OrgGroup,
    Page,
    PageAttachment,
    PageComment,
    Product,
    ProductAccess,
    Restore,
    SiteConnection,
    Space,
    Upload,
)
from backups.models.products import ProductAccessDecision
from backups.rules import format_when, human_bytes
from backups.services.backups import backup_expire, backup_fail
from backups.services.connections import connection_check
from backups.services.organizations import organization_set_enrolled
from backups.services.restore_engine import restore_fail
from backups.storage import StorageError

# Django's own Group is not used (staff are superusers; organizations have their own groups):
# listed, it would be a second "Groups" beside the organizations' groups.
admin.site.unregister(Group)


def _utc_column(field: models.DateTimeField):
    """A time as the site writes it, '2 Dec 2026, 17:20 UTC', not admin's '5:20 p.m.'."""

    @admin.display(description=field.verbose_name, ordering=field.name)
    def column(obj):
        value = getattr(obj, field.name)
        return format_when(value) if value else "—"

    column.__name__ = f"{field.name}_utc"
    return column


class SiteModelAdmin(admin.ModelAdmin):
    """Times with their zone, in lists and on read-only fields; sizes by rules.human_bytes."""

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self._utc = {
            f.name: _utc_column(f)
            for f in model._meta.fields
            if isinstance(f, models.DateTimeField)
        }

    def _in_utc(self, names) -> list:
        return [self._utc.get(n, n) if isinstance(n, str) else n for n in names]

    def get_list_display(self, request):
        return self._in_utc(super().get_list_display(request))

    def _readonly_times(self, request, obj) -> list[str]:
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            readonly = [f.name for f in self.model._meta.fields]  # a view-only page
        return [n for n in readonly if n in self._utc]

    def get_readonly_fields(self, request, obj=None):
        return self._in_utc(super().get_readonly_fields(request, obj))

    def get_exclude(self, request, obj=None):
        # A read-only time is shown by its UTC column: the field itself stays off the form.
        return [*(super().get_exclude(request, obj) or []), *self._readonly_times(request, obj)]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        times = self._readonly_times(request, obj)
        shown = self._in_utc(times)
        return [*fields, *(c for c in shown if c not in fields)]


class ViewOnlyAdmin(SiteModelAdmin):
    """The data is the system's: staff look, and act through the actions (no Save button)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Organizations: organization, membership, group --------------------------------------


@admin.register(Organization)
class OrganizationAdmin(SiteModelAdmin):
    list_display = ["name", "slug", "enrolled", "member_count", "product_count", "created_at"]
    list_filter = ["enrolled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]
    actions = ["enroll", "unenroll"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _member_count=Count("memberships", distinct=True),
                _product_count=Count("products", distinct=True),
            )
        )

    @admin.display(description="members", ordering="_member_count")
    def member_count(self, obj):
        return obj._member_count

    @admin.display(description="products", ordering="_product_count")
    def product_count(self, obj):
        return obj._product_count

    def save_model(self, request, obj, form, change):
        # The flag changes only through the service, so that it is audited like the actions.
        enrolled_changed = "enrolled" in form.changed_data
        wanted = obj.enrolled
        if enrolled_changed:
            obj.enrolled = not wanted
        super().save_model(request, obj, form, change)
        if enrolled_changed:
            organization_set_enrolled(organization=obj, enrolled=wanted, actor=request.user)

    def _set_enrolled(self, request, queryset, *, enrolled: bool):
        changed = sum(
            organization_set_enrolled(organization=org, enrolled=enrolled, actor=request.user)
            for org in queryset
        )
        verb = "enrolled in Backup and restore early access" if enrolled else "unenrolled"
        if changed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d organization %(verb)s.",
                    "%(count)d organizations %(verb)s.",
                    changed,
                )
                % {"count": changed, "verb": verb},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                f"Nothing changed: the selected organizations were already {verb}.",
                messages.WARNING,
            )

    @admin.action(description="Enroll in Backup and restore early access")
    def enroll(self, request, queryset):
        self._set_enrolled(request, queryset, enrolled=True)

    @admin.action(description="Unenroll")
    def unenroll(self, request, queryset):
        self._set_enrolled(request, queryset, enrolled=False)


@admin.register(Membership)
class MembershipAdmin(SiteModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


@admin.register(OrgGroup)
class OrgGroupAdmin(SiteModelAdmin):
    list_display = ["name", "organization", "member_count", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name"]
    autocomplete_fields = ["organization", "members"]
    list_select_related = ["organization"]

    def get_queryset(self, request):
        # The organization also names the group in autocomplete results (OrgGroup.__str__).
        return (
            super()
            .get_queryset(request)
            .select_related("organization")
            .annotate(_member_count=Count("members", distinct=True))
        )

    @admin.display(description="members", ordering="_member_count")
    def member_count(self, obj):
        return obj._member_count


# --- Products: product, product access ---------------------------------------------------


@admin.register(Product)
class ProductAdmin(SiteModelAdmin):
    list_display = ["name", "kind", "organization", "url", "created_at"]
    list_filter = ["kind", "organization"]
    search_fields = ["name", "url", "organization__name"]
    autocomplete_fields = ["organization"]
    list_select_related = ["organization"]


@admin.register(ProductAccess)
class ProductAccessAdmin(SiteModelAdmin):
    list_display = ["group", "product", "approved", "created_at"]
    list_filter = ["approved", "product"]
    search_fields = ["group__name", "product__name"]
    autocomplete_fields = ["group", "product"]
    list_select_related = ["group__organization", "product"]


@admin.register(ProductAccessDecision)
class ProductAccessDecisionAdmin(ViewOnlyAdmin):
    """Org admins' approvals, denials and revocations of product access (R7), as they made
    them on Review product access."""

    list_display = ["decided_at", "decision", "group_name", "product_name", "members", "decided_by"]
    list_filter = ["decision", "organization"]
    search_fields = ["group_name", "product_name", "organization__name"]
    list_select_related = ["decided_by"]
    date_hierarchy = "decided_at"


@admin.register(SiteConnection)
class SiteConnectionAdmin(ViewOnlyAdmin):
    """Staff see connections and can check them; they never see the token (C2).

    token_encrypted is not a field of any form or list here, not even encrypted: a ciphertext
    on a page is one key leak away from the token. Connections are made, edited and
    disconnected by org admins on their pages (the services encrypt the token and audit it).
    """

    list_display = ["product", "site_url", "email", "check_ok", "checked_at"]
    list_filter = ["check_ok", "product__kind", "product__organization"]
    search_fields = ["product__name", "site_url", "email", "account_name"]
    list_select_related = ["product"]
    exclude = ["token_encrypted"]
    readonly_fields = [
        "product",
        "site_url",
        "email",
        "account_id",
        "account_name",
        "checked_at",
        "check_ok",
        "check_message",
        "content_summary",
        "summary_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    actions = ["check_now"]

    @admin.action(description="Check now")
    def check_now(self, request, queryset):
        for connection in queryset.select_related("product"):
            # The check's own words: they never contain the token (C2).
            connection_check(connection=connection)
            self.message_user(
                request,
                f"{connection.product}: "
                + ("working. " if connection.check_ok else "not working. ")
                + connection.check_message,
                messages.SUCCESS if connection.check_ok else messages.ERROR,
            )


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
    list_filter = ["status", "project__state", "product"]
    search_fields = ["key", "summary"]
    autocomplete_fields = ["product", "project"]
    list_select_related = ["project"]


@admin.register(JiraComment)
class JiraCommentAdmin(SiteModelAdmin):
    list_display = ["__str__", "author", "issue", "created"]
    list_filter = ["issue__product"]
    search_fields = ["author", "body", "issue__key"]
    autocomplete_fields = ["issue"]
    list_select_related = ["issue"]


@admin.register(JiraAttachment)
class JiraAttachmentAdmin(SiteModelAdmin):
    list_display = ["name", "human_size", "sha256_short", "issue", "created"]
    list_filter = ["product"]
    search_fields = ["name", "sha256"]
    autocomplete_fields = ["product", "issue"]
    list_select_related = ["issue"]

    @admin.display(description="size", ordering="size")
    def human_size(self, obj):
        return human_bytes(obj.size)

    @admin.display(description="SHA-256")
    def sha256_short(self, obj):
        return obj.sha256[:12]


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
class PageAttachmentAdmin(SiteModelAdmin):
    list_display = ["name", "human_size", "sha256_short", "page", "created"]
    list_filter = ["product"]
    search_fields = ["name", "sha256"]
    autocomplete_fields = ["product", "page"]
    list_select_related = ["page"]

    @admin.display(description="size", ordering="size")
    def human_size(self, obj):
        return human_bytes(obj.size)

    @admin.display(description="SHA-256")
    def sha256_short(self, obj):
        return obj.sha256[:12]


# --- Audit --------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    """Read-only: the audit trail is written by services, never edited by hand."""

    list_display = ["created_at", "actor", "organization", "action", "target"]
    list_filter = ["action", "organization"]
    search_fields = ["target", "action"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "organization"]


# --- Backups: policy, backup ------------------------------------------------------------------


@admin.register(BackupPolicy)
class BackupPolicyAdmin(SiteModelAdmin):
    list_display = [
        "product",
        "organization",
        "include_attachments",
        "include_personal_spaces",
        "include_users_and_groups",
        "updated_at",
    ]
    list_filter = ["include_attachments", "include_users_and_groups", "product__kind"]
    search_fields = ["product__name", "product__organization__name"]
    list_select_related = ["product__organization"]
    autocomplete_fields = ["product", "created_by"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="organization", ordering="product__organization__name")
    def organization(self, obj):
        return obj.product.organization


@admin.register(Backup)
class BackupAdmin(ViewOnlyAdmin):
    """Status fields are read only: a backup changes state only through the services (B5)."""

    list_display = [
        "id",
        "product",
        "organization",
        "status",
        "started_at",
        "completed_at",
        "human_size",
        "created_by",
    ]
    list_filter = ["status", "product__kind", "product__organization", "product"]
    search_fields = ["id", "product__name", "product__organization__name", "failure_reason"]
    list_select_related = ["product__organization", "created_by"]
    date_hierarchy = "started_at"
    actions = ["expire_now", "mark_failed"]

    @admin.display(description="organization", ordering="product__organization__name")
    def organization(self, obj):
        return obj.product.organization

    @admin.display(description="size", ordering="total_bytes")
    def human_size(self, obj):
        return human_bytes(obj.total_bytes) if obj.total_bytes else "—"

    @admin.action(description="Expire now (delete the stored data)")
    def expire_now(self, request, queryset):
        now = timezone.now()
        done = 0
        for b in queryset.select_related("product__organization"):
            try:
                done += backup_expire(backup=b, now=now, actor=request.user, force=True)
            except StorageError as exc:
                self.message_user(request, f"{b}: not expired: {exc}", messages.ERROR)
        skipped = queryset.count() - done
        self.message_user(
            request,
            f"{done} backup(s) expired."
            + (
                f" {skipped} skipped: only COMPLETE and INCOMPLETE backups expire."
                if skipped
                else ""
            ),
            messages.SUCCESS if done else messages.WARNING,
        )

    @admin.action(description="Mark failed (a stuck backup)")
    def mark_failed(self, request, queryset):
        reason = f"Marked failed by staff ({request.user.get_username()})."
        done = sum(backup_fail(backup_id=b.pk, reason=reason, actor=request.user) for b in queryset)
        skipped = queryset.count() - done
        note = f" {skipped} skipped: only IN_PROGRESS backups can fail." if skipped else ""
        self.message_user(
            request,
            f"{done} backup(s) marked failed.{note}",
            messages.SUCCESS if done else messages.WARNING,
        )


@admin.register(BackupFile)
class BackupFileAdmin(ViewOnlyAdmin):
    """Read only: files are made and counted by the services (D1-D3)."""

    list_display = ["backup", "status", "human_size", "downloads_used", "created_at", "ready_at"]
    list_filter = ["status"]
    search_fields = ["backup__product__name", "sha256"]
    list_select_related = ["backup__product"]

    @admin.display(description="size", ordering="size")
    def human_size(self, obj):
        return human_bytes(obj.size) if obj.size else "—"


# --- Restores -----------------------------------------------------------------------------------


@admin.register(Restore)
class RestoreAdmin(ViewOnlyAdmin):
    """Status fields are read only: a restore changes state only through the services (R8)."""

    list_display = [
        "id",
        "destination",
        "source_product_name",
        "source_backup_id",
        "status",
        "started_at",
        "completed_at",
        "created_by",
    ]
    list_filter = ["status", "destination__kind", "destination__organization"]
    search_fields = ["destination__name", "source_product_name", "failure_reason"]
    list_select_related = ["destination", "created_by"]
    date_hierarchy = "started_at"
    actions = ["mark_failed"]

    @admin.action(description="Mark failed (a stuck restore)")
    def mark_failed(self, request, queryset):
        reason = f"Marked failed by staff ({request.user.get_username()})."
        done = sum(
            restore_fail(restore_id=r.pk, reason=reason, actor=request.user) for r in queryset
        )
        skipped = queryset.count() - done
        note = f" {skipped} skipped: only IN_PROGRESS restores can fail." if skipped else ""
        self.message_user(
            request,
            f"{done} restore(s) marked failed.{note}",
            messages.SUCCESS if done else messages.WARNING,
        )


# --- Uploads and download links -------------------------------------------------------------


@admin.register(Upload)
class UploadAdmin(ViewOnlyAdmin):
    """Uploaded backup files (R4, R9, E2): received, checked and deleted by the services."""

    list_display = [
        "id",
        "file_name",
        "organization",
        "status",
        "human_size",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "organization"]
    search_fields = ["file_name", "organization__name", "deleted_reason"]
    list_select_related = ["organization", "created_by"]
    date_hierarchy = "created_at"

    @admin.display(description="size", ordering="declared_size")
    def human_size(self, obj):
        return human_bytes(obj.declared_size)


@admin.register(DownloadLink)
class DownloadLinkAdmin(ViewOnlyAdmin):
    """Personal download links (D4, D6). Never the token: only its hash is stored, and not
    shown either."""

    list_display = ["backup_file", "number", "user", "served", "created_at", "expires_at"]
    list_filter = ["backup_file__backup__product__organization"]
    search_fields = ["user__username", "backup_file__backup__product__name"]
    list_select_related = ["backup_file__backup__product", "user"]
    exclude = ["token_hash"]

    @admin.display(description="served", ordering="bytes_served")
    def served(self, obj):
        return f"{human_bytes(obj.bytes_served)} of {human_bytes(obj.size)}"

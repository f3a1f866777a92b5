"""Admin: organizations, their members and groups, products, product access and its decisions,
connected sites."""

from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import ngettext

from backups.models import (
    Membership,
    Organization,
    OrgGroup,
    Product,
    ProductAccess,
    SiteConnection,
)
from backups.models.products import ProductAccessDecision
from backups.rules import human_bytes
from backups.services.blobs import storage_used
from backups.services.connections import connection_check
from backups.services.organizations import organization_set_enrolled

from .base import SiteModelAdmin, ViewOnlyAdmin

# --- Organizations: organization, membership, group --------------------------------------


@admin.register(Organization)
class OrganizationAdmin(SiteModelAdmin):
    list_display = [
        "name",
        "slug",
        "enrolled",
        "time_zone",
        "member_count",
        "product_count",
        "backup_storage",
        "created_at",
    ]
    list_filter = ["enrolled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    # A1: the org admins set it on the policy page, through the service that moves every
    # weekly policy's next slot with it; a plain save here would leave the slots behind.
    readonly_fields = ["time_zone", "created_at"]
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

    @admin.display(description="backup storage")
    def backup_storage(self, obj):
        # #16 item 2: each attachment shared between backups counted once.
        return human_bytes(storage_used(organization_id=obj.pk))

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

"""Admin: the audit trail and the jobs — policies, backups, backup files, restores, uploads,
download links."""

from django.contrib import admin, messages
from django.utils import timezone

from backups.models import (
    AuditEvent,
    Backup,
    BackupFile,
    BackupPolicy,
    BackupVerification,
    DownloadLink,
    Restore,
    Upload,
)
from backups.rules import human_bytes
from backups.services.backups import backup_expire, backup_fail
from backups.services.restore_engine import restore_fail
from backups.services.verification import verification_fail, verification_request
from backups.storage import StorageError

from .base import SiteModelAdmin, ViewOnlyAdmin

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
        "schedule",
        "next_run_at",
        "updated_at",
    ]
    list_filter = ["include_attachments", "include_users_and_groups", "schedule", "product__kind"]
    search_fields = ["product__name", "product__organization__name"]
    list_select_related = ["product__organization"]
    autocomplete_fields = ["product", "created_by"]
    # A1: set on the policy page, through the service that computes next_run_at from the slot
    # and the organization's time zone; a hand edit here would leave next_run_at wrong.
    readonly_fields = [
        "schedule",
        "schedule_weekday",
        "schedule_time",
        "next_run_at",
        "created_at",
        "updated_at",
    ]

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
        "verified",
        "created_by",
    ]
    list_filter = [
        "status",
        "verification__status",
        "product__kind",
        "product__organization",
        "product",
    ]
    search_fields = ["id", "product__name", "product__organization__name", "failure_reason"]
    list_select_related = ["product__organization", "created_by", "verification"]
    date_hierarchy = "started_at"
    actions = ["expire_now", "mark_failed", "verify_again"]
    readonly_fields = ["verification_result"]

    @admin.display(description="verification (A3)", ordering="verification__status")
    def verified(self, obj):
        verification = getattr(obj, "verification", None)
        return verification.get_status_display() if verification else "—"

    @admin.display(description="verification (A3)")
    def verification_result(self, obj):
        verification = getattr(obj, "verification", None)
        if verification is None:
            return "Not verified yet"
        when = verification.completed_at or verification.requested_at
        text = f"{verification.get_status_display()} ({when:%Y-%m-%d %H:%M} UTC)"
        return f"{text}: {verification.reason}" if verification.reason else text

    @admin.action(description="Verify again (read back and trial restore, A3)")
    def verify_again(self, request, queryset):
        done = sum(
            verification_request(backup=b, actor=request.user) is not None
            for b in queryset.select_related("product__organization")
        )
        skipped = queryset.count() - done
        note = (
            f" {skipped} skipped: only COMPLETE and INCOMPLETE backups are verified."
            if skipped
            else ""
        )
        self.message_user(
            request,
            f"{done} backup(s) queued for verification.{note}",
            messages.SUCCESS if done else messages.WARNING,
        )

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


@admin.register(BackupVerification)
class BackupVerificationAdmin(ViewOnlyAdmin):
    """Read only: a verification is run by its worker (A3); staff re-run one from the backup's
    page ("Verify again") or fail a stuck one here."""

    list_display = ["backup", "status", "requested_at", "completed_at", "reason"]
    list_filter = ["status"]
    search_fields = ["backup__product__name", "reason"]
    list_select_related = ["backup__product"]
    date_hierarchy = "requested_at"
    actions = ["mark_failed"]

    @admin.action(description="Mark failed (a stuck verification)")
    def mark_failed(self, request, queryset):
        reason = f"Marked failed by staff ({request.user.get_username()})."
        done = sum(
            verification_fail(verification_id=v.pk, reason=reason, stopped=True) for v in queryset
        )
        skipped = queryset.count() - done
        note = f" {skipped} skipped: only running verifications can fail." if skipped else ""
        self.message_user(
            request,
            f"{done} verification(s) marked failed.{note}",
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

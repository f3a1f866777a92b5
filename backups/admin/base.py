"""What every admin page of backupsite shares: times with their zone, sizes by the site's
formatter, and view-only pages for the data that is the system's."""

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import models

from backups.rules import format_when, human_bytes

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


class AttachmentAdmin(SiteModelAdmin):
    """A Jira or Confluence attachment: its size as the site writes it, its SHA-256 short."""

    list_filter = ["product"]
    search_fields = ["name", "sha256"]

    @admin.display(description="size", ordering="size")
    def human_size(self, obj):
        return human_bytes(obj.size)

    @admin.display(description="SHA-256")
    def sha256_short(self, obj):
        return obj.sha256[:12]

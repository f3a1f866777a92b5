"""The upload page's list of uploads (#13 item 2): every upload, 20 a page, the valid ones
first, and an org admin's cancel (unfinished) and delete (checked) with a second step.

Valid uploads lead the list because they are the ones an admin came to restore: a file
uploaded a week ago stays on page 1 however many abandoned "Uploading" rows came after it.
The rest follow newest first, as a history reads.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from backups import archive, rules
from backups.access import OrgAccess, access_upload
from backups.models import Organization, Restore, Upload
from backups.rules import human_bytes
from backups.services.errors import Refused
from backups.services.uploads import upload_cancel, upload_delete_now, upload_removal_decision

from .decorators import org_admin_required
from .pages import Pager, page_words

PER_PAGE = 20


def percent_of(done: int, total: int) -> int:
    return min(100, 100 * done // total) if total else 0


@dataclass
class Removal:
    """An upload's Cancel or Delete button, and what its second step says will happen."""

    cancel: bool
    url: str
    consequence: str

    @property
    def summary(self) -> str:
        return "Cancel upload…" if self.cancel else "Delete…"

    @property
    def confirm(self) -> str:
        return "Cancel and delete what was received" if self.cancel else "Delete the file"


def removal_of(org: OrgAccess, upload: Upload, restoring_into: str | None) -> Removal | None:
    """The button an admin has for this upload now, or None (checking, being restored, gone)."""
    cancel = upload.status == Upload.Status.RECEIVING
    decision = upload_removal_decision(
        status=upload.status, cancel=cancel, restoring_into=restoring_into
    )
    if not decision:
        return None
    slug = org.organization.slug
    if cancel:
        received = human_bytes(upload.received_bytes)
        percent = percent_of(upload.received_bytes, upload.declared_size)
        consequence = (
            f"The {received} received so far ({percent}%) are deleted and the upload ends. To "
            "upload this file later, start again from its first byte."
        )
        return Removal(True, reverse("upload_cancel", args=[slug, upload.pk]), consequence)
    if upload.status == Upload.Status.VALID:
        until = rules.upload_restorable_until(archive.taken_at(upload.manifest))
        consequence = (
            f"The file is deleted now instead of {rules.format_when(until)}, when its "
            f"{rules.days(rules.UPLOAD_WINDOW)} end. Restoring this backup from its file then "
            "needs the file uploaded again."
        )
    else:
        consequence = (
            "Nothing of a refused file can be restored. Any of its bytes still stored are "
            "deleted; its report of the checks stays on its page."
        )
    return Removal(False, reverse("upload_delete", args=[slug, upload.pk]), consequence)


def restoring_into(upload: Upload) -> str | None:
    """The destination of the restore reading this upload's file, if one is running."""
    restore = (
        Restore.objects.filter(upload=upload, status=Restore.Status.IN_PROGRESS)
        .select_related("destination")
        .first()
    )
    return restore.destination.name if restore else None


# --- the list ------------------------------------------------------------------------------


def uploads_page(organization: Organization, page_number) -> Page:
    """One page of the organization's uploads, valid first, then newest first: 2 queries."""
    running = Restore.objects.filter(upload=OuterRef("pk"), status=Restore.Status.IN_PROGRESS)
    uploads = (
        Upload.objects.filter(organization=organization)
        .select_related("created_by")
        .annotate(
            valid_first=Case(
                When(status=Upload.Status.VALID, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            restoring_into=Subquery(running.values("destination__name")[:1]),
        )
        .order_by("valid_first", "-created_at", "-id")
    )
    return Paginator(uploads, PER_PAGE).get_page(page_number)


def list_url(org: OrgAccess, page: int = 1) -> str:
    url = reverse("upload_new", args=[org.organization.slug])
    return f"{url}?page={page}#uploads" if page > 1 else f"{url}#uploads"


def uploads_pager(org: OrgAccess, page: Page) -> Pager | None:
    """_pager.html's links, the org page's pattern: plain links, no script needed."""
    if page.paginator.num_pages <= 1:
        return None
    links = []
    for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
        if number == page.paginator.ELLIPSIS:
            links.append((number, None, False))
        else:
            links.append((number, list_url(org, number), number == page.number))
    return Pager(
        words=page_words(page, "Uploads"),
        links=links,
        newer=list_url(org, page.previous_page_number()) if page.has_previous() else None,
        older=list_url(org, page.next_page_number()) if page.has_next() else None,
    )


@dataclass
class UploadRow:
    upload: Upload
    percent: int
    size: str
    removal: Removal | None


@require_GET
@org_admin_required
def upload_new(request):
    """Upload backup file: the file input, the script that sends it, every upload paged."""
    org = request.org
    page = uploads_page(org.organization, request.GET.get("page"))
    rows = [
        UploadRow(
            upload=u,
            percent=percent_of(u.received_bytes, u.declared_size),
            size=human_bytes(u.declared_size),
            removal=removal_of(org, u, u.restoring_into),
        )
        for u in page.object_list
    ]
    return render(
        request,
        "backups/upload_new.html",
        {
            "org": org,
            "rows": rows,
            "page": page,
            "count": page.paginator.count,
            "words": page_words(page, "Uploads"),
            "pager": uploads_pager(org, page),
            "limit": human_bytes(settings.LOCAL_DOWNLOAD_LIMIT),
            "start_url": reverse("upload_start", args=[org.organization.slug]),
        },
    )


# --- cancel and delete ---------------------------------------------------------------------


def _back(request, upload: Upload):
    """Where the admin was: the upload's page, or the list page they pressed the button on."""
    if request.POST.get("back") == "detail":
        return redirect("upload_detail", request.org.organization.slug, upload.pk)
    try:
        page = max(1, int(request.POST.get("page", "1")))
    except ValueError:
        page = 1
    return redirect(list_url(request.org, page))


@require_POST
@org_admin_required
def upload_cancel_view(request, upload_id: int):
    """Cancel an unfinished upload (the second step of its Cancel upload… button)."""
    upload = access_upload(request.org, upload_id)
    try:
        upload = upload_cancel(upload=upload, actor=request.user)
    except Refused as refused:
        messages.error(request, f"{upload.file_name}: {refused.reason}")
        return _back(request, upload)
    messages.success(
        request,
        f"The upload of {upload.file_name} is cancelled: the "
        f"{human_bytes(upload.received_bytes)} received were deleted.",
    )
    return _back(request, upload)


@require_POST
@org_admin_required
def upload_delete_view(request, upload_id: int):
    """Delete a checked upload's file now (the second step of its Delete… button)."""
    upload = access_upload(request.org, upload_id)
    try:
        upload = upload_delete_now(upload=upload, actor=request.user)
    except Refused as refused:
        messages.error(request, f"{upload.file_name}: {refused.reason}")
        return _back(request, upload)
    messages.success(request, f"{upload.file_name} is deleted.")
    return _back(request, upload)

"""The Audit log page (SPEC A5): the organization's events, filtered, paged, as CSV."""

import csv
import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from backups.models import AuditEvent, Product

from .decorators import org_admin_required

PER_PAGE = 50


class AuditFilterForm(forms.Form):
    """The GET form above the table; every field may be empty. Dates are days on the
    organization's clocks (its time zone, A1), as its admins read them."""

    actor = forms.ChoiceField(label="Who", required=False)
    action = forms.ChoiceField(label="Action", required=False)
    product = forms.ChoiceField(label="Product", required=False)
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data, *, organization):
        super().__init__(data)
        self.zone = ZoneInfo(organization.time_zone)
        self.fields["start"].label = f"From ({organization.time_zone})"
        self.fields["end"].label = f"To ({organization.time_zone})"
        events = AuditEvent.objects.filter(organization=organization)
        actor_ids = events.exclude(actor=None).values("actor").distinct()
        people = get_user_model().objects.filter(pk__in=actor_ids).order_by("username")
        self.fields["actor"].choices = [("", "Anyone"), ("system", "System")] + [
            (str(u.pk), u.get_full_name() or u.get_username()) for u in people
        ]
        actions = events.order_by("action").values_list("action", flat=True).distinct()
        self.fields["action"].choices = [("", "Any action")] + [(a, a) for a in actions]
        self.fields["product"].choices = [("", "Any product")] + [
            (str(p.pk), p.name)
            for p in Product.objects.filter(organization=organization).order_by("name")
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("The From day is after the To day.")
        return cleaned

    def filter(self, events):
        """The events the valid filters select (an invalid form filters nothing more)."""
        if not self.is_valid():
            return events.none()
        data = self.cleaned_data
        if data["actor"] == "system":
            events = events.filter(actor=None)
        elif data["actor"]:
            events = events.filter(actor_id=int(data["actor"]))
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["product"]:
            events = events.filter(product_id=int(data["product"]))
        if data["start"]:
            events = events.filter(created_at__gte=_midnight(data["start"], self.zone))
        if data["end"]:
            events = events.filter(
                created_at__lt=_midnight(data["end"] + timedelta(days=1), self.zone)
            )
        return events


def _midnight(day, zone: ZoneInfo) -> datetime:
    """When `day` begins on the organization's clocks, in UTC (a day of 23 or 25 hours when
    the clocks change is counted as it is)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _events(request):
    organization = request.org.organization
    form = AuditFilterForm(request.GET or None, organization=organization)
    events = AuditEvent.objects.filter(organization=organization).select_related("actor", "product")
    if request.GET:
        events = form.filter(events)
    return form, events


def _page_url(request, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return f"{request.path}?{query.urlencode()}"


@org_admin_required
def audit_log(request):
    form, events = _events(request)
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    pager = None
    if page.paginator.num_pages > 1:
        links = []
        for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
            if number == page.paginator.ELLIPSIS:
                links.append((number, None, False))
            else:
                links.append((number, _page_url(request, number), number == page.number))
        pager = {
            "words": f"Events {page.start_index():,}–{page.end_index():,} of "
            f"{page.paginator.count:,}",
            "links": links,
            "newer": _page_url(request, page.previous_page_number())
            if page.has_previous()
            else None,
            "older": _page_url(request, page.next_page_number()) if page.has_next() else None,
        }
    query = request.GET.copy()
    query.pop("page", None)
    csv_url = reverse("audit_log_csv", args=[request.org.organization.slug])
    return render(
        request,
        "backups/audit_log.html",
        {
            "org": request.org,
            "form": form,
            "page": page,
            "pager": pager,
            "csv_url": f"{csv_url}?{query.urlencode()}" if query else csv_url,
            "filtered": bool(query),
        },
    )


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    # A cell that starts like a formula is opened as text by a spreadsheet, not run
    # (an event's target or details can hold what a person typed).
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


CSV_COLUMNS = ["time_utc", "who", "action", "product", "target", "client_address", "details"]


@org_admin_required
def audit_log_csv(request):
    _form, events = _events(request)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        # iterator(): the export does not hold all the events in memory.
        for event in events.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    _cell(event.created_at.astimezone(UTC).isoformat()),
                    _cell(event.actor.get_username() if event.actor else "system"),
                    _cell(event.action),
                    _cell(event.product.name if event.product else ""),
                    _cell(event.target),
                    _cell(event.client_address),
                    _cell(json.dumps(event.details, sort_keys=True, default=str)),
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-log-{request.org.organization.slug}-{stamp}.csv"'
    )
    return response

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from backups import rules, selectors
from backups.access import OrgAccess, organizations_for
from backups.devsite.local_site import is_local
from backups.models import Backup, Restore

from .backups import POLL_EVERY, PolicyRow, backup_row, options_in_words
from .decorators import org_admin_required
from .restores import RestoreRow, restore_progress

# The Backup and restore page in tabs (#13 item 1): each a URL of its own (?tab=…), no script
# needed. The overview keeps the sections other pages link to (#products, #policies, #backups,
# #restores) with the latest few jobs; the Backups and Restores tabs page through them all.
TABS = {"overview": "Overview", "backups": "Backups", "restores": "Restores"}
PER_PAGE = 50  # rows per page of the Backups and Restores tabs (#13 item 2)
LATEST = 5  # backups and restores on the overview


@login_required
def home(request):
    memberships = organizations_for(request.user)
    return render(request, "backups/home.html", {"memberships": memberships})


# --- Sections: the selectors' rows in the page's words ------------------------------------------


def products_context(org: OrgAccess) -> dict:
    rows = []
    for item in selectors.products_section(org):
        connection = getattr(item.product, "connection", None)
        row = {
            "product": item.product,
            "connection": connection,
            "summary": item.summary.summary,
            "summary_at": item.summary.at,
        }
        if connection is not None:
            row["local"] = is_local(connection.site_url)
            row["disconnected"] = not connection.token_encrypted
        rows.append(row)
    return {"products": rows}


def next_run(item: selectors.PolicyItem) -> str:
    if item.decision:
        return "Now"
    if item.decision.not_before:
        return f"After {rules.format_when(item.decision.not_before)}"
    if item.last_backup is not None and item.last_backup.status == Backup.Status.IN_PROGRESS:
        return "When the running backup has ended"
    return "Not now"


def policies_context(org: OrgAccess, now) -> dict:
    section = selectors.policies_section(org, now)
    rows = [
        PolicyRow(
            policy=item.policy,
            options=options_in_words(item.policy.options(), item.policy.product.kind),
            last_backup=item.last_backup,
            decision=item.decision,
            next_run=next_run(item),
        )
        for item in section["policies"]
    ]
    without = section["products_without_policy"]
    return {
        "policy_rows": rows,
        "products_without_policy": without,
        "has_products": bool(rows or without),
    }


def page_words(page: Page, noun: str) -> str:
    """'Backups 51–100 of 312' (#13 item 2)."""
    if not page.paginator.count:
        return ""
    return f"{noun} {page.start_index():,}–{page.end_index():,} of {page.paginator.count:,}"


def tab_url(org: OrgAccess, tab: str, page: int | None = None, fragment: str = "") -> str:
    query = QueryDict(mutable=True)
    if tab != "overview" or fragment:
        query["tab"] = tab
    if page and page > 1:
        query["page"] = str(page)
    if fragment:
        query["fragment"] = fragment
    url = reverse("org", args=[org.organization.slug])
    return f"{url}?{query.urlencode()}" if query else url


@dataclass
class Pager:
    """What _pager.html shows under a paged table."""

    words: str
    links: list  # (label, url or None for the current page / an ellipsis, is_current)
    newer: str | None
    older: str | None


def pager(org: OrgAccess, tab: str, page: Page, noun: str) -> Pager | None:
    if page.paginator.num_pages <= 1:
        return None
    links = []
    for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
        if number == page.paginator.ELLIPSIS:
            links.append((number, None, False))
        else:
            links.append((number, tab_url(org, tab, number), number == page.number))
    return Pager(
        words=page_words(page, noun),
        links=links,
        newer=tab_url(org, tab, page.previous_page_number()) if page.has_previous() else None,
        older=tab_url(org, tab, page.next_page_number()) if page.has_next() else None,
    )


def changing(backup: Backup) -> bool:
    """Will this row read differently in a moment? A running backup, or a verification a
    worker is on (A3: "Verifying…" turns to "Verified"). A verification waiting its turn on
    the one verification worker is not polled for: it may wait behind others for a while."""
    if backup.status == Backup.Status.IN_PROGRESS:
        return True
    verification = getattr(backup, "verification", None)
    return bool(
        verification
        and verification.status == verification.Status.IN_PROGRESS
        and verification.claimed_at
    )


def backups_context(org: OrgAccess, tab: str, page_number, now) -> dict:
    overview = tab == "overview"
    per_page = LATEST if overview else PER_PAGE
    page = selectors.backups_section(org, 1 if overview else page_number, per_page)
    shown = list(page.object_list)
    return {
        "backup_rows": [backup_row(b, now) for b in shown],
        "backups_count": page.paginator.count,
        "backups_pager": None if overview else pager(org, tab, page, "Backups"),
        "backups_more": overview and page.paginator.count > len(shown),
        "any_running": any(changing(b) for b in shown),
        "backups_poll_url": tab_url(org, tab, page.number, "backups"),
        "poll_every": POLL_EVERY,
    }


def restores_context(org: OrgAccess, tab: str, page_number) -> dict:
    overview = tab == "overview"
    per_page = LATEST if overview else PER_PAGE
    section = selectors.restores_section(org, 1 if overview else page_number, per_page)
    page = section["page"]
    shown = list(page.object_list)
    running = Restore.Status.IN_PROGRESS
    return {
        "rows": [
            RestoreRow(restore=r, progress=restore_progress(r) if r.status == running else None)
            for r in shown
        ],
        "count": page.paginator.count,
        "pager": None if overview else pager(org, tab, page, "Restores"),
        "more": overview and page.paginator.count > len(shown),
        "any_running": any(r.status == running for r in shown),
        "poll_url": tab_url(org, tab, page.number, "restores"),
        "poll_every": POLL_EVERY,
        "has_backups": section["has_backups"],
    }


# --- The page and its fragments -------------------------------------------------------------------


@require_GET
@org_admin_required
def backup_and_restore(request):
    """The page, one tab of it, or (?fragment=) a table it polls while a job runs."""
    org = request.org
    now = timezone.now()
    tab = request.GET.get("tab", "overview")
    if tab not in TABS:
        tab = "overview"
    page_number = request.GET.get("page")
    fragment = request.GET.get("fragment")
    context = {"org": org, "tab": tab, "poll_every": POLL_EVERY}

    if fragment == "backups":
        # The backups table alone; on the overview the policies table rides along (oob): its
        # last backups and Run backup buttons change when a backup ends.
        context.update(backups_context(org, tab, page_number, now))
        if tab == "overview":
            context.update(policies_context(org, now), oob=True)
        return render(request, "backups/_backups_fragment.html", context)
    if fragment == "restores":
        context["restores"] = restores_context(org, tab, page_number)
        return render(request, "backups/_restores_table.html", context)

    context["tabs"] = [(name, label, tab_url(org, name)) for name, label in TABS.items()]
    if tab == "overview":
        context.update(products_context(org))
        context.update(policies_context(org, now))
    if tab in ("overview", "backups"):
        context.update(backups_context(org, tab, page_number, now))
    if tab in ("overview", "restores"):
        context["restores"] = restores_context(org, tab, page_number)
    else:
        context["restores"] = {}
    # Every tab says when restored product access awaits approval (R7).
    context["restores"]["access_pending"] = selectors.access_pending_count(org)
    return render(request, "backups/org.html", context)

"""Restores on the Backup and restore pages: the restores table, a restore's page, and
Review product access with its confirmation pages and history (R7, R8, SPEC §8). The wizard
that starts a restore is restore_wizard.py.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from backups.access import OrgAccess, access_product_access, access_restore
from backups.models import ProductAccess, Restore
from backups.models.products import ProductAccessDecision
from backups.rules import human_bytes
from backups.services.errors import Refused
from backups.services.groups import (
    ALREADY_REVIEWED,
    NOT_APPROVED_YET,
    product_access_decide,
    product_access_history,
    product_access_pending,
)
from backups.services.restore_engine import live_progress

from .backups import CONTENT_LABELS, POLL_EVERY, person
from .decorators import org_admin_required

# --- The restores table and a restore's page -------------------------------------------------


@dataclass
class RestoreProgress:
    percent: int
    items_done: int
    items_total: int
    waiting: bool  # requested, not yet taken by a worker


def restore_progress(restore: Restore) -> RestoreProgress:
    """The row's items_done is written when the restore ends; while it runs, the cache has it."""
    done = restore.items_done
    running = restore.status == Restore.Status.IN_PROGRESS
    if running:
        live = live_progress(restore)
        if live:
            done = live["items_done"]
    total = restore.items_total
    if restore.status == Restore.Status.COMPLETE:
        percent = 100
    else:
        percent = min(99, 100 * done // total) if total else 0
    return RestoreProgress(
        percent=percent,
        items_done=done,
        items_total=total,
        waiting=running and restore.claimed_at is None,
    )


@dataclass
class RestoreRow:
    restore: Restore
    progress: RestoreProgress | None


def options_in_words(options: dict) -> str:
    parts = [
        ("attachments", options.get("include_attachments", False)),
        ("users and groups", options.get("include_users_and_groups", False)),
    ]
    included = [name for name, on in parts if on]
    excluded = [f"no {name}" for name, on in parts if not on]
    words = "; ".join(p for p in (", ".join(included), ", ".join(excluded)) if p)
    return words[:1].upper() + words[1:]


def report_rows(report: dict) -> list[dict]:
    restored = report.get("restored", {})
    skipped = report.get("skipped", {})
    names = [n for n in CONTENT_LABELS if n in restored or n in skipped]
    names += [n for n in {**restored, **skipped} if n not in names]
    return [
        {
            "label": CONTENT_LABELS.get(n, n.replace("_", " ").capitalize()),
            "restored": restored.get(n, 0),
            "skipped": skipped.get(n, 0),
        }
        for n in names
    ]


def detail_context(org: OrgAccess, restore: Restore) -> dict:
    report = restore.report or {}
    groups = report.get("groups")
    awaiting = []
    if groups and groups.get("access_awaiting_approval"):
        awaiting = list(
            ProductAccess.objects.filter(
                product=restore.destination,
                approved=False,
                group__name__in=groups["access_awaiting_approval"],
            )
            .order_by("group__name")
            .values_list("group__name", flat=True)
        )
    running = restore.status == Restore.Status.IN_PROGRESS
    return {
        "org": org,
        "restore": restore,
        "progress": restore_progress(restore) if running else None,
        "polling": running,
        "poll_every": POLL_EVERY,
        "run_by": person(restore.created_by),
        "options": options_in_words(restore.options),
        "report_rows": report_rows(report),
        "skipped_space_keys": report.get("skipped_space_keys", []),
        "attachment_bytes": human_bytes(report.get("attachment_bytes", 0)),
        "groups": groups,
        "awaiting": awaiting,
        # The backup row stays while its data expires; a link only while it is there.
        "backup": restore.backup,
    }


# The end of the message restore_start leaves ("…started. It runs in the background; this page
# follows it."): true only while the restore runs.
FOLLOWS_NOTE = "this page follows it"
# Sent with the last poll of a restore that ended: the "started… this page follows it" banner
# above the polled body goes (htmx out-of-band swap; no script, as the CSP requires).
DROP_BANNER = '<div hx-swap-oob="delete:main > .messages"></div>'


@require_GET
@vary_on_headers("HX-Request")
@org_admin_required
def restore_detail(request, restore_id: int, fragment: bool = False):
    """A restore's page. Its htmx polls (while the restore runs) get the body alone: an htmx
    request, or the fragment URL (`restore_detail_fragment`) routed here."""
    restore = access_restore(request.org, restore_id)
    context = detail_context(request.org, restore)
    ended = restore.status != Restore.Status.IN_PROGRESS
    if fragment or request.htmx:
        response = render(request, "backups/_restore_detail_body.html", context)
        if ended:
            response.content += DROP_BANNER.encode()
        return response
    if ended:
        # Ended before the page was shown (a small restore): the banner would say it follows.
        context["messages"] = [
            m for m in messages.get_messages(request) if FOLLOWS_NOTE not in str(m)
        ]
    return render(request, "backups/restore_detail.html", context)


# --- Review product access (R7) --------------------------------------------------------------


@require_GET
@org_admin_required
def product_access_review(request):
    organization = request.org.organization
    pending = product_access_pending(organization).annotate(members=Count("group__members"))
    approved = (
        ProductAccess.objects.filter(product__organization=organization, approved=True)
        .select_related("group", "product")
        .annotate(members=Count("group__members"))
        .order_by("product__name", "group__name")
    )
    history = product_access_history(organization)
    return render(
        request,
        "backups/restore_product_access.html",
        {
            "org": request.org,
            "pending": list(pending),
            "approved": list(approved),
            "history": list(history[: HISTORY_SHOWN + 1]),
            "history_shown": HISTORY_SHOWN,
        },
    )


HISTORY_SHOWN = 100

# What each decision is called on its confirmation page and in its message.
_VERBS = {
    ProductAccessDecision.Kind.APPROVED: "Approve",
    ProductAccessDecision.Kind.DENIED: "Deny",
    ProductAccessDecision.Kind.REVOKED: "Revoke",
}


def _decided_message(decision: str, group: str, product: str) -> str:
    if decision == ProductAccessDecision.Kind.APPROVED:
        return f"Approved: {group} now has access to {product}."
    if decision == ProductAccessDecision.Kind.DENIED:
        return (
            f"Denied: {group} does not get access to {product}. The group itself stays in the "
            "organization."
        )
    return (
        f"Revoked: {group} no longer has access to {product}. The group itself stays in the "
        "organization."
    )


def _decide(request, access_id: int, decision: str):
    """GET: the confirmation page, naming what will change. POST: the decision (R7)."""
    access = access_product_access(request.org, access_id)
    review_url = reverse("product_access_review", args=[request.org.organization.slug])
    decision = ProductAccessDecision.Kind(decision)
    if request.method == "POST":
        try:
            product_access_decide(access=access, decision=decision, actor=request.user)
        except Refused as refused:
            messages.error(request, refused.reason)
        else:
            messages.success(
                request, _decided_message(decision, access.group.name, access.product.name)
            )
        return redirect(review_url)
    # A stale link (another admin decided meanwhile): say so instead of offering the button.
    wants_approved = decision == ProductAccessDecision.Kind.REVOKED
    if access.approved != wants_approved:
        messages.error(request, ALREADY_REVIEWED if access.approved else NOT_APPROVED_YET)
        return redirect(review_url)
    members = list(access.group.members.order_by("username"))
    return render(
        request,
        "backups/restore_product_access_confirm.html",
        {
            "org": request.org,
            "access": access,
            "decision": decision,
            "verb": _VERBS[decision],
            "members": [person(m) for m in members],
            "member_count": len(members),
            "review_url": review_url,
        },
    )


@require_http_methods(["GET", "POST"])
@org_admin_required
def product_access_approve(request, access_id: int):
    return _decide(request, access_id, ProductAccessDecision.Kind.APPROVED)


@require_http_methods(["GET", "POST"])
@org_admin_required
def product_access_deny(request, access_id: int):
    return _decide(request, access_id, ProductAccessDecision.Kind.DENIED)


@require_http_methods(["GET", "POST"])
@org_admin_required
def product_access_revoke(request, access_id: int):
    return _decide(request, access_id, ProductAccessDecision.Kind.REVOKED)

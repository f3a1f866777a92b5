from dataclasses import fields

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from backups.access import organizations_for
from backups.devsite.local_site import is_local
from backups.models import Product
from backups.productdata import ContentSummary, content_summary

from .backups import backups_context, policies_context
from .decorators import org_admin_required
from .restores import restores_context

SUMMARY_FIELDS = {f.name for f in fields(ContentSummary)}


@login_required
def home(request):
    memberships = organizations_for(request.user)
    return render(request, "backups/home.html", {"memberships": memberships})


def stored_summary(product: Product, data: dict) -> ContentSummary | None:
    """A connected site's counts as its last backup found them, or None before the first."""
    if not data:
        return None
    return ContentSummary(
        **{"kind": product.kind, **{k: v for k, v in data.items() if k in SUMMARY_FIELDS}}
    )


def product_row(product: Product) -> dict:
    # select_related("connection") below: an embedded product's missing connection is known
    # without a query.
    connection = getattr(product, "connection", None)
    if connection is None:
        return {"product": product, "connection": None, "summary": content_summary(product)}
    # Connected (§8): the counts come from the row, never from calling the site on a page
    # view (a slow or unreachable site must not slow or break this page).
    return {
        "product": product,
        "connection": connection,
        "summary": stored_summary(product, connection.content_summary),
        "local": is_local(connection.site_url),
        "disconnected": not connection.token_encrypted,
    }


@org_admin_required
def backup_and_restore(request):
    org = request.org
    now = timezone.now()
    products = [
        product_row(p)
        for p in org.organization.products.select_related("connection").order_by("kind", "name")
    ]
    context = {
        "org": org,
        "products": products,
        **policies_context(org, request.user, now),
        **backups_context(org, now),
        "restores": restores_context(org),
    }
    return render(request, "backups/org.html", context)

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from backups.access import organizations_for
from backups.productdata import content_summary

from .backups import backups_context, policies_context
from .decorators import org_admin_required
from .restores import restores_context


@login_required
def home(request):
    memberships = organizations_for(request.user)
    return render(request, "backups/home.html", {"memberships": memberships})


@org_admin_required
def backup_and_restore(request):
    org = request.org
    now = timezone.now()
    products = [
        {"product": p, "summary": content_summary(p)}
        for p in org.organization.products.order_by("kind", "name")
    ]
    context = {
        "org": org,
        "products": products,
        **policies_context(org, request.user, now),
        **backups_context(org, now),
        "restores": restores_context(org),
    }
    return render(request, "backups/org.html", context)

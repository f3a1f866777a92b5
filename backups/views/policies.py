"""Create backup policy and Edit policy (P1-P3)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from backups.access import access_policy
from backups.forms import PolicyCreateForm, PolicyEditForm
from backups.models import Backup
from backups.services.errors import Refused
from backups.services.policies import backup_policy_create, backup_policy_update

from .decorators import org_admin_required


def _data(request):
    # An all-unchecked POST is an empty QueryDict, and still a submission.
    return request.POST if request.method == "POST" else None


def _org_url(request, anchor: str = "policies") -> str:
    return f"{reverse('org', args=[request.org.organization.slug])}#{anchor}"


@org_admin_required
def policy_create(request):
    org = request.org
    # ?product= (the "Create backup policy" link of one product) preselects it: then a Jira
    # product is not offered the Confluence-only personal-spaces box (P2).
    form = PolicyCreateForm(
        _data(request),
        organization=org.organization,
        initial={"product": request.GET.get("product", "")},
    )
    if request.method == "POST" and form.is_valid():
        product = form.cleaned_data["product"]
        try:
            backup_policy_create(product=product, actor=request.user, **form.options())
        except Refused as refused:
            # P1: another admin created this product's policy since the form was shown.
            form.add_error("product", refused.reason)
        else:
            messages.success(
                request, f"Backup policy of {product.name} created. You can now run a backup."
            )
            return redirect(_org_url(request))
    return render(request, "backups/policy_form.html", {"org": org, "form": form, "policy": None})


@org_admin_required
def policy_edit(request, policy_id: int):
    org = request.org
    policy = access_policy(org, policy_id)
    form = PolicyEditForm(_data(request), policy=policy)
    if request.method == "POST" and form.is_valid():
        backup_policy_update(policy=policy, actor=request.user, **form.options())
        messages.success(
            request,
            f"Backup policy of {policy.product.name} saved. Later backups use these options.",
        )
        return redirect(_org_url(request))
    running = policy.product.backups.filter(status=Backup.Status.IN_PROGRESS).exists()
    return render(
        request,
        "backups/policy_form.html",
        {"org": org, "form": form, "policy": policy, "backup_running": running},
    )

"""Create backup policy and Edit policy (P1-P3), with their schedule (A1) and the
organization's time zone the schedule reads."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from backups.access import access_policy
from backups.forms import PolicyCreateForm, PolicyEditForm, TimeZoneForm
from backups.models import Backup
from backups.services.errors import Refused
from backups.services.organizations import organization_set_time_zone
from backups.services.policies import backup_policy_create, backup_policy_update

from .decorators import org_admin_required

# The policy page holds two forms: the policy's, and the organization's time zone (A1). The
# time zone's names this hidden field; the policy form's does not (a POST before A1 neither).
TIME_ZONE_FORM = "time_zone"


def _data(request):
    # An all-unchecked POST is an empty QueryDict, and still a submission.
    return request.POST if request.method == "POST" else None


def _org_url(request, anchor: str = "policies") -> str:
    return f"{reverse('org', args=[request.org.organization.slug])}#{anchor}"


def _time_zone_post(request):
    """Save the organization's time zone; (the form, whether it was saved)."""
    organization = request.org.organization
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        try:
            changed = organization_set_time_zone(
                organization=organization,
                time_zone=form.cleaned_data["time_zone"],
                actor=request.user,
            )
        except Refused as refused:
            form.add_error("time_zone", refused.reason)
        else:
            if changed:
                messages.success(
                    request,
                    f"Time zone set to {organization.time_zone}. Weekly backups run on its clocks.",
                )
            return form, True
    return form, False


def _page(request, context: dict, time_zone_form=None):
    organization = request.org.organization
    return render(
        request,
        "backups/policy_form.html",
        {
            "org": request.org,
            "time_zone_form": time_zone_form
            or TimeZoneForm(initial={"time_zone": organization.time_zone}),
            "time_zone_names": TimeZoneForm.names(),
            **context,
        },
    )


@org_admin_required
def policy_create(request):
    org = request.org
    time_zone_form = None
    if request.method == "POST" and request.POST.get("form") == TIME_ZONE_FORM:
        time_zone_form, done = _time_zone_post(request)
        if done:
            return redirect(f"{request.get_full_path()}#time-zone")
        data = None
    else:
        data = _data(request)
    # ?product= (the "Create backup policy" link of one product) preselects it: then a Jira
    # product is not offered the Confluence-only personal-spaces box (P2).
    form = PolicyCreateForm(
        data,
        organization=org.organization,
        initial={"product": request.GET.get("product", "")},
    )
    if data is not None and form.is_valid():
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
    return _page(request, {"form": form, "policy": None}, time_zone_form)


@org_admin_required
def policy_edit(request, policy_id: int):
    policy = access_policy(request.org, policy_id)
    time_zone_form = None
    if request.method == "POST" and request.POST.get("form") == TIME_ZONE_FORM:
        time_zone_form, done = _time_zone_post(request)
        if done:
            return redirect(f"{request.get_full_path()}#time-zone")
        data = None
    else:
        data = _data(request)
    form = PolicyEditForm(data, policy=policy)
    if data is not None and form.is_valid():
        backup_policy_update(policy=policy, actor=request.user, **form.options())
        messages.success(
            request,
            f"Backup policy of {policy.product.name} saved. Later backups use these options.",
        )
        return redirect(_org_url(request))
    running = policy.product.backups.filter(status=Backup.Status.IN_PROGRESS).exists()
    return _page(
        request,
        {"form": form, "policy": policy, "backup_running": running},
        time_zone_form,
    )

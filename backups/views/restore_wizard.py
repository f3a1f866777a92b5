"""The restore wizard (R1-R7, SPEC §8): product → backup → options → destination → review →
Restore.

The wizard keeps what was chosen in the URL. Each step is a GET page whose form leads to the
next; only the final Restore is a POST, and the service checks every rule again then. What is
restored is resolved by `wizard_source` (restore_sources.py): a backup in the service's
storage (`?backup=<id>`), or a validated uploaded backup file (`?upload=<id>`, R4). An uploaded
file enters the wizard at the options step, from its page.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count, Max
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from backups import storage
from backups.access import OrgAccess, access_product
from backups.connectors.http import SiteError
from backups.forms import RestoreChoiceForm
from backups.models import Backup, Product, SiteConnection
from backups.productdata import content_summary
from backups.rules import Decision, human_bytes, plural
from backups.services.errors import Refused
from backups.services.restores import StoredBackupSource, restore_source_decision

from .backups import CONTENT_LABELS, NO_SIZE, expires_in
from .decorators import org_admin_required
from .restore_sources import WizardSource, wizard_source

BACKUPS_LISTED = 50

# --- Where the wizard is ---------------------------------------------------------------------


@dataclass
class Choice:
    """What the URL (or the Restore button) says was chosen so far."""

    product: Product | None
    source: WizardSource | None
    attachments: bool | None  # None: not chosen yet
    groups: bool | None
    destination: Product | None

    @property
    def include_attachments(self) -> bool:
        return bool(self.attachments) and self.source.has_attachments

    @property
    def include_users_and_groups(self) -> bool:
        return bool(self.groups) and self.source.has_users_and_groups

    def params(self, *without: str) -> dict:
        params = dict(self.source.params) if self.source else {}
        if self.attachments is not None:
            params["attachments"] = "1" if self.attachments else "0"
        if self.groups is not None:
            params["groups"] = "1" if self.groups else "0"
        if self.destination is not None:
            params["destination"] = self.destination.pk
        return {k: v for k, v in params.items() if k not in without}


def read_choice(org: OrgAccess, data) -> Choice:
    form = RestoreChoiceForm(data)
    if not form.is_valid():
        raise Http404("Not a restore this page knows")
    d = form.cleaned_data
    source = wizard_source(org, d)
    if d["product"]:
        product = access_product(org, d["product"])
    else:
        product = source.product if source else None
    return Choice(
        product=product,
        source=source,
        attachments=d["attachments"],
        groups=d["groups"],
        destination=access_product(org, d["destination"]) if d["destination"] else None,
    )


STEPS = [
    ("restore_new", "Product"),
    ("restore_backup", "Backup"),
    ("restore_options", "Options"),
    ("restore_destination", "Destination"),
    ("restore_review", "Review"),
]


def step_url(org: OrgAccess, name: str, params: dict | None = None) -> str:
    url = reverse(name, args=[org.organization.slug])
    return f"{url}?{urlencode(params)}" if params else url


# From an uploaded file, the file takes the place of the product and backup steps.
UPLOAD_STEPS = [("upload_detail", "Uploaded file"), *STEPS[2:]]


def steps(org: OrgAccess, choice: Choice, current: str) -> list[dict]:
    """The wizard's steps, the earlier ones linked with what was chosen."""
    if choice.source and choice.source.from_file:
        wizard_steps = UPLOAD_STEPS
        file_url = choice.source.choose_again_url(org, None)
    else:
        wizard_steps, file_url = STEPS, None
    links = {
        "restore_new": {"product": choice.product.pk} if choice.product else {},
        "restore_backup": {**choice.params(), "product": choice.product.pk}
        if choice.product
        else None,
        "restore_options": choice.params() if choice.source else None,
        "restore_destination": choice.params() if choice.source else None,
    }
    names = [name for name, _ in wizard_steps]
    result = []
    for number, (name, label) in enumerate(wizard_steps, start=1):
        earlier = names.index(name) < names.index(current)
        if name == "upload_detail":
            url = file_url
        else:
            url = (
                step_url(org, name, links[name])
                if earlier and links.get(name) is not None
                else None
            )
        result.append({"number": number, "label": label, "url": url, "current": name == current})
    return result


def wizard_context(request, choice: Choice, current: str, **extra) -> dict:
    wizard_steps = steps(request.org, choice, current)
    index = next(i for i, s in enumerate(wizard_steps) if s["current"])
    return {
        "org": request.org,
        "choice": choice,
        "steps": wizard_steps,
        "back_url": wizard_steps[index - 1]["url"] if index else None,
        **extra,
    }


def hidden(params: dict) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in params.items()]


def source_refused(request, choice: Choice):
    """A step after the backup step with a source that cannot be restored: back to choose.

    The page it goes back to shows the reason where it can (the backup's row, the valid file's
    page); the message then only says why the person is there, so the reason is read once.
    """
    decision = choice.source.decision()
    if decision:
        return None
    if choice.source.choose_again_says_why:
        messages.error(request, f"{choice.source.label} cannot be restored now; see why below.")
    else:
        messages.error(request, decision.reason)
    return redirect(choice.source.choose_again_url(request.org, choice.product))


def review_refuses(choice: Choice) -> bool:
    """Does the review step show a refusal (its own, or the source's after sending back)?"""
    return not choice.source.decision() or not choice.source.decision_into(choice.destination)


# --- Wizard steps ----------------------------------------------------------------------------


@require_GET
@org_admin_required
def restore_new(request):
    """Step 1: the product whose backups to restore (those with backups)."""
    choice = read_choice(request.org, request.GET)
    if choice.source and choice.source.from_file:  # a file has no product or backup to choose
        return redirect(choice.source.choose_again_url(request.org, None))
    products = list(
        request.org.organization.products.annotate(
            backup_count=Count("backups"), last_backup_at=Max("backups__started_at")
        )
        .filter(backup_count__gt=0)
        .order_by("kind", "name")
    )
    selected = choice.product.pk if choice.product else None
    if selected is None and len(products) == 1:
        selected = products[0].pk
    return render(
        request,
        "backups/restore_product.html",
        wizard_context(request, choice, "restore_new", products=products, selected=selected),
    )


@dataclass
class BackupChoice:
    backup: Backup
    decision: Decision
    expires_in: str
    size: str


@require_GET
@org_admin_required
def restore_backup(request):
    """Step 2: every backup of the product, and whether it can be restored (R2, R3, R5)."""
    choice = read_choice(request.org, request.GET)
    if choice.source and choice.source.from_file:
        return redirect(choice.source.choose_again_url(request.org, None))
    if choice.product is None:
        return redirect(step_url(request.org, "restore_new"))
    now = timezone.now()
    backups = choice.product.backups.select_related("product").order_by("-started_at", "-id")
    listed = list(backups[:BACKUPS_LISTED])
    chosen = choice.source.backup if choice.source else None
    if chosen and chosen.product_id == choice.product.pk and chosen not in listed:
        # Sent back because it cannot be restored: its row is where the reason is shown.
        listed.append(chosen)
    rows = [
        BackupChoice(
            backup=b,
            decision=restore_source_decision(source=StoredBackupSource(b), now=now),
            expires_in=expires_in(b, now),
            size=human_bytes(b.total_bytes) if b.status not in NO_SIZE else "—",
        )
        for b in listed
    ]
    restorable = [r.backup.pk for r in rows if r.decision]
    selected = choice.source.backup.pk if choice.source else None
    if selected not in restorable:
        selected = restorable[0] if restorable else None
    return render(
        request,
        "backups/restore_backup.html",
        wizard_context(
            request,
            choice,
            "restore_backup",
            rows=rows,
            selected=selected,
            carry=hidden(choice.params("backup")),
        ),
    )


@require_GET
@org_admin_required
def restore_options(request):
    """Step 3: attachments and users and groups, each only when the backup has them (R7)."""
    choice = read_choice(request.org, request.GET)
    if choice.source is None:
        return redirect(step_url(request.org, "restore_new"))
    if refused := source_refused(request, choice):
        return refused
    return render(
        request,
        "backups/restore_options.html",
        wizard_context(
            request,
            choice,
            "restore_options",
            summary=True,
            # First visit: both on. Coming back: what was chosen.
            attachments_checked=choice.attachments is not False,
            groups_checked=choice.groups is not False,
            carry=hidden(choice.params("attachments", "groups")),
        ),
    )


@dataclass
class DestinationChoice:
    product: Product
    decision: Decision
    content: str


def content_in_words(product: Product) -> str:
    summary = content_summary(product)
    if summary.is_empty:
        return "Empty"
    return (
        f"{plural(summary.containers, summary.container_label)}, "
        f"{plural(summary.items, summary.item_label)}"
    )


@require_GET
@org_admin_required
def restore_destination(request):
    """Step 4: the organization's products of the same kind, eligible first (R1, R6)."""
    choice = read_choice(request.org, request.GET)
    if choice.source is None:
        return redirect(step_url(request.org, "restore_new"))
    if refused := source_refused(request, choice):
        return refused
    rows = [
        DestinationChoice(product=p, decision=d, content=content_in_words(p))
        for p, d in choice.source.destinations(request.org.organization)
    ]
    eligible = [r.product.pk for r in rows if r.decision]
    selected = choice.destination.pk if choice.destination else None
    if selected not in eligible:
        selected = eligible[0] if eligible else None
    return render(
        request,
        "backups/restore_destination.html",
        wizard_context(
            request,
            choice,
            "restore_destination",
            summary=True,
            rows=rows,
            selected=selected,
            carry=hidden(choice.params("destination")),
        ),
    )


@require_GET
@org_admin_required
def restore_review(request):
    """Step 5: what will be restored and skipped, and the Restore button (R2, R6, R7)."""
    choice = read_choice(request.org, request.GET)
    if choice.source is None:
        return redirect(step_url(request.org, "restore_new"))
    if choice.destination is None:
        return redirect(step_url(request.org, "restore_destination", choice.params()))
    if refused := source_refused(request, choice):
        return refused
    decision = choice.source.decision_into(choice.destination)
    context = wizard_context(
        request,
        choice,
        "restore_review",
        decision=decision,
        fields=hidden(choice.params()),
        destination_url=step_url(request.org, "restore_destination", choice.params()),
        options_url=step_url(request.org, "restore_options", choice.params()),
    )
    if decision:
        context.update(review_context(choice))
    return render(request, "backups/restore_review.html", context)


def not_settable_into(destination) -> list[str]:
    """What a restore into a connected site cannot set through the site's API (C6)."""
    if not SiteConnection.objects.filter(product=destination).exists():
        return []
    from backups.productdata.confluence_cloud import NOT_SETTABLE as CONFLUENCE
    from backups.productdata.jira_cloud import NOT_SETTABLE as JIRA

    return CONFLUENCE if destination.kind == Product.Kind.CONFLUENCE else JIRA


def review_context(choice: Choice) -> dict:
    try:
        preview = choice.source.preview(choice.destination)
    except (OSError, storage.StorageError) as exc:
        return {"preview_error": f"The backup's stored data could not be read: {exc}"}
    except SiteError as exc:  # a connected Confluence destination is asked for its spaces
        return {"preview_error": f"The destination site could not be asked what it holds: {exc}"}
    counts = preview["counts"]
    restored = []
    for name, n in counts.items():
        if name == "attachments" and not choice.include_attachments:
            continue
        if name == "groups" and not choice.include_users_and_groups:
            continue
        restored.append({"label": CONTENT_LABELS.get(name, name.capitalize()), "rows": n})
    left_out = []
    if choice.source.has_attachments and not choice.include_attachments:
        n = counts.get("attachments", 0)
        left_out.append(
            f"{plural(n, 'attachment')} ({human_bytes(choice.source.attachment_bytes)}): "
            "you chose not to restore attachments."
        )
    if choice.source.has_users_and_groups and not choice.include_users_and_groups:
        left_out.append(
            f"{plural(counts.get('groups', 0), 'group')}: you chose not to restore users and "
            "groups."
        )
    return {
        "restored": restored,
        "skipped_space_keys": preview["skipped_space_keys"],
        "left_out": left_out,
        # C6: said before the restore starts, as in its report afterwards.
        "not_settable": not_settable_into(choice.destination),
        "missing": preview["missing"] if choice.source.status == Backup.Status.INCOMPLETE else [],
    }


@require_POST
@org_admin_required
def restore_start(request):
    """Restore: the service checks every rule again, in a transaction (R1-R7)."""
    choice = read_choice(request.org, request.POST)
    if choice.source is None or choice.destination is None:
        raise Http404("Not a restore this page knows")
    try:
        restore = choice.source.restore(
            destination=choice.destination,
            actor=request.user,
            attachments=bool(choice.attachments),
            groups=bool(choice.groups),
        )
    except Refused as refused:
        # The review checks again and shows the refusal: a message as well would say it twice.
        # Only when the review sees nothing wrong (the service lost a race the review does not
        # see, or it has since cleared) does the service's reason need a message.
        if not review_refuses(choice):
            messages.error(request, refused.reason)
        return redirect(step_url(request.org, "restore_review", choice.params()))
    messages.success(
        request,
        f"Restore of {choice.source.label} into {choice.destination.name} started. It runs in "
        "the background; this page follows it.",
    )
    return redirect("restore_detail", request.org.organization.slug, restore.pk)

"""The restore wizard (R1-R7, SPEC §8): product → backup → options → destination → review →
Restore.

The wizard keeps what was chosen in the URL. Each step is a GET page whose form leads to the
next; only the final Restore is a POST, and the service checks every rule again then. What is
restored is resolved by `wizard_source` (restore_sources.py): a backup in the service's
storage (`?backup=<id>`), or a validated uploaded backup file (`?upload=<id>`, R4). An uploaded
file enters the wizard at the options step, from its page.
"""

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count, Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from backups.access import OrgAccess, access_product
from backups.forms import RestoreChoiceForm
from backups.models import Backup, Product
from backups.productdata import content_summary
from backups.rules import Decision, human_bytes, plural
from backups.services.errors import Refused
from backups.services.restores import StoredBackupSource, restore_source_decision

from .backups import NO_SIZE, expires_in
from .decorators import org_admin_required
from .restore_sources import WizardSource, review_context, wizard_source

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


# What each step's page is, and what it needs chosen before it can be shown.
STEP_TEMPLATES = {
    "restore_new": "backups/restore_product.html",
    "restore_backup": "backups/restore_backup.html",
    "restore_options": "backups/restore_options.html",
    "restore_destination": "backups/restore_destination.html",
    "restore_review": "backups/restore_review.html",
}
BEFORE_THE_SOURCE = ("restore_new", "restore_backup")


def step_start(request, current: str) -> tuple[Choice, HttpResponse | None]:
    """What the URL says was chosen, and where to send the person instead (None: show the
    step). An uploaded file has no product or backup step: back to its page. Later steps need a
    restorable source (source_refused), the review a destination."""
    org = request.org
    choice = read_choice(org, request.GET)
    if current in BEFORE_THE_SOURCE:
        if choice.source and choice.source.from_file:
            return choice, redirect(choice.source.choose_again_url(org, None))
        if current == "restore_backup" and choice.product is None:
            return choice, redirect(step_url(org, "restore_new"))
        return choice, None
    if choice.source is None:
        return choice, redirect(step_url(org, "restore_new"))
    if current == "restore_review" and choice.destination is None:
        return choice, redirect(step_url(org, "restore_destination", choice.params()))
    return choice, source_refused(request, choice)


def wizard_step(current: str):
    """A step's view gets the resolved choice as its second argument; a person who may not
    see the step yet is sent where step_start says, and the view does not run."""

    def decorate(view):
        @wraps(view)
        def wrapped(request):
            choice, elsewhere = step_start(request, current)
            return elsewhere if elsewhere is not None else view(request, choice)

        return wrapped

    return decorate


def selectable(rows: list, chosen, pk) -> dict:
    """A step's list of rows, and the one it selects: the earlier choice if it may still be
    taken (its row's decision allows it), else the first that may."""
    allowed = [pk(r) for r in rows if r.decision]
    return {"rows": rows, "selected": chosen if chosen in allowed else next(iter(allowed), None)}


def step_render(request, choice: Choice, current: str, **extra) -> HttpResponse:
    context = wizard_context(request, choice, current, **extra)
    return render(request, STEP_TEMPLATES[current], context)


# --- Wizard steps ----------------------------------------------------------------------------


@require_GET
@org_admin_required
@wizard_step("restore_new")
def restore_new(request, choice: Choice):
    """Step 1: the product whose backups to restore (those with backups)."""
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
    return step_render(request, choice, "restore_new", products=products, selected=selected)


@dataclass
class BackupChoice:
    backup: Backup
    decision: Decision
    expires_in: str
    size: str


@require_GET
@org_admin_required
@wizard_step("restore_backup")
def restore_backup(request, choice: Choice):
    """Step 2: every backup of the product, and whether it can be restored (R2, R3, R5)."""
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
    return step_render(
        request,
        choice,
        "restore_backup",
        carry=hidden(choice.params("backup")),
        **selectable(
            rows, choice.source.backup.pk if choice.source else None, lambda r: r.backup.pk
        ),
    )


@require_GET
@org_admin_required
@wizard_step("restore_options")
def restore_options(request, choice: Choice):
    """Step 3: attachments and users and groups, each only when the backup has them (R7)."""
    return step_render(
        request,
        choice,
        "restore_options",
        summary=True,
        # First visit: both on. Coming back: what was chosen.
        attachments_checked=choice.attachments is not False,
        groups_checked=choice.groups is not False,
        carry=hidden(choice.params("attachments", "groups")),
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
@wizard_step("restore_destination")
def restore_destination(request, choice: Choice):
    """Step 4: the organization's products of the same kind, eligible first (R1, R6)."""
    rows = [
        DestinationChoice(product=p, decision=d, content=content_in_words(p))
        for p, d in choice.source.destinations(request.org.organization)
    ]
    return step_render(
        request,
        choice,
        "restore_destination",
        summary=True,
        carry=hidden(choice.params("destination")),
        **selectable(
            rows, choice.destination.pk if choice.destination else None, lambda r: r.product.pk
        ),
    )


@require_GET
@org_admin_required
@wizard_step("restore_review")
def restore_review(request, choice: Choice):
    """Step 5: what will be restored and skipped, and the Restore button (R2, R6, R7)."""
    decision = choice.source.decision_into(choice.destination)
    return step_render(
        request,
        choice,
        "restore_review",
        decision=decision,
        fields=hidden(choice.params()),
        destination_url=step_url(request.org, "restore_destination", choice.params()),
        options_url=step_url(request.org, "restore_options", choice.params()),
        **(
            review_context(
                choice.source,
                choice.destination,
                include_attachments=choice.include_attachments,
                include_users_and_groups=choice.include_users_and_groups,
            )
            if decision
            else {}
        ),
    )


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

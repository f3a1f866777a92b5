"""Reads the Backup and restore page shares: one function per page section or polled fragment.

Each answers in a constant number of queries, whatever the number of products, policies,
backups and restores (#13 item 11): rows come with what they show (select_related, subquery
annotations), and a product's content counts are read from where they are stored, never
counted per view. Views turn these into words; rules.py still makes every decision.

    products_section(org)                  products + stored summaries       1 query
    policies_section(org, now)             policies + their decisions         3 queries
    backups_section(org, now, page, per)   one page of backups + count        2 queries
    restores_section(org, page, per)       one page of restores + count + 1   3 queries
    access_pending_count(org)              restored access awaiting approval  1 query

A product whose counts were never stored (made before they were, or by a seed) is counted
once, here, and stored; `refresh_content_summary` keeps them current after what changes
content. R6 (is a destination empty?) never reads the stored counts: it counts live.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from backups import rules
from backups.access import OrgAccess
from backups.models import Backup, BackupPolicy, Product, Restore
from backups.productdata import KINDS, ContentSummary
from backups.services.groups import product_access_pending
from backups.services.retries import with_retry_facts

# --- Content summaries ----------------------------------------------------------------------


@dataclass
class StoredSummary:
    summary: ContentSummary | None  # None: a connected site not backed up yet
    at: datetime | None  # when it was counted


def refresh_content_summary(
    product: Product, *, now: datetime | None = None, summary: ContentSummary | None = None
) -> ContentSummary:
    """Count an embedded product's content once and store it on the product (#13 item 11).

    Call it after whatever changed the content: a restore (into its destination), an import,
    a seed. It reads every issue or page once (about a second per million), so it belongs in
    a worker or a command, not in a page view. `summary`: the counts, known without reading
    the rows (a restore into an empty product: what it wrote, #16), stored as they are. A
    connected site's counts are stored on its SiteConnection by its backup
    (productdata/connected.py); for one, this only returns them.
    """
    connection = getattr(product, "connection", None)
    if connection is not None:
        return ContentSummary.from_stored(product.kind, connection.content_summary or {})
    if summary is None:
        summary = KINDS[product.kind](product).summary()
    product.content_summary, product.summary_at = summary.stored(), now or timezone.now()
    Product.all_objects.filter(pk=product.pk).update(
        content_summary=product.content_summary, summary_at=product.summary_at
    )
    return summary


def stored_summary(product: Product) -> StoredSummary:
    """The product's counts as last stored; an embedded product never counted is counted now.

    Needs `product.connection` loaded (select_related), or it costs a query per product.
    """
    connection = getattr(product, "connection", None)
    if connection is not None:
        # Connected (§8): the counts of its last backup, never a call to the site on a page.
        if not connection.content_summary:
            return StoredSummary(None, None)
        return StoredSummary(
            ContentSummary.from_stored(product.kind, connection.content_summary),
            connection.summary_at,
        )
    if product.summary_at is None:
        # Once per product, ever: after this, refresh_content_summary keeps it current.
        return StoredSummary(refresh_content_summary(product), product.summary_at)
    return StoredSummary(
        ContentSummary.from_stored(product.kind, product.content_summary), product.summary_at
    )


# --- Products -------------------------------------------------------------------------------


@dataclass
class ProductItem:
    product: Product
    summary: StoredSummary


def products_section(org: OrgAccess) -> list[ProductItem]:
    """The organization's products in page order, each with its stored counts: 1 query."""
    products = org.organization.products.select_related("connection").order_by("kind", "name")
    return [ProductItem(p, stored_summary(p)) for p in products]


# --- Policies -------------------------------------------------------------------------------


@dataclass
class PolicyItem:
    policy: BackupPolicy
    last_backup: Backup | None
    decision: rules.Decision  # may a backup start now (B1, B3, B4, B6)?


def policies_section(org: OrgAccess, now: datetime) -> dict:
    """Every policy with its last backup and its Run backup decision; the products without
    one. 3 queries, whatever the number of policies (it was 2 + ~9.5 per policy)."""
    latest = Backup.objects.filter(product=OuterRef("product")).order_by("-started_at", "-id")
    complete = Backup.objects.filter(product=OuterRef("product"), status=Backup.Status.COMPLETE)
    policies = list(
        BackupPolicy.objects.filter(product__organization=org.organization)
        .select_related("product__connection")
        .annotate(
            last_backup_id=Subquery(latest.values("id")[:1]),
            last_complete_at=Subquery(
                complete.order_by("-completed_at").values("completed_at")[:1]
            ),
            backup_running=Exists(
                Backup.objects.filter(product=OuterRef("product"), status=Backup.Status.IN_PROGRESS)
            ),
            restore_running=Exists(
                Restore.objects.filter(
                    destination=OuterRef("product"), status=Restore.Status.IN_PROGRESS
                )
            ),
        )
    )
    last_ids = [p.last_backup_id for p in policies if p.last_backup_id]
    last = Backup.objects.select_related("product").in_bulk(last_ids) if last_ids else {}
    items = []
    for policy in sorted(policies, key=lambda p: (p.product.kind, p.product.name)):
        product = policy.product
        product.organization = org.organization  # known: no query per row for B1's check
        # B6 on the page from the stored counts; backup_request counts live before it starts.
        summary = stored_summary(product).summary or ContentSummary(kind=product.kind)
        decision = rules.backup_allowed(
            is_org_admin=org.is_admin,
            enrolled=org.organization.enrolled,
            product_name=product.name,
            kind=product.kind,
            activity=rules.ProductActivity(
                last_complete_at=policy.last_complete_at,
                backup_in_progress=policy.backup_running,
                restore_in_progress=policy.restore_running,
            ),
            data_bytes=summary.data_bytes,
            attachment_bytes=summary.attachment_bytes,
            limits=settings.BACKUP_LIMITS,
            now=now,
        )
        items.append(PolicyItem(policy, last.get(policy.last_backup_id), decision))
    without = list(
        org.organization.products.filter(backup_policy__isnull=True).order_by("kind", "name")
    )
    return {"policies": items, "products_without_policy": without}


# --- Backups and restores -------------------------------------------------------------------


def backups_section(org: OrgAccess, page_number, per_page: int) -> Page:
    """One page of the organization's backups, newest first: 2 queries (count, rows)."""
    # A2: whether each failed backup was retried or superseded, for its attempts line, in the
    # same query (no query per row on a polled page).
    backups = with_retry_facts(
        Backup.objects.filter(product__organization=org.organization)
        .select_related("product", "created_by", "verification")
        .order_by("-started_at", "-id")
    )
    return Paginator(backups, per_page).get_page(page_number)


RUN_BY_TRIGGER = {
    Backup.Trigger.SCHEDULE: "Schedule",
    Backup.Trigger.RETRY: "Automatic retry",
}


def run_by(backup: Backup, person) -> str:
    """Who ran a backup, as "Run by" says it: the schedule or an automatic retry (A1, A2),
    else `person(backup.created_by)`."""
    return RUN_BY_TRIGGER.get(backup.trigger) or person(backup.created_by)


def restores_section(org: OrgAccess, page_number, per_page: int) -> dict:
    """One page of restores into the organization's products, newest first, and whether there
    is a backup to restore (the empty table's advice): 3 queries."""
    restores = (
        Restore.objects.filter(destination__organization=org.organization)
        .select_related("destination", "backup", "created_by")
        .order_by("-started_at", "-id")
    )
    return {
        "page": Paginator(restores, per_page).get_page(page_number),
        "has_backups": Backup.objects.filter(product__organization=org.organization).exists(),
    }


def access_pending_count(org: OrgAccess) -> int:
    """Groups whose restored product access awaits an org admin's approval (R7): 1 query."""
    return product_access_pending(org.organization).count()

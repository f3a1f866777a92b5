"""Fetch-and-authorize helpers: the object, or 404.

Every view, whatever it shows, gets its objects here. An object that does not exist and an
object of another organization answer the same 404, so nobody learns that it exists (B1).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import Http404

from backups.models import (
    ApiToken,
    Backup,
    BackupPolicy,
    Membership,
    Organization,
    Product,
    ProductAccess,
    Restore,
    SiteConnection,
    Upload,
)


@dataclass(frozen=True)
class OrgAccess:
    """The organization as the current user may see it."""

    organization: Organization
    membership: Membership

    @property
    def is_admin(self) -> bool:
        return self.membership.is_admin

    @property
    def can_manage_backups(self) -> bool:
        # P3, B1: only an org admin of an enrolled organization manages backups.
        return self.membership.is_admin and self.organization.enrolled


def access_organization(user, slug: str) -> OrgAccess:
    """The organization `slug` if `user` is one of its members; 404 otherwise."""
    if not user.is_authenticated:
        raise Http404("Organization not found")
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .first()
    )
    if membership is None:
        raise Http404("Organization not found")
    return OrgAccess(organization=membership.organization, membership=membership)


def _fetch(org_access: OrgAccess, queryset, what: str, **lookup):
    """The one object `lookup` finds among the organization's, or 404, the same either way.

    A plain member or a not-enrolled organization's admin never reaches a backup object (B1,
    P3): for them too it does not exist.
    """
    if not org_access.can_manage_backups:
        raise Http404(f"{what} not found")
    try:
        obj = queryset.filter(**lookup).first()
    except (ValueError, TypeError, ValidationError):  # an id that is not a number
        obj = None
    if obj is None:
        raise Http404(f"{what} not found")
    return obj


def organizations_for(user):
    """The organizations `user` belongs to, with the user's membership role annotated."""
    return Membership.objects.filter(user=user).select_related("organization")


def access_product(org_access: OrgAccess, product_id: int) -> Product:
    """A product of the organization the user is an org admin of; 404 otherwise."""
    return _fetch(
        org_access, Product.objects, "Product", pk=product_id, organization=org_access.organization
    )


def access_policy(org_access: OrgAccess, policy_id: int) -> BackupPolicy:
    """A backup policy of one of the organization's products (P3); 404 otherwise."""
    return _fetch(
        org_access,
        BackupPolicy.objects.select_related("product"),
        "Policy",
        pk=policy_id,
        product__organization=org_access.organization,
    )


def access_backup(org_access: OrgAccess, backup_id: int) -> Backup:
    """A backup of one of the organization's products (B1); 404 otherwise."""
    return _fetch(
        org_access,
        Backup.objects.select_related("product", "created_by"),
        "Backup",
        pk=backup_id,
        product__organization=org_access.organization,
    )


def access_restore(org_access: OrgAccess, restore_id: int) -> Restore:
    """A restore into one of the organization's products (R1); 404 otherwise."""
    return _fetch(
        org_access,
        Restore.objects.select_related("destination", "backup", "upload", "created_by"),
        "Restore",
        pk=restore_id,
        destination__organization=org_access.organization,
    )


def access_product_access(org_access: OrgAccess, access_id: int) -> ProductAccess:
    """A group's access to one of the organization's products (R7); 404 otherwise."""
    return _fetch(
        org_access,
        ProductAccess.objects.select_related("group", "product__organization"),
        "Product access",
        pk=access_id,
        product__organization=org_access.organization,
    )


def access_upload(org_access: OrgAccess, upload_id: int) -> Upload:
    """An uploaded backup file of the organization (R9); 404 otherwise."""
    return _fetch(
        org_access, Upload.objects, "Upload", pk=upload_id, organization=org_access.organization
    )


def access_connection(org_access: OrgAccess, connection_id: int) -> SiteConnection:
    """A connected site of one of the organization's products (C1); 404 otherwise."""
    return _fetch(
        org_access,
        SiteConnection.objects.select_related("product__organization"),
        "Connected site",
        pk=connection_id,
        product__organization=org_access.organization,
    )


def access_api_token(org_access: OrgAccess, token_id: int) -> ApiToken:
    """An API token of the organization (K2); 404 otherwise."""
    return _fetch(
        org_access,
        ApiToken.objects.select_related("organization", "created_by"),
        "API token",
        pk=token_id,
        organization=org_access.organization,
    )

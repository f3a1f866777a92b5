"""Fetch-and-authorize helpers: the object, or 404.

Every view, whatever it shows, gets its objects here. An object that does not exist and an
object of another organization answer the same 404, so nobody learns that it exists (B1).
"""

from dataclasses import dataclass

from django.http import Http404

from backups.models import (
    Backup,
    BackupPolicy,
    Membership,
    Organization,
    Product,
    ProductAccess,
    Restore,
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


def access_product(org_access: OrgAccess, product_id: int) -> Product:
    """A product of the organization the user is an org admin of; 404 otherwise."""
    if not org_access.can_manage_backups:
        raise Http404("Product not found")
    try:
        return Product.objects.get(pk=product_id, organization=org_access.organization)
    except Product.DoesNotExist:
        raise Http404("Product not found")


def organizations_for(user):
    """The organizations `user` belongs to, with the user's membership role annotated."""
    return Membership.objects.filter(user=user).select_related("organization")


def access_policy(org_access: OrgAccess, policy_id: int) -> BackupPolicy:
    """A backup policy of one of the organization's products (P3); 404 otherwise."""
    if not org_access.can_manage_backups:
        raise Http404("Policy not found")
    try:
        return BackupPolicy.objects.select_related("product").get(
            pk=policy_id, product__organization=org_access.organization
        )
    except BackupPolicy.DoesNotExist:
        raise Http404("Policy not found")


def access_backup(org_access: OrgAccess, backup_id: int) -> Backup:
    """A backup of one of the organization's products (B1); 404 otherwise."""
    if not org_access.can_manage_backups:
        raise Http404("Backup not found")
    try:
        return Backup.objects.select_related("product", "created_by").get(
            pk=backup_id, product__organization=org_access.organization
        )
    except Backup.DoesNotExist:
        raise Http404("Backup not found")


def access_restore(org_access: OrgAccess, restore_id: int) -> Restore:
    """A restore into one of the organization's products (R1); 404 otherwise."""
    if not org_access.can_manage_backups:
        raise Http404("Restore not found")
    try:
        return Restore.objects.select_related("destination", "backup", "created_by").get(
            pk=restore_id, destination__organization=org_access.organization
        )
    except Restore.DoesNotExist:
        raise Http404("Restore not found")


def access_product_access(org_access: OrgAccess, access_id: int) -> ProductAccess:
    """A group's access to one of the organization's products (R7); 404 otherwise."""
    if not org_access.can_manage_backups:
        raise Http404("Product access not found")
    try:
        return ProductAccess.objects.select_related("group", "product__organization").get(
            pk=access_id, product__organization=org_access.organization
        )
    except ProductAccess.DoesNotExist:
        raise Http404("Product access not found")


def access_upload(org_access: OrgAccess, upload_id: int) -> Upload:
    """An uploaded backup file of the organization (R9); 404 otherwise."""
    if not org_access.can_manage_backups:
        raise Http404("Upload not found")
    try:
        return Upload.objects.get(pk=upload_id, organization=org_access.organization)
    except Upload.DoesNotExist:
        raise Http404("Upload not found")

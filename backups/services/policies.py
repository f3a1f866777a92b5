from django.db import IntegrityError, transaction

from backups.models import BackupPolicy, Product

from .audit import record_event
from .errors import Refused

OPTION_FIELDS = ("include_attachments", "include_personal_spaces", "include_users_and_groups")


def backup_policy_create(*, product: Product, actor, **options) -> BackupPolicy:
    """Create the product's one backup policy (P1); a second one is refused."""
    try:
        with transaction.atomic():
            policy = BackupPolicy.objects.create(
                product=product, created_by=actor, **_clean(product, options)
            )
    except IntegrityError:
        # P1 is the database's unique index; two admins submitting at once end up here.
        raise Refused(f"{product.name} already has a backup policy.")
    record_event(
        action="policy.created",
        actor=actor,
        organization=product.organization,
        target=policy,
        details=policy.options(),
    )
    return policy


def backup_policy_update(*, policy: BackupPolicy, actor, **options) -> BackupPolicy:
    """Change a policy's options; backups already started keep theirs (P3)."""
    for field, value in _clean(policy.product, options).items():
        setattr(policy, field, value)
    policy.save()
    record_event(
        action="policy.updated",
        actor=actor,
        organization=policy.product.organization,
        target=policy,
        details=policy.options(),
    )
    return policy


def _clean(product: Product, options: dict) -> dict:
    unknown = set(options) - set(OPTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy options: {sorted(unknown)}")
    if product.kind != Product.Kind.CONFLUENCE:
        options = {**options, "include_personal_spaces": False}
    return options

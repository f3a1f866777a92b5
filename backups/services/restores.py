"""Restores: ask whether one may run, request it, run it, fail it (R1-R8)."""

import json
import logging
from collections.abc import Iterator
from datetime import datetime

import orjson
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from backups import archive, rules, storage
from backups.models import Backup, Membership, Product, Restore, Upload
from backups.productdata import KINDS, for_product

from .audit import record_event
from .backups import product_activity
from .errors import Refused
from .uploads import UploadSource, upload_restore_source

log = logging.getLogger(__name__)


# --- what is restored from where -------------------------------------------------------------


class StoredBackupSource:
    """Rows and attachment files of a backup in the service's storage (a RowSource)."""

    def __init__(self, backup: Backup):
        self.prefix = backup.storage_prefix
        with storage.open_object(self.prefix + archive.MANIFEST_NAME) as f:
            self.manifest = json.loads(f.read())

    def rows(self, content_type: str) -> Iterator[dict]:
        info = self.manifest["entities"].get(content_type)
        if info is None:
            return
        with storage.open_object(self.prefix + info["file"]) as f:
            for line in f:
                yield orjson.loads(line)

    def open_attachment(self, path: str):
        return storage.open_object(self.prefix + path)


def source_of(backup: Backup) -> rules.RestoreSource:
    return rules.RestoreSource(
        backup_id=backup.pk,
        status=backup.status,
        kind=backup.product.kind,
        organization_id=backup.product.organization_id,
        taken_at=backup.started_at,
    )


def destination_of(product: Product, summary=None) -> rules.RestoreDestination:
    if summary is None:
        summary = destination_summary(product)
    return rules.RestoreDestination(
        product_name=product.name,
        kind=product.kind,
        organization_id=product.organization_id,
        activity=product_activity(product),
        containers_by_state=summary.containers_by_state,
        items=summary.items,
        unreachable=summary.unreachable,
    )


def destination_summary(product: Product):
    """What R6 judges: the product's content now. A connected site is asked (its projects in
    every state); an embedded product is counted."""
    data = for_product(product)
    if hasattr(data, "live_summary"):
        return data.live_summary()
    return data.summary()


def last_restore_started_at(backup_id: int) -> datetime | None:
    """R5: the start of the last restore of this backup that did not fail (from any source)."""
    return (
        Restore.objects.filter(source_backup_id=backup_id)
        .exclude(status=Restore.Status.FAILED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )


def restore_decision(
    *,
    source: rules.RestoreSource,
    destination: Product,
    now: datetime | None = None,
    summary=None,
) -> rules.Decision:
    return rules.restore_allowed(
        source=source,
        destination=destination_of(destination, summary),
        last_restore_started_at=last_restore_started_at(source.backup_id),
        now=now or timezone.now(),
    )


def restore_source_decision(
    *, backup: Backup | None = None, upload: Upload | None = None, now: datetime | None = None
) -> rules.Decision:
    """Can this stored backup (or validated upload) be restored at all now (R2, R3, R4), and
    was it not restored this week (R5, per backup id whichever way it came)?"""
    now = now or timezone.now()
    source = upload_restore_source(upload) if upload is not None else source_of(backup)
    decision = rules.restore_source_allowed(source=source, now=now)
    if not decision:
        return decision
    return rules.restore_once_a_week(
        last_restore_started_at=last_restore_started_at(source.backup_id), now=now
    )


def restore_destinations(
    *, source: rules.RestoreSource, organization, now: datetime | None = None
) -> list[tuple[Product, rules.Decision]]:
    """The organization's products of the backup's kind, eligible ones first (R1, R6)."""
    now = now or timezone.now()
    products = organization.products.filter(kind=source.kind).order_by("name")
    choices = [(p, restore_decision(source=source, destination=p, now=now)) for p in products]
    return sorted(choices, key=lambda c: not c[1].allowed)


def restore_options(
    *, backup_options: dict, include_attachments: bool, include_users_and_groups: bool
):
    """R7: attachments only when the backup has them; users and groups only when it has them."""
    return {
        "include_attachments": include_attachments
        and backup_options.get("include_attachments", False),
        "include_users_and_groups": include_users_and_groups
        and backup_options.get("include_users_and_groups", False),
    }


def restore_preview(
    *, destination: Product, backup: Backup | None = None, upload: Upload | None = None
) -> dict:
    """What the review step shows: what will be restored and what skipped (R6)."""
    source = UploadSource(upload) if upload is not None else StoredBackupSource(backup)
    try:
        manifest = source.manifest
        entities = manifest["entities"]
        kind = manifest["product"]["kind"]
        # In the order a person reads them (projects before issues), not the manifest's.
        order = (*KINDS[kind].content_types, "groups")
        counts = {t: entities[t]["rows"] for t in order if t in entities}
        skipped_spaces: list[str] = []
        if destination.kind == Product.Kind.CONFLUENCE and manifest["product"]["kind"] == (
            "confluence"
        ):
            existing = for_product(destination).space_keys()
            skipped_spaces = sorted(r["key"] for r in source.rows("spaces") if r["key"] in existing)
    finally:
        if isinstance(source, UploadSource):
            source.close()
    return {
        "counts": counts,
        "skipped_space_keys": skipped_spaces,
        "missing": manifest["missing"],
    }


# --- request ---------------------------------------------------------------------------------


def restore_request(
    *,
    destination: Product,
    actor,
    backup: Backup | None = None,
    upload: Upload | None = None,
    include_attachments: bool = True,
    include_users_and_groups: bool = True,
    now: datetime | None = None,
) -> Restore:
    """Start restoring a stored backup, or a validated uploaded file, into `destination`;
    or raise Refused with the reason. Every rule is checked again here, under locks."""
    now = now or timezone.now()
    # R6's counts are read before the lock (on SQLite the transaction below holds the site's
    # one write lock; counting a large product takes seconds). The restore checks R6 again at
    # the moment it writes (`_publish`), so nothing written since can be overwritten.
    summary = destination_summary(destination)
    try:
        with transaction.atomic():
            # Lock the destination (serializes restores and backups of it) and the source.
            destination = Product.objects.select_for_update().get(pk=destination.pk)
            if upload is not None:
                upload = Upload.objects.select_for_update().get(pk=upload.pk)
                if upload.status != Upload.Status.VALID:
                    raise Refused("This uploaded file has not been validated for a restore.")
                source = upload_restore_source(upload)
                manifest = upload.manifest
                fields = {
                    "upload": upload,
                    "source_product_name": manifest["product"]["name"],
                    "source_taken_at": source.taken_at,
                    "items_total": sum(e["rows"] for e in manifest["entities"].values()),
                }
                backup_options = manifest["options"]
            else:
                backup = (
                    Backup.objects.select_for_update(of=("self",))
                    .select_related("product")
                    .get(pk=backup.pk)
                )
                source = source_of(backup)
                fields = {
                    "backup": backup,
                    "source_product_name": backup.product.name,
                    "source_taken_at": backup.started_at,
                    "items_total": sum(e["rows"] for e in backup.counts.values()),
                }
                backup_options = backup.options
            if not _is_admin(actor, source.organization_id) or not _is_admin(
                actor, destination.organization_id
            ):
                raise Refused("Only org admins of the backup's organization can restore it.")
            decision = restore_decision(
                source=source, destination=destination, now=now, summary=summary
            )
            if not decision:
                raise Refused(decision)
            restore = Restore.objects.create(
                source_backup_id=source.backup_id,
                destination=destination,
                created_by=actor,
                options=restore_options(
                    backup_options=backup_options,
                    include_attachments=include_attachments,
                    include_users_and_groups=include_users_and_groups,
                ),
                started_at=now,
                heartbeat_at=now,
                **fields,
            )
            record_event(
                action="restore.started",
                actor=actor,
                organization=destination.organization,
                target=restore,
                details={
                    "backup": source.backup_id,
                    "from_file": source.from_file,
                    "options": restore.options,
                },
            )
            transaction.on_commit(
                lambda: async_task(
                    "backups.tasks.run_restore", restore.pk, task_name=f"restore-{restore.pk}"
                )
            )
    except IntegrityError:
        raise Refused(f"A restore into {destination.name} is already in progress.")
    return restore


def _is_admin(user, organization_id: int) -> bool:
    return Membership.objects.filter(
        user=user, organization_id=organization_id, role=Membership.Role.ADMIN
    ).exists()

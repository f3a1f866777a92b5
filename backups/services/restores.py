"""Restores: what is restored (one reader, whichever kind), whether it may be, and the
request (R1-R8). services/restore_engine.py runs it."""

import json
import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from typing import BinaryIO

from django.db import IntegrityError, transaction
from django.utils import timezone

from backups import archive, rules, storage
from backups.models import Backup, Membership, Product, Restore, Upload
from backups.productdata import KINDS, for_product

from .audit import record_event
from .backups import product_activity
from .errors import Refused
from .jobs import RESTORE, enqueue_on_commit
from .uploads import upload_delete

log = logging.getLogger(__name__)


# --- what is restored: one reader, whichever kind (#13 item 10) ------------------------------
#
# A stored backup (R3) and a validated uploaded file (R4) answer the same questions: the facts
# the rules judge, the manifest, the rows and files (a RowSource for productdata), the fields a
# Restore records, and what happens to the source once restored. Which kind is decided once,
# by `restore_source`; everything after takes `source=` and never asks.


class StoredBackupSource:
    """A backup in the service's storage (R3: restorable until it expires)."""

    from_file = False

    def __init__(self, backup: Backup):
        self.backup = backup
        self.prefix = backup.storage_prefix
        # Its objects' names looked up a page at a time, not one query each (#16).
        self._open = storage.object_opener()

    @cached_property
    def manifest(self) -> dict:
        # Read when first needed: the rules and the request do not touch the storage.
        with storage.open_object(self.prefix + archive.MANIFEST_NAME) as f:
            return json.loads(f.read())

    @property
    def backup_options(self) -> dict:
        return self.backup.options

    def facts(self) -> rules.RestoreSourceFacts:
        return rules.RestoreSourceFacts(
            backup_id=self.backup.pk,
            status=self.backup.status,
            kind=self.backup.product.kind,
            organization_id=self.backup.product.organization_id,
            taken_at=self.backup.started_at,
        )

    def locked(self) -> "StoredBackupSource":
        """The same source read again with its row locked, inside restore_request's transaction."""
        backup = (
            Backup.objects.select_for_update(of=("self",))
            .select_related("product")
            .get(pk=self.backup.pk)
        )
        return StoredBackupSource(backup)

    def restore_fields(self) -> dict:
        return {
            "backup": self.backup,
            "source_product_name": self.backup.product.name,
            "source_taken_at": self.backup.started_at,
            "items_total": sum(e["rows"] for e in self.backup.counts.values()),
        }

    def rows(self, content_type: str) -> Iterator[dict]:
        info = self.manifest["entities"].get(content_type)
        if info is None:
            return
        with self._open(self.prefix + info["file"]) as f:
            # The file under Django's File wrapper, when there is one: its lines are split in
            # C, not by File.__iter__ in Python (0.2-0.45 s per 200k rows of a restore, #16).
            # Read here, not ahead on a thread: parsing there was measured slower (#16, 100k
            # issues + comments, PostgreSQL 100.7k -> 93.5k rows/s, +0.13 s CPU): the thread
            # holds the GIL each time psycopg or sqlite3 lets it go for a moment. Reading and
            # hashing 1 MiB blocks there gained nothing (99.3k -> 97.8k; SQLite 106.7k -> 105.8k).
            yield from archive.entities_rows(getattr(f, "file", f), info)

    @contextmanager
    def entities_file(self, content_type: str) -> Iterator[tuple[BinaryIO, dict] | None]:
        """The entities file's bytes and its manifest entry, for a parsing process
        (productdata/parsed_rows.py, #16); None when the backup has no such file."""
        info = self.manifest["entities"].get(content_type)
        if info is None:
            yield None
            return
        with self._open(self.prefix + info["file"]) as f:
            yield getattr(f, "file", f), info

    def open_attachment(self, path: str):
        return self._open(self.prefix + path)

    def restored(self) -> None:
        """Nothing to do: the stored backup stays until it expires (B7)."""

    def close(self) -> None:
        pass


class UploadedFileSource:
    """A validated uploaded backup file (R4: restorable until 60 days after it was taken),
    read from its ZIP; what it is comes from its manifest, proven at validation (R9)."""

    from_file = True

    def __init__(self, upload: Upload):
        self.upload = upload
        self._file_cm = None
        self._zip: zipfile.ZipFile | None = None

    @property
    def manifest(self) -> dict:
        return self.upload.manifest

    @property
    def backup_options(self) -> dict:
        return self.manifest["options"]

    def facts(self) -> rules.RestoreSourceFacts:
        manifest = self.manifest
        return rules.RestoreSourceFacts(
            backup_id=manifest["backup_id"],
            status=manifest["status"],
            kind=manifest["product"]["kind"],
            # The file was proven to be this organization's at validation.
            organization_id=self.upload.organization_id,
            taken_at=archive.taken_at(manifest),
            from_file=True,
        )

    def locked(self) -> "UploadedFileSource":
        """The same source read again with its row locked; refused unless it is VALID."""
        upload = Upload.objects.select_for_update().get(pk=self.upload.pk)
        if upload.status != Upload.Status.VALID:
            raise Refused("This uploaded file has not been validated for a restore.")
        return UploadedFileSource(upload)

    def restore_fields(self) -> dict:
        manifest = self.manifest
        return {
            "upload": self.upload,
            "source_product_name": manifest["product"]["name"],
            "source_taken_at": archive.taken_at(manifest),
            "items_total": sum(e["rows"] for e in manifest["entities"].values()),
        }

    def _archive(self) -> zipfile.ZipFile:
        if self._zip is None:  # opened when first read: the rules do not need the file
            self._file_cm = storage.local_file(self.upload.storage_name)
            self._zip = zipfile.ZipFile(self._file_cm.__enter__())
        return self._zip

    def rows(self, content_type: str) -> Iterator[dict]:
        info = self.manifest["entities"].get(content_type)
        if info is None:
            return
        with self._archive().open(info["file"]) as f:
            yield from archive.entities_rows(f, info)

    @contextmanager
    def entities_file(self, content_type: str) -> Iterator[tuple[BinaryIO, dict] | None]:
        """As StoredBackupSource.entities_file: the entry's bytes (zipfile checks its CRC-32
        at its end, as when rows() reads it)."""
        info = self.manifest["entities"].get(content_type)
        if info is None:
            yield None
            return
        with self._archive().open(info["file"]) as f:
            yield f, info

    def open_attachment(self, path: str):
        return self._archive().open(path)

    def restored(self) -> None:
        upload_delete(upload=self.upload, reason="restored")  # E2

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._file_cm.__exit__(None, None, None)
            self._zip = self._file_cm = None


RestoreSource = StoredBackupSource | UploadedFileSource


def restore_source(*, backup: Backup | None = None, upload: Upload | None = None) -> RestoreSource:
    """The reader for a stored backup or a validated upload: the one place that asks which."""
    if (backup is None) == (upload is None):
        raise ValueError("A restore has exactly one source: a backup or an upload.")
    return UploadedFileSource(upload) if upload is not None else StoredBackupSource(backup)


def restore_source_of(restore: Restore) -> RestoreSource:
    """The reader of what `restore` restores (its backup, or its uploaded file)."""
    if restore.upload_id:
        return restore_source(upload=restore.upload)
    return restore_source(backup=restore.backup)


# --- may it be restored, and where -----------------------------------------------------------


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
    source: RestoreSource,
    destination: Product,
    now: datetime | None = None,
    summary=None,
) -> rules.Decision:
    """May `source` be restored into `destination` now (R1-R6)?"""
    return _restore_decision(source.facts(), destination, now or timezone.now(), summary)


def _restore_decision(facts: rules.RestoreSourceFacts, destination, now, summary=None):
    return rules.restore_allowed(
        source=facts,
        destination=destination_of(destination, summary),
        last_restore_started_at=last_restore_started_at(facts.backup_id),
        now=now,
    )


def restore_source_decision(
    *, source: RestoreSource, now: datetime | None = None
) -> rules.Decision:
    """Can `source` be restored at all now (R2, R3, R4), and was it not restored this week (R5,
    per backup id whichever way it came)?"""
    now = now or timezone.now()
    facts = source.facts()
    decision = rules.restore_source_allowed(source=facts, now=now)
    if not decision:
        return decision
    return rules.restore_once_a_week(
        last_restore_started_at=last_restore_started_at(facts.backup_id), now=now
    )


def restore_destinations(
    *, source: RestoreSource, organization, now: datetime | None = None
) -> list[tuple[Product, rules.Decision]]:
    """The organization's products of the backup's kind, eligible ones first (R1, R6)."""
    now = now or timezone.now()
    facts = source.facts()
    products = organization.products.filter(kind=facts.kind).order_by("name")
    choices = [(p, _restore_decision(facts, p, now)) for p in products]
    return sorted(choices, key=lambda c: not c[1].allowed)


def restore_preview(*, source: RestoreSource, destination: Product) -> dict:
    """What the review step shows: what will be restored and what skipped (R6)."""
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
    source: RestoreSource | None = None,
    backup: Backup | None = None,
    upload: Upload | None = None,
    include_attachments: bool = True,
    include_users_and_groups: bool = True,
    now: datetime | None = None,
) -> Restore:
    """Start restoring `source` (or, for short, a stored `backup` or a validated `upload`) into
    `destination`; or raise Refused with the reason. Every rule is checked again here, under
    locks."""
    now = now or timezone.now()
    if source is None:
        source = restore_source(backup=backup, upload=upload)
    # R6's counts are read before the lock (on SQLite the transaction below holds the site's
    # one write lock; counting a large product takes seconds). The restore checks R6 again at
    # the moment it writes (`_publish`), so nothing written since can be overwritten.
    summary = destination_summary(destination)
    try:
        with transaction.atomic():
            # Lock the destination (serializes restores and backups of it) and the source.
            destination = Product.objects.select_for_update().get(pk=destination.pk)
            source = source.locked()
            facts = source.facts()
            by_admin = rules.restore_by_admin(
                admin_of_backup_org=_is_admin(actor, facts.organization_id),
                admin_of_destination_org=_is_admin(actor, destination.organization_id),
            )
            if not by_admin:
                raise Refused(by_admin)
            decision = _restore_decision(facts, destination, now, summary)
            if not decision:
                raise Refused(decision)
            restore = Restore.objects.create(
                source_backup_id=facts.backup_id,
                destination=destination,
                created_by=actor,
                options=rules.restore_options(
                    backup_options=source.backup_options,
                    include_attachments=include_attachments,
                    include_users_and_groups=include_users_and_groups,
                ),
                started_at=now,
                heartbeat_at=now,
                **source.restore_fields(),
            )
            record_event(
                action="restore.started",
                actor=actor,
                organization=destination.organization,
                target=restore,
                details={
                    "backup": facts.backup_id,
                    "from_file": facts.from_file,
                    "options": restore.options,
                },
            )
            enqueue_on_commit(RESTORE, restore.pk)
    except IntegrityError:
        raise Refused(f"A restore into {destination.name} is already in progress.")
    return restore


def _is_admin(user, organization_id: int) -> bool:
    return Membership.objects.filter(
        user=user, organization_id=organization_id, role=Membership.Role.ADMIN
    ).exists()

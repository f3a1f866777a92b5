"""What every product kind's data layer offers, and the pieces they share.

The product data layer is the only door through which backups and restores touch product
content. Export streams rows (plain JSON-ready dicts) per content type, in an order that lets
import write them back in one pass per type; import writes rows into another product of the
same kind with new ids and the same keys.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from django.db import transaction

from backups import rules, storage

# Export and import plumbing live beside this module; their names are re-exported here, where
# the kinds and the tests have always found them.
from .export import (  # noqa: F401
    EXPORT_PAGE,
    KeysById,
    TimestampText,
    export_paged,
    in_id_order,
    iso,
    owned_rows,
    paged,
    parse_dt,
)
from .writes import (  # noqa: F401
    BATCH_SIZE,
    INSERT_SLICE,
    SQLITE_SLICE,
    ReferenceGone,
    batched,
    datetime_adapter,
    db_json,
    delete_in_batches,
    foreign_keys_checked_here,
    insert_into,
    insert_rows,
    json_adapter,
    may_skip_row_triggers,
    text_array,
    text_length,
)

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class ExportOptions:
    include_attachments: bool = True
    include_personal_spaces: bool = True  # Confluence only
    skip_space_keys: frozenset[str] = frozenset()  # Confluence only: spaces left out


@dataclass(frozen=True)
class ImportOptions:
    include_attachments: bool = True
    # Where new attachment files go in STORAGES["default"] (default attachments/<product>/).
    # A restore gives each run its own folder, so a crashed run's files can be found later.
    file_folder: str = ""
    # Called with the number of rows handled after each batch: progress and heartbeat.
    on_progress: Callable[[int], None] | None = None
    # Confluence (R6): the space keys to skip. None: the keys this product already has. A
    # restore imports into a staging product and passes its destination's keys.
    existing_space_keys: frozenset[str] | None = None


@dataclass(frozen=True)
class AttachmentFile:
    """One attachment file of a product: where it is now, and where it goes in a backup."""

    path: str  # inside a backup: attachments/<source id>/<name>
    storage_name: str  # in STORAGES["default"]
    size: int
    sha256: str
    owner: str  # the issue key or the space key it belongs to, for reports
    name: str
    # Already in the backup's storage at `path` (a connected site's attachment, written there
    # as it was downloaded): nothing to copy.
    stored: bool = False


@dataclass
class ContentSummary:
    """Counts of a product's content, in every state (R6: all three count)."""

    kind: str
    containers_by_state: dict[str, int] = field(default_factory=dict)
    items: int = 0
    comments: int = 0
    attachments: int = 0
    attachment_bytes: int = 0
    data_bytes: int = 0
    personal_spaces: int = 0
    # A connected site that could not be asked just now: why (R6 cannot be judged then).
    unreachable: str = ""

    @property
    def containers(self) -> int:
        return sum(self.containers_by_state.values())

    @property
    def is_empty(self) -> bool:
        return rules.content_empty(containers=self.containers, items=self.items)

    @property
    def container_label(self) -> str:
        return "project" if self.kind == "jira" else "space"

    @property
    def item_label(self) -> str:
        return "issue" if self.kind == "jira" else "page"

    # Stored (Product.content_summary, SiteConnection.content_summary): the same keys both ways.
    STORED = (
        "containers_by_state",
        "items",
        "comments",
        "attachments",
        "attachment_bytes",
        "data_bytes",
        "personal_spaces",
    )

    def stored(self) -> dict:
        """The counts as a JSON-ready dict, to keep on a row (#13 item 11)."""
        return {name: getattr(self, name) for name in self.STORED}

    @classmethod
    def from_stored(cls, kind: str, data: dict) -> "ContentSummary":
        """The summary a row keeps (see `stored`); missing keys count as 0."""
        values = {name: data[name] for name in cls.STORED if name in data}
        values["containers_by_state"] = dict(values.get("containers_by_state") or {})
        return cls(kind=kind, **values)


@dataclass
class ImportReport:
    """What an import wrote and what it skipped, per content type."""

    restored: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_space_keys: list[str] = field(default_factory=list)
    attachment_bytes: int = 0
    # Names written to STORAGES["default"]: a caller whose transaction fails deletes them.
    written_files: list[str] = field(default_factory=list)
    # The rest of what `ProductData.summary` would count of what was written (the counts
    # and attachment bytes are above), added up while the rows were built: a restore into
    # an empty destination stores it instead of counting every row again (#16).
    containers_by_state: dict[str, int] = field(default_factory=dict)
    personal_spaces: int = 0
    data_bytes: int = 0  # as `summary` counts it: see writes.text_length

    on_progress: Callable[[int], None] | None = field(default=None, repr=False)

    def add(self, bucket: dict[str, int], content_type: str, n: int = 1) -> None:
        bucket[content_type] = bucket.get(content_type, 0) + n
        if self.on_progress and n:
            self.on_progress(n)

    def as_dict(self) -> dict:
        return {
            "restored": self.restored,
            "skipped": self.skipped,
            "skipped_space_keys": self.skipped_space_keys,
            "attachment_bytes": self.attachment_bytes,
        }


class RowSource(Protocol):
    """Where an import reads from: a stored backup, an uploaded file, or a live product."""

    def rows(self, content_type: str) -> Iterator[dict]: ...

    def open_attachment(self, path: str) -> BinaryIO: ...


class AttachmentIntegrityError(Exception):
    """An attachment's bytes do not match the SHA-256 or size its row gives."""


class ProductData:
    """What the two kinds share. A kind sets `kind` and `content_types` and writes `_import`."""

    kind: str
    content_types: tuple[str, ...]

    def __init__(self, product):
        assert product.kind == self.kind, product.kind
        self.product = product

    def import_content(
        self, source: RowSource, options: ImportOptions, *, atomic: bool = True
    ) -> ImportReport:
        """Write the source's rows into this product.

        atomic=True: one transaction, all or nothing. atomic=False: many short transactions
        (one per slice of rows), for a staging product that nobody sees: a restore imports
        there, then moves the content into its destination at once (`move_content_to`), or
        drops it (`delete_content`). Either way a failure deletes the attachment files already
        copied before the error goes on.

        The attachment files are written on a small pool from when the items are read, while
        the rows go in (files_ahead.FilesAhead, #16); their rows still go in last. The pool
        has finished (every file it wrote is in report.written_files) before the cleanup.
        """
        from .attachments import attachment_folder  # these build on this module
        from .files_ahead import FilesAhead

        report = ImportReport(on_progress=options.on_progress)
        files = FilesAhead(
            source,
            options,
            report,
            folder=attachment_folder(options, self.product),
            start=self.content_types[1],  # the items: the containers (and R6's skips) are known
        )
        try:
            with files:
                if atomic:
                    with transaction.atomic():
                        self._import(files, options, report)
                else:
                    self._import(files, options, report)
        except BaseException:
            for name in report.written_files:  # nothing an import that failed copied stays
                storage.attachment_delete(name)
            raise
        return report

    def _import(self, source: RowSource, options: ImportOptions, report: ImportReport) -> None:
        raise NotImplementedError

    def written_summary(self, report: ImportReport) -> ContentSummary:
        """What `summary` counts of the rows an import wrote (report), without reading them
        again: this product's summary once the import's content is all it holds (#16)."""
        _, items, comments, attachments = self.content_types
        return ContentSummary(
            kind=self.kind,
            containers_by_state=dict(report.containers_by_state),
            items=report.restored.get(items, 0),
            comments=report.restored.get(comments, 0),
            attachments=report.restored.get(attachments, 0),
            attachment_bytes=report.attachment_bytes,
            data_bytes=report.data_bytes,
            personal_spaces=report.personal_spaces,
        )

    def move_content_to(self, destination) -> None:
        """Hand every container (project, space) of this product, with all it holds, to
        `destination`. Call it inside the transaction that publishes a restore."""
        raise NotImplementedError

    def publish_problem(self, destination) -> str | None:
        """Why this product's content may not move into `destination` now (R6), or None."""
        raise NotImplementedError

    def delete_content(self) -> None:
        """Delete everything this product holds, in short transactions (a staging product)."""
        raise NotImplementedError


class ProductRowSource:
    """A RowSource that reads a live product: lets a product be copied into another directly."""

    def __init__(self, data, options: ExportOptions):
        self._data = data
        self._options = options
        self._files: dict[str, str] | None = None

    def rows(self, content_type: str) -> Iterator[dict]:
        return self._data.rows(content_type, self._options)

    def open_attachment(self, path: str) -> BinaryIO:
        if self._files is None:
            self._files = {f.path: f.storage_name for _, f in self._data.attachments(self._options)}
        return storage.open_attachment(self._files[path])

"""What a connected site's data layer (Jira Cloud, Confluence Cloud) has in common (SPEC C4, C5).

A backup reads the site once, through its client, into a spool: one JSON-lines file per
content type in a temporary folder. Attachments are stored once per organization (#16 item 2,
services/blobs.py): a file whose identity on the site (`source_key`: the site's attachment id
with what changes when its bytes do) is the one an earlier backup of the product holds is not
downloaded again — the backup refers to that copy by its SHA-256; a new or changed file is
streamed straight into a blob object of its own, hashed on the way, then held (or, when the
organization already has those bytes, that copy is held and the download deleted). The
backup engine then reads the spool like any product's rows, so the backup format, the
manifest and everything after (files, downloads, restores) are the same as for an embedded
product (C5). Memory stays flat: one page of the API at a time, files on disk.

What the pages show of a connected product is what its last backup read (the site is never
asked to draw a page); R6 for a restore into it asks the site (`live_summary`).
"""

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson

from backups import storage
from backups.connectors.http import SiteAuthError, SiteError
from backups.credentials import CredentialError
from backups.services.blobs import blob_adopt, blob_hold, held_before, site_blob_name
from backups.services.errors import Refused

from .attachments import _HashingReader as HashingReader
from .base import (
    AttachmentFile,
    AttachmentIntegrityError,
    ContentSummary,
    ExportOptions,
    ImportOptions,
    ImportReport,
    ProductData,
    RowSource,
)
from .parallel import in_parallel

DOWNLOAD_ATTEMPTS = 3  # tries of one attachment transfer


class ConnectedData(ProductData):
    """The shared half of ConnectedJiraData and ConnectedConfluenceData."""

    # The engine counts items while the site is read (prepare_backup), not again when the
    # spool is written out.
    counts_items_in_prepare = True
    items_type = ""  # the content type counted as the product's items ("issues", "pages")
    owner_field = ""  # the attachment row's field that names its owner, for reports

    def __init__(self, product, connection, client_factory: Callable):
        super().__init__(product)
        self.connection = connection
        self._client_factory = client_factory
        self._spool: Path | None = None
        self.counts: dict[str, int] = {}
        self.attachment_bytes = 0
        self.data_bytes = 0
        self.states: dict[str, int] = {}
        self.personal_spaces = 0
        self.downloaded_bytes = 0  # attachment bytes downloaded from the site
        self.stored_bytes = 0  # of those, bytes stored as new copies

    # --- what is there -------------------------------------------------------------------

    def summary(self) -> ContentSummary:
        """What the site held at its last backup (never a call to the site: pages show it)."""
        stored = self.connection.content_summary or {}
        return ContentSummary(
            kind=self.kind,
            containers_by_state=dict(stored.get("containers_by_state") or {}),
            items=stored.get("items", 0),
            comments=stored.get("comments", 0),
            attachments=stored.get("attachments", 0),
            attachment_bytes=stored.get("attachment_bytes", 0),
            data_bytes=stored.get("data_bytes", 0),
            personal_spaces=stored.get("personal_spaces", 0),
        )

    def client(self):
        return self._client_factory()

    def container_states(self, client) -> Iterable[str]:
        """The state of each container (project, space) the site has now."""
        raise NotImplementedError

    def live_summary(self) -> ContentSummary:
        """R6 for a restore into the site: its containers in every state, asked now (or,
        when the site cannot be asked, why)."""
        states: dict[str, int] = {}
        try:
            client = self.client()
            try:
                for state in self.container_states(client):
                    states[state] = states.get(state, 0) + 1
            finally:
                client.http.close()
        except (SiteError, CredentialError, Refused) as exc:
            return ContentSummary(kind=self.kind, unreachable=str(exc))
        return ContentSummary(kind=self.kind, containers_by_state=states)

    # --- the spool -----------------------------------------------------------------------

    def open_spool(self) -> dict:
        """A fresh spool; its files by content type, open for writing."""
        self._spool = Path(tempfile.mkdtemp(prefix="backupsite-spool-"))
        return {ct: (self._spool / f"{ct}.jsonl").open("wb") for ct in self.content_types}

    def rows(self, content_type: str, options: ExportOptions) -> Iterator[dict]:
        if self._spool is None:
            raise RuntimeError("prepare_backup() reads the site first")
        with (self._spool / f"{content_type}.jsonl").open("rb") as f:
            for line in f:
                yield orjson.loads(line)

    def attachments(self, options: ExportOptions) -> Iterator[tuple[dict, AttachmentFile]]:
        if not options.include_attachments or self._spool is None:
            return
        for row in self.rows("attachments", options):
            yield (
                row,
                AttachmentFile(
                    row["path"],
                    "",
                    row["size"],
                    row["sha256"],
                    row[self.owner_field],
                    row["name"],
                    stored=True,
                ),
            )

    def download(self, chunks: Callable[[], Iterable[bytes]], name_in_storage: str, what: str):
        """Stream one attachment into the backup storage (a blob name); a transfer cut off midway is
        started again (the client retries only until the first byte). Returns
        (storage.Written or None, problem or None): None when it could not be read, with the
        reason for the missing list."""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                return storage.write_chunks(name_in_storage, chunks()), None
            except SiteAuthError:
                storage.delete_object(name_in_storage)
                raise
            except SiteError as exc:
                storage.delete_object(name_in_storage)  # a partial copy may be there
                if attempt == DOWNLOAD_ATTEMPTS:
                    return None, {"what": what, "reason": str(exc)}
        raise AssertionError("unreachable")  # pragma: no cover

    # --- attachments stored once (#16 item 2) ------------------------------------------

    def held_before(self, source_keys: list[str]) -> dict[str, tuple[str, int]]:
        """Which of these files an earlier backup of the product holds: key -> (SHA-256,
        size). Asked in the backup's own thread (the database is never used from the
        download threads)."""
        return held_before(product_id=self.product.pk, source_keys=source_keys)

    def download_name(self, path: str) -> str:
        """Where a new or changed file is downloaded to: a blob object of its own."""
        return site_blob_name(organization_id=self.product.organization_id, path=path)

    def adopt(self, backup, path: str, source_key: str | None, name: str, written) -> None:
        """The file downloaded to `name` becomes the backup's attachment at `path`."""
        held = blob_adopt(
            backup=backup,
            path=path,
            name=name,
            sha256=written.sha256,
            size=written.size,
            source_key=source_key,
        )
        self.downloaded_bytes += written.size
        self.stored_bytes += held.written

    def keep(self, backup, path, source_key, known: tuple[str, int], chunks, what) -> None:
        """The file is unchanged on the site since an earlier backup: hold that backup's copy,
        by its SHA-256, without downloading it. Only when that copy went away meanwhile (its
        object missing, or its last holder expired) is the file downloaded again, checked
        against the SHA-256 and size recorded. Raises SiteError when it cannot be."""
        sha256, size = known

        def download(name: str) -> None:
            written, problem = self.download(chunks, name, what)
            if written is None:
                raise SiteError(problem["reason"])
            if written.sha256 != sha256 or written.size != size:
                storage.delete_object(name)
                raise SiteError(
                    f"the site sent other bytes than before for the same version of the file "
                    f"({written.size} bytes, {size} expected)"
                )
            self.downloaded_bytes += written.size

        held = blob_hold(
            backup=backup,
            path=path,
            sha256=sha256,
            size=size,
            write=download,
            source_key=source_key,
        )
        self.stored_bytes += held.written

    def finish_backup(self, *, completed: bool) -> None:
        """Drop the spool; after a finished backup, keep what the site held for the pages."""
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None
        if not completed:
            return
        from django.utils import timezone

        from backups.models import SiteConnection

        summary = {
            "containers_by_state": self.states,
            "items": self.counts.get(self.items_type, 0),
            "comments": self.counts.get("comments", 0),
            "attachments": self.counts.get("attachments", 0),
            "attachment_bytes": self.attachment_bytes,
            "data_bytes": self.data_bytes,
            "personal_spaces": self.personal_spaces,
        }
        SiteConnection.objects.filter(pk=self.connection.pk).update(
            content_summary=summary, summary_at=timezone.now()
        )

    def source_description(self) -> dict:
        """C5: where the backup came from, for its manifest."""
        return {
            "home": "connected",
            "site_url": self.connection.site_url,
            "account": self.connection.account_name,
        }

    def _import(self, source: RowSource, options: ImportOptions, report: ImportReport) -> None:
        raise SiteError("A connected site is restored with restore_into_site().")


def upload_attachments(
    source: RowSource,
    options: ImportOptions,
    report: ImportReport,
    *,
    owner: Callable[[dict], str | None],
    upload: Callable,
) -> None:
    """Restore the backup's attachments through a site's API, side by side (one owner's files
    in their order), each file's bytes checked against the backup's SHA-256 on the way.

    `owner(row)` is where the file goes on the site (None: its page or issue was not
    restored; the file is skipped); `upload(owner, name, fileobj)` sends it.
    """
    lock = threading.Lock()

    def send(job: tuple[dict, Callable]) -> None:
        row, open_file = job
        target = owner(row)
        if target is None:
            with lock:
                report.add(report.skipped, "attachments")
            return
        with open_file() as fileobj:
            reader = HashingReader(fileobj)
            upload(target, row["name"], reader)
        if reader.sha256.hexdigest() != row["sha256"] or reader.size != row["size"]:
            raise AttachmentIntegrityError(
                f"Attachment {row['name']!r} does not match its checksum in the backup "
                f"({row['size']} bytes expected, {reader.size} read)."
            )
        with lock:
            report.attachment_bytes += reader.size
            report.add(report.restored, "attachments")

    rows = source.rows("attachments")
    if not options.include_attachments:
        for _ in rows:
            report.add(report.skipped, "attachments")
        return
    in_parallel(
        ((row, _opener(source, row["path"])) for row in rows),
        key=lambda job: owner(job[0]) or "",
        work=send,
    )


def _opener(source: RowSource, path: str) -> Callable:
    """How a sending thread opens the file at `path`. A stored backup's file is a reference
    to the organization's copy (#16 item 2): it is looked up here, in the restore's own thread
    (its database connection and transaction), never from the sending threads."""
    prefix = getattr(source, "prefix", None)
    if prefix is None:
        return lambda: source.open_attachment(path)
    name = storage.resolve(prefix + path)
    return lambda: storage.open_object(name)

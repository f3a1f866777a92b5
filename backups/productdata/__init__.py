"""The product data layer: the only door through which backups and restores touch content.

data = for_product(product)          # JiraData or ConfluenceData
data.content_types                   # the entities files of a backup, in import order
data.rows(content_type, options)     # stream of JSON-ready dicts, never the whole product
data.attachments(options)            # (row, AttachmentFile) pairs
data.summary() / data.is_empty()     # counts in every state (R6)
data.import_content(source, options) # write rows back, new ids, same keys; all or nothing
"""

from backups.models import Product

from .base import (
    AttachmentFile,
    AttachmentIntegrityError,
    ContentSummary,
    ExportOptions,
    ImportOptions,
    ImportReport,
    ProductRowSource,
    RowSource,
)
from .confluence import ConfluenceData
from .jira import JiraData

KINDS = {"jira": JiraData, "confluence": ConfluenceData}


def for_product(product: Product):
    """The data layer of the product's home: embedded (our tables) or a connected site."""
    from backups.models import SiteConnection

    connection = SiteConnection.objects.filter(product_id=product.pk).first()
    if connection is not None:
        from backups.services.connections import site_client

        from .confluence_cloud import ConnectedConfluenceData
        from .jira_cloud import ConnectedJiraData

        connected = {"jira": ConnectedJiraData, "confluence": ConnectedConfluenceData}
        return connected[product.kind](product, connection, lambda: site_client(connection))
    return KINDS[product.kind](product)


def content_summary(product: Product) -> ContentSummary:
    return for_product(product).summary()


def copy_product(source: Product, destination: Product, *, options: ExportOptions | None = None):
    """Copy one product's content into another of the same kind, through export and import."""
    options = options or ExportOptions()
    src = for_product(source)
    return for_product(destination).import_content(
        ProductRowSource(src, options),
        ImportOptions(include_attachments=options.include_attachments),
    )


__all__ = [
    "AttachmentFile",
    "AttachmentIntegrityError",
    "ConfluenceData",
    "ContentSummary",
    "ExportOptions",
    "ImportOptions",
    "ImportReport",
    "JiraData",
    "ProductRowSource",
    "RowSource",
    "content_summary",
    "copy_product",
    "for_product",
]

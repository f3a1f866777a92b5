"""Many random attachment files at once, for the benchmarks and the load tests.

`make_attachment` (seed.py) saves one row at a time through the storage: fine for the demo's
dozens of files, far too slow for the thousands a benchmark needs. These are written straight
into MEDIA_ROOT (the default, local storage) and their rows made by one bulk_create.
"""

import hashlib
import os
from pathlib import Path

from django.conf import settings

from backups.models import JiraAttachment, Product


def bulk_random_attachments(
    product: Product, issue_ids: list[int], *, files: int, size: int, created, digits: int = 5
) -> Path:
    """`files` incompressible files of `size` bytes, spread over `issue_ids` in turn, as
    `attachments/<product id>/f<k>.bin`; returns their folder."""
    folder = Path(settings.MEDIA_ROOT) / "attachments" / str(product.id)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(files):
        data = os.urandom(size)
        name = f"f{k:0{digits}d}.bin"
        (folder / name).write_bytes(data)
        rows.append(
            JiraAttachment(
                product=product,
                issue_id=issue_ids[k % len(issue_ids)],
                name=name,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                file=f"attachments/{product.id}/{name}",
                created=created,
            )
        )
    JiraAttachment.objects.bulk_create(rows)
    return folder

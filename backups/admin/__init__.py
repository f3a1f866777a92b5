"""Django admin for staff (SPEC §8): every model, searchable and filterable.

One `@admin.register` class per model, grouped by aggregate. List pages name their related
objects through `list_select_related` and edit them through `autocomplete_fields` /
`raw_id_fields`, so a page costs the same number of queries whatever its number of rows.
"""

# One module per aggregate; importing them registers their admins.
from . import automation, content, jobs, organizations, tokens  # noqa: F401

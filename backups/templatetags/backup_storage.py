"""The backup storage an organization uses (#16 item 2), for its overview page:

    {% load backup_storage %}
    {% storage_used org.organization as used %}

A tag, not a view's context: the partial that shows it is included from the org page alone.
"""

from django import template

from backups.services.blobs import storage_used as _storage_used

register = template.Library()


@register.simple_tag
def storage_used(organization) -> int:
    """Bytes the organization's backups occupy, each shared attachment counted once."""
    return _storage_used(organization_id=organization.pk)

"""What the view tests read pages with: the words, an element, a radio, a table row, a URL.

Shared here so that no test module imports from another (#13 item 17).
"""

import html
import re
from urllib.parse import urlencode

from django.urls import reverse

ORG_URL = "/orgs/{}/backup-and-restore/"


def text(fragment: str | bytes) -> str:
    """What a person reads: tags removed, entities decoded, whitespace collapsed."""
    if isinstance(fragment, bytes):
        fragment = fragment.decode()
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    fragment = re.sub(r"<[^>]+>", " ", fragment)
    return re.sub(r"\s+", " ", html.unescape(fragment)).strip()


def url(name: str, *args, slug: str = "acme", **params) -> str:
    base = reverse(name, args=[slug, *args])
    return f"{base}?{urlencode(params)}" if params else base


def element(page: bytes, element_id: str) -> str:
    """The HTML of the element with this id (its tag name is found, nesting is counted)."""
    page = page.decode()
    start = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"', page)
    assert start, f"no element #{element_id}"
    tag = start.group(1)
    depth, pos = 0, start.start()
    for m in re.finditer(rf"<(/?){tag}\b[^>]*>", page[pos:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return page[pos : pos + m.end()]
    raise AssertionError(f"#{element_id} is not closed")


def radio(page: bytes, name: str, value) -> str:
    found = re.findall(rf'<input type="radio" name="{name}" value="{value}"[^>]*>', page.decode())
    assert len(found) == 1, f"expected one {name}={value} radio, found {len(found)}"
    return found[0]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def row_text(page: bytes, product_name: str) -> str:
    """The text of the table row that names `product_name`."""
    rows = re.findall(r"<tr\b.*?</tr>", page.decode(), flags=re.S)
    matching = [text(r) for r in rows if f">{html.escape(product_name)}<" in r]
    assert len(matching) == 1, f"expected one row for {product_name!r}, found {len(matching)}"
    return matching[0]

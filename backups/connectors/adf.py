"""Atlassian Document Format (Jira Cloud's rich text) to and from plain text.

A connected site's backup keeps every body as the API returned it (ADF, in the row's `fields`
or `body_adf`); the plain text next to it is what an embedded product, which stores text, can
hold. Restoring plain text into a site wraps it back into ADF paragraphs.
"""

BLOCKS = {"paragraph", "heading", "blockquote", "codeBlock", "listItem", "tableRow", "rule"}


def adf_to_text(doc) -> str:
    """The text of an ADF document: its text nodes, one line per block; '' for anything else."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    lines: list[str] = []
    current: list[str] = []

    def walk(node) -> None:
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind == "text":
            current.append(str(node.get("text", "")))
        elif kind == "hardBreak":
            current.append("\n")
        elif kind in ("mention", "emoji"):
            attrs = node.get("attrs") or {}
            current.append(str(attrs.get("text") or attrs.get("shortName") or ""))
        for child in node.get("content") or []:
            walk(child)
        if kind in BLOCKS and current:
            lines.append("".join(current))
            current.clear()

    walk(doc)
    if current:
        lines.append("".join(current))
    return "\n".join(lines)


def text_to_adf(text: str) -> dict:
    """Plain text as an ADF document: one paragraph per line (empty lines kept out)."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in (text or "").split("\n")
        if line
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}

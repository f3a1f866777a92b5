"""Snapshots of a product's content as a user sees it (no database ids), to compare a product
before and after a round trip, a restore or an import. Shared by the productdata, services,
corpus and integration tests (#13 item 17: no test module imports from another)."""

import hashlib

from django.core.files.storage import default_storage

from backups.models import (
    JiraAttachment,
    JiraComment,
    JiraIssue,
    JiraProject,
    Page,
    PageAttachment,
    PageComment,
    Space,
)


def stored_sha256(name: str) -> str:
    with default_storage.open(name, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def jira_snapshot(product):
    """Everything a user sees of a Jira product, without database ids."""
    return {
        "projects": sorted(
            JiraProject.objects.filter(product=product).values_list("key", "name", "state")
        ),
        "issues": sorted(
            JiraIssue.objects.filter(product=product).values_list(
                "key", "project__key", "summary", "description", "status", "created", "updated"
            )
        ),
        "fields": {i.key: i.fields for i in JiraIssue.objects.filter(product=product)},
        "comments": sorted(
            JiraComment.objects.filter(issue__product=product).values_list(
                "issue__key", "author", "body", "created"
            )
        ),
        "attachments": sorted(
            (a.issue.key, a.name, a.size, a.sha256, stored_sha256(a.file.name))
            for a in JiraAttachment.objects.filter(product=product).select_related("issue")
        ),
    }


def page_path(page):
    """A page's place in its tree, by titles from the root: compares trees without ids."""
    parts = []
    while page is not None:
        parts.append(page.title)
        page = page.parent
    return " / ".join(reversed(parts))


def confluence_snapshot(product, *, space_filter=None):
    spaces = Space.objects.filter(product=product)
    if space_filter:
        spaces = spaces.filter(**space_filter)
    pages = Page.objects.filter(space__in=spaces).select_related("space", "parent__parent")
    return {
        "spaces": sorted(spaces.values_list("key", "name", "kind", "state")),
        "pages": sorted(
            (p.space.key, p.kind, page_path(p), p.body, p.version, p.created, p.updated)
            for p in pages
        ),
        "comments": sorted(
            (c.page.space.key, page_path(c.page), c.author, c.body, c.created)
            for c in PageComment.objects.filter(page__in=pages).select_related("page__space")
        ),
        "attachments": sorted(
            (
                a.page.space.key,
                page_path(a.page),
                a.name,
                a.size,
                a.sha256,
                stored_sha256(a.file.name),
            )
            for a in PageAttachment.objects.filter(page__in=pages).select_related("page__space")
        ),
    }

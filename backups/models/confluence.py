"""Confluence content: spaces, pages and blog posts, comments, attachments (SPEC §1)."""

from django.db import models

from .content import STATE_VALUES, AttachmentFields, ContentState
from .products import Product


class Space(models.Model):
    class Kind(models.TextChoices):
        GLOBAL = "global", "Global"
        PERSONAL = "personal", "Personal"

    # No index of its own: the unique (product, key) serves every query by product (#16).
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="spaces", db_index=False
    )
    key = models.CharField(max_length=255)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GLOBAL)
    state = models.CharField(max_length=10, choices=ContentState.choices, default="active")
    # The page a Confluence Cloud site opens the space with. Kept so that a backup of a
    # connected site, restored here and backed up again, restores into a site with the same
    # home page (C6); embedded spaces made here have none.
    homepage = models.ForeignKey(
        "Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["product", "key"]
        verbose_name = "Confluence space"
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="space_key_unique"),
            models.CheckConstraint(
                condition=models.Q(state__in=STATE_VALUES), name="space_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["global", "personal"]), name="space_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.key} — {self.name}"


class Page(models.Model):
    """A Confluence page or blog post. Pages form trees within a space through `parent`."""

    class Kind(models.TextChoices):
        PAGE = "page", "Page"
        BLOGPOST = "blogpost", "Blog post"

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="pages")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PAGE)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    version = models.PositiveIntegerField(default=1)
    # SPEC §1 / C4: pages and blog posts in every state (current, archived, in the trash).
    state = models.CharField(max_length=10, choices=ContentState.choices, default="active")
    labels = models.JSONField(default=list, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        ordering = ["space", "id"]
        verbose_name = "Confluence page"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["page", "blogpost"]), name="page_kind_valid"
            ),
            # A blog post is never part of a page tree.
            models.CheckConstraint(
                condition=models.Q(kind="page") | models.Q(parent__isnull=True),
                name="blogpost_has_no_parent",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=STATE_VALUES), name="page_state_valid"
            ),
        ]

    def __str__(self):
        return self.title


class PageComment(models.Model):
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="comments")
    author = models.CharField(max_length=200)
    body = models.TextField()
    created = models.DateTimeField()

    class Meta:
        ordering = ["page", "created", "id"]
        verbose_name = "Confluence comment"

    def __str__(self):
        return f"Comment by {self.author} on {self.page}"


class PageAttachment(AttachmentFields):
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="attachments")

    class Meta:
        ordering = ["page", "id"]
        verbose_name = "Confluence attachment"

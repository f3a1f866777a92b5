"""Jira content: projects, issues, comments, attachments (SPEC §1)."""

from django.db import models

from .content import STATE_VALUES, AttachmentFields, ContentState
from .products import Product


class JiraProject(models.Model):
    # No index of its own: the unique (product, key) serves every query by product (#16).
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="jira_projects", db_index=False
    )
    key = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=ContentState.choices, default="active")

    class Meta:
        ordering = ["product", "key"]
        verbose_name = "Jira project"
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="jira_project_key_unique"),
            models.CheckConstraint(
                condition=models.Q(state__in=STATE_VALUES), name="jira_project_state_valid"
            ),
        ]

    def __str__(self):
        return f"{self.key} — {self.name}"


class JiraIssue(models.Model):
    # `product` repeats project.product so that the key can be unique per product in the
    # database, and so a restore can find issues by key without a join. No index of its own:
    # the unique (product, key) serves every query by product, and each index is written
    # again for every issue a restore inserts and moves at publish (#16).
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="jira_issues", db_index=False
    )
    project = models.ForeignKey(JiraProject, on_delete=models.CASCADE, related_name="issues")
    key = models.CharField(max_length=40)
    summary = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=40)
    fields = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        ordering = ["product", "id"]
        verbose_name = "Jira issue"
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="jira_issue_key_unique")
        ]

    def __str__(self):
        return f"{self.key} {self.summary}"


class JiraComment(models.Model):
    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="comments")
    author = models.CharField(max_length=200)
    body = models.TextField()
    created = models.DateTimeField()

    class Meta:
        ordering = ["issue", "created", "id"]
        verbose_name = "Jira comment"

    def __str__(self):
        return f"Comment by {self.author} on {self.issue.key}"


class JiraAttachment(AttachmentFields):
    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="attachments")

    class Meta:
        ordering = ["issue", "id"]
        verbose_name = "Jira attachment"

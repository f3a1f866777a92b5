"""Database constraints back every invariant (issue #2 item 3), whatever the form or view does."""

import pytest
from django.db import IntegrityError, transaction

from backups.models import JiraIssue, JiraProject, Membership, Page, Product, Space


def refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_one_membership_per_user_and_organization(demo):
    refused(lambda: Membership.objects.create(user=demo.alice, organization=demo.acme))
    Membership.objects.create(user=demo.alice, organization=demo.globex)  # another org is fine


def test_keys_unique_per_product_but_not_across_products(demo):
    project = JiraProject.objects.get(product=demo.jira, key="ACME")
    refused(lambda: JiraProject.objects.create(product=demo.jira, key="ACME", name="x"))
    refused(
        lambda: JiraIssue.objects.create(
            product=demo.jira,
            project=project,
            key="ACME-1",
            summary="dup",
            status="To Do",
            created="2026-01-01T00:00Z",
            updated="2026-01-01T00:00Z",
        )
    )
    refused(lambda: Space.objects.create(product=demo.confluence, key="ENG", name="x"))
    # The same keys in another product are another product's business.
    JiraProject.objects.create(product=demo.jira_sandbox, key="ACME", name="x")
    Space.objects.create(product=demo.confluence_sandbox, key="ENG", name="x")


def test_states_and_kinds_are_checked_by_the_database(demo):
    refused(lambda: JiraProject.objects.create(product=demo.jira, key="Z", name="z", state="gone"))
    refused(lambda: Space.objects.create(product=demo.confluence, key="Z", name="z", state="x"))
    refused(lambda: Space.objects.create(product=demo.confluence, key="Y", name="y", kind="team"))
    refused(lambda: Product.objects.create(organization=demo.acme, name="Bitbucket", kind="git"))
    refused(
        lambda: Membership.objects.create(user=demo.carol, organization=demo.acme, role="owner")
    )


def test_a_blog_post_has_no_parent_page(demo):
    space = Space.objects.get(product=demo.confluence, key="ENG")
    parent = Page.objects.filter(space=space, kind="page").first()
    refused(
        lambda: Page.objects.create(
            space=space,
            kind="blogpost",
            parent=parent,
            title="post",
            created="2026-01-01T00:00Z",
            updated="2026-01-01T00:00Z",
        )
    )


def test_seed_demo_is_idempotent(demo):
    from backups.demo import seed_demo
    from backups.models import JiraAttachment, Organization

    counts = (Organization.objects.count(), JiraIssue.objects.count(), Page.objects.count())
    files = JiraAttachment.objects.count()
    seed_demo()
    assert (Organization.objects.count(), JiraIssue.objects.count(), Page.objects.count()) == counts
    assert JiraAttachment.objects.count() == files

"""#16, R8: a restore writes its Jira issues with the destination's product from the start,
under its hidden staging product's projects, and its publish moves only the projects. Until
then the destination shows none of them; a discarded restore leaves nothing in it."""

import pytest
from django.db import transaction

from backups.models import JiraComment, JiraIssue, JiraProject, Product
from backups.productdata import base
from backups.productdata.jira import JiraData
from backups.services.restore_engine import import_into_staging, staging_discard
from tests.factories import jira_product, org_with_admin
from tests.productdata.helpers import jira_snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def stage(source, target):
    staging = Product.all_objects.create(
        organization=target.organization, kind="jira", name="Staging", is_staging=True
    )
    staged, _ = import_into_staging(
        staging,
        base.ProductRowSource(JiraData(source), base.ExportOptions()),
        include_attachments=False,
        file_folder=f"attachments/staged-{staging.pk}",
        destination=target,
    )
    return staging, staged


def test_staged_issues_are_not_the_destinations_until_the_publish_moves_their_projects():
    org, _ = org_with_admin()
    source = jira_product(org, "Source", projects=2, issues=3, comments=2)
    target = Product.objects.create(organization=org, kind="jira", name="Target")
    staging, staged = stage(source, target)

    shown = JiraData(target)
    assert shown.is_empty()
    assert (shown.summary().items, shown.summary().comments) == (0, 0)
    assert list(shown.rows("issues", base.ExportOptions())) == []
    assert list(shown.rows("comments", base.ExportOptions())) == []
    assert staged.publish_problem(target) is None
    assert staged.summary().items == 6

    with transaction.atomic():
        Product.objects.select_for_update().get(pk=target.pk)
        staged.move_content_to(target)

    assert jira_snapshot(target) == jira_snapshot(source)
    assert (shown.summary().items, shown.summary().comments) == (6, 12)
    assert not JiraProject.objects.filter(product=staging).exists()
    assert list(shown.rows("issues", base.ExportOptions())) == list(
        JiraData(source).rows("issues", base.ExportOptions())
    )


def test_a_discarded_restore_leaves_no_issue_with_the_destinations_product():
    org, _ = org_with_admin()
    source = jira_product(org, "Source", projects=2, issues=3, comments=2)
    target = Product.objects.create(organization=org, kind="jira", name="Target")
    staging, _ = stage(source, target)
    assert JiraIssue.objects.filter(product=target).count() == 6

    staging_discard(staging.pk, file_folder=f"attachments/staged-{staging.pk}")

    assert not JiraIssue.objects.filter(product=target).exists()
    assert not JiraComment.objects.filter(issue__product=target).exists()
    assert not Product.all_objects.filter(pk=staging.pk).exists()
    # The keys are free again: the same backup restores into the destination.
    _, staged = stage(source, target)
    with transaction.atomic():
        staged.move_content_to(target)
    assert jira_snapshot(target) == jira_snapshot(source)


def test_django_admin_lists_a_products_issues_by_their_projects_not_a_running_restores(client):
    """Staff filtering the issue list by the destination see none of a restore that has not
    published (its issues carry the destination's product already)."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    org, _ = org_with_admin()
    source = jira_product(org, "Source", projects=1, issues=2, comments=1)
    target = Product.objects.create(organization=org, kind="jira", name="Target")
    stage(source, target)
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(staff)

    url = reverse("admin:backups_jiraissue_changelist")
    page = client.get(url, {"project__product__id__exact": target.pk}).content.decode()
    assert "0 Jira issues" in page
    page = client.get(url, {"project__product__id__exact": source.pk}).content.decode()
    assert "2 Jira issues" in page

"""#16: on PostgreSQL a restore's bulk inserts check their foreign keys once per slice (locks
taken by the restore) instead of once per row at COMMIT; the guarantee stays the foreign
key's (R8: a failed restore changes nothing). These tests need PostgreSQL."""

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction

from backups.models import JiraComment, JiraIssue, JiraProject, Product
from backups.productdata import base
from backups.productdata.base import (
    ReferenceGone,
    foreign_keys_checked_here,
    insert_rows,
    may_skip_row_triggers,
)
from backups.productdata.jira import JiraData
from tests.components import need_postgres
from tests.factories import jira_product, org_with_admin
from tests.productdata.helpers import jira_snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COLUMNS = ["product", "project", "key", "summary", "description", "status", "fields"]
COLUMNS += ["created", "updated"]
WHEN = "2026-09-01T09:00:00+00:00"


def issue_row(product_id: int, project_id: int, key: str) -> tuple:
    return (product_id, project_id, key, "S", "D", "To Do", "{}", WHEN, WHEN)


def points_at(product_id: int, *project_ids: int) -> dict:
    return {Product._meta.db_table: [product_id], JiraProject._meta.db_table: project_ids}


def test_the_test_role_takes_the_one_check_per_slice_road():
    need_postgres()
    # The tests connect as a superuser: the road this file tests is the one they run.
    assert may_skip_row_triggers()


def test_a_target_deleted_before_a_slice_fails_it_and_nothing_is_written():
    need_postgres()
    org, _ = org_with_admin()
    product = jira_product(org, issues=0)
    gone = JiraProject.objects.create(product=product, key="GONE", name="Gone")
    gone_id = gone.id
    gone.delete()

    with pytest.raises(ReferenceGone) as refused:
        insert_rows(
            JiraIssue,
            COLUMNS,
            [issue_row(product.id, gone_id, "GONE-1")],
            points_at=points_at(product.id, gone_id),
        )
    assert str(refused.value) == (
        "1 row(s) of backups_jiraproject this restore writes into were deleted while it ran."
    )
    assert not JiraIssue.objects.filter(product=product).exists()


def test_a_slice_holds_its_targets_so_nobody_deletes_them_until_it_commits():
    need_postgres()
    org, _ = org_with_admin()
    product = jira_product(org, issues=0)
    project = JiraProject.objects.get(product=product)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
            with (
                transaction.atomic(),
                foreign_keys_checked_here(points_at(product.id, project.id)),
                pytest.raises(OperationalError, match="lock timeout"),
            ):
                # What a concurrent discard of the staging product would do (per-row foreign
                # key triggers would take the same FOR KEY SHARE lock).
                cursor.execute("DELETE FROM backups_jiraproject WHERE id = %s", [project.id])
    finally:
        other.close()
    assert JiraProject.objects.filter(pk=project.pk).exists()


def test_after_the_block_the_transaction_checks_each_row_again():
    need_postgres()
    org, _ = org_with_admin()
    product = jira_product(org, issues=0)
    project = JiraProject.objects.get(product=product)
    with pytest.raises(IntegrityError, match="backups_jiraissue_project_id"), transaction.atomic():
        with foreign_keys_checked_here(points_at(product.id, project.id)):
            pass
        with connection.cursor() as cursor:  # a project that does not exist
            cursor.execute(
                "INSERT INTO backups_jiraissue (product_id, project_id, key, summary, "
                "description, status, fields, created, updated) "
                "VALUES (%s, %s, 'X-1', '', '', '', '{}', now(), now())",
                [product.id, project.id + 1000],
            )
    assert not JiraIssue.objects.filter(product=product).exists()


@pytest.mark.parametrize("may_skip", [True, False])
def test_a_copy_is_the_same_whether_keys_are_checked_per_slice_or_per_row(monkeypatch, may_skip):
    need_postgres()
    monkeypatch.setattr("backups.productdata.writes.may_skip_row_triggers", lambda: may_skip)
    org, _ = org_with_admin()
    source = jira_product(org, "Source", projects=2, issues=3, comments=2)
    target = Product.objects.create(organization=org, kind="jira", name="Target")
    staging = Product.all_objects.create(
        organization=org, kind="jira", name="Staging", is_staging=True
    )
    staged = JiraData(staging)
    staged.import_content(
        base.ProductRowSource(JiraData(source), base.ExportOptions()),
        base.ImportOptions(),
        atomic=False,
    )
    with transaction.atomic():
        Product.objects.select_for_update().get(pk=target.pk)
        staged.move_content_to(target)

    assert jira_snapshot(target) == jira_snapshot(source)
    assert JiraIssue.objects.filter(product=target).count() == 6
    assert JiraComment.objects.filter(issue__product=target).count() == 12
    assert not JiraIssue.objects.filter(product=staging).exists()

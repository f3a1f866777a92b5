"""#16: a restore finds each slice's issues by key (the comments' issues) with one probe of the
(product, key) index per key, whatever the planner knows of the table: with the restore's
destination unknown to its statistics, "product_id = X AND key = ANY(keys)" read the whole
product's range of the index for every slice (quadratic for a large product)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backups.models import JiraIssue
from backups.productdata import for_product
from tests.factories import jira_product, org_with_admin

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
@pytest.mark.parametrize("lock", [False, True])
def test_each_key_is_one_probe_of_the_product_key_index(lock):
    org, _ = org_with_admin()
    product = jira_product(org, issues=30)
    keys = list(JiraIssue.objects.filter(product=product).values_list("key", flat=True))
    data = for_product(product)

    with CaptureQueriesContext(connection) as queries:
        found = data._issue_ids(keys[:20] + ["P1-999"], lock=lock)

    assert found == dict(
        JiraIssue.objects.filter(product=product, key__in=keys[:20]).values_list("key", "id")
    )
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Cond: ((product_id = " in plan and "(key)::text = k.key))" in plan, plan
    assert "Filter" not in plan and "Hash" not in plan, plan

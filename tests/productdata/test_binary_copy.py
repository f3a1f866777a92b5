"""#16: on PostgreSQL a restore's rows go in by binary COPY; what is stored is what text COPY
stored (timestamps with offsets and microseconds, JSON with any text, odd characters)."""

import pytest

from backups.models import JiraIssue, JiraProject
from backups.productdata.base import insert_into, insert_rows
from tests.components import need_postgres
from tests.factories import jira_product, org_with_admin

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

COLUMNS = ["product", "project", "key", "summary", "description", "status", "fields"]
COLUMNS += ["created", "updated"]
ROWS = [
    # (key, summary, description, fields JSON text, created, updated)
    ("X-1", "tab\there, new\nline", "back\\slash \\N", '{"a": "é☃", "n": [1, 2.5, null]}',
     "2026-09-01T09:00:00.000123+00:00", "2026-09-01T11:00:00+02:00"),
    ("X-2", "", "", "{}", "1999-12-31T23:59:59.999999+00:00", "2026-03-29T01:30:00-05:30"),
    ("X-3", "null", "\\.", '"just a string"', "2026-09-01T09:00:00", "2026-09-01T09:00:00Z"),
]  # fmt: skip


def stored(product):
    return sorted(
        JiraIssue.objects.filter(product=product).values_list(
            "key", "summary", "description", "fields", "created", "updated"
        )
    )


def test_binary_copy_stores_what_text_copy_stored():
    need_postgres()
    org, _ = org_with_admin()
    text_product = jira_product(org, "Text", issues=0)
    binary_product = jira_product(org, "Binary", issues=0)

    for product, binary in ((text_product, False), (binary_product, True)):
        project = JiraProject.objects.get(product=product)
        rows = [(product.id, project.id, k, s, d, "To Do", f, c, u) for k, s, d, f, c, u in ROWS]
        if binary:
            insert_rows(JiraIssue, COLUMNS, rows)
        else:  # the text COPY restores used before #16
            columns = [JiraIssue._meta.get_field(c).column for c in COLUMNS]
            insert_into(JiraIssue._meta.db_table, columns, rows)

    assert stored(binary_product) == stored(text_product)
    first = stored(binary_product)[0]
    assert first[1:4] == (
        "tab\there, new\nline",
        "back\\slash \\N",
        {"a": "é☃", "n": [1, 2.5, None]},
    )
    assert first[4].isoformat() == "2026-09-01T09:00:00.000123+00:00"
    assert first[5].isoformat() == "2026-09-01T09:00:00+00:00"
    assert stored(binary_product)[2][3] == "just a string"


@pytest.mark.django_db(transaction=True)
def test_a_binary_copy_refuses_a_value_too_long_for_its_column():
    # varchar's length is checked on binary input as on text input.
    need_postgres()
    from psycopg.errors import DataError  # raised inside psycopg's COPY, not wrapped

    org, _ = org_with_admin()
    product = jira_product(org, issues=0)
    project = JiraProject.objects.get(product=product)
    row = (product.id, project.id, "K" * 41, "", "", "To Do", "{}", ROWS[0][4], ROWS[0][4])
    with pytest.raises(DataError, match="too long"):
        insert_rows(JiraIssue, COLUMNS, [row])
    assert not JiraIssue.objects.filter(product=product).exists()

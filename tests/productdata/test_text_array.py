"""Issue #16: a slice's issue keys go to PostgreSQL as one text array (`text_array`), not a
list psycopg dumps element by element. Whatever a backup's keys hold, the database must read
back the very same strings."""

import pytest
from django.db import connection

from backups.productdata.writes import text_array

KEYS = [
    "BEN-1",
    'quote"d',
    "back\\slash",
    '\\"',
    "comma,brace{}",
    "NULL",
    "",
    " spaced ",
    "ünïcode ✓",
    "new\nline",
]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL arrays")
@pytest.mark.parametrize("keys", [KEYS, [], ["only"]])
def test_the_database_reads_back_every_key_as_it_was(keys):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [text_array(keys)])
        assert cursor.fetchone()[0] == keys

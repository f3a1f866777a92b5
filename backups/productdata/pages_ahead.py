"""A PostgreSQL export's next page asked for on a connection of its own before the caller
turns the page before it into a backup's text (#16).

An export alternated: the backend made a page (0.9 s of 400k issues and comments) while
Python waited, then Python serialized it (1.1 s) while the backend idled. With the next
page's query sent first (libpq's pipeline mode), the two overlap. On one thread: a thread
waiting on its socket took up to the interpreter's switch interval (5 ms) to get the GIL back
each time data came, which made reading a page four times slower while the caller ran.

The caller's connection stays free for its own writes between rows (the backup engine's
progress); this one only reads, a page per short statement, as `paged` says. Used only where
it sees what the caller would: outside a transaction (whose rows, or a test's, another
connection cannot see), and with the caller's DateStyle (the page's SQL was made for it,
`export_text.TimestampText`). Its errors are Django's, as the caller's would be.
"""

from django.db import DatabaseError, connections


def can_read_ahead(alias: str) -> bool:
    connection = connections[alias]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    import psycopg  # only with PostgreSQL

    return psycopg.Pipeline.is_supported()  # libpq 14 or later


class PagesAhead:
    """A connection of its own, in pipeline mode: `send` a page's query, `fetch` its rows
    later. `close` when done (it waits for nothing: a query still running is dropped)."""

    def __init__(self, alias: str):
        caller = connections[alias]
        caller.ensure_connection()
        style = caller.connection.info.parameter_status("DateStyle")
        self.own = connections.create_connection(alias)
        try:
            self.own.ensure_connection()
            if self.own.connection.info.parameter_status("DateStyle") != style:
                with self.own.cursor() as cursor:
                    cursor.execute("SELECT set_config('DateStyle', %s, false)", [style])
            self.own.connection.pipeline().__enter__()  # left by closing the connection
        except BaseException:
            self.own.close()
            raise

    def send(self, sql: str, params):
        cursor = self.own.connection.cursor()
        try:
            with self.own.wrap_database_errors:
                cursor.execute(sql, params)
        except DatabaseError as error:
            # The query failed as it was sent (psycopg reads what has come back while it
            # sends): raised by `fetch`, after the caller has had the page before it.
            return error
        return cursor

    def fetch(self, sent) -> list[tuple]:
        if isinstance(sent, DatabaseError):
            raise sent
        with self.own.wrap_database_errors:
            return sent.fetchall()

    def close(self) -> None:
        self.own.close()

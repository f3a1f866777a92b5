"""A PostgreSQL export's next page asked for on a connection of its own before the caller
turns the page before it into a backup's text (#16).

An export alternated: the backend made a page (0.9 s of 400k issues and comments) while
Python waited, then Python serialized it (1.1 s) while the backend idled. With the next
page's query sent first, the two overlap. On one thread, through libpq itself (one query
string in flight, its rows loaded by psycopg's Transformer, as its cursor would): a thread
waiting on its socket took up to the interpreter's switch interval (5 ms) to get the GIL back
each time data came (reading a page took four times as long while the caller ran), and in
psycopg's pipeline mode sending the next query took 1.0 s of the export in all (its loop ran
about 35 times a query, taking in what had come back).

The caller's connection stays free for its own writes between rows (the backup engine's
progress); this one only reads, a page per short statement, as `paged` says. Used only where
it sees what the caller would: outside a transaction (whose rows, or a test's, another
connection cannot see), and with the caller's DateStyle (the page's SQL was made for it,
`export_text.TimestampText`). Its errors are Django's, as the caller's would be.
"""

from django.db import connections


def can_read_ahead(alias: str) -> bool:
    connection = connections[alias]
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class PagesAhead:
    """A connection of its own: `send` queries (a page's, and the keys of the page before's
    owners), `fetch` their rows later. `close` when done (it waits for nothing: a query
    still running is dropped)."""

    def __init__(self, alias: str):
        import psycopg  # only with PostgreSQL
        from psycopg.adapt import Transformer

        caller = connections[alias]
        caller.ensure_connection()
        style = caller.connection.info.parameter_status("DateStyle")
        self.own = connections.create_connection(alias)
        try:
            self.own.ensure_connection()
            if self.own.connection.info.parameter_status("DateStyle") != style:
                with self.own.cursor() as cursor:
                    cursor.execute("SELECT set_config('DateStyle', %s, false)", [style])
        except BaseException:
            self.own.close()
            raise
        raw = self.own.connection
        self.pgconn, self.encoding = raw.pgconn, raw.info.encoding
        self.binder = psycopg.ClientCursor(raw)  # the parameters bound as Django's cursor does
        self.rows_of = Transformer(raw)

    def send(self, queries: list[tuple[str, list]]) -> None:
        """Send `queries` ((sql, params) each) at once; `fetch` gives their rows."""
        text = ";\n".join(self.binder.mogrify(sql, params) for sql, params in queries)
        self.sent = len(queries)
        with self.own.wrap_database_errors:
            self.pgconn.send_query(text.encode(self.encoding))
            while self.pgconn.flush():  # a query longer than the socket takes at once
                pass

    def fetch(self) -> list[list[tuple]]:
        """The rows of each query sent last (libpq waits for them)."""
        import psycopg

        results = []
        while True:
            with self.own.wrap_database_errors:
                self._wait()  # before each result: the next may still be on its way
            if (result := self.pgconn.get_result()) is None:
                break
            results.append(result)
        with self.own.wrap_database_errors:
            for result in results:
                if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
                    raise psycopg.errors.error_from_result(result, encoding=self.encoding)
            if len(results) != self.sent:  # a lost connection
                message = self.pgconn.get_error_message(self.encoding)
                raise psycopg.OperationalError(message or "no result")
        rows = []
        for result in results:
            self.rows_of.set_pgresult(result)
            rows.append(self.rows_of.load_rows(0, result.ntuples, tuple))
        return rows

    def _wait(self) -> None:
        """Until the next result is in: libpq's get_result would wait holding the GIL (every
        other thread of the worker stopped meanwhile: measured), select waits without it."""
        import select

        pgconn = self.pgconn
        pgconn.consume_input()
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()

    def close(self) -> None:
        self.own.close()

"""Formatting done by the database, where a large list would otherwise pay for it row by row in Python."""

from django.db.models import CharField, Func


class Rfc3339(Func):
    """ecf.rfc3339.format_timestamp in SQL: `2024-09-01T10:15:22Z` (UTC, whole seconds), NULL stays NULL.

    A 3000-row page reads three timestamps a row: loading them as aware datetimes and formatting them
    again cost more than the query (docs/benchmarks.md); the database hands back the text.
    """

    output_field = CharField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        template = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Stored as UTC text; `%%%%` survives both the template and the backend's own `%` handling.
        template = "strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%SZ', %(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra)

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


class IsoDate(Func):
    """ecf.rfc3339.format_date in SQL: `2024-09-01`, NULL stays NULL (same reason as Rfc3339)."""

    output_field = CharField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM-DD')", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Dates are stored as ISO text already.
        return self.as_sql(compiler, connection, template="date(%(expressions)s)", **extra)


class UuidText(Func):
    """A UUID column as its canonical text (`3fa85f64-5717-4562-b3fc-2c963f66afa6`), NULL stays NULL.

    A 3000-row page shows several ids a row: loading each as a `uuid.UUID` and turning it back into
    text cost a page about a fifth of its time (docs/benchmarks.md); the database hands back the text.
    For a column only (SQLite's form repeats the expression).
    """

    output_field = CharField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s)::text", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Stored as 32 hex digits without dashes.
        x = "%(expressions)s"
        template = (
            f"lower(substr({x}, 1, 8) || '-' || substr({x}, 9, 4) || '-' || substr({x}, 13, 4) || '-' || "
            f"substr({x}, 17, 4) || '-' || substr({x}, 21, 12))"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

"""An ORM query compiled to SQL once per process, then run again with new values (issue 19).

Compiling a large ORM query (a dozen subqueries) cost a declaration POST more than running it. A
`CompiledQuery` keeps the query written once, with the ORM, and compiles it the first time with a
unique stand-in ("sentinel") for each value; the positions of the stand-ins in the compiled
parameters are where later values go. The SQL can differ when a value is None (`IS NULL`), so each
combination of None values is compiled separately.

It only trusts what it can check: a value whose stand-in does not come out of compilation
unchanged (the database adapts it), or a stand-in that is not found, means that query shape always
runs through the ORM. Off PostgreSQL the ORM runs every time.
"""

import logging
import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import psycopg
from django.db import connection
from django.db.models import QuerySet

logger = logging.getLogger(__name__)

_CONSTANT = object()


class _PreparedCursor(psycopg.Cursor):
    """Server-side binding, and the statement prepared on the server from its first use."""

    def execute(self, query, params=None, **kwargs):
        return super().execute(query, params, prepare=True, **kwargs)


def _sentinel(value):
    if isinstance(value, bool) or not isinstance(value, uuid.UUID | str | datetime | date | int):
        raise TypeError(f"CompiledQuery cannot stand in for a {type(value).__name__}")
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, str):
        return f"compiled-query-{uuid.uuid4().hex}"
    if isinstance(value, datetime):
        return datetime(1900, 1, 1, tzinfo=UTC) + timedelta(microseconds=random.randrange(10**15))
    if isinstance(value, date):
        return date(1000, 1, 1) + timedelta(days=random.randrange(300_000))
    return random.randrange(10**12, 10**15)


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet]):
        """`build(**values)` returns a `.values(...)` queryset, already sliced if need be."""
        self.build = build
        self._shapes: dict[frozenset, tuple[str, list] | None] = {}

    def first(self, **values) -> dict | None:
        rows = self.rows(**values)
        return rows[0] if rows else None

    def rows(self, **values) -> list[dict]:
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        shape = frozenset(name for name, value in values.items() if value is None)
        if shape not in self._shapes:
            self._shapes[shape] = self._compile(values)
        compiled = self._shapes[shape]
        if compiled is None:
            return list(self.build(**values))
        sql, slots = compiled
        params = [values[slot] if isinstance(slot, str) else slot[1] for slot in slots]
        connection.ensure_connection()
        # A prepared statement (per connection): PostgreSQL planned the facts query of a declaration
        # POST in more time than it ran it. Still through Django's cursor wrapper, so query counts,
        # logs and execute wrappers see it.
        with connection.make_cursor(_PreparedCursor(connection.connection)) as cursor:
            cursor.execute(sql, params)
            columns = [column.name for column in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _compile(self, values: dict) -> tuple[str, list] | None:
        sentinels = {name: _sentinel(value) for name, value in values.items() if value is not None}
        queryset = self.build(**{name: sentinels.get(name) for name in values})
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
        by_value = {(type(sentinel), sentinel): name for name, sentinel in sentinels.items()}
        slots = [by_value.get((type(param), param), (_CONSTANT, param)) for param in params]
        found = {slot for slot in slots if isinstance(slot, str)}
        if found != set(sentinels) or any(str(sentinel) in sql for sentinel in sentinels.values()):
            logger.warning("CompiledQuery: %s is not reusable; the ORM runs it every time", self.build.__name__)
            return None
        return sql, slots

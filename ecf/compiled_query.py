"""An ORM query compiled to SQL once per process, then run again with new values (issue 19); and
`insert_new`, new rows of several models saved in one round trip with each INSERT written once.

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
from django.db import connection, models
from django.db.models import QuerySet, signals
from psycopg._queries import PostgresQuery, _query2pg

logger = logging.getLogger(__name__)

_CONSTANT = object()


class _CompiledStatement(PostgresQuery):
    """A compiled query's SQL, parsed for its placeholders once per process.

    psycopg parses a query's `%s` placeholders again on every run when it is longer than 4 kB (the
    facts query of a declaration POST is), a cost that bought nothing for a statement that never
    changes (issue 19). psycopg is pinned (requirements.txt): this leans on its query class.
    """

    def convert(self, query, vars) -> None:
        bquery = query.encode(self._encoding) if isinstance(query, str) else query
        self.query, self._want_formats, self._order, self._parts = _query2pg(bquery, self._encoding)
        self.dump(vars)


class _PreparedCursor(psycopg.Cursor):
    """Server-side binding, and the statement prepared on the server from its first use."""

    _query_cls = _CompiledStatement

    def execute(self, query, params=None, **kwargs):
        return super().execute(query, params, prepare=True, **kwargs)

    def _convert_query(self, query, params=None):
        converted = super()._convert_query(query, params)
        # psycopg records the query it ran only when it was not prepared; Django's query log
        # (last_executed_query) reads it there.
        self._query = converted
        return converted


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
        # POST in more time than it ran it. Still through Django's cursor wrapper (the debug one when
        # queries are logged), so query counts, logs and execute wrappers see it.
        with connection._prepare_cursor(_PreparedCursor(connection.connection)) as cursor:
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


# --- Inserts -------------------------------------------------------------------------------------

_INSERT_SQL: dict[type, tuple[str, list, bool]] = {}


def insert_new(*objects: models.Model) -> None:
    """Save new model instances, in order, as `save(force_insert=True)` would, in one round trip.

    A declaration POST writes three rows; the ORM compiled each INSERT again on every request and
    sent each on its own (issue 19). Here each model's INSERT is written once per process and the
    statements go together: the values are still each field's own (`pre_save`, `get_db_prep_save`),
    an auto-increment id is read back, and the instances end up saved (`_state`). Falls back to
    `save()` for anything the shortcut cannot promise to do the same for: not PostgreSQL (SQLite runs
    one statement at a time), a model with save signals or a parent table, a value that is an
    expression (a database default included), or a field with its own placeholder.
    """
    if connection.vendor != "postgresql" or not all(_insertable(obj) for obj in objects):
        for obj in objects:
            obj.save(force_insert=True)
        return
    statements, params, returning = [], [], []
    for obj in objects:
        sql, fields, returns_pk = _insert_sql(type(obj))
        values = [field.get_db_prep_save(field.pre_save(obj, add=True), connection=connection) for field in fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            for obj in objects:  # nothing was sent yet
                obj.save(force_insert=True)
            return
        statements.append(sql)
        params.extend(values)
        returning.append(returns_pk)
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(statements), params)
        for index, (obj, returns_pk) in enumerate(zip(objects, returning, strict=True)):
            if index:
                cursor.nextset()  # one result per statement, in order
            if returns_pk:
                obj.pk = cursor.fetchone()[0]
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias


def _insertable(obj: models.Model) -> bool:
    model = type(obj)
    meta = model._meta
    if meta.parents or signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model):
        return False
    if not obj._state.adding or (meta.auto_field is not None and obj.pk is not None):  # an id of its own
        return False
    return not any(hasattr(field, "get_placeholder") for field in meta.local_concrete_fields)


def _insert_sql(model: type) -> tuple[str, list, bool]:
    """(INSERT statement, the fields it sends in order, whether it returns an auto-increment id)."""
    if model not in _INSERT_SQL:
        meta = model._meta
        quote = connection.ops.quote_name
        auto = meta.auto_field
        fields = [field for field in meta.local_concrete_fields if not field.generated and field is not auto]
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        if auto is not None:
            sql += f" RETURNING {quote(auto.column)}"
        _INSERT_SQL[model] = (sql, fields, auto is not None)
    return _INSERT_SQL[model]

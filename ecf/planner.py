"""Reading a page's rows by their primary keys, whatever the planner's estimate (issue 19).

A list page knows its rows' ids (an index range scan of the read model, visibility.models) before
it reads the rows themselves. PostgreSQL's cost model still prefers hashing whole base tables once
the ids are a few percent of a table (3000 of 20,000 people: a sequential scan of each joined
table), which is cheap at 20,000 participants and grows with the table, not the page. Inside
`index_lookups()` the planner may not choose a sequential scan, a hash join or a merge join, so
every joined row is one index lookup: the page costs what it returns (docs/benchmarks.md, scan nodes).

Session settings, set and then put back to the server's own values (two statements): `SET LOCAL`
would last to the end of an enclosing transaction (a test's, or a write's that renders its answer).
A statement that fails inside a transaction rolls the settings back with it.
"""

from contextlib import contextmanager, suppress

from django.db import DatabaseError, connection

PLANNER_SETTINGS = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")
# One round trip each (several statements, no parameters); RESET returns to the server's own value.
_OFF = "; ".join(f"SET {name} = off" for name in PLANNER_SETTINGS)
_BACK = "; ".join(f"RESET {name}" for name in PLANNER_SETTINGS)


@contextmanager
def index_lookups():
    """Queries run inside are planned as index lookups and nested loops only (PostgreSQL; a no-op
    elsewhere). For queries whose rows are given by id: never for a whole-table aggregate."""
    if connection.vendor != "postgresql":
        yield
        return
    _execute(_OFF)
    try:
        yield
    except BaseException:
        # In an aborted transaction the rollback restores them itself (and no statement can run).
        with suppress(DatabaseError):
            _execute(_BACK)
        raise
    _execute(_BACK)


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)

"""The plans of the list requests, for `make bench`: which tables each query scans and how.

    DATABASE_URL=... python scripts/bench/plans.py TOKEN PATH [PATH ...]

Runs each request in-process (Django's test client, the real views), records its queries, and
prints, as JSON, every scan node of `EXPLAIN (ANALYZE, FORMAT JSON)` of each SELECT: the node type,
the table, the index, and the rows it produced. A sequential scan of a table larger than
LARGE_TABLE_ROWS is flagged: a list page must not read a whole large table.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecf.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

LARGE_TABLE_ROWS = 10_000


class Recorder:
    def __init__(self):
        self.queries: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.queries.append((sql, params))
        return execute(sql, params, many, context)


def scans(node: dict, found: list) -> list:
    if "Scan" in node["Node Type"]:
        found.append(
            {
                "node": node["Node Type"],
                "table": node.get("Relation Name"),
                "index": node.get("Index Name"),
                "rows": node.get("Actual Rows", 0) * node.get("Actual Loops", 1),
            }
        )
    for child in node.get("Plans", ()):
        scans(child, found)
    return found


def table_sizes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'")
        return dict(cursor.fetchall())


def plan_of(path: str, token: str) -> list[dict]:
    recorder = Recorder()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    with connection.execute_wrapper(recorder):
        response = client.get(path)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, (path, response.status_code)
    sizes = table_sizes()
    queries = []
    for sql, params in recorder.queries:
        if sql.lstrip().upper().startswith(("SET ", "RESET ")):
            # The planner settings of ecf.planner: replayed, so each query is explained as it was planned.
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
            continue
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")) or "participants_apitoken" in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        nodes = scans(plan[0]["Plan"], [])
        for scan in nodes:
            scan["large_seq_scan"] = scan["node"] == "Seq Scan" and sizes.get(scan["table"], 0) > LARGE_TABLE_ROWS
        queries.append({"ms": round(plan[0]["Execution Time"], 2), "scans": nodes})
    return queries


def main() -> None:
    token, *paths = sys.argv[1:]
    print(json.dumps({path: plan_of(path, token) for path in paths}))


if __name__ == "__main__":
    main()

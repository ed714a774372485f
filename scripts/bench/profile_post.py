"""Where a declaration POST's milliseconds go (issue 19), in-process, against the bench's seeded data.

    ECF_BENCH_DIR=/tmp/ecf-bench .venv/bin/python scripts/bench/profile_post.py [--posts 300] [--cprofile]

Copies the bench template (`make bench` seeds it) into a database of its own, loads the service as
`make serve` does (ECF_ENV=production, the bench's environment) and sends the bench's POSTs through
Django's full WSGI handler, every middleware included. Prints the median POST, each middleware's own
share, and each query of one POST with its time; `--cprofile` adds the functions that cost most.
Nothing here is timed in a test: these are figures for a person reading a profile.
"""

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from cluster import TEMPLATE_DB, Cluster  # noqa: E402
from run import PROVIDERS_BY_SIZE_SQL, submission_candidates  # noqa: E402
from server import ROOT, environment  # noqa: E402

PROFILE_DB = "ecf_bench_profile"
PATH = "/api/v3/participant-declarations"
FLOOR_PATH = "/_bench/floor/v3/participant-declarations/submit"


def _fresh_database(cluster: Cluster) -> None:
    cluster.psql(f"DROP DATABASE IF EXISTS {PROFILE_DB} WITH (FORCE)")
    cluster.psql(f"CREATE DATABASE {PROFILE_DB} TEMPLATE {TEMPLATE_DB}")
    cluster.psql("VACUUM ANALYZE", database=PROFILE_DB)


def _load_django(cluster: Cluster, bench_dir: Path) -> None:
    os.environ.update(environment(cluster.url(PROFILE_DB), bench_dir / "profile-queries.jsonl"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "ecf.settings"
    sys.path.insert(0, str(ROOT))
    import django  # noqa: PLC0415

    django.setup()


class MiddlewareClock:
    """Seconds each middleware spends on its own: the time inside its `get_response` is the next one's."""

    def __init__(self, handler):
        self.inner: dict[str, list[float]] = {}
        self.order: list[str] = ["(whole chain)"]
        handler._middleware_chain = self._timed("(whole chain)", handler._middleware_chain)
        node = handler._middleware_chain.__wrapped__
        while True:
            instance = getattr(node, "__wrapped__", node)  # Django's convert_exception_to_response
            if not hasattr(instance, "get_response") or not callable(instance):
                break
            name = type(instance).__name__
            self.order.append(name)
            instance.get_response = self._timed(name, instance.get_response)
            node = instance.get_response.__wrapped__

    def _timed(self, name: str, function):
        spent = self.inner.setdefault(name, [])

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - started)

        timed.__wrapped__ = function
        return timed

    def own_shares(self) -> list[tuple[str, float]]:
        """(middleware, median own seconds), outermost first, then the view (inside the last one)."""
        inner = [statistics.median(self.inner[name]) for name in self.order]
        shares = [(self.order[i], inner[i - 1] - inner[i]) for i in range(1, len(self.order))]
        return [*shares, ("(URL resolution, DRF and the view)", inner[-1])]


def _explain(connection, reads: list[tuple[str, list]]) -> None:
    from django.db import transaction  # noqa: PLC0415

    for sql, params in reads:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, SETTINGS, VERBOSE) " + sql, params)
            print("\n".join(row[0] for row in cursor.fetchall()))
            print("-" * 100)
            transaction.set_rollback(True)


def _backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process (the PostgreSQL backend serving this one), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--floor", action="store_true", help="the bench's floor of the POST instead of the endpoint")
    parser.add_argument("--callees", nargs="*", default=[], help="with --cprofile: functions to break down")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each read of one POST")
    args = parser.parse_args()
    bench_dir = Path(os.environ.get("ECF_BENCH_DIR", "/tmp/ecf-bench"))
    cluster = Cluster(bench_dir)
    cluster.start()
    try:
        _fresh_database(cluster)
        with psycopg.connect(f"host={bench_dir} dbname={PROFILE_DB} user=postgres", autocommit=True) as connection:
            largest_id, largest, _ = connection.execute(PROVIDERS_BY_SIZE_SQL).fetchone()
            candidates = submission_candidates(connection, largest_id)
        _load_django(cluster, bench_dir)
        _profile(largest, candidates, args)
    finally:
        cluster.stop()


def _profile(provider_name: str, candidates: list[dict], args) -> None:
    from django.core.handlers.wsgi import WSGIHandler  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.test.client import RequestFactory  # noqa: PLC0415

    from participants.models import LeadProvider  # noqa: PLC0415
    from participants.tokens import api_token_create  # noqa: PLC0415

    token = api_token_create(lead_provider=LeadProvider.objects.get(name=provider_name))
    handler = WSGIHandler()
    factory = RequestFactory()
    pool = iter(candidates)

    def post() -> float:
        attributes = next(pool)
        body = json.dumps({"data": {"type": "participant-declaration", "attributes": attributes}})
        environ = factory.post(
            FLOOR_PATH if args.floor else PATH,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_HOST="127.0.0.1",
        ).environ
        started = time.perf_counter()
        chunks = []
        result = handler(environ, lambda status, headers, exc_info=None: chunks.append(status))
        b"".join(result)
        if hasattr(result, "close"):
            result.close()
        if not chunks[0].startswith("200"):
            raise SystemExit(f"POST answered {chunks[0]}: {attributes}")
        return time.perf_counter() - started

    for _ in range(50):  # warm: compiled queries, prepared statements, imports
        post()
    clock = MiddlewareClock(handler)
    backend = _backend_pid(connection)
    post()
    if _backend_pid(connection) != backend:
        print("note: each request opened a new database connection (CONN_MAX_AGE)")
    print("CONN_MAX_AGE", connection.settings_dict["CONN_MAX_AGE"])
    cpu_started, backend_started = time.process_time(), _cpu_seconds(backend)
    times = [post() for _ in range(args.posts)]
    python_cpu = (time.process_time() - cpu_started) / len(times)
    backend_cpu = (_cpu_seconds(backend) - backend_started) / len(times)
    print(f"median POST {statistics.median(times) * 1000:.2f} ms over {len(times)} (in-process, no HTTP)")
    print(f"CPU per POST: Python {python_cpu * 1000:.2f} ms, PostgreSQL backend {backend_cpu * 1000:.2f} ms")
    print("own share of each middleware (median):")
    for name, seconds in clock.own_shares():
        print(f"  {name:42s} {seconds * 1000:7.3f} ms")

    queries = []

    def log(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((time.perf_counter() - started, sql, params))

    with connection.execute_wrapper(log):
        post()
    print(f"queries of one POST: {len(queries)}, {sum(q[0] for q in queries) * 1000:.2f} ms")
    for seconds, sql, _ in queries:
        print(f"  {seconds * 1000:6.3f} ms  {' '.join(sql.split())[:150]}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans, left(regexp_replace(statement, '\\s+', ' ', 'g'), 90)"
            " FROM pg_prepared_statements ORDER BY statement"
        )
        for generic, custom, statement in cursor.fetchall():
            print(f"  prepared: {generic} generic, {custom} custom plans: {statement}")
    if args.explain:
        _explain(connection, [(sql, params) for _, sql, params in queries if sql.lstrip("( ").startswith("SELECT")])

    if args.cprofile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not the waits for the database
        profiler.enable()
        for _ in range(min(args.posts, 200)):
            post()
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("tottime")
        stats.print_stats(35)
        stats.sort_stats("cumulative").print_stats(60)
        for name in args.callees:
            stats.print_callees(name)


if __name__ == "__main__":
    main()

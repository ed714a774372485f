"""Counts the database queries of one request, for `make bench` only (BENCHMARK_FLOOR=true).

A request that sends `X-Bench-Count-Queries: <label>` has its queries counted; the count is written
as one JSON line to BENCHMARK_QUERY_LOG when the response is finished (for a streamed CSV, after its
last row), so streaming responses are counted whole. Other requests are not wrapped at all.
"""

import json
import os

from django.conf import settings
from django.db import connection

HEADER = "HTTP_X_BENCH_COUNT_QUERIES"


class _Counter:
    def __init__(self):
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        label = request.META.get(HEADER)
        if not label:
            return self.get_response(request)
        counter = _Counter()
        wrapper = connection.execute_wrapper(counter)
        wrapper.__enter__()
        try:
            response = self.get_response(request)
        except BaseException:
            wrapper.__exit__(None, None, None)
            raise

        def finish():
            wrapper.__exit__(None, None, None)
            _write(label, request.path, response.status_code, counter.queries)

        # Django closes the response after the last byte went out (streamed bodies included).
        response._resource_closers.append(finish)
        return response


def _write(label: str, path: str, status: int, queries: int) -> None:
    line = json.dumps({"label": label, "path": path, "status": status, "queries": queries, "pid": os.getpid()})
    with open(settings.BENCHMARK_QUERY_LOG, "a", encoding="utf-8") as log:
        log.write(line + "\n")

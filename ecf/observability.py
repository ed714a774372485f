"""One middleware for what operators see of each request: its metrics and its JSON log line.

It sits just inside api.request_log.RequestLogMiddleware (which gives the request its id) and
outside everything else, so it sees every final status, 429s from the rate limit included.
The log line never holds the token or any header: the provider is named by its id.
"""

import logging
import re
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from ecf import metrics
from ecf.json_logs import FIELDS, current_request_id

logger = logging.getLogger("ecf.request")

VERSION_IN_PATH = re.compile(r"^/api/(v\d+)/")


def request_route(request: HttpRequest) -> str:
    """A label of bounded cardinality: the URL's name (e.g. `v3:participant-detail`), never its path."""
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    match = getattr(request, "resolver_match", None)
    if match is None:
        # Answered before URL resolution (a 429 from the rate limit, an HTTPS redirect): same label anyway.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unmatched"
    if match.app_name == "admin" or match.namespace.startswith("admin"):
        return "admin"
    return match.view_name if match.url_name else "unmatched"  # the catch-all 404 has no name


def request_version(request: HttpRequest) -> str:
    found = VERSION_IN_PATH.match(request.path_info)
    return found.group(1) if found else ""


class QueryCounter:
    """The number of SQL statements a request ran through the default connection."""

    def __init__(self):
        self.count = 0


# The request whose queries are being counted. One wrapper per connection reads it, so a response that is
# never closed (a streamed CSV a test client drops) leaves nothing behind: a wrapper per request nested one
# more frame around every query until, 18,000 requests into `make fuzz`, each query hit a RecursionError.
_counting: ContextVar[QueryCounter | None] = ContextVar("ecf_query_counter", default=None)


def count_query(execute, sql, params, many, context):
    counter = _counting.get()
    if counter is not None:
        counter.count += 1
    return execute(sql, params, many, context)


def _count_queries_of(counter: QueryCounter) -> None:
    if count_query not in connection.execute_wrappers:
        # First, not last: Django's execute_wrapper() removes the last wrapper on exit, so a caller
        # wrapping this request (the bench's plans and query counts do) must find its own there.
        connection.execute_wrappers.insert(0, count_query)
    _counting.set(counter)


class ObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        counter = QueryCounter()
        token = current_request_id.set(getattr(request, "request_id", None))
        _count_queries_of(counter)
        try:
            response = self.get_response(request)
        except BaseException:
            _stop_counting(counter)
            current_request_id.reset(token)
            raise
        if getattr(response, "streaming", False):
            # A CSV page is produced while it is sent: finish the line when the last byte is out.
            response.streaming_content = _ObservedStream(
                response.streaming_content, lambda: _finish(request, response, started, counter)
            )
        else:
            _finish(request, response, started, counter)
        current_request_id.reset(token)
        return response


class _ObservedStream:
    """Streaming content that finishes the request's line when the response is closed: Django closes
    it after the last byte, or at once when nothing was sent (a generator's `finally` would not run
    if it never started)."""

    def __init__(self, content, finish):
        self._content = iter(content)
        self._finish = finish

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._content)

    def close(self):
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()


def _stop_counting(counter: QueryCounter) -> None:
    if _counting.get() is counter:  # a later request may be counting by now
        _counting.set(None)


def _finish(request: HttpRequest, response: HttpResponse, started: float, counter: QueryCounter) -> None:
    _stop_counting(counter)
    seconds = time.perf_counter() - started
    route, version = request_route(request), request_version(request)
    metrics.record_request(
        route=route, version=version, method=request.method, status=response.status_code, seconds=seconds
    )
    lead_provider = getattr(request, "lead_provider", None)  # set by api.authentication; never the token
    logger.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            FIELDS: {
                "request_id": getattr(request, "request_id", None),
                "method": request.method,
                "path": request.path,
                "route": route,
                "version": version,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "queries": counter.count,
                "provider_id": str(lead_provider.pk) if getattr(lead_provider, "pk", None) else None,
            }
        },
    )

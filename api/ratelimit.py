"""Rate limit on /api/ (api.md §3): API_RATE_LIMIT requests per fixed window per Authorization header.

Windows are aligned to the Unix epoch (a 300-second window resets at every multiple of 300 s), as in
the reference. The count lives in the database and is incremented by ONE statement, so it holds
however many workers and servers share the database. Requests without an Authorization header are
not counted (the reference keys the rule on that header).

The middleware sits outside ecf.clock.ServerDateMiddleware, so clock.now() here is the real time:
a sandbox caller cannot leave its window by sending X-With-Server-Date.
"""

import hashlib
import math
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse

from api.errors import CONTENT_TYPE, errors_body
from api.models import RateLimitCounter
from ecf import clock

API_PREFIX = "/api/"


def window_start(instant: datetime, window_seconds: int) -> datetime:
    """The start of the fixed window holding `instant`."""
    seconds = int(instant.timestamp())
    return datetime.fromtimestamp(seconds - seconds % window_seconds, tz=UTC)


def rate_limit_key(authorization: str) -> str:
    # A digest keeps tokens out of the table; the header value, not the token, is the key (api.md §3).
    return hashlib.sha256(authorization.encode()).hexdigest()


def rate_limit_hit(*, key: str, window: datetime) -> int:
    """Count one request for `key` in the window starting at `window`; return the window's count so far.

    One INSERT … ON CONFLICT DO UPDATE … RETURNING: concurrent requests in any number of processes
    never lose an increment, and no transaction is needed (PostgreSQL; SQLite 3.35+ too).
    """
    quote = connection.ops.quote_name
    table = quote(RateLimitCounter._meta.db_table)
    key_column, window_column, count_column = (
        quote(RateLimitCounter._meta.get_field(name).column) for name in ("key", "window_start", "count")
    )
    sql = (
        f"INSERT INTO {table} ({key_column}, {window_column}, {count_column}) VALUES (%s, %s, 1) "
        f"ON CONFLICT ({key_column}, {window_column}) "
        f"DO UPDATE SET {count_column} = {table}.{count_column} + 1 "
        f"RETURNING {count_column}"
    )
    window_value = RateLimitCounter._meta.get_field("window_start").get_db_prep_value(window, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, window_value])
        return cursor.fetchone()[0]


def rate_limit_windows_purge(*, now: datetime) -> int:
    """Delete the counters of every window that has ended; returns how many rows went."""
    current = window_start(now, settings.API_RATE_LIMIT_WINDOW_SECONDS)
    deleted, _ = RateLimitCounter.objects.filter(window_start__lt=current).delete()
    return deleted


class RateLimitMiddleware:
    """Counts /api/ requests, answers 429 over the limit, and tells every API caller where it stands."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (settings.API_RATE_LIMIT_ENABLED and request.path_info.startswith(API_PREFIX)):
            return self.get_response(request)
        limit = settings.API_RATE_LIMIT
        window_seconds = settings.API_RATE_LIMIT_WINDOW_SECONDS
        now = clock.now()
        start = window_start(now, window_seconds)
        reset = max(1, math.ceil(start.timestamp() + window_seconds - now.timestamp()))
        authorization = request.META.get("HTTP_AUTHORIZATION", "")
        count = rate_limit_hit(key=rate_limit_key(authorization), window=start) if authorization else 0
        if count > limit:
            response = too_many_requests(limit=limit, window_seconds=window_seconds, reset=reset)
        else:
            response = self.get_response(request)
        response["RateLimit-Limit"] = str(limit)
        response["RateLimit-Remaining"] = str(max(0, limit - count))
        response["RateLimit-Reset"] = str(reset)
        return response


def too_many_requests(*, limit: int, window_seconds: int, reset: int) -> HttpResponse:
    detail = f"More than {limit} requests in {window_seconds} seconds. Retry in {reset} seconds."
    response = JsonResponse(errors_body([("Too many requests", detail)]), status=429, content_type=CONTENT_TYPE)
    response["Retry-After"] = str(reset)
    return response

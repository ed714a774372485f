"""Rate limits: API_RATE_LIMIT requests per fixed window per API token on /api/ (api.md §3, keyed on
the token rather than the header's text, issue 12.3), and CLIENT_RATE_LIMIT per client address on
every path (the rewrite's catch-all, issue 12.1).

Windows are aligned to the Unix epoch (a 300-second window resets at every multiple of 300 s), as in
the reference. The count lives in the database and is incremented by ONE statement, so it holds
however many workers and servers share the database. Only an active token gets a counter row: a
request without one is counted per address, in the fixed-size table of api.throttle.

The middleware sits outside ecf.clock.ServerDateMiddleware, so clock.now() here is the real time:
a sandbox caller cannot leave its window by sending X-With-Server-Date.
"""

import logging
import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse

from api.authentication import request_api_token
from api.client_address import client_address
from api.conditional import is_conditional_get, with_validators
from api.errors import CONTENT_TYPE, errors_body
from api.models import RateLimitCounter
from api.throttle import Window, throttle_hit
from ecf import clock

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def window_start(instant: datetime, window_seconds: int) -> datetime:
    """The start of the fixed window holding `instant`."""
    seconds = int(instant.timestamp())
    return datetime.fromtimestamp(seconds - seconds % window_seconds, tz=UTC)


def token_rate_limit_key(token_id: int) -> str:
    # The token's stored identity, not the header's text (issue 12.3): one count however it is spelled.
    return f"token:{token_id}"


def rate_limit_count(*, key: str, window: datetime) -> int:
    """The count so far for `key` in the window starting at `window`, without counting."""
    row = RateLimitCounter.objects.filter(key=key, window_start=window).values("count").first()
    return row["count"] if row else 0


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
    """Counts /api/ requests per token, answers 429 over the limit, tells every caller where it stands.

    The counter is keyed on the token's stored identity (its ApiToken id), so every spelling of one
    token (`Bearer  X`, `Token token="X"`, …) shares one count, and a header that is not an active
    token adds no row at all: unknown callers are limited per address (ClientRateLimitMiddleware).

    A GET with If-None-Match that turns out unchanged (304, api.conditional) is not counted: its
    count is looked at, not incremented, before the view runs; only a full answer is then counted.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        if not settings.API_RATE_LIMIT_ENABLED:
            return with_validators(request, self.get_response(request))
        limit = settings.API_RATE_LIMIT
        window_seconds = settings.API_RATE_LIMIT_WINDOW_SECONDS
        now = clock.now()
        start = window_start(now, window_seconds)
        reset = max(1, math.ceil(start.timestamp() + window_seconds - now.timestamp()))
        token = request_api_token(request) if request.META.get("HTTP_AUTHORIZATION") else None
        if token is None:
            count, response = 0, with_validators(request, self.get_response(request))
        else:
            request.lead_provider = token.lead_provider  # a 429 is logged for its provider (api.request_log)
            count, response = self._counted(request, token_rate_limit_key(token.pk), start, limit)
        if count > limit:
            response = too_many_requests(limit=limit, window_seconds=window_seconds, reset=reset)
        response["RateLimit-Limit"] = str(limit)
        response["RateLimit-Remaining"] = str(max(0, limit - count))
        response["RateLimit-Reset"] = str(reset)
        return response

    def _counted(self, request, key: str, start: datetime, limit: int) -> tuple[int, HttpResponse | None]:
        """The count after this request, and the response unless the count is over the limit."""
        if is_conditional_get(request):
            # Looked at, not counted: an unchanged answer (304) costs the caller nothing.
            count = rate_limit_count(key=key, window=start)
            if count >= limit:
                return count + 1, None
            response = with_validators(request, self.get_response(request))
            if response.status_code == 304:
                return count, response
            count = rate_limit_hit(key=key, window=start)
            return count, response
        count = rate_limit_hit(key=key, window=start)
        if count > limit:
            return count, None
        return count, with_validators(request, self.get_response(request))


def too_many_requests(*, limit: int, window_seconds: int, reset: int) -> HttpResponse:
    detail = f"More than {limit} requests in {window_seconds} seconds. Retry in {reset} seconds."
    response = JsonResponse(errors_body([("Too many requests", detail)]), status=429, content_type=CONTENT_TYPE)
    response["Retry-After"] = str(reset)
    return response


class ClientRateLimitMiddleware:
    """CLIENT_RATE_LIMIT requests per fixed window per client address, on every path (issue 12.1).

    The count is shared by every worker and server (api.throttle: one UPSERT on a table of fixed
    size, so new addresses never add rows). Once an address is over the limit, this process also
    remembers it until the window ends, so a flood that keeps going costs no further database write.
    The health check is not counted: load balancers probe it, and it writes nothing.
    """

    EXEMPT_PATHS = ("/healthcheck",)
    REMEMBERED_ADDRESSES = 10_000  # a bound on the memory the "over the limit" notes may take

    def __init__(self, get_response):
        self.get_response = get_response
        self.over_limit_until: dict[str, datetime] = {}

    def __call__(self, request):
        if not settings.CLIENT_RATE_LIMIT_ENABLED or request.path_info in self.EXEMPT_PATHS:
            return self.get_response(request)
        limit = settings.CLIENT_RATE_LIMIT
        now = clock.now()
        window = Window.holding(now, settings.CLIENT_RATE_LIMIT_WINDOW_SECONDS)
        address = client_address(request)
        if self.over_limit_until.get(address, now) > now:
            return self._refuse(limit, window, now)
        try:
            count = throttle_hit(scope="client", key=address, window=window)
        except DatabaseError as error:
            # The database being down is the health check's news; the request will say so itself.
            logger.warning("Could not count a request against the per-address limit: %s", error)
            return self.get_response(request)
        if count > limit:
            self._remember(address, window)
            return self._refuse(limit, window, now)
        return self.get_response(request)

    def _remember(self, address: str, window: Window) -> None:
        if len(self.over_limit_until) >= self.REMEMBERED_ADDRESSES:
            self.over_limit_until.clear()
        self.over_limit_until[address] = window.start + timedelta(seconds=window.seconds)

    @staticmethod
    def _refuse(limit: int, window: Window, now: datetime) -> HttpResponse:
        return too_many_requests(limit=limit, window_seconds=window.seconds, reset=window.seconds_left(now))

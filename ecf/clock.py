"""The one clock. Everything that asks "what is now / today?" asks here.

In a sandbox deployment (settings.SANDBOX) a request may carry `X-With-Server-Date: <RFC 3339>`
and run as if "now" were that instant, so that providers can test future milestones. In
production the header is ignored. Tests freeze the clock with `frozen(...)`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

from django.conf import settings
from django.http import JsonResponse

from ecf import rfc3339

_override: ContextVar[datetime | None] = ContextVar("clock_override", default=None)

SERVER_DATE_HEADER = "HTTP_X_WITH_SERVER_DATE"
INVALID_SERVER_DATE = "The header 'X-With-Server-Date' must be a valid RFC 3339 date-time, e.g. 2025-03-01T10:00:00Z"


def now() -> datetime:
    return _override.get() or datetime.now(UTC)


def today() -> date:
    """The UTC date (decisions §8)."""
    return now().astimezone(UTC).date()


@contextmanager
def frozen(instant: datetime) -> Iterator[datetime]:
    """Run the block as if now were `instant` (an aware datetime)."""
    if instant.tzinfo is None:
        raise ValueError("the clock only takes aware datetimes")
    token = _override.set(instant)
    try:
        yield instant
    finally:
        _override.reset(token)


class ServerDateMiddleware:
    """Moves the clock for one request when the sandbox header is present and valid."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get(SERVER_DATE_HEADER) if settings.SANDBOX else None
        if not raw:
            return self.get_response(request)
        instant = rfc3339.parse(raw)
        if instant is None:
            # Silently running at the real time would make a provider's test pass or fail for the wrong reason.
            return JsonResponse(
                {"errors": [{"title": "Bad request", "detail": INVALID_SERVER_DATE}]},
                status=400,
                content_type="application/vnd.api+json",
            )
        with frozen(instant):
            return self.get_response(request)

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

from ecf import rfc3339

_override: ContextVar[datetime | None] = ContextVar("clock_override", default=None)

SERVER_DATE_HEADER = "HTTP_X_WITH_SERVER_DATE"


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
        instant = self._requested_instant(request)
        if instant is None:
            return self.get_response(request)
        with frozen(instant):
            return self.get_response(request)

    @staticmethod
    def _requested_instant(request) -> datetime | None:
        if not settings.SANDBOX:
            return None
        raw = request.META.get(SERVER_DATE_HEADER)
        if not raw:
            return None
        return rfc3339.parse(raw)

"""Work that must happen for a request but must not be part of its answer's timing.

A service calls `run_after_response(work)`. Inside a request (AfterResponseMiddleware) the work
runs once the answer has been sent: Django closes a response after the server has written it, and
runs the response's closers first, on the request's own database connection. Outside a request
(a management command, a test calling a service) the work runs at once.

Used so that a provider cannot tell from the time an answer takes whether a participant id it
sent belongs to someone another provider trains (issue 12.4): the attempt row rules §4.9 keeps
for such a POST is written after the answer, which is then the same as for an unknown id.
"""

import logging
from collections.abc import Callable
from contextvars import ContextVar

logger = logging.getLogger(__name__)

_pending: ContextVar[list[Callable[[], None]] | None] = ContextVar("ecf_after_response", default=None)


def run_after_response(work: Callable[[], None]) -> None:
    pending = _pending.get()
    if pending is None:
        work()
    else:
        pending.append(work)


def _run(pending: list[Callable[[], None]]) -> None:
    for work in pending:
        try:
            work()
        except Exception:  # the answer has gone: log it, never lose the rest of the work
            logger.exception("work after the response failed")


class AfterResponseMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pending: list[Callable[[], None]] = []
        token = _pending.set(pending)
        try:
            response = self.get_response(request)
        finally:
            _pending.reset(token)
        if pending:
            # Closers run before `request_finished` (so before the connection is closed or returned).
            response._resource_closers.append(lambda: _run(pending))
        return response

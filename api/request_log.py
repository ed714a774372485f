"""Request ids on every response, and a stored record of API requests answered with an error.

Support staff get a provider's "it failed" email with a request id; the admin finds the request by
it and shows what was sent and answered. The token never reaches the log: headers are not stored.

Only requests with a valid token are stored (issue 12.1): what an unknown caller sends costs no
row, and one provider stores at most REQUEST_LOG_PER_PROVIDER entries per window of
API_RATE_LIMIT_WINDOW_SECONDS, each body cut to REQUEST_LOG_BODY_BYTES, so no source can make the
log grow faster than that (it is purged after 30 days by `manage.py purge_request_logs`).
"""

import logging
import re
import uuid
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse

from api.models import ApiRequestLog
from api.throttle import Window, throttle_hit
from ecf import clock
from participants.models import LeadProvider

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
# A caller's id is echoed only when it cannot smuggle anything into a header or a log line.
CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
API_PREFIX = "/api/"


def request_id_for(request: HttpRequest) -> str:
    offered = request.META.get("HTTP_X_REQUEST_ID", "")
    if CALLER_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def request_logs_purge(*, older_than: datetime) -> int:
    """Delete log entries created before `older_than`; returns how many went."""
    deleted, _ = ApiRequestLog.objects.filter(created_at__lt=older_than).delete()
    return deleted


class RequestLogMiddleware:
    """Outermost middleware: tags the request and response with the id and logs failed API requests.

    Being outermost it sees the final response (429s from the rate limit, 500s included), and
    clock.now() is the real time even when a sandbox request moves the clock further in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        if request.path_info.startswith(API_PREFIX) and response.status_code >= 400 and _may_store(request):
            _store(request, response)
        return response


def _may_store(request: HttpRequest) -> bool:
    """Set by api.authentication on success: only a caller with a valid token is logged, up to its cap."""
    lead_provider = _caller(request)
    if not isinstance(lead_provider, LeadProvider):
        return False
    window = Window.holding(clock.now(), settings.API_RATE_LIMIT_WINDOW_SECONDS)
    try:
        stored = throttle_hit(scope="request-log", key=str(lead_provider.pk), window=window)
    except DatabaseError:
        return True  # _store reports the failure, if the database is what failed
    return stored <= settings.REQUEST_LOG_PER_PROVIDER


def _request_body(request: HttpRequest) -> bytes:
    # api.body_limit read the body (at most MAX_REQUEST_BODY_BYTES) before DRF could consume the
    # stream; a body that was never read (refused, or not an API request) is not read here either.
    return getattr(request, "_body", b"")[: settings.REQUEST_LOG_BODY_BYTES]


def _response_body(response: HttpResponse) -> str:
    if getattr(response, "streaming", False):
        return ""
    return _text(response.content[: settings.REQUEST_LOG_BODY_BYTES])


def _text(raw: bytes) -> str:
    return _without_nul(raw.decode("utf-8", errors="replace"))


def _without_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a log must take whatever a caller sent (`/api/v3/%00` too).
    return text.replace("\x00", "\ufffd")


def _caller(request: HttpRequest):
    """The provider whose valid token the request carried: set by DRF's authentication, or, on a path no
    view answered (the JSON 404), by the flavour check's token lookup."""
    lead_provider = getattr(request, "lead_provider", None)
    if lead_provider is None:
        lead_provider = getattr(request, "authenticated_lead_provider", (None, None))[1]
    return lead_provider


def _store(request: HttpRequest, response: HttpResponse) -> None:
    lead_provider = _caller(request)
    try:
        # A savepoint, so a failed write cannot break a transaction the caller may be in.
        with transaction.atomic():
            ApiRequestLog.objects.create(
                created_at=clock.now(),
                request_id=request.request_id,
                lead_provider=lead_provider,
                method=request.method[:10],
                path=_without_nul(request.path),
                query_string=_text(request.META.get("QUERY_STRING", "").encode("latin-1", errors="replace")),
                request_body=_text(_request_body(request)),
                response_status=response.status_code,
                response_body=_response_body(response),
            )
    except DatabaseError:
        # The response matters more than its log entry (the database may be the thing that failed).
        logger.exception("Could not store the error log entry of request %s", request.request_id)

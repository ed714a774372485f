"""Request ids on every response, and a stored record of every API request answered with an error.

Support staff get a provider's "it failed" email with a request id; the admin finds the request by
it and shows what was sent and answered. The token never reaches the log: headers are not stored.
"""

import logging
import re
import uuid
from datetime import datetime

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException

from api.models import ApiRequestLog
from ecf import clock
from participants.models import LeadProvider

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
# A caller's id is echoed only when it cannot smuggle anything into a header or a log line.
CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
API_PREFIX = "/api/"
BODY_LIMIT = 64 * 1024


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
        is_api = request.path_info.startswith(API_PREFIX)
        # Read now: once DRF has consumed the stream the body can no longer be read.
        body = _request_body(request) if is_api else b""
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        if is_api and response.status_code >= 400:
            _store(request, body, response)
        return response


def _request_body(request: HttpRequest) -> bytes:
    try:
        return request.body[:BODY_LIMIT]
    except (RequestDataTooBig, RawPostDataException):
        return b""  # the view answers the oversized body; the log keeps the rest of the request


def _response_body(response: HttpResponse) -> str:
    if getattr(response, "streaming", False):
        return ""
    return _text(response.content[:BODY_LIMIT])


def _text(raw: bytes) -> str:
    return _without_nul(raw.decode("utf-8", errors="replace"))


def _without_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a log must take whatever a caller sent (`/api/v3/%00` too).
    return text.replace("\x00", "\ufffd")


def _store(request: HttpRequest, body: bytes, response: HttpResponse) -> None:
    # Set by api.authentication on success; absent when the token was missing or unknown.
    lead_provider = getattr(request, "lead_provider", None)
    try:
        # A savepoint, so a failed write cannot break a transaction the caller may be in.
        with transaction.atomic():
            ApiRequestLog.objects.create(
                created_at=clock.now(),
                request_id=request.request_id,
                lead_provider=lead_provider if isinstance(lead_provider, LeadProvider) else None,
                method=request.method[:10],
                path=_without_nul(request.path),
                query_string=_text(request.META.get("QUERY_STRING", "").encode("latin-1", errors="replace")),
                request_body=_text(body),
                response_status=response.status_code,
                response_body=_response_body(response),
            )
    except DatabaseError:
        # The response matters more than its log entry (the database may be the thing that failed).
        logger.exception("Could not store the error log entry of request %s", request.request_id)

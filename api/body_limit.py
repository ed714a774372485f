"""Request bodies over MAX_REQUEST_BODY_BYTES are refused with 413 before anything reads them (issue 12.2).

The largest legitimate request (a declaration, a participant action) is a few kilobytes; the default
limit of 64 KB leaves a wide margin. A declared `Content-Length` over the limit is answered at once,
without reading a byte of the body. A body without a length (chunked) is read up to one byte past the
limit, never further, and handed on from memory when it fits. nginx enforces the same limit at the
edge (deploy/nginx.conf.template, `client_max_body_size`); this is the guard when nothing is in front.
"""

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse

from api.errors import CONTENT_TYPE, errors_body

API_PREFIX = "/api/"
TITLE = "Request body too large"


def body_too_large(limit: int) -> HttpResponse:
    detail = f"The request body is larger than {limit} bytes, the most this service accepts."
    response = JsonResponse(
        errors_body([(TITLE, detail, "request.body_too_large")]),
        status=413,
        content_type=CONTENT_TYPE,
        json_dumps_params={"separators": (",", ":")},  # byte for byte what nginx answers at the edge
    )
    # The unread rest of the body cannot be skipped reliably: the connection ends with this answer.
    response["Connection"] = "close"
    return response


def declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


class BodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_REQUEST_BODY_BYTES
        length = declared_length(request)
        if length is not None and length > limit:
            return body_too_large(limit)
        if length is None and _is_chunked(request) and not _buffer_chunked_body(request, limit):
            return body_too_large(limit)
        if request.path_info.startswith(API_PREFIX):
            # Read now, bounded by the limit: DRF then parses from memory, and api.request_log can
            # still show what was sent once DRF has finished with it.
            request.body  # noqa: B018 (the property caches the body)
        return self.get_response(request)


def _is_chunked(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def _buffer_chunked_body(request: HttpRequest, limit: int) -> bool:
    """Read a body of unknown length, at most limit + 1 bytes; False when it is over the limit.

    Django reads nothing of a body without Content-Length; a body that fits is given one, so the
    API sees what was sent instead of an empty body.
    """
    wsgi_input = request.META.get("wsgi.input")
    if wsgi_input is None:
        return True
    body = b""
    while len(body) <= limit:
        chunk = wsgi_input.read(min(64 * 1024, limit + 1 - len(body)))
        if not chunk:
            break
        body += chunk
    if len(body) > limit:
        return False
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = LimitedStream(io.BytesIO(body), len(body))
    return True

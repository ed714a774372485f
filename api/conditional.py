"""ETag, Last-Modified and 304 Not Modified on every API GET (issue 16.1).

The tag is a digest of the rendered body (first version: the view renders, then the tag is
computed), so it changes exactly when what the caller would read changes, including per provider
and under a sandbox date. A `304` is decided in api.ratelimit before the request is counted, so
polling with `If-None-Match` costs nothing against the per-token limit.

`Last-Modified` is sent for one record (`data` is an object with `attributes.updated_at`); a list
has no single modification time that would be honest once records leave it.
"""

import hashlib
from datetime import datetime

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import http_date, parse_etags

# Headers a 304 repeats (RFC 9110 §15.4.5); the rate-limit and request-id headers are added later.
KEPT_ON_304 = ("ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Location", "Expires")


def is_conditional_get(request: HttpRequest) -> bool:
    return request.method in ("GET", "HEAD") and bool(request.META.get("HTTP_IF_NONE_MATCH"))


def with_validators(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Tag a successful GET; answer 304 (no body) when the caller already holds that tag."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200 or getattr(response, "streaming", False):
        return response
    if not response.has_header("ETag"):
        response["ETag"] = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    modified = _last_modified(response)
    if modified is not None and not response.has_header("Last-Modified"):
        response["Last-Modified"] = http_date(modified.timestamp())
    if _matches(request.META.get("HTTP_IF_NONE_MATCH", ""), response["ETag"]):
        return _not_modified(response)
    return response


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 §13.1.2): W/"x" and "x" are the same tag for If-None-Match.
    offered = parse_etags(if_none_match) if if_none_match else []
    return "*" in offered or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in offered}


def _not_modified(response: HttpResponse) -> HttpResponse:
    not_modified = HttpResponseNotModified()
    for header in KEPT_ON_304:
        if response.has_header(header):
            not_modified[header] = response[header]
    return not_modified


def _last_modified(response: HttpResponse) -> datetime | None:
    data = getattr(response, "data", None)
    record = data.get("data") if isinstance(data, dict) else None
    attributes = record.get("attributes") if isinstance(record, dict) else None
    updated_at = attributes.get("updated_at") if isinstance(attributes, dict) else None
    if isinstance(updated_at, datetime):
        return updated_at
    if isinstance(updated_at, str):
        try:
            return datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------------------------------
# The OpenAPI documents (a postprocessing hook; non-breaking: an optional request header, optional
# response headers and one more status)

IF_NONE_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag of an answer you already hold. When it is still current the answer is "
    "`304 Not Modified` with no body, and the request does not count against the rate limit.",
}
ETAG_HEADER = {
    "schema": {"type": "string"},
    "description": "A tag of this exact answer (it differs per provider). Send it back as `If-None-Match`.",
}
LAST_MODIFIED_HEADER = {
    "schema": {"type": "string"},
    "description": "For one record: its `updated_at`, as an HTTP date.",
}
NOT_MODIFIED_RESPONSE = {
    "description": "Not Modified: the answer is the one tagged by `If-None-Match`. No body; not counted "
    "against the rate limit.",
    "headers": {"ETag": ETAG_HEADER},
}


def document_conditional_get(result, generator, request, public):
    """Every JSON GET documents If-None-Match, ETag (and Last-Modified) and the 304 answer.

    The CSV exports stream their rows and carry no tag, so they are left as they are.
    """
    for path, path_item in result.get("paths", {}).items():
        operation = path_item.get("get")
        if not isinstance(operation, dict) or path.endswith(".csv"):
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(parameter.get("name") == "If-None-Match" for parameter in parameters):
            parameters.append(IF_NONE_MATCH_PARAMETER)
        responses = operation.setdefault("responses", {})
        if "200" in responses:
            headers = responses["200"].setdefault("headers", {})
            headers.setdefault("ETag", ETAG_HEADER)
            if "{" in path:
                headers.setdefault("Last-Modified", LAST_MODIFIED_HEADER)
            responses.setdefault("304", NOT_MODIFIED_RESPONSE)
    return result

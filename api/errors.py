"""The single place that turns every failure into the contract's error bodies (api.md §7)."""

import logging
from collections import OrderedDict

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from api import error_codes, flavours
from ecf.errors import InvalidAction, ServiceValidationError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.api+json"
NOT_FOUND_BODY = {"error": "Resource not Found"}
BAD_JSON_DETAIL = "correct json data structure required. See API docs for reference"
# The rewrite's 404 (api.md §12).
RECT_NOT_FOUND_TITLE = "Resource not found"
RECT_NOT_FOUND_DETAIL = "Nothing could be found for the provided details"


class BadRequest(exceptions.APIException):
    """A parameter problem: 400 with a fixed title ("Bad request" / "Bad parameter")."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str, title: str = "Bad request"):
        super().__init__(detail)
        self.title = title


def errors_body(errors: list[tuple], flavour: str = flavours.ORIGINAL) -> dict:
    """The `errors` list of a 400/422 in the caller's contract flavour. Each error is
    `(title, detail)` (its code found from the message, api.error_codes) or `(title, detail, code)`.

    The original's shape: one item per attribute, its distinct messages joined with ", " in first-seen
    order; the item's `code` is its first message's. The rewrite's shape: api.rect.errors."""
    coded = [_with_code(error) for error in errors]
    if flavour == flavours.RECT:
        from api.rect.errors import rect_errors

        return {"errors": rect_errors(coded)}
    grouped: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()
    for title, detail, code in coded:
        messages = grouped.setdefault(title, [])
        if all(detail != seen for seen, _ in messages):
            messages.append((detail, code))
    return {
        "errors": [
            {"title": title, "detail": ", ".join(detail for detail, _ in messages), "code": messages[0][1]}
            for title, messages in grouped.items()
        ]
    }


def _with_code(error: tuple) -> tuple[str, str, str]:
    if len(error) == 3:
        return error
    title, detail = error
    return title, detail, error_codes.code_for(detail)


def not_found_body(flavour: str) -> dict:
    if flavour == flavours.RECT:
        return errors_body([(RECT_NOT_FOUND_TITLE, RECT_NOT_FOUND_DETAIL, "resource.not_found")], flavour)
    return NOT_FOUND_BODY


def exception_handler(exc, context):
    flavour = flavours.of_request(context.get("request"))
    if isinstance(exc, ServiceValidationError):
        return Response(errors_body(exc.errors, flavour), status=422)
    if isinstance(exc, InvalidAction):
        return Response(errors_body([("Invalid action", exc.message)], flavour), status=422)
    if isinstance(exc, BadRequest):
        return Response(errors_body([(exc.title, str(exc.detail))], flavour), status=400)
    if isinstance(exc, exceptions.ParseError):
        return Response(errors_body([("Bad request", BAD_JSON_DETAIL)], flavour), status=400)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = Response({"error": "HTTP Token: Access denied"}, status=401)
        response["WWW-Authenticate"] = 'Token realm="Application"'
        return response
    if isinstance(exc, exceptions.PermissionDenied):
        return Response(None, status=403)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return Response(not_found_body(flavour), status=404)
    if isinstance(exc, exceptions.MethodNotAllowed):
        # decisions §5: a 405 in the error envelope is more honest than the original's 404.
        body = errors_body([("Method not allowed", str(exc.detail), "request.method_not_allowed")], flavour)
        return Response(body, status=405)
    if isinstance(exc, exceptions.Throttled):
        response = Response(
            errors_body([("Too many requests", "Retry later", "request.too_many")], flavour), status=429
        )
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait))
        return response
    if isinstance(exc, exceptions.APIException):
        return Response(errors_body([("Bad request", str(exc.detail))], flavour), status=exc.status_code)
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
    return Response({"error": "Internal server error"}, status=500)


def _json(body: dict, status_code: int) -> JsonResponse:
    return JsonResponse(body, status=status_code, content_type=CONTENT_TYPE)


@csrf_exempt  # a write to an unknown API path is a 404 like a read, never Django's CSRF page
def not_found(request, exception=None):
    """Django's 404 handler: the contract's body under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return _json(not_found_body(flavours.of_request(request)), 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return _json({"error": "Internal server error"}, 500)
    from django.views.defaults import server_error as default_server_error

    return default_server_error(request)

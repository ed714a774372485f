"""The single place that turns every failure into the contract's error bodies (api.md §7)."""

import logging
from collections import OrderedDict

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from ecf.errors import InvalidAction, ServiceValidationError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.api+json"
NOT_FOUND_BODY = {"error": "Resource not Found"}
BAD_JSON_DETAIL = "correct json data structure required. See API docs for reference"


class BadRequest(exceptions.APIException):
    """A parameter problem: 400 with a fixed title ("Bad request" / "Bad parameter")."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str, title: str = "Bad request"):
        super().__init__(detail)
        self.title = title


def errors_body(errors: list[tuple[str, str]]) -> dict:
    """One item per attribute, its distinct messages joined with ", " in first-seen order."""
    grouped: OrderedDict[str, list[str]] = OrderedDict()
    for title, detail in errors:
        messages = grouped.setdefault(title, [])
        if detail not in messages:
            messages.append(detail)
    return {"errors": [{"title": title, "detail": ", ".join(messages)} for title, messages in grouped.items()]}


def exception_handler(exc, context):
    if isinstance(exc, ServiceValidationError):
        return Response(errors_body(exc.errors), status=422)
    if isinstance(exc, InvalidAction):
        return Response(errors_body([("Invalid action", exc.message)]), status=422)
    if isinstance(exc, BadRequest):
        return Response(errors_body([(exc.title, str(exc.detail))]), status=400)
    if isinstance(exc, exceptions.ParseError):
        return Response(errors_body([("Bad request", BAD_JSON_DETAIL)]), status=400)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = Response({"error": "HTTP Token: Access denied"}, status=401)
        response["WWW-Authenticate"] = 'Token realm="Application"'
        return response
    if isinstance(exc, exceptions.PermissionDenied):
        return Response(None, status=403)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return Response(NOT_FOUND_BODY, status=404)
    if isinstance(exc, exceptions.MethodNotAllowed):
        # decisions §5: a 405 in the error envelope is more honest than the original's 404.
        return Response(errors_body([("Method not allowed", str(exc.detail))]), status=405)
    if isinstance(exc, exceptions.Throttled):
        response = Response(errors_body([("Too many requests", "Retry later")]), status=429)
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait))
        return response
    if isinstance(exc, exceptions.APIException):
        return Response(errors_body([("Bad request", str(exc.detail))]), status=exc.status_code)
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
    return Response({"error": "Internal server error"}, status=500)


def _json(body: dict, status_code: int) -> JsonResponse:
    return JsonResponse(body, status=status_code, content_type=CONTENT_TYPE)


@csrf_exempt  # a write to an unknown API path is a 404 like a read, never Django's CSRF page
def not_found(request, exception=None):
    """Django's 404 handler: the contract's body under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return _json(NOT_FOUND_BODY, 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return _json({"error": "Internal server error"}, 500)
    from django.views.defaults import server_error as default_server_error

    return default_server_error(request)

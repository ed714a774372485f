"""Bearer tokens → lead provider (api.md §2). Digests and lookups live in participants.tokens."""

from django.http import HttpRequest
from rest_framework import authentication, exceptions, permissions

from participants.models import ApiToken, LeadProvider
from participants.tokens import active_api_token

# Set on the Django request by whoever resolved the token first (api.ratelimit, before DRF runs),
# so one request looks its token up once.
RESOLVED_TOKEN = "_resolved_api_token"


class NotAuthenticated(exceptions.NotAuthenticated):
    default_detail = "HTTP Token: Access denied"


def raw_token(header: str) -> str:
    """The secret in any accepted spelling: `Bearer X` (any spacing), `Token X`, `Token token="X"`."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme == "Bearer":
        return value
    if scheme == "Token":
        if value.startswith('token="') and value.endswith('"'):
            return value[len('token="') : -1]
        return value.removeprefix("token=")
    return ""


def request_api_token(request: HttpRequest) -> ApiToken | None:
    """The active token the request's Authorization header carries, looked up once per request."""
    if not hasattr(request, RESOLVED_TOKEN):
        raw = raw_token(request.META.get("HTTP_AUTHORIZATION", ""))
        setattr(request, RESOLVED_TOKEN, active_api_token(raw) if raw else None)
    return getattr(request, RESOLVED_TOKEN)


class LeadProviderTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` (or the framework's `Token token="<token>"` form)."""

    def authenticate(self, request):
        token = request_api_token(request._request)
        if token is None:
            raise NotAuthenticated()
        lead_provider = token.lead_provider
        request.lead_provider = lead_provider
        request._request.lead_provider = lead_provider  # read by api.request_log, outside DRF
        return (lead_provider, token)

    _raw_token = staticmethod(raw_token)  # benchmark/floor.py reads tokens the same way

    def authenticate_header(self, request):
        return 'Token realm="Application"'


class IsLeadProvider(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(getattr(request, "user", None), LeadProvider)

"""Bearer tokens → lead provider (api.md §2). Digests and lookups live in participants.tokens."""

from rest_framework import authentication, exceptions, permissions

from participants.models import LeadProvider
from participants.tokens import lead_provider_for_token


class NotAuthenticated(exceptions.NotAuthenticated):
    default_detail = "HTTP Token: Access denied"


def raw_token(header: str) -> str:
    """The token of `Authorization: Bearer <token>` (or the framework's `Token token="<token>"` form)."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme == "Bearer":
        return value
    if scheme == "Token":
        if value.startswith('token="') and value.endswith('"'):
            return value[len('token="') : -1]
        return value.removeprefix("token=")
    return ""


class LeadProviderTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` (or the framework's `Token token="<token>"` form)."""

    def authenticate(self, request):
        raw = raw_token(request.META.get("HTTP_AUTHORIZATION", ""))
        if not raw:
            raise NotAuthenticated()
        # api.flavours.FlavourMiddleware has already looked up /api/v3/ tokens (to choose the URL conf).
        looked_up = getattr(request._request, "authenticated_lead_provider", None)
        reuse = looked_up is not None and looked_up[0] == raw
        lead_provider = looked_up[1] if reuse else lead_provider_for_token(raw)
        if lead_provider is None:
            raise NotAuthenticated()
        request.lead_provider = lead_provider
        request._request.lead_provider = lead_provider  # read by api.request_log, outside DRF
        return (lead_provider, raw)

    _raw_token = staticmethod(raw_token)  # benchmark/floor.py reads tokens the same way

    def authenticate_header(self, request):
        return 'Token realm="Application"'


class IsLeadProvider(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(getattr(request, "user", None), LeadProvider)

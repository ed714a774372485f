"""Bearer tokens → lead provider (api.md §2). Digests and lookups live in participants.tokens."""

from rest_framework import authentication, exceptions, permissions

from participants.models import LeadProvider
from participants.tokens import lead_provider_for_token


class NotAuthenticated(exceptions.NotAuthenticated):
    default_detail = "HTTP Token: Access denied"


class LeadProviderTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` (or the framework's `Token token="<token>"` form)."""

    def authenticate(self, request):
        raw = self._raw_token(request.META.get("HTTP_AUTHORIZATION", ""))
        if not raw:
            raise NotAuthenticated()
        lead_provider = lead_provider_for_token(raw)
        if lead_provider is None:
            raise NotAuthenticated()
        request.lead_provider = lead_provider
        request._request.lead_provider = lead_provider  # read by api.request_log, outside DRF
        return (lead_provider, raw)

    def authenticate_header(self, request):
        return 'Token realm="Application"'

    @staticmethod
    def _raw_token(header: str) -> str:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme == "Bearer":
            return value
        if scheme == "Token":
            if value.startswith('token="') and value.endswith('"'):
                return value[len('token="') : -1]
            return value.removeprefix("token=")
        return ""


class IsLeadProvider(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(getattr(request, "user", None), LeadProvider)

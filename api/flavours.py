"""Contract flavours: which DfE service's v3 a provider's client was built against (issue 15).

A lead provider speaks the original's contract (the default) or the rewrite's; the choice is stored
on the provider (participants.LeadProvider.contract_flavour), because a provider's client, its data
and its contract go together, whichever of its tokens it uses. `/api/v3/` is served from the
flavour's URL conf: `FlavourMiddleware` authenticates the token once, before URL resolution, and
points a rewrite-flavoured provider's request at api/rect/root_urls.py. v1 and v2 exist only in the
original's flavour, so every provider gets the original's v1 and v2.
"""

from django.urls import Resolver404, resolve

from participants.models import ContractFlavour

ORIGINAL = ContractFlavour.ORIGINAL.value
RECT = ContractFlavour.REWRITE.value
RECT_URLCONF = "api.rect.root_urls"
FLAVOURED_PREFIX = "/api/v3/"


def of_request(request) -> str:
    """The flavour a request is answered in (the original's when nothing chose another)."""
    return getattr(request, "api_flavour", ORIGINAL) if request is not None else ORIGINAL


def _only_the_rewrite_has(path: str) -> bool:
    def resolves(urlconf) -> bool:
        try:
            match = resolve(path, urlconf=urlconf)
        except Resolver404:
            return False
        return match.url_name is not None and match.namespace != ""

    return not resolves(None) and resolves(RECT_URLCONF)


class FlavourMiddleware:
    """Chooses the URL conf of `/api/v3/` by the calling provider's flavour.

    The token is looked up here once; the DRF authentication reuses the result
    (`api.authentication.LeadProviderTokenAuthentication`), so no request pays for two lookups.
    Requests without a valid token stay on the original's URL conf and get its 401.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(FLAVOURED_PREFIX):
            from api.authentication import raw_token, request_api_token

            raw = raw_token(request.META.get("HTTP_AUTHORIZATION", ""))
            # One lookup per request, shared with the rate limit and DRF's authentication.
            token = request_api_token(request)
            lead_provider = token.lead_provider if token else None
            request.authenticated_lead_provider = (raw, lead_provider)
            if lead_provider is not None and lead_provider.contract_flavour == RECT:
                request.api_flavour = RECT
                request.urlconf = RECT_URLCONF
            elif lead_provider is None and _only_the_rewrite_has(request.path_info):
                # No token to tell the flavour by: a path only the rewrite has gets its 401, not a 404.
                request.urlconf = RECT_URLCONF
        return self.get_response(request)

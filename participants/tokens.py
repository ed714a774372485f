"""API tokens: issued once, stored only as an HMAC digest, revocable (api.md §2)."""

import hashlib
import hmac
import secrets
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from ecf import clock
from participants.models import ApiToken, LeadProvider

# Only write last_used_at when it is this stale, so a busy integration does not turn every
# read into a write.
LAST_USED_RESOLUTION_SECONDS = 60
TOKEN_PREFIX = "ecf_"


def token_digest(raw_token: str) -> str:
    key = hashlib.sha256(("api-token:" + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, raw_token.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def api_token_create(*, lead_provider: LeadProvider, raw_token: str | None = None, label: str = "") -> str:
    """Issue a token and return it; only its digest is kept. `raw_token` fixes it (sandbox, scenarios)."""
    # A recognisable prefix tells a leaked secret apart at a glance, and keeps the token from ever
    # starting with "-", which a command line (revoke_api_token --token …) would read as an option.
    raw = raw_token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.update_or_create(
        digest=token_digest(raw), defaults={"lead_provider": lead_provider, "label": label, "revoked_at": None}
    )
    return raw


@transaction.atomic
def api_token_revoke(*, lead_provider: LeadProvider, raw_token: str | None = None) -> int:
    """Revoke one token (when given) or every active token of the provider; returns how many."""
    tokens = ApiToken.objects.filter(lead_provider=lead_provider, revoked_at__isnull=True)
    if raw_token is not None:
        tokens = tokens.filter(digest=token_digest(raw_token))
    return tokens.update(revoked_at=clock.now())


def active_api_token(raw_token: str) -> ApiToken | None:
    """The unrevoked token with this secret (its provider loaded), or None."""
    # The lookup compares digests, never raw secrets; compare_digest keeps the final check
    # constant-time whatever the index does.
    digest = token_digest(raw_token)
    token = ApiToken.objects.select_related("lead_provider").filter(digest=digest, revoked_at__isnull=True).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    _record_use(token)
    return token


def lead_provider_for_token(raw_token: str) -> LeadProvider | None:
    token = active_api_token(raw_token)
    return token.lead_provider if token else None


def _record_use(token: ApiToken) -> None:
    now = clock.now()
    if token.last_used_at and (now - token.last_used_at).total_seconds() < LAST_USED_RESOLUTION_SECONDS:
        return
    ApiToken.objects.filter(pk=token.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now)).update(
        last_used_at=now
    )


def find_lead_provider(name_or_id: str) -> LeadProvider | None:
    """A provider by exact id, or by name ignoring case."""
    try:
        by_id = LeadProvider.objects.filter(pk=uuid.UUID(name_or_id.strip())).first()
    except ValueError:  # not a UUID, so it can only be a name
        by_id = None
    return by_id or LeadProvider.objects.filter(name__iexact=name_or_id.strip()).first()

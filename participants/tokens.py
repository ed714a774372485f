"""API tokens: issued once, stored only as an HMAC digest, revocable (api.md §2)."""

import hashlib
import hmac
import secrets
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from ecf import clock
from ecf.compiled_query import CompiledQuery
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
    token = _token_with_provider(_ACTIVE_TOKEN.first(digest=digest))
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    _record_use(token)
    return token


# Every API request looks its token up: compiled once per process (ecf.compiled_query), where the ORM
# built the same select_related query again on every request (issue 19).
_TOKEN_FIELDS = [field.attname for field in ApiToken._meta.concrete_fields]
_PROVIDER_FIELDS = [field.attname for field in LeadProvider._meta.concrete_fields]


def _active_token_query(*, digest: str):
    provider_columns = {f"provider_{name}": F(f"lead_provider__{name}") for name in _PROVIDER_FIELDS}
    active = ApiToken.objects.filter(digest=digest, revoked_at__isnull=True)
    return active.values(*_TOKEN_FIELDS, **provider_columns)[:1]


_ACTIVE_TOKEN = CompiledQuery(_active_token_query)


def _token_with_provider(row: dict | None) -> ApiToken | None:
    """The token and its provider as the ORM would have loaded them (select_related)."""
    if row is None:
        return None
    token = ApiToken.from_db(None, _TOKEN_FIELDS, [row[name] for name in _TOKEN_FIELDS])
    token.lead_provider = LeadProvider.from_db(
        None, _PROVIDER_FIELDS, [row[f"provider_{name}"] for name in _PROVIDER_FIELDS]
    )
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

"""Parsing of `filter[...]` and `sort` with the contract's exact 400 errors (api.md §6)."""

import uuid
from datetime import datetime
from urllib.parse import unquote

from api.errors import BadRequest
from ecf import rfc3339
from participants.models import TrainingStatus

UPDATED_SINCE_ERROR = "The filter '#/updated_since' must be a valid RCF3339 date"
TRAINING_STATUS_ERROR = 'The filter \'#/training_status\' must be ["active", "deferred", "withdrawn"]'
REQUIRED_COHORT_ERROR = "The filter '#/cohort' must be included in your request"
FILTER_NOT_A_HASH = "Filter must be a hash"
UUID_FILTER_ERROR = "The filter '#/{name}' must be a valid UUID"
# PostgreSQL text cannot hold U+0000: a value carrying one would fail in the query it filters.
NUL_IN_FILTER = "The filter '#/{name}' cannot contain the NUL character (%00)"
# Without filter[cohort], lists only show cohorts after this year (api.md §6.3).
DEFAULT_MIN_COHORT_EXCLUSIVE = 2020


class Filters:
    """The `filter[...]` members of a query string, read with the contract's rules."""

    def __init__(self, query_params):
        if "filter" in query_params:
            # `?filter=abc`: the original expects a hash here.
            raise BadRequest(FILTER_NOT_A_HASH, title="Bad parameter")
        self._params = query_params

    def raw(self, name: str) -> str | None:
        # `filter[cohort][cohort]` is the literal reading of the published schools parameters
        # (each a deepObject of the whole filter object); it means the same as `filter[cohort]`.
        value = self._params.get(f"filter[{name}]")
        if value is None:
            value = self._params.get(f"filter[{name}][{name}]")
        if value is not None and "\x00" in value:
            raise BadRequest(NUL_IN_FILTER.format(name=name))
        return value

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def updated_since(self) -> datetime | None:
        raw = self.raw("updated_since")
        if raw is None or raw.strip() == "":
            return None
        parsed = rfc3339.parse(raw) or rfc3339.parse(unquote(raw))  # clients that encode twice
        if parsed is None:
            raise BadRequest(UPDATED_SINCE_ERROR)
        return parsed

    def cohorts(self) -> list[int] | None:
        """Start years of `filter[cohort]=2023,2024`; None when absent or empty (no filter, as the
        original). Values that can never match (unknown years, non-numbers) match nothing."""
        raw = self.raw("cohort")
        if raw is None or not _comma_list(raw):
            return None
        return [year for year in map(_as_year, _comma_list(raw)) if year is not None]

    def required_cohort(self) -> int | None:
        """Schools take a single, required year; an empty or unknown one matches nothing (None)."""
        raw = self.raw("cohort")
        if raw is None:
            raise BadRequest(REQUIRED_COHORT_ERROR, title="Bad parameter")
        return _as_year(raw.strip())

    def uuids(self, name: str) -> list[uuid.UUID] | None:
        """A comma list of ids; None when absent or empty; values that are not UUIDs match nothing (v3)."""
        raw = self.raw(name)
        if raw is None or not _comma_list(raw):
            return None
        return [value for value in (_as_uuid(part) for part in _comma_list(raw)) if value is not None]

    def single_uuid_strict(self, name: str) -> uuid.UUID | None:
        """v1/v2 `filter[participant_id]`: one id; a non-UUID is a 400."""
        raw = self.raw(name)
        if raw is None or raw == "":
            return None
        value = _as_uuid(raw.strip())
        if value is None:
            raise BadRequest(UUID_FILTER_ERROR.format(name=name))
        return value

    def training_status(self) -> str | None:
        raw = self.raw("training_status")
        if raw is None or raw == "":
            return None
        if raw not in TrainingStatus.values:
            raise BadRequest(TRAINING_STATUS_ERROR)
        return raw


def cohort_condition(cohorts: list[int] | None, field: str) -> dict:
    """The queryset filter for a cohort list, or the default restriction when absent."""
    if cohorts is None:
        return {f"{field}__gt": DEFAULT_MIN_COHORT_EXCLUSIVE}
    return {f"{field}__in": cohorts}


def parse_sort(raw: str | None, allowed: dict[str, str]) -> list[str] | None:
    """`sort=-updated_at,created_at` → ORM order_by terms; unknown names are ignored (api.md §6.4).

    `allowed` maps a published key to the model field it sorts on. None when nothing usable is left.
    """
    if not raw:
        return None
    terms = []
    for part in _comma_list(raw):
        descending = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name in allowed:
            terms.append(("-" if descending else "") + allowed[name])
    return terms or None


def _comma_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _as_year(value: str) -> int | None:
    """A start year, or None for anything that cannot be one. ASCII digits only: `isdigit()` alone
    accepts "²", which int() refuses, and thousands of digits are more than int() will parse."""
    if not (value.isascii() and value.isdigit()):
        return None
    digits = value.lstrip("0") or "0"
    return int(digits) if len(digits) <= 4 else None


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def parse_uuid(value: str) -> uuid.UUID | None:
    """A path id: anything that is not a UUID is treated as an unknown id."""
    return _as_uuid(value)

"""`filter[...]` and `sort` with the contract's exact 400 errors (api.md §6), as django-filter FilterSets.

Each list endpoint declares its filters as a `ContractFilterSet` (in its version's module, shared by
import where two endpoints read the same filters). One declaration does two jobs:

* **Parsing.** A filter's form field turns the raw `filter[name]` text into the typed value the
  selectors take (a list of start years, a datetime, a list of UUIDs, ...) or raises the contract's
  400. `filters["cohort"]` reads one value; it is validated when first read, not all at once, because
  the contract's first error is that of the first parameter the endpoint reads, and the reads
  interleave with paging (`page[...]` is checked between the `filter` hash and the values in v3).
* **Documentation.** drf-spectacular's django-filter extension documents each filter as a
  `filter[name]` query parameter (api/schema.py, `ActionFilterSets`), from the same declaration, so
  the document cannot drift from what is parsed.

What django-filter does not do here, and why (docs/filters.md):

* Applying a filter to a queryset (`FilterSet.qs`). How a filter applies is a domain rule (a cohort
  filter matches the latest period's schedule cohort, its absence means "after 2020", v1/v2
  `updated_since` is strict) that the selectors own and page on, so the views hand the selectors the
  parsed values. The FilterSets have no model or queryset.
* The contract's value rules (lenient comma lists, the "RCF3339" message, NUL, the schools'
  `filter[cohort][cohort]` reading) are ours: each is one small form field below.
"""

import uuid
from datetime import datetime
from urllib.parse import unquote

import django_filters
from django import forms
from django.core.exceptions import ValidationError

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
# The contract titles a missing parameter "Bad parameter" and a bad value "Bad request" (api.md §7.2).
BAD_PARAMETER = "Bad parameter"
BAD_REQUEST = "Bad request"


# --- Reading a `filter[name]` value --------------------------------------------------------------


class FilterInput(forms.TextInput):
    """Reads `filter[name]` from the query string (the last value when repeated, as QueryDict.get).

    `filter[cohort][cohort]` is the literal reading of the published schools parameters (each a
    deepObject of the whole filter object); it means the same as `filter[cohort]`, on every endpoint."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value is None:
            value = data.get(f"{name}[{_bare(name)}]")
        return value


class ContractFilterForm(forms.Form):
    """The form behind every ContractFilterSet: its fields are named `filter[<name>]` in the query."""

    def add_prefix(self, field_name):
        return f"filter[{field_name}]"


class FilterValueField(forms.Field):
    """One filter's raw text (None when absent) → its typed value, or a ValidationError carrying the
    contract's message. Never `required` in Django's sense: an empty value is not a missing one."""

    widget = FilterInput

    def __init__(self, *, name: str, **kwargs):
        super().__init__(required=False, **kwargs)
        self.name = name

    def __deepcopy__(self, memo):
        # Every form Django builds deep-copies its fields (and their widgets) so that one request may
        # change them; nothing changes these, so every request shares one (a deep copy per filter
        # made parsing 15 times slower than the hand parser it replaced).
        return self

    def to_python(self, value: str | None):
        if value is not None and "\x00" in value:
            raise ValidationError(NUL_IN_FILTER.format(name=self.name))
        return self.parse(value)

    def parse(self, raw: str | None):
        """The raw text itself (`urn`, `type`): the view reads it as the contract says."""
        return raw


class CohortsField(FilterValueField):
    def parse(self, raw: str | None) -> list[int] | None:
        """Start years of `2023,2024`; None when absent or empty (no filter, as the original). Values
        that can never match (unknown years, non-numbers) match nothing."""
        if raw is None or not _comma_list(raw):
            return None
        return [year for year in map(_as_year, _comma_list(raw)) if year is not None]


class RequiredCohortField(FilterValueField):
    def parse(self, raw: str | None) -> int | None:
        """Schools take a single, required year; an empty or unknown one matches nothing (None)."""
        if raw is None:
            raise ValidationError(REQUIRED_COHORT_ERROR, code="required")
        return _as_year(raw.strip())


class UpdatedSinceField(FilterValueField):
    def parse(self, raw: str | None) -> datetime | None:
        if raw is None or raw.strip() == "":
            return None
        parsed = rfc3339.parse(raw) or rfc3339.parse(unquote(raw))  # clients that encode twice
        if parsed is None:
            raise ValidationError(UPDATED_SINCE_ERROR)
        return parsed


class UUIDsField(FilterValueField):
    def parse(self, raw: str | None) -> list[uuid.UUID] | None:
        """A comma list of ids; None when absent or empty; values that are not UUIDs match nothing (v3)."""
        if raw is None or not _comma_list(raw):
            return None
        return [value for value in (_as_uuid(part) for part in _comma_list(raw)) if value is not None]


class StrictUUIDField(FilterValueField):
    def parse(self, raw: str | None) -> uuid.UUID | None:
        """v1/v2 `filter[participant_id]`: one id; a non-UUID is a 400."""
        if raw is None or raw == "":
            return None
        value = _as_uuid(raw.strip())
        if value is None:
            raise ValidationError(UUID_FILTER_ERROR.format(name=self.name))
        return value


class TrainingStatusField(FilterValueField):
    def parse(self, raw: str | None) -> str | None:
        if raw is None or raw == "":
            return None
        if raw not in TrainingStatus.values:
            raise ValidationError(TRAINING_STATUS_ERROR)
        return raw


# --- Filters and FilterSets -----------------------------------------------------------------------


class ContractFilter(django_filters.CharFilter):
    """One `filter[name]`: text on the wire (so drf-spectacular documents a string, `choices` as its
    enum and `help_text` as its description), parsed by `field_class`; this one keeps the raw text."""

    field_class = FilterValueField

    def __deepcopy__(self, memo):
        # Each FilterSet copies its filters to set their `parent`; a shallow copy is enough (the
        # declaration is never changed) and shares the one form field (FilterValueField.__deepcopy__).
        duplicate = object.__new__(type(self))
        duplicate.__dict__.update(self.__dict__)
        return duplicate

    @property
    def field(self):
        if not hasattr(self, "_field"):
            self._field = self.field_class(name=self.field_name, help_text=self.extra.get("help_text"))
        return self._field


class CohortsFilter(ContractFilter):
    field_class = CohortsField


class RequiredCohortFilter(ContractFilter):
    """Documented as required; the field checks presence itself (an empty value is not a missing one)."""

    field_class = RequiredCohortField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, required=True, **kwargs)


class UpdatedSinceFilter(ContractFilter):
    field_class = UpdatedSinceField


class UUIDsFilter(ContractFilter):
    field_class = UUIDsField


class StrictUUIDFilter(ContractFilter):
    field_class = StrictUUIDField


class TrainingStatusFilter(ContractFilter):
    field_class = TrainingStatusField


class _NoQueryset:
    """django-filter's constructor reads its queryset's model; these FilterSets parse, the selectors
    filter (module docstring), so there is neither."""

    model = None


class ContractFilterSet(django_filters.FilterSet):
    """The `filter[...]` members of a query string, read with the contract's rules.

    Binding checks that `filter` is a hash (api.md §6.3: every endpoint, before anything else);
    `filterset["name"]` is that filter's typed value, validated when first read (module docstring).
    """

    class Meta:
        form = ContractFilterForm

    @classmethod
    def get_form_class(cls):
        # The form's fields are the declaration's, the same for every request: built once per class.
        if "_form_class" not in cls.__dict__:
            fields = {name: filter_.field for name, filter_ in cls.base_filters.items()}
            cls._form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
        return cls._form_class

    def __init__(self, query_params):
        if "filter" in query_params:
            # `?filter=abc`: the original expects a hash here.
            raise BadRequest(FILTER_NOT_A_HASH, title=BAD_PARAMETER)
        super().__init__(query_params, queryset=_NoQueryset)
        self._values = {}

    def __getitem__(self, name: str):
        if name not in self._values:
            form = self.form
            field = form.fields[name]
            # What BoundField.data reads, without building a BoundField (a third of a read's time).
            raw = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
            try:
                self._values[name] = field.clean(raw)
            except ValidationError as error:
                raise _bad_request(error) from None
        return self._values[name]


class NoFilterSet(ContractFilterSet):
    """Endpoints that read no filter still refuse a `filter` that is not a hash (api.md §6.3)."""


def _bad_request(error: ValidationError) -> BadRequest:
    title = BAD_PARAMETER if error.code == "required" else BAD_REQUEST
    return BadRequest(error.messages[0], title=title)


# --- Conditions and sorting ------------------------------------------------------------------------


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


def _bare(parameter: str) -> str:
    """`filter[cohort]` → `cohort`."""
    return parameter[len("filter[") : -1]


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

"""v3 schools, always seen through one cohort (rules §8.1, api.md §9.5, §10.3).

Not scoped to the provider: every provider sees the same schools. `filter[cohort]` is required
on list and show alike.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from api.filters import ContractFilter, ContractFilterSet, RequiredCohortFilter, UpdatedSinceFilter, parse_sort
from api.pagination import parse_page
from api.schema import BAD_REQUEST, NOT_FOUND, PAGE_PARAMETER, UNAUTHORISED, UUID_PATH_PARAMETER, sort_parameter
from api.views import ProviderViewSet
from ecf.rfc3339 import format_timestamp
from participants import selectors
from participants.models import InductionProgrammeChoice

# api.md §8: the internal choices as published since the 2025 programme-type change.
PROGRAMME_CHOICE_SHOWN = {
    InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME: "provider_led",
    InductionProgrammeChoice.SCHOOL_FUNDED_FIP: "provider_led",
    InductionProgrammeChoice.CORE_INDUCTION_PROGRAMME: "school_led",
    InductionProgrammeChoice.DESIGN_OUR_OWN: "school_led",
    InductionProgrammeChoice.NO_EARLY_CAREER_TEACHERS: "no_early_career_teachers",
    InductionProgrammeChoice.NOT_YET_KNOWN: "not_yet_known",
}
PROGRAMME_CHOICES = ["provider_led", "school_led", "no_early_career_teachers", "not_yet_known"]
# `updated_at` is the published key; it sorts on the value shown (school or school cohort).
SORT_KEYS = {"updated_at": "last_updated_at", "created_at": "created_at"}


# --- The shape, for the schema -----------------------------------------------------------


class ECFSchoolAttributesSerializer(serializers.Serializer):
    name = serializers.CharField()
    urn = serializers.CharField()
    cohort = serializers.CharField()
    in_partnership = serializers.BooleanField()
    induction_programme_choice = serializers.ChoiceField(choices=PROGRAMME_CHOICES)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ECFSchoolSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="school")
    attributes = ECFSchoolAttributesSerializer()


class ECFSchoolResponseSerializer(serializers.Serializer):
    data = ECFSchoolSerializer()


class MultipleECFSchoolsResponseSerializer(serializers.Serializer):
    data = ECFSchoolSerializer(many=True)


COHORT_HELP = "One start year, e.g. `2024`. Required."


class SchoolFilterSet(ContractFilterSet):
    cohort = RequiredCohortFilter(help_text=COHORT_HELP)
    urn = ContractFilter(help_text="A school's URN (exact match).")
    updated_since = UpdatedSinceFilter(
        help_text="RFC 3339 date-time; the school or its school cohort updated at or after."
    )


class SchoolShowFilterSet(ContractFilterSet):
    cohort = RequiredCohortFilter(help_text=COHORT_HELP)


# The whole filter object, as the published contract's schools parameters describe each filter.
SCHOOL_FILTER_OBJECT = {
    "type": "object",
    "properties": {
        name: {"type": "string", "description": filter_.extra["help_text"]}
        for name, filter_ in SchoolFilterSet.base_filters.items()
    },
}


def _school_filter(name: str, *, required: bool = False) -> OpenApiParameter:
    """Each school filter is its own deepObject parameter whose schema is the whole filter object,
    exactly as the published contract documents it (so these are written here, not by the FilterSet
    extension, which names a filter `filter[cohort]` with a string schema: the contract checks would
    miss `filter[cohort][cohort]` and its siblings). Read literally that describes
    `filter[cohort][cohort]=2024`; api.filters.FilterInput accepts that form as well as the usual
    `filter[cohort]=2024`, so a client following either the document or its examples is served."""
    return OpenApiParameter(
        f"filter[{name}]",
        SCHOOL_FILTER_OBJECT,
        OpenApiParameter.QUERY,
        required=required,
        style="deepObject",
        explode=True,
        description="Refine schools to return: `filter[cohort]=2024` (also accepted: `filter[cohort][cohort]=2024`).",
    )


# --- Rendering -----------------------------------------------------------------------------

SCHOOL_COLUMNS = ("id", "name", "urn", "in_partnership", "programme_choice", "created_at", "last_updated_at")


def render_schools(cohort_id: int, rows: list[dict]) -> list[dict]:
    return [
        {
            "id": str(row["id"]),
            "type": "school",
            "attributes": {
                "name": row["name"],
                "urn": row["urn"],
                "cohort": str(cohort_id),
                "in_partnership": row["in_partnership"],
                # No school cohort yet: the school has not told anyone its choice.
                "induction_programme_choice": PROGRAMME_CHOICE_SHOWN.get(row["programme_choice"], "not_yet_known"),
                "created_at": format_timestamp(row["created_at"]),
                "updated_at": format_timestamp(row["last_updated_at"]),
            },
        }
        for row in rows
    ]


# --- Endpoints -------------------------------------------------------------------------------


class SchoolViewSet(ProviderViewSet):
    @extend_schema(
        summary="Retrieve multiple ECF schools scoped to cohort",
        operation_id="schools_list",
        tags=["ECF schools"],
        parameters=[
            _school_filter("cohort", required=True),
            _school_filter("urn"),
            _school_filter("updated_since"),
            PAGE_PARAMETER,
            sort_parameter(["updated_at"], ""),
        ],
        responses={200: MultipleECFSchoolsResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        filters = SchoolFilterSet(request.query_params)
        cohort_id = filters["cohort"]
        page = parse_page(request.query_params)
        updated_since = filters["updated_since"]
        if cohort_id is None:
            return self.respond([])
        schools = selectors.schools_for_cohort(cohort_id)
        urn = filters["urn"]
        if urn:
            schools = schools.filter(urn=urn.strip())
        if updated_since is not None:
            schools = schools.filter(last_updated_at__gte=updated_since)
        order = parse_sort(request.query_params.get("sort"), SORT_KEYS) or ["created_at"]
        rows = list(page.slice(schools.order_by(*order, "id").values(*SCHOOL_COLUMNS)))
        return self.respond(render_schools(cohort_id, rows))

    @extend_schema(
        summary="Get a single ECF school scoped to cohort",
        operation_id="school_show",
        tags=["ECF schools"],
        parameters=[UUID_PATH_PARAMETER, _school_filter("cohort", required=True)],
        responses={200: ECFSchoolResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        cohort_id = SchoolShowFilterSet(request.query_params)["cohort"]
        school_id = self.path_uuid(pk)
        if cohort_id is None:
            raise self.not_found()
        row = selectors.schools_for_cohort(cohort_id).filter(id=school_id).values(*SCHOOL_COLUMNS).first()
        if row is None:
            raise self.not_found()
        return self.respond(render_schools(cohort_id, [row])[0])

"""v3 unfunded mentors: mentors of this provider's ECTs whom it does not train (rules §8.2, api.md §9.9, §10.3)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from api.filters import ContractFilterSet, UpdatedSinceFilter, parse_sort
from api.pagination import parse_page
from api.schema import (
    BAD_REQUEST,
    NOT_FOUND,
    PAGE_PARAMETER,
    UNAUTHORISED,
    UUID_PATH_PARAMETER,
    sort_parameter,
)
from api.views import ProviderViewSet
from ecf.rfc3339 import format_timestamp
from participants import selectors

TAG = "unfunded mentors"
# `updated_at` is the published key; `created_at` is accepted too, as on the other v3 lists.
SORT_KEYS = {"created_at": "created_at", "updated_at": "updated_at"}
PUBLISHED_SORT_KEYS = ["updated_at"]


# --- The shape, for the schema -----------------------------------------------------------


class UnfundedMentorAttributesSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    email = serializers.CharField()
    teacher_reference_number = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class UnfundedMentorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="unfunded-mentor")
    attributes = UnfundedMentorAttributesSerializer()


class UnfundedMentorResponseSerializer(serializers.Serializer):
    data = UnfundedMentorSerializer()


class UnfundedMentorListResponseSerializer(serializers.Serializer):
    data = UnfundedMentorSerializer(many=True)


class UnfundedMentorFilterSet(ContractFilterSet):
    updated_since = UpdatedSinceFilter(help_text="RFC 3339 date-time; mentors updated at or after.")


# --- Rendering -----------------------------------------------------------------------------

MENTOR_COLUMNS = ("id", "full_name", "email", "trn", "created_at", "updated_at")


def render_unfunded_mentors(lead_provider_id, people: list[dict]) -> list[dict]:
    """These mentors as the provider sees them, in the given order (one query for their enrolments)."""
    details = selectors.unfunded_mentor_details(lead_provider_id, participant_ids=[person["id"] for person in people])
    return [_mentor(person, details.get(person["id"], {})) for person in people]


def _mentor(person: dict, detail: dict) -> dict:
    return {
        "id": str(person["id"]),
        "type": "unfunded-mentor",
        "attributes": {
            "full_name": person["full_name"],
            "email": detail.get("latest_email") or person["email"],
            # The TRN captured at validation stands in until the person's own is known (as v1 does).
            "teacher_reference_number": person["trn"] or detail.get("validation_trn") or None,
            "created_at": format_timestamp(person["created_at"]),
            "updated_at": format_timestamp(person["updated_at"]),
        },
    }


# --- Endpoints -------------------------------------------------------------------------------


class UnfundedMentorViewSet(ProviderViewSet):
    filtersets = {"list": UnfundedMentorFilterSet}

    @extend_schema(
        summary="Retrieve multiple unfunded mentors",
        operation_id="unfunded_mentors_list",
        tags=[TAG],
        parameters=[
            PAGE_PARAMETER,
            sort_parameter(PUBLISHED_SORT_KEYS, "UnfundedMentorsSort"),
        ],
        responses={200: UnfundedMentorListResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        filters = UnfundedMentorFilterSet(request.query_params)
        page = parse_page(request.query_params)
        mentors = selectors.unfunded_mentors(request.user.id)
        updated_since = filters["updated_since"]
        if updated_since is not None:
            mentors = mentors.filter(updated_at__gte=updated_since)
        order = parse_sort(request.query_params.get("sort"), SORT_KEYS) or ["created_at"]
        rows = list(page.slice(mentors.order_by(*order, "id").values(*MENTOR_COLUMNS)))
        return self.respond(render_unfunded_mentors(request.user.id, rows))

    @extend_schema(
        summary="Get a single unfunded mentor",
        operation_id="unfunded_mentor_show",
        tags=[TAG],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: UnfundedMentorResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        mentor_id = self.path_uuid(pk)
        person = selectors.unfunded_mentors(request.user.id).filter(id=mentor_id).values(*MENTOR_COLUMNS).first()
        if person is None:
            raise self.not_found()
        return self.respond(render_unfunded_mentors(request.user.id, [person])[0])

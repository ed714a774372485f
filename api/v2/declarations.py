"""v2 participant declarations: v1's without `eligible_for_payment` and `voided` (api.md §9.3, §10.2).

A fresh flat serializer and renderer, never a subclass of v1's (design.md §2): a change to the v1
shape cannot reach v2. Which declarations are listed and how a POST or void runs are the same in
both versions, so those are imported from v1.
"""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action

from api.schema import (
    BAD_REQUEST,
    DRY_RUN_PARAMETER,
    NOT_FOUND,
    PAGE_PARAMETER,
    UNAUTHORISED,
    UNPROCESSABLE,
    UUID_PATH_PARAMETER,
)
from api.v1.csv import csv_schema_response
from api.v1.declarations import (
    CREATE_DESCRIPTION,
    CREATE_SUMMARY,
    CSV_RESPONSES,
    CSV_SUMMARY,
    FILTER_PARAMETER,
    LIST_SUMMARY,
    POST_REQUEST,
    SHOW_SUMMARY,
    TAG,
    VOID_DESCRIPTION,
    VOID_SUMMARY,
    declaration_csv,
    declaration_page,
    shown_declaration,
    submit_declaration,
    void_declaration,
)
from api.views import ProviderViewSet
from ecf.rfc3339 import format_timestamp
from participants.models import CourseIdentifier, DeclarationType

# The states the published v2 document lists; v2 sends the clawback states as well (api.md §14.12).
PUBLISHED_STATES = ["submitted", "eligible", "payable", "paid", "voided", "ineligible"]
UNPUBLISHED_STATES = ["awaiting-clawback", "clawed-back"]
CSV_EXAMPLE = (
    "id,participant_id,declaration_type,course_identifier,declaration_date,updated_at,state,has_passed\n"
    "c88eb9a9-773a-4f53-9716-121b981154d8,825f0a27-af62-43cb-8d80-fd1ec7599f62,started,ecf-induction,"
    "2021-08-26T15:38:52Z,2021-08-26T15:38:52Z,eligible,\n"
)


# --- The shape, for the schema -----------------------------------------------------------


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "enum": PUBLISHED_STATES},
            {
                "type": "string",
                "enum": UNPUBLISHED_STATES,
                "description": "Sent by v2 although its original document leaves them out.",
            },
        ]
    }
)
class V2StateField(serializers.CharField):
    pass


class ParticipantDeclarationAttributesSerializer(serializers.Serializer):
    participant_id = serializers.UUIDField()
    declaration_type = serializers.ChoiceField(choices=DeclarationType.values)
    course_identifier = serializers.ChoiceField(choices=CourseIdentifier.values)
    declaration_date = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    state = V2StateField()
    has_passed = serializers.BooleanField(allow_null=True, help_text="Always null for ECF.")


class ParticipantDeclarationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="participant-declaration")
    attributes = ParticipantDeclarationAttributesSerializer()


class ParticipantDeclarationResponseSerializer(serializers.Serializer):
    data = ParticipantDeclarationSerializer()


class ParticipantDeclarationListResponseSerializer(serializers.Serializer):
    data = ParticipantDeclarationSerializer(many=True)


# --- Rendering -----------------------------------------------------------------------------


def render_declaration(row: dict) -> dict:
    """One api.v1.declarations.DECLARATION_COLUMNS row in the v2 shape (api.md §9.3 key order)."""
    return {
        "id": str(row["id"]),
        "type": "participant-declaration",
        "attributes": {
            "participant_id": str(row["participant_id"]),
            "declaration_type": row["declaration_type"],
            "course_identifier": row["course_identifier"],
            "declaration_date": format_timestamp(row["declaration_date"]),
            "updated_at": format_timestamp(row["updated_at"]),
            "state": row["state"].replace("_", "-"),
            "has_passed": None,  # an NPQ leftover (rules §4.1)
        },
    }


# --- Endpoints -------------------------------------------------------------------------------


class ParticipantDeclarationViewSet(ProviderViewSet):
    @extend_schema(
        summary=LIST_SUMMARY,
        operation_id="participant_declarations_list",
        tags=[TAG],
        parameters=[FILTER_PARAMETER, PAGE_PARAMETER],
        responses={200: ParticipantDeclarationListResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        return self.respond([render_declaration(row) for row in declaration_page(request)])

    @extend_schema(
        summary=CSV_SUMMARY,
        operation_id="participant_declarations_csv",
        tags=[TAG],
        parameters=[FILTER_PARAMETER],
        responses={
            (200, "text/csv"): csv_schema_response("The declarations list as CSV.", CSV_EXAMPLE),
            **CSV_RESPONSES,
        },
    )
    def csv(self, request):
        return declaration_csv(request, render_declaration)

    @extend_schema(
        summary=SHOW_SUMMARY,
        operation_id="participant_declaration_show",
        tags=[TAG],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: ParticipantDeclarationResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        row = shown_declaration(request, self.path_uuid(pk))
        if row is None:
            raise self.not_found()
        return self.respond(render_declaration(row))

    @extend_schema(
        summary=CREATE_SUMMARY,
        description=CREATE_DESCRIPTION,
        operation_id="participant_declaration_create",
        tags=[TAG],
        parameters=[DRY_RUN_PARAMETER],
        request=POST_REQUEST,
        responses={
            200: ParticipantDeclarationResponseSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORISED,
            422: UNPROCESSABLE,
        },
    )
    def create(self, request):
        return self.respond(render_declaration(submit_declaration(request)))

    @extend_schema(
        summary=VOID_SUMMARY,
        description=VOID_DESCRIPTION,
        operation_id="participant_declaration_void",
        tags=[TAG],
        parameters=[UUID_PATH_PARAMETER],
        request=None,
        responses={
            200: ParticipantDeclarationResponseSerializer,
            401: UNAUTHORISED,
            404: NOT_FOUND,
            422: UNPROCESSABLE,
        },
    )
    @action(detail=True, methods=["put"], url_path="void")
    def void(self, request, pk=None):
        row = void_declaration(request, self.path_uuid(pk))
        if row is None:
            raise self.not_found()
        return self.respond(render_declaration(row))

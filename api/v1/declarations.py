"""v1 participant declarations (api.md §9.3, §10.1, §10.4; rules §4.11 sets 1 and 2).

v1 shows two deprecated booleans, `eligible_for_payment` and `voided`, that v2 dropped; v2 has its
own flat serializer and renderer (api/v2/declarations.py) and imports from here only the parts
that are the same in both: which declarations are listed, and how a POST or a void is carried out.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from api.filters import ContractFilterSet, StrictUUIDFilter, UpdatedSinceFilter
from api.pagination import parse_page
from api.schema import (
    BAD_REQUEST,
    DRY_RUN_PARAMETER,
    NOT_FOUND,
    PAGE_PARAMETER,
    UNAUTHORISED,
    UNPROCESSABLE,
    UUID_PATH_PARAMETER,
)
from api.v1.csv import csv_response, csv_schema_response
from api.v3.declarations import DECLARATION_STATES, declaration_request_schema
from api.views import ProviderViewSet, attributes_of, dry_run_requested
from declarations import selectors
from declarations.models import Declaration, DeclarationState
from declarations.services import declaration_submit, declaration_void
from declarations.state_machine import Actor
from ecf.planner import index_lookups
from ecf.rfc3339 import format_timestamp
from participants.models import CourseIdentifier, DeclarationType

TAG = "Participant declarations"
# Everything a v1 or v2 declaration shows, in one row.
DECLARATION_COLUMNS = (
    "id",
    "participant_id",
    "declaration_type",
    "course_identifier",
    "declaration_date",
    "updated_at",
    "state",
)
# The deprecated v1 flag: "will be paid", so not once it has been (api.md §16.13).
ELIGIBLE_FOR_PAYMENT_STATES = (DeclarationState.ELIGIBLE, DeclarationState.PAYABLE)
CSV_EXAMPLE = (
    "id,participant_id,declaration_type,course_identifier,eligible_for_payment,declaration_date,updated_at,voided,"
    "state,has_passed\n"
    "c88eb9a9-773a-4f53-9716-121b981154d8,825f0a27-af62-43cb-8d80-fd1ec7599f62,started,ecf-induction,true,"
    "2021-08-26T15:38:52Z,2021-08-26T15:38:52Z,false,eligible,\n"
)


# --- The shape, for the schema -----------------------------------------------------------


class ParticipantDeclarationAttributesSerializer(serializers.Serializer):
    participant_id = serializers.UUIDField()
    declaration_type = serializers.ChoiceField(choices=DeclarationType.values)
    course_identifier = serializers.ChoiceField(choices=CourseIdentifier.values)
    eligible_for_payment = serializers.BooleanField(help_text="Deprecated: true only while eligible or payable.")
    declaration_date = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    voided = serializers.BooleanField(help_text="Deprecated: true only in state `voided` (not for clawbacks).")
    state = serializers.ChoiceField(choices=DECLARATION_STATES)
    has_passed = serializers.BooleanField(allow_null=True, help_text="Always null for ECF.")


class ParticipantDeclarationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="participant-declaration")
    attributes = ParticipantDeclarationAttributesSerializer()


class ParticipantDeclarationResponseSerializer(serializers.Serializer):
    data = ParticipantDeclarationSerializer()


class ParticipantDeclarationListResponseSerializer(serializers.Serializer):
    data = ParticipantDeclarationSerializer(many=True)


class ParticipantDeclarationFilterSet(ContractFilterSet):
    """The list, its CSV and show (api.md §10.1), in v1 and v2."""

    participant_id = StrictUUIDFilter(help_text="One participant id; a value that is not a UUID is a 400.")
    updated_since = UpdatedSinceFilter(help_text="RFC 3339 date-time; declarations updated strictly after it.")
    statement_id = StrictUUIDFilter(
        help_text="One statement id: your declarations it pays (or paid) or claws back; a value that is not a "
        "UUID is a 400."
    )


# --- Rendering -----------------------------------------------------------------------------


def render_declaration(row: dict) -> dict:
    """One DECLARATION_COLUMNS row in the v1 shape (key order of api.md §9.3, so the CSV's too)."""
    state = row["state"]
    return {
        "id": str(row["id"]),
        "type": "participant-declaration",
        "attributes": {
            "participant_id": str(row["participant_id"]),
            "declaration_type": row["declaration_type"],
            "course_identifier": row["course_identifier"],
            "eligible_for_payment": state in ELIGIBLE_FOR_PAYMENT_STATES,
            "declaration_date": format_timestamp(row["declaration_date"]),
            "updated_at": format_timestamp(row["updated_at"]),
            "voided": state == DeclarationState.VOIDED,
            "state": state.replace("_", "-"),
            "has_passed": None,  # an NPQ leftover (rules §4.1)
        },
    }


# --- Reads and writes shared with v2 (same behaviour, different shape) ---------------------------


def filtered_declaration_ids(request):
    """The ids of the declarations the provider reads in v1/v2 under the request's filters, oldest first."""
    filters = ParticipantDeclarationFilterSet(request.query_params)
    return selectors.visible_declaration_ids(
        request.user.id,
        include_leaving=False,  # v1/v2 never show a leaver's old declarations (api.md §15)
        participant_ids=_as_list(filters["participant_id"]),
        updated_after=filters["updated_since"],  # strict in v1/v2 (api.md §6.2)
        statement_ids=_as_list(filters["statement_id"]),
    )


def filtered_declarations(request):
    """The declarations the provider reads in v1/v2 under the request's filters, oldest first."""
    return Declaration.objects.filter(id__in=filtered_declaration_ids(request)).order_by("created_at", "id")


def _as_list(value) -> list | None:
    return None if value is None else [value]


def declaration_page(request) -> list[dict]:
    """A page of DECLARATION_COLUMNS rows of the list."""
    # The page is cut from the read model's range scan, then only its rows are read whole, by primary key.
    ids = filtered_declaration_ids(request)
    page_ids = list(parse_page(request.query_params).slice(ids))
    rows = Declaration.objects.filter(id__one_of=page_ids).order_by("created_at", "id").values(*DECLARATION_COLUMNS)
    with index_lookups():
        return list(rows)


def declaration_csv(request, render):
    return csv_response(filtered_declarations(request).values(*DECLARATION_COLUMNS), render)


def shown_declaration(request, declaration_id) -> dict | None:
    """Show applies the list's filters too (api.md §10.1); None when not visible."""
    return filtered_declarations(request).filter(id=declaration_id).values(*DECLARATION_COLUMNS).first()


def declaration_row(lead_provider_id, declaration_id) -> dict:
    """A declaration the provider has just written (its own, so always visible)."""
    visible = selectors.visible_declarations(lead_provider_id, include_leaving=False)
    return visible.filter(id=declaration_id).values(*DECLARATION_COLUMNS).get()


def submit_declaration(request) -> dict:
    """POST: the same service as every version; the answer is the row it wrote (DECLARATION_COLUMNS),
    never re-read, so a connection lost after the commit cannot make it an error (issue 13.3)."""
    declaration = declaration_submit(
        lead_provider=request.user, attributes=attributes_of(request), dry_run=dry_run_requested(request)
    )
    return {column: getattr(declaration, column) for column in DECLARATION_COLUMNS}


def void_declaration(request, declaration_id) -> dict | None:
    """PUT …/void: only the provider's own declarations (others are None, a 404: rules §5.3)."""
    declaration = selectors.own_declaration(request.user.id, declaration_id)
    if declaration is None:
        return None
    declaration_void(declaration=declaration, actor=Actor.provider(request.user))
    return declaration_row(request.user.id, declaration.id)


# --- Schema pieces shared with v2 --------------------------------------------------------------

# Documented on the list and its CSV; show reads them undocumented, as the original.
FILTERSETS = {"list": ParticipantDeclarationFilterSet, "csv": ParticipantDeclarationFilterSet}
POST_REQUEST = {"application/json": declaration_request_schema()}  # the same body in every version
LIST_SUMMARY = "List all participant declarations"
CSV_SUMMARY = "Retrieve all participant declarations in CSV format"
SHOW_SUMMARY = "Get single participant declaration"
CREATE_SUMMARY = "Declare a participant has reached a milestone"
CREATE_DESCRIPTION = "Not idempotent: resending a declaration that holds its event is refused with a `base` error."
VOID_SUMMARY = "Void a declaration - it will not be soft-deleted"
VOID_DESCRIPTION = "An unpaid declaration becomes voided; a paid one awaits clawback on the next output statement."
CSV_RESPONSES = {400: BAD_REQUEST, 401: UNAUTHORISED}


# --- Endpoints -------------------------------------------------------------------------------


class ParticipantDeclarationViewSet(ProviderViewSet):
    filtersets = FILTERSETS

    @extend_schema(
        summary=LIST_SUMMARY,
        operation_id="participant_declarations_list",
        tags=[TAG],
        parameters=[PAGE_PARAMETER],
        responses={200: ParticipantDeclarationListResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        return self.respond([render_declaration(row) for row in declaration_page(request)])

    @extend_schema(
        summary=CSV_SUMMARY,
        operation_id="participant_declarations_csv",
        tags=[TAG],
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

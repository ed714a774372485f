"""v3 participant declarations: reads (api.md §9.3, §10.3; rules §4.1, §4.7, §4.8, §4.11).

The render functions are shared by every v3 operation that answers with a declaration (list,
show, and the POST and void that come later): they take rows of `DECLARATION_COLUMNS` and `DECLARATION_TIMESTAMPS`.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from api.cursor import cursor_page, parse_cursor, respond_with_next
from api.filters import CohortsFilter, ContractFilterSet, UpdatedSinceFilter, UUIDsFilter
from api.pagination import parse_page
from api.schema import (
    BAD_REQUEST,
    CURSOR_PAGE_PARAMETER,
    DRY_RUN_PARAMETER,
    NOT_FOUND,
    UNAUTHORISED,
    UNPROCESSABLE,
    UUID_PATH_PARAMETER,
    WalkLinksSerializer,
)
from api.views import ProviderViewSet, attributes_of, dry_run_requested
from declarations import selectors
from declarations.models import (
    BILLABLE_STATES,
    REFUNDABLE_STATES,
    Declaration,
    DeclarationState,
    EvidenceHeld,
    IneligibilityReason,
)
from declarations.selectors import own_declaration
from declarations.services import declaration_submit, declaration_void
from declarations.state_machine import Actor
from ecf.db_functions import Rfc3339, UuidText
from ecf.planner import index_lookups
from ecf.rfc3339 import format_timestamp
from participants.models import CourseIdentifier, DeclarationType

# Stored with underscores, shown with dashes (api.md §8).
DECLARATION_STATES = [state.replace("_", "-") for state in DeclarationState.values]
# The stored reason is renamed on output; any future reason would pass through unchanged (api.md §8).
SHOWN_INELIGIBILITY_REASONS = {IneligibilityReason.DUPLICATE: "duplicate_declaration"}
# The money has gone out (or is being taken back) only in these states, so only they report an uplift.
UPLIFT_PAID_STATES = (DeclarationState.PAID, DeclarationState.AWAITING_CLAWBACK, DeclarationState.CLAWED_BACK)
# statement_id is the statement of the billable line: while billable, and kept once a paid
# declaration is being clawed back (PV-21); null for submitted, ineligible and voided (rules §4.8).
STATEMENT_SHOWN_STATES = (*BILLABLE_STATES, *REFUNDABLE_STATES)


# --- The shape, for the schema -----------------------------------------------------------


class ParticipantDeclarationAttributesSerializer(serializers.Serializer):
    participant_id = serializers.UUIDField()
    declaration_type = serializers.ChoiceField(choices=DeclarationType.values)
    course_identifier = serializers.ChoiceField(choices=CourseIdentifier.values)
    declaration_date = serializers.DateTimeField()
    mentor_id = serializers.UUIDField(allow_null=True)
    state = serializers.ChoiceField(choices=DECLARATION_STATES)
    updated_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    delivery_partner_id = serializers.UUIDField(allow_null=True)
    statement_id = serializers.UUIDField(allow_null=True)
    clawback_statement_id = serializers.UUIDField(allow_null=True)
    ineligible_for_funding_reason = serializers.ChoiceField(
        choices=list(SHOWN_INELIGIBILITY_REASONS.values()), allow_null=True
    )
    uplift_paid = serializers.BooleanField()
    evidence_held = serializers.ChoiceField(choices=EvidenceHeld.values, allow_null=True)
    has_passed = serializers.BooleanField(allow_null=True, help_text="Always null for ECF.")
    lead_provider_name = serializers.CharField(help_text="The provider that submitted the declaration.")


class ParticipantDeclarationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="participant-declaration")
    attributes = ParticipantDeclarationAttributesSerializer()


class ParticipantDeclarationResponseSerializer(serializers.Serializer):
    data = ParticipantDeclarationSerializer()


class ParticipantDeclarationListResponseSerializer(serializers.Serializer):
    data = ParticipantDeclarationSerializer(many=True)
    links = WalkLinksSerializer(required=False, help_text="Only in a `page[cursor]` walk.")


class ParticipantDeclarationFilterSet(ContractFilterSet):
    cohort = CohortsFilter(help_text="Comma-separated start years of the declaration's cohort.")
    participant_id = UUIDsFilter(help_text="Comma-separated participant ids.")
    updated_since = UpdatedSinceFilter(help_text="RFC 3339 date-time; records updated at or after.")
    delivery_partner_id = UUIDsFilter(help_text="Comma-separated delivery partner ids.")
    statement_id = UUIDsFilter(
        help_text="Comma-separated statement ids: your declarations each statement pays (or paid) or claws back, "
        "to reconcile a statement's amounts line by line."
    )


# --- Rendering -----------------------------------------------------------------------------

# Everything a declaration's representation needs, in one row (no other query).
DECLARATION_COLUMNS = (
    "declaration_type",
    "course_identifier",
    "state",
    "ineligibility_reason",
    "pupil_premium_uplift",
    "sparsity_uplift",
    "evidence_held",
    "lead_provider__name",
)
# Ids and timestamps come back as the text the API shows (ecf.db_functions): a 3000-row page
# otherwise loads 18,000 ids as UUIDs and 9,000 timestamps as datetimes only to print them again.
DECLARATION_IDS = ("id", "participant_id", "mentor_id", "delivery_partner_id", "statement_id", "clawback_statement_id")
DECLARATION_TIMESTAMPS = {
    **{f"{column}_text": UuidText(column) for column in DECLARATION_IDS},
    "declaration_date_text": Rfc3339("declaration_date"),
    "updated_at_text": Rfc3339("updated_at"),
    "created_at_text": Rfc3339("created_at"),
}


def render_declarations(rows: list[dict]) -> list[dict]:
    """The v3 representation of these declaration rows (`DECLARATION_COLUMNS`), in the given order."""
    return [_declaration(row) for row in rows]


def render_declaration(lead_provider_id, declaration_id) -> dict | None:
    """One declaration as the provider sees it, or None when the provider cannot read it (one query)."""
    declarations = selectors.visible_declarations(lead_provider_id).filter(id=declaration_id)
    row = declarations.values(*DECLARATION_COLUMNS, **DECLARATION_TIMESTAMPS).first()
    return None if row is None else _declaration(row)


def render_written_declaration(declaration: Declaration) -> dict:
    """A declaration this request has just written, from the row it wrote (no query): a connection
    lost after the commit cannot turn a stored declaration into an error answer (issue 13.3)."""
    row = {column: getattr(declaration, column) for column in DECLARATION_COLUMNS if "__" not in column}
    row["lead_provider__name"] = declaration.lead_provider.name
    for column in DECLARATION_IDS:
        row[f"{column}_text"] = _str_or_none(getattr(declaration, column))  # `participant_id`: the raw id
    row["declaration_date_text"] = format_timestamp(declaration.declaration_date)
    row["updated_at_text"] = format_timestamp(declaration.updated_at)
    row["created_at_text"] = format_timestamp(declaration.created_at)
    return _declaration(row)


def _declaration(row: dict) -> dict:
    state = row["state"]
    return {
        "id": row["id_text"],
        "type": "participant-declaration",
        "attributes": {
            "participant_id": row["participant_id_text"],
            "declaration_type": row["declaration_type"],
            "course_identifier": row["course_identifier"],
            "declaration_date": row["declaration_date_text"],
            "mentor_id": row["mentor_id_text"],
            "state": state.replace("_", "-"),
            "updated_at": row["updated_at_text"],
            "created_at": row["created_at_text"],
            "delivery_partner_id": row["delivery_partner_id_text"],
            "statement_id": row["statement_id_text"] if state in STATEMENT_SHOWN_STATES else None,
            # Set exactly while awaiting or after clawback (a database constraint keeps it so).
            "clawback_statement_id": row["clawback_statement_id_text"],
            "ineligible_for_funding_reason": _ineligible_for_funding_reason(row),
            "uplift_paid": _uplift_paid(row),
            "evidence_held": row["evidence_held"],
            "has_passed": None,  # an NPQ leftover (rules §4.1)
            "lead_provider_name": row["lead_provider__name"],
        },
    }


def _ineligible_for_funding_reason(row: dict) -> str | None:
    reason = row["ineligibility_reason"]
    if reason is None or row["state"] != DeclarationState.INELIGIBLE:
        return None
    return SHOWN_INELIGIBILITY_REASONS.get(reason, reason)


def _uplift_paid(row: dict) -> bool:
    """Uplifts are paid on an ECT's `started` only, once paid (rules §4.7)."""
    return (
        row["course_identifier"] == CourseIdentifier.ECF_INDUCTION
        and row["declaration_type"] == DeclarationType.STARTED
        and row["state"] in UPLIFT_PAID_STATES
        and (row["sparsity_uplift"] or row["pupil_premium_uplift"])
    )


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


# --- Writes ------------------------------------------------------------------------------------

E = EvidenceHeld
_BASIC = [E.TRAINING_EVENT_ATTENDED, E.SELF_STUDY_MATERIAL_COMPLETED, E.OTHER]
_ENGAGEMENT = [E.TRAINING_EVENT_ATTENDED, E.SELF_STUDY_MATERIAL_COMPLETED, E.MATERIALS_ENGAGED_WITH_OFFLINE, E.OTHER]
_SEVENTY_FIVE = [E.SEVENTY_FIVE_PERCENT_ENGAGEMENT_MET, E.SEVENTY_FIVE_PERCENT_ENGAGEMENT_MET_REDUCED_INDUCTION]
_RETAINED = ["retained-1", "retained-2", "retained-3", "retained-4"]
_EXTENDED = ["extended-1", "extended-2", "extended-3"]
_BOTH_COURSES = [CourseIdentifier.ECF_INDUCTION, CourseIdentifier.ECF_MENTOR]

# The request shapes of the contract, per cohort and participant (rules §4.2, §4.3):
# (variant, [(kind, declaration types, courses, allowed evidence or None when not sent, evidence required)]).
DECLARATION_REQUEST_VARIANTS = [
    (
        "Cohorts up to 2024",
        [
            ("started", ["started"], _BOTH_COURSES, None, False),
            ("retained", _RETAINED, _BOTH_COURSES, _BASIC, True),
            ("completed", ["completed"], _BOTH_COURSES, _BASIC, True),
            ("extended", _EXTENDED, _BOTH_COURSES, _BASIC, True),
        ],
    ),
    (
        "ECTs from the 2025 cohort",
        [
            ("started", ["started"], [CourseIdentifier.ECF_INDUCTION], _ENGAGEMENT, False),
            ("retained", _RETAINED, [CourseIdentifier.ECF_INDUCTION], _ENGAGEMENT + _SEVENTY_FIVE, True),
            (
                "completed",
                ["completed"],
                [CourseIdentifier.ECF_INDUCTION],
                [*_SEVENTY_FIVE, E.ONE_TERM_INDUCTION],
                True,
            ),
            ("extended", _EXTENDED, [CourseIdentifier.ECF_INDUCTION], _ENGAGEMENT, True),
        ],
    ),
    (
        "Mentors from the 2025 cohort",
        [
            ("started", ["started"], [CourseIdentifier.ECF_MENTOR], _ENGAGEMENT, False),
            ("completed", ["completed"], [CourseIdentifier.ECF_MENTOR], _SEVENTY_FIVE, True),
        ],
    ),
]


def _attributes_variant(kind, declaration_types, courses, evidence, evidence_required) -> dict:
    properties = {
        "participant_id": {"type": "string", "description": "The participant's id (a retired id still works)."},
        "declaration_type": {"type": "string", "enum": declaration_types},
        "declaration_date": {"type": "string", "format": "date-time", "description": "RFC 3339, not in the future."},
        "course_identifier": {"type": "string", "enum": [str(course) for course in courses]},
    }
    required = ["participant_id", "declaration_type", "declaration_date", "course_identifier"]
    if evidence is not None:
        properties["evidence_held"] = {"type": "string", "enum": [str(value) for value in evidence]}
        if evidence_required:
            required.append("evidence_held")
    return {"type": "object", "title": f"{kind} declaration", "required": required, "properties": properties}


def declaration_request_schema() -> dict:
    """The POST body, as a JSON:API envelope whose attributes depend on the cohort and participant."""
    data_variants = [
        {
            "type": "object",
            "title": title,
            "properties": {
                "type": {"type": "string", "enum": ["participant-declaration"]},
                "attributes": {"type": "object", "anyOf": [_attributes_variant(*variant) for variant in variants]},
            },
        }
        for title, variants in DECLARATION_REQUEST_VARIANTS
    ]
    return {"type": "object", "required": ["data"], "properties": {"data": {"type": "object", "anyOf": data_variants}}}


class ParticipantDeclarationViewSet(ProviderViewSet):
    filtersets = {"list": ParticipantDeclarationFilterSet}

    @extend_schema(
        summary="List participant declarations",
        operation_id="participant_declarations_list",
        tags=["Participant declarations"],
        parameters=[CURSOR_PAGE_PARAMETER],
        responses={200: ParticipantDeclarationListResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        filters = ParticipantDeclarationFilterSet(request.query_params)
        page = parse_page(request.query_params)
        declarations = selectors.visible_declaration_ids(
            request.user.id,
            # Declarations have no default cohort restriction (api.md §6.3).
            cohorts=filters["cohort"],
            participant_ids=filters["participant_id"],
            delivery_partner_ids=filters["delivery_partner_id"],
            updated_since=filters["updated_since"],
            statement_ids=filters["statement_id"],
        )
        # The page is cut on the sort keys alone, then only its rows are read whole: sorting every
        # visible declaration with all its columns spilled to disk on a large provider (docs/benchmarks.md).
        cursor = parse_cursor(request.query_params)
        if cursor is not None:  # a change-cursor walk
            page_ids, following = cursor_page(
                declarations, cursor, key=("created_at", "declaration_id"), per_page=page.per_page
            )
        else:
            page_ids = list(page.slice(declarations))  # a list: a subquery made the planner scan every row
        rows = (
            Declaration.objects.filter(id__one_of=page_ids)
            .order_by("created_at", "id")
            .values(*DECLARATION_COLUMNS, **DECLARATION_TIMESTAMPS)
        )
        with index_lookups():  # the page's rows by primary key (ecf.planner)
            rows = list(rows)
        if cursor is not None:
            return respond_with_next(render_declarations(rows), request, following)
        return self.respond(render_declarations(rows))

    @extend_schema(
        summary="Retrieve a single participant declaration",
        operation_id="participant_declaration_show",
        tags=["Participant declarations"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: ParticipantDeclarationResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        data = render_declaration(request.user.id, self.path_uuid(pk))
        if data is None:
            raise self.not_found()
        return self.respond(data)

    @extend_schema(
        summary="Declare a participant has reached a milestone",
        description="Not idempotent: resending a declaration that holds its event is refused with a `base` error.",
        operation_id="participant_declaration_create",
        tags=["Participant declarations"],
        parameters=[DRY_RUN_PARAMETER],
        request={"application/json": declaration_request_schema()},
        responses={
            200: ParticipantDeclarationResponseSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORISED,
            422: UNPROCESSABLE,
        },
    )
    def create(self, request):
        declaration = declaration_submit(
            lead_provider=request.user, attributes=attributes_of(request), dry_run=dry_run_requested(request)
        )
        return self.respond(render_written_declaration(declaration))

    @extend_schema(
        summary="Void a declaration",
        description="An unpaid declaration becomes voided; a paid one awaits clawback on the next output statement.",
        operation_id="participant_declaration_void",
        tags=["Participant declarations"],
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
        declaration = own_declaration(request.user.id, self.path_uuid(pk))
        if declaration is None:
            raise self.not_found()
        declaration_void(declaration=declaration, actor=Actor.provider(request.user))
        return self.respond(render_declaration(request.user.id, declaration.id))

"""v1 participants: one item per training record, flat (api.md §9.1, §10.1, §10.4).

v2's participants are the same in every respect (api.md §10.2), so api/v2/urls.py routes these
very classes; a v2 difference would get a fresh flat class in api/v2, never a subclass.

Each item is built from one row of `participants.selectors.training_records`: the provider's
latest period of one enrolment (the period v3's enrolment views report), read under the v3 keys and
derived by api/representations.py, so the versions cannot disagree on a value.
"""

from django.db.models import Case, IntegerField, Value, When
from django.db.models.functions import Greatest
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from api import representations as rep
from api.filters import CohortsFilter, ContractFilterSet, UpdatedSinceFilter, cohort_condition
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
from api.v3.participants import (
    CHANGE_SCHEDULE_REQUEST,
    DEFER_REQUEST,
    RESUME_REQUEST,
    SCHEDULE_IDENTIFIERS,
    WITHDRAW_REQUEST,
)
from api.views import ProviderViewSet, dry_run_capable, participant_action
from ecf.db_functions import Rfc3339
from ecf.planner import index_lookups
from participants import selectors
from participants.models import EnrolmentKind, TrainingPeriod, TrainingStatus

# Exactly what a flat item shows, under the keys of the v3 enrolment view (ENROLMENT_VIEW_COLUMNS)
# that api/representations.py reads, plus the person's name; `last_updated_at` is the latest of the
# person, enrolment and period timestamps (api.md §9.1), computed by the database.
TRAINING_RECORD_COLUMNS = (
    "enrolment_id",
    "enrolment__participant_id",
    "enrolment__participant__full_name",
    "enrolment__participant__email",
    "enrolment__participant__trn",
    "enrolment__kind",
    "enrolment__eligibility_status",
    "enrolment__eligibility_reason",
    "enrolment__validation_trn",
    "enrolment__pupil_premium_uplift",
    "enrolment__sparsity_uplift",
    "email",
    "mentor__participant_id",
    "school__urn",
    "cohort_id",
    "schedule__identifier",
    "training_status",
    "induction_status",
)
TRAINING_RECORD_EXPRESSIONS = {
    # As the text shown (ecf.db_functions.Rfc3339): a CSV formats tens of thousands of them.
    "last_updated_at": Rfc3339(Greatest("enrolment__participant__updated_at", "enrolment__updated_at", "updated_at"))
}
V1_STATUSES = ["active", "withdrawn"]
ECT_FIRST = Case(When(enrolment__kind=EnrolmentKind.ECT, then=Value(0)), default=Value(1), output_field=IntegerField())
TAG = "ECF participants"
ACTION_TAG = "ECF Participant"
CSV_EXAMPLE = (
    "id,email,full_name,mentor_id,school_urn,participant_type,cohort,status,teacher_reference_number,"
    "teacher_reference_number_validated,eligible_for_funding,pupil_premium_uplift,sparsity_uplift,training_status,"
    "training_record_id,schedule_identifier,updated_at\n"
    "db3a7848-7308-4879-942a-c4a70ced400a,jane.smith@some-school.example.com,Jane Smith,"
    "bb36d74a-68a7-47b6-86b6-1fd0d141c590,106286,ect,2021,active,1234567,true,true,true,true,active,"
    "b339d7a3-97a4-49c2-9ba2-8e0514276f5b,ecf-standard-september,2021-05-31T02:22:32Z\n"
)


# --- The shape, for the schema -----------------------------------------------------------


class TrainingRecordAttributesSerializer(serializers.Serializer):
    email = serializers.CharField(allow_null=True)
    full_name = serializers.CharField()
    mentor_id = serializers.UUIDField(allow_null=True, help_text="The ECT's mentor; always null for mentors.")
    school_urn = serializers.CharField()
    participant_type = serializers.ChoiceField(choices=EnrolmentKind.values)
    cohort = serializers.CharField(help_text="Start year of the school cohort.")
    status = serializers.ChoiceField(
        choices=V1_STATUSES, help_text="`withdrawn` once the school reports the record withdrawn or changed."
    )
    teacher_reference_number = serializers.CharField(allow_null=True)
    teacher_reference_number_validated = serializers.BooleanField(allow_null=True)
    eligible_for_funding = serializers.BooleanField(allow_null=True)
    pupil_premium_uplift = serializers.BooleanField()
    sparsity_uplift = serializers.BooleanField()
    training_status = serializers.ChoiceField(choices=TrainingStatus.values)
    training_record_id = serializers.UUIDField()
    schedule_identifier = serializers.ChoiceField(choices=SCHEDULE_IDENTIFIERS)
    updated_at = serializers.DateTimeField()


class TrainingRecordSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The participant id; the same person appears once per training record.")
    type = serializers.CharField(default="participant")
    attributes = TrainingRecordAttributesSerializer()


class TrainingRecordResponseSerializer(serializers.Serializer):
    data = TrainingRecordSerializer()


class TrainingRecordListResponseSerializer(serializers.Serializer):
    data = TrainingRecordSerializer(many=True)


class TrainingRecordFilterSet(ContractFilterSet):
    """The list, its CSV and show (api.md §10.1: show applies the list's filters too)."""

    cohort = CohortsFilter(help_text="Comma-separated start years, e.g. `2023,2024`; without it, cohorts after 2020.")
    updated_since = UpdatedSinceFilter(help_text="RFC 3339 date-time; participants updated at or after it.")


# An unknown or invisible participant is a 422 on participant_id, not a 404 (api.md §16.6).
ACTION_RESPONSES = {200: TrainingRecordResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED, 422: UNPROCESSABLE}


# --- Rendering -----------------------------------------------------------------------------


def training_record_rows(records):
    """The TRAINING_RECORD_COLUMNS rows of a queryset of training records (one query)."""
    return records.values(*TRAINING_RECORD_COLUMNS, **TRAINING_RECORD_EXPRESSIONS)


def render_training_record(row: dict) -> dict:
    """One TRAINING_RECORD_COLUMNS row as a v1/v2 participant; the key order is api.md §9.1's and
    so the CSV's column order (§10.4)."""
    return {
        "id": str(row["enrolment__participant_id"]),
        "type": "participant",
        "attributes": {
            "email": rep.email(row),
            "full_name": row["enrolment__participant__full_name"],
            "mentor_id": _str_or_none(rep.mentor_id(row)),
            "school_urn": row["school__urn"],
            "participant_type": row["enrolment__kind"],
            "cohort": str(row["cohort_id"]),
            "status": rep.v1_status(row),
            "teacher_reference_number": rep.teacher_reference_number(row),
            "teacher_reference_number_validated": rep.teacher_reference_number_validated(row),
            "eligible_for_funding": rep.eligible_for_funding(row),
            "pupil_premium_uplift": row["enrolment__pupil_premium_uplift"],
            "sparsity_uplift": row["enrolment__sparsity_uplift"],
            "training_status": row["training_status"],
            "training_record_id": str(row["enrolment_id"]),
            "schedule_identifier": row["schedule__identifier"],
            "updated_at": row["last_updated_at"],
        },
    }


def _str_or_none(value) -> str | None:
    return None if value is None else str(value)


def filtered_training_records(request):
    """The provider's training records under the list's filters, in the list's order (api.md §10.1)."""
    filters = TrainingRecordFilterSet(request.query_params)
    records = selectors.training_records(request.user.id, **cohort_condition(filters["cohort"], "schedule__cohort_id"))
    updated_since = filters["updated_since"]
    if updated_since is None:
        order = "enrolment__participant__created_at"
    else:
        # The person's sync timestamp decides, not the composite updated_at shown (api.md §16.9).
        records = records.filter(enrolment__participant__updated_at__gte=updated_since)
        order = "enrolment__participant__updated_at"
    return records.order_by(order, "enrolment__participant_id", "enrolment__created_at", "enrolment_id")


def training_records_response(view, request):
    """GET …/participants/ecf (and the undocumented …/participants alias): the page is cut from the
    read model's range scan, then only its rows are read whole, in the same order."""
    filters = TrainingRecordFilterSet(request.query_params)
    updated_since = filters["updated_since"]
    periods = selectors.visible_training_record_periods(
        request.user.id, updated_since=updated_since, **cohort_condition(filters["cohort"], "schedule__cohort_id")
    )
    page_periods = list(parse_page(request.query_params).slice(periods))
    person_key = "enrolment__participant__created_at" if updated_since is None else "enrolment__participant__updated_at"
    records = TrainingPeriod.objects.filter(id__one_of=page_periods).order_by(
        person_key, "enrolment__participant_id", "enrolment__created_at", "enrolment_id"
    )
    with index_lookups():  # the page's rows by primary key (ecf.planner)
        rows = list(training_record_rows(records))
    return view.respond([render_training_record(row) for row in rows])


def training_records_csv(request):
    """GET …/participants/ecf.csv (and …/participants.csv): every row, no paging (api.md §10.4)."""
    return csv_response(training_record_rows(filtered_training_records(request)), render_training_record)


def acted_on_training_record(view, lead_provider, enrolment):
    """An action's answer: the acted-on training record as the provider sees it now (api.md §9.1)."""
    row = training_record_rows(selectors.training_records(lead_provider.id, enrolment_id=enrolment.id)).first()
    if row is None:  # cannot happen: an action leaves the provider a visible period
        raise view.not_found()
    return view.respond(render_training_record(row))


def action_response(view, request, pk, action: str):
    """An action through the shared service call, answered with the acted-on training record."""
    return acted_on_training_record(view, request.user, participant_action(request, pk, action))


# --- Endpoints -------------------------------------------------------------------------------

LIST_SCHEMA = {
    "tags": [TAG],
    "parameters": [PAGE_PARAMETER],
    "responses": {200: TrainingRecordListResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
}
CSV_SCHEMA = {
    "tags": [TAG],
    "responses": {
        (200, "text/csv"): csv_schema_response("The participants list as CSV.", CSV_EXAMPLE),
        400: BAD_REQUEST,
        401: UNAUTHORISED,
    },
}


def _action_schema(summary: str, operation_id: str, request_body) -> dict:
    return {
        "summary": summary,
        "operation_id": operation_id,
        "tags": [ACTION_TAG],
        "parameters": [UUID_PATH_PARAMETER, DRY_RUN_PARAMETER],
        "request": request_body,
        "responses": ACTION_RESPONSES,
    }


WITHDRAW_SUMMARY = "Notify that an ECF participant has withdrawn from their course"
DEFER_SUMMARY = "Notify that an ECF participant is taking a break from their course"
RESUME_SUMMARY = "Notify that an ECF participant is resuming their course"
CHANGE_SCHEDULE_SUMMARY = "Notify that an ECF participant is changing training schedule"


# `participants/ecf`: list, show, CSV and the four actions (v1 and v2). Comments, not docstrings,
# on the view classes: drf-spectacular would publish a docstring as every operation's description.
class ParticipantViewSet(ProviderViewSet):
    # Documented on the list and its CSV, as the contract does; show reads them undocumented, as the original.
    filtersets = {"list": TrainingRecordFilterSet, "csv": TrainingRecordFilterSet}

    @extend_schema(summary="Retrieve multiple participants", operation_id="participants_list", **LIST_SCHEMA)
    def list(self, request):
        return training_records_response(self, request)

    @extend_schema(summary="Retrieve all participants in CSV format", operation_id="participants_csv", **CSV_SCHEMA)
    def csv(self, request):
        return training_records_csv(request)

    @extend_schema(
        summary="Get a single ECF participant",
        description="The participant's ECT training record when they have one, else their mentor record.",
        operation_id="participant_show",
        tags=[TAG],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: TrainingRecordResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        participant_id = self.path_uuid(pk)
        records = filtered_training_records(request).filter(enrolment__participant_id=participant_id)
        row = training_record_rows(records.order_by(ECT_FIRST, "enrolment__created_at")).first()
        if row is None:
            raise self.not_found()
        return self.respond(render_training_record(row))

    @extend_schema(**_action_schema(WITHDRAW_SUMMARY, "participant_withdraw", WITHDRAW_REQUEST))
    @action(detail=True, methods=["put"], url_path="withdraw")
    @dry_run_capable
    def withdraw(self, request, pk=None):
        return action_response(self, request, pk, "withdraw")

    @extend_schema(**_action_schema(DEFER_SUMMARY, "participant_defer", DEFER_REQUEST))
    @action(detail=True, methods=["put"], url_path="defer")
    @dry_run_capable
    def defer(self, request, pk=None):
        return action_response(self, request, pk, "defer")

    @extend_schema(**_action_schema(RESUME_SUMMARY, "participant_resume", RESUME_REQUEST))
    @action(detail=True, methods=["put"], url_path="resume")
    @dry_run_capable
    def resume(self, request, pk=None):
        return action_response(self, request, pk, "resume")

    @extend_schema(**_action_schema(CHANGE_SCHEDULE_SUMMARY, "participant_change_schedule", CHANGE_SCHEDULE_REQUEST))
    @action(detail=True, methods=["put"], url_path="change-schedule")
    @dry_run_capable
    def change_schedule(self, request, pk=None):
        return action_response(self, request, pk, "change-schedule")


# `participants` and `participants.csv`: the old name of the list (v1 and v2), routed by the
# original but not in its documents (api.md §10.1).
@extend_schema(exclude=True)
class ParticipantAliasViewSet(ProviderViewSet):
    def list(self, request):
        return training_records_response(self, request)

    def csv(self, request):
        return training_records_csv(request)


# v1 only: `participants/{id}/withdraw|defer|resume|change-schedule`, the actions' old paths, in the
# v1 contract. v2's router had them without a controller (api.md §10.2): v2 does not route them.
class LegacyParticipantActionViewSet(ProviderViewSet):
    @extend_schema(**_action_schema(WITHDRAW_SUMMARY, "legacy_participant_withdraw", WITHDRAW_REQUEST))
    @action(detail=True, methods=["put"], url_path="withdraw")
    @dry_run_capable
    def withdraw(self, request, pk=None):
        return action_response(self, request, pk, "withdraw")

    @extend_schema(**_action_schema(DEFER_SUMMARY, "legacy_participant_defer", DEFER_REQUEST))
    @action(detail=True, methods=["put"], url_path="defer")
    @dry_run_capable
    def defer(self, request, pk=None):
        return action_response(self, request, pk, "defer")

    @extend_schema(**_action_schema(RESUME_SUMMARY, "legacy_participant_resume", RESUME_REQUEST))
    @action(detail=True, methods=["put"], url_path="resume")
    @dry_run_capable
    def resume(self, request, pk=None):
        return action_response(self, request, pk, "resume")

    @extend_schema(
        **_action_schema(CHANGE_SCHEDULE_SUMMARY, "legacy_participant_change_schedule", CHANGE_SCHEDULE_REQUEST)
    )
    @action(detail=True, methods=["put"], url_path="change-schedule")
    @dry_run_capable
    def change_schedule(self, request, pk=None):
        return action_response(self, request, pk, "change-schedule")

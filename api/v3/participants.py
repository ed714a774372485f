"""v3 participants: one item per person, enrolments nested (api.md §9.2, §10.3)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action

from api import representations as rep
from api.cursor import cursor_page, parse_cursor, respond_with_next
from api.filters import (
    CohortsFilter,
    ContractFilterSet,
    TrainingStatusFilter,
    UpdatedSinceFilter,
    UUIDsFilter,
    cohort_condition,
    parse_sort,
)
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
    sort_parameter,
)
from api.v3.declarable import DeclarableResponseSerializer, render_declarable
from api.views import ProviderViewSet, dry_run_capable, participant_action
from ecf import clock
from participants import selectors
from participants.models import (
    CourseIdentifier,
    DeferralReason,
    EnrolmentKind,
    MentorCompletionReason,
    TrainingStatus,
)
from participants.services import ORIGINAL_WITHDRAWAL_REASONS

SCHEDULE_IDENTIFIERS = [
    f"ecf-{kind}-{month}"
    for kind in ("standard", "reduced", "extended", "replacement")
    for month in ("september", "january", "april")
]
PARTICIPANT_STATUSES = ["active", "joining", "leaving", "left", "withdrawn"]
SORT_KEYS = {"created_at": "created_at", "updated_at": "updated_at"}
CURSOR_ORDER = ["created_at", "id"]


# --- The shape, for the schema -----------------------------------------------------------


class WithdrawalSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ORIGINAL_WITHDRAWAL_REASONS)
    date = serializers.DateTimeField()


class DeferralSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DeferralReason.values)
    date = serializers.DateTimeField()


class EnrolmentSerializer(serializers.Serializer):
    training_record_id = serializers.UUIDField()
    email = serializers.CharField(allow_null=True)
    mentor_id = serializers.UUIDField(allow_null=True)
    school_urn = serializers.CharField()
    participant_type = serializers.ChoiceField(choices=EnrolmentKind.values)
    cohort = serializers.CharField()
    training_status = serializers.ChoiceField(choices=TrainingStatus.values)
    participant_status = serializers.ChoiceField(choices=PARTICIPANT_STATUSES, allow_null=True)
    teacher_reference_number_validated = serializers.BooleanField(allow_null=True)
    eligible_for_funding = serializers.BooleanField(allow_null=True)
    pupil_premium_uplift = serializers.BooleanField()
    sparsity_uplift = serializers.BooleanField()
    schedule_identifier = serializers.ChoiceField(choices=SCHEDULE_IDENTIFIERS)
    delivery_partner_id = serializers.UUIDField(allow_null=True)
    withdrawal = WithdrawalSerializer(allow_null=True)
    deferral = DeferralSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    induction_end_date = serializers.DateField(allow_null=True)
    mentor_funding_end_date = serializers.DateField(allow_null=True)
    cohort_changed_after_payments_frozen = serializers.BooleanField()
    mentor_ineligible_for_funding_reason = serializers.ChoiceField(
        choices=MentorCompletionReason.values, allow_null=True
    )


class ParticipantIdChangeSerializer(serializers.Serializer):
    from_participant_id = serializers.UUIDField()
    to_participant_id = serializers.UUIDField()
    changed_at = serializers.DateTimeField()


class ParticipantAttributesSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    teacher_reference_number = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()
    ecf_enrolments = EnrolmentSerializer(many=True)
    participant_id_changes = ParticipantIdChangeSerializer(many=True)


class ParticipantSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="participant")
    attributes = ParticipantAttributesSerializer()


class ParticipantResponseSerializer(serializers.Serializer):
    data = ParticipantSerializer()


class ParticipantListResponseSerializer(serializers.Serializer):
    data = ParticipantSerializer(many=True)
    links = WalkLinksSerializer(required=False, help_text="Only in a `page[cursor]` walk.")


class ParticipantFilterSet(ContractFilterSet):
    cohort = CohortsFilter(help_text="Comma-separated start years, e.g. `2023,2024`.")
    updated_since = UpdatedSinceFilter(help_text="RFC 3339 date-time; records updated at or after.")
    training_status = TrainingStatusFilter(help_text="`active`, `deferred` or `withdrawn`.")
    from_participant_id = UUIDsFilter(help_text="A participant id retired by a merge.")


class WithdrawAttributesSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ORIGINAL_WITHDRAWAL_REASONS)
    course_identifier = serializers.ChoiceField(choices=CourseIdentifier.values)


class DeferAttributesSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DeferralReason.values)
    course_identifier = serializers.ChoiceField(choices=CourseIdentifier.values)


class ResumeAttributesSerializer(serializers.Serializer):
    course_identifier = serializers.ChoiceField(choices=CourseIdentifier.values)


class ChangeScheduleAttributesSerializer(serializers.Serializer):
    schedule_identifier = serializers.ChoiceField(choices=SCHEDULE_IDENTIFIERS)
    course_identifier = serializers.ChoiceField(choices=CourseIdentifier.values)
    cohort = serializers.CharField(
        required=False, help_text="Start year of the target cohort (a number is accepted too); absent: unchanged."
    )


def _action_request(name: str, data_type: str, attributes: serializers.Serializer) -> serializers.Serializer:
    """`{"data": {"type": ..., "attributes": {...}}}`; the type is documented, not checked (api.md §16.7)."""
    data = inline_serializer(
        f"{name}Data", {"type": serializers.ChoiceField(choices=[data_type]), "attributes": attributes}
    )
    return inline_serializer(f"{name}Request", {"data": data})


WITHDRAW_REQUEST = _action_request("ParticipantWithdraw", "participant-withdraw", WithdrawAttributesSerializer())
DEFER_REQUEST = _action_request("ParticipantDefer", "participant-defer", DeferAttributesSerializer())
RESUME_REQUEST = _action_request("ParticipantResume", "participant-resume", ResumeAttributesSerializer())
CHANGE_SCHEDULE_REQUEST = _action_request(
    "ParticipantChangeSchedule", "participant-change-schedule", ChangeScheduleAttributesSerializer()
)
# An unknown or invisible participant is a 422 on participant_id, not a 404 (api.md §16.6).
ACTION_RESPONSES = {
    200: ParticipantResponseSerializer,
    400: BAD_REQUEST,
    401: UNAUTHORISED,
    404: NOT_FOUND,
    422: UNPROCESSABLE,
}


# --- Rendering -----------------------------------------------------------------------------

# Plain strings for the per-enrolment loop (a page renders thousands): comparing with an enum member
# first looks the member up on its class.
ECT, MENTOR = EnrolmentKind.ECT.value, EnrolmentKind.MENTOR.value
WITHDRAWN, DEFERRED = TrainingStatus.WITHDRAWN.value, TrainingStatus.DEFERRED.value
# Only these statuses show a withdrawal or deferral object, so only their enrolments need the changes.
STATUSES_WITH_OBJECTS = frozenset({WITHDRAWN, DEFERRED})


def render_participants(lead_provider_id, participant_ids, order: list[str]) -> list[dict]:
    """The v3 representation of these people as seen by the provider, in `order` (ORM terms on
    the person, e.g. `["-updated_at", "id"]`); people the provider cannot see are left out.

    `participant_ids` is a list of ids or a page of visible_participant_ids. One query for the
    page's ids, one for the people and their enrolments' latest periods, in order; then, only when
    some row needs them, one for this provider's status changes of the withdrawn or deferred
    enrolments and one for the id changes of the people that have some.
    """
    views = selectors.enrolment_views(lead_provider_id, participant_ids=participant_ids, now=clock.now(), order=order)
    paused = [row["enrolment_id_text"] for row in views if row["training_status"] in STATUSES_WITH_OBJECTS]
    changes = selectors.provider_status_changes(lead_provider_id, enrolment_ids=paused) if paused else {}
    people: list[dict] = []  # each person's first row stands for the person (rows come in order)
    enrolments_by_person: dict = {}
    no_changes: dict = {}
    for row in views:
        person_id = row["participant_id_text"]
        enrolments = enrolments_by_person.get(person_id)
        if enrolments is None:
            enrolments = enrolments_by_person[person_id] = []
            people.append(row)
        enrolments.append(_enrolment(row, changes.get(row["enrolment_id_text"], no_changes)))
    merged = [row["participant_id_text"] for row in people if row["has_id_changes"]]
    id_changes = selectors.id_changes(participant_ids=merged) if merged else {}
    return [
        {
            "id": person["participant_id_text"],
            "type": "participant",
            "attributes": {
                "full_name": person["enrolment__participant__full_name"],
                "teacher_reference_number": person["enrolment__participant__trn"],
                "updated_at": person["person_updated_at_text"],
                "ecf_enrolments": enrolments_by_person[person["participant_id_text"]],
                "participant_id_changes": [
                    {
                        "from_participant_id": change["from_participant_id_text"],
                        "to_participant_id": change["to_participant_id_text"],
                        "changed_at": change["created_at_text"],
                    }
                    for change in id_changes.get(person["participant_id_text"], ())
                ],
            },
        }
        for person in people
    ]


def _enrolment(row: dict, changes_by_status: dict) -> dict:
    kind = row["enrolment__kind"]
    is_mentor = kind == MENTOR
    training_status = row["training_status"]
    paused = training_status in STATUSES_WITH_OBJECTS
    return {
        "training_record_id": row["enrolment_id_text"],
        "email": row["email"] or row["enrolment__participant__email"],  # rep.email
        "mentor_id": row["mentor_id_text"] if kind == ECT else None,  # rep.mentor_id
        "school_urn": row["school__urn"],
        "participant_type": kind,
        "cohort": str(row["cohort_id"]),
        "training_status": training_status,
        "participant_status": row["participant_status"],
        "teacher_reference_number_validated": rep.teacher_reference_number_validated(row),
        "eligible_for_funding": rep.eligible_for_funding(row),
        "pupil_premium_uplift": row["enrolment__pupil_premium_uplift"],
        "sparsity_uplift": row["enrolment__sparsity_uplift"],
        "schedule_identifier": row["schedule__identifier"],
        "delivery_partner_id": row["delivery_partner_id_text"],
        "withdrawal": rep.status_object(row, changes_by_status, WITHDRAWN) if paused else None,
        "deferral": rep.status_object(row, changes_by_status, DEFERRED) if paused else None,
        "created_at": row["created_at_text"],
        "induction_end_date": row["induction_completion_date_text"],
        "mentor_funding_end_date": row["mentor_completion_date_text"] if is_mentor else None,
        "cohort_changed_after_payments_frozen": row["enrolment__cohort_changed_after_payments_frozen"],
        "mentor_ineligible_for_funding_reason": row["enrolment__mentor_completion_reason"] if is_mentor else None,
    }


def render_participant(lead_provider_id, participant_id) -> dict | None:
    """One person as the provider sees them, or None when the provider cannot see them."""
    people = render_participants(lead_provider_id, [participant_id], ["id"])
    return people[0] if people else None


# --- Endpoints -------------------------------------------------------------------------------


class ParticipantViewSet(ProviderViewSet):
    filtersets = {"list": ParticipantFilterSet}

    @extend_schema(
        summary="Retrieve multiple participants",
        operation_id="participants_list",
        tags=["ECF participants"],
        parameters=[CURSOR_PAGE_PARAMETER, sort_parameter(list(SORT_KEYS), "")],
        responses={200: ParticipantListResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        filters = ParticipantFilterSet(request.query_params)
        page = parse_page(request.query_params)
        lead_provider = request.user
        latest_period_conditions = cohort_condition(filters["cohort"], "schedule__cohort_id")
        training_status = filters["training_status"]
        if training_status is not None:
            latest_period_conditions["training_status"] = training_status
        updated_since = filters["updated_since"]
        from_ids = filters["from_participant_id"]
        order = [*(parse_sort(request.query_params.get("sort"), SORT_KEYS) or ["created_at"]), "id"]
        cursor = parse_cursor(request.query_params)
        people = selectors.visible_participant_ids(
            lead_provider.id,
            order=order,
            updated_since=updated_since,
            from_participant_ids=from_ids,
            **latest_period_conditions,
        )
        if cursor is not None:  # a change-cursor walk: creation order, whatever `sort` says
            ids, following = cursor_page(people, cursor, key=("created_at", "participant_id"), per_page=page.per_page)
            return respond_with_next(render_participants(lead_provider.id, ids, CURSOR_ORDER), request, following)
        return self.respond(render_participants(lead_provider.id, page.slice(people), order))

    @extend_schema(
        summary="Retrieve a single participant",
        operation_id="participant_show",
        tags=["ECF participants"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: ParticipantResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        participant_id = self.path_uuid(pk)
        data = render_participant(request.user.id, participant_id)
        if data is None:
            raise self.not_found()
        return self.respond(data)

    @extend_schema(
        summary="What may be declared for a participant today",
        description=(
            "Per enrolment, each declaration type: whether a declaration dated now would be accepted, its "
            "milestone window, the evidence accepted and, if not declarable, the errors the POST would give "
            "(the same validation runs). A participant the provider has never trained is a 404."
        ),
        operation_id="participant_declarable",
        tags=["ECF participants"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: DeclarableResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], url_path="declarable")
    def declarable(self, request, pk=None):
        data = render_declarable(request.user, self.path_uuid(pk))
        if data is None:
            raise self.not_found()
        return self.respond(data)

    # --- Actions (rules §3, api.md §11.2): the same services as every other version -------------

    @extend_schema(
        summary="Notify that a participant has withdrawn from their course",
        operation_id="participant_withdraw",
        tags=["ECF Participant"],
        parameters=[UUID_PATH_PARAMETER, DRY_RUN_PARAMETER],
        request=WITHDRAW_REQUEST,
        responses=ACTION_RESPONSES,
    )
    @action(detail=True, methods=["put"], url_path="withdraw")
    @dry_run_capable
    def withdraw(self, request, pk=None):
        return self._respond_with_participant(request.user, participant_action(request, pk, "withdraw"))

    @extend_schema(
        summary="Notify that a participant is taking a break from their course",
        operation_id="participant_defer",
        tags=["ECF Participant"],
        parameters=[UUID_PATH_PARAMETER, DRY_RUN_PARAMETER],
        request=DEFER_REQUEST,
        responses=ACTION_RESPONSES,
    )
    @action(detail=True, methods=["put"], url_path="defer")
    @dry_run_capable
    def defer(self, request, pk=None):
        return self._respond_with_participant(request.user, participant_action(request, pk, "defer"))

    @extend_schema(
        summary="Notify that a participant is resuming their course",
        operation_id="participant_resume",
        tags=["ECF Participant"],
        parameters=[UUID_PATH_PARAMETER, DRY_RUN_PARAMETER],
        request=RESUME_REQUEST,
        responses=ACTION_RESPONSES,
    )
    @action(detail=True, methods=["put"], url_path="resume")
    @dry_run_capable
    def resume(self, request, pk=None):
        return self._respond_with_participant(request.user, participant_action(request, pk, "resume"))

    @extend_schema(
        summary="Notify that a participant is changing training schedule",
        operation_id="participant_change_schedule",
        tags=["ECF Participant"],
        parameters=[UUID_PATH_PARAMETER, DRY_RUN_PARAMETER],
        request=CHANGE_SCHEDULE_REQUEST,
        responses=ACTION_RESPONSES,
    )
    @action(detail=True, methods=["put"], url_path="change-schedule")
    @dry_run_capable
    def change_schedule(self, request, pk=None):
        enrolment = participant_action(request, pk, "change-schedule")
        return self._respond_with_participant(request.user, enrolment)

    def _respond_with_participant(self, lead_provider, enrolment):
        """The whole person as the provider sees them after the change (api.md §11.2)."""
        data = render_participant(lead_provider.id, enrolment.participant_id)
        if data is None:  # cannot happen: the action leaves the provider a visible period
            raise self.not_found()
        return self.respond(data)

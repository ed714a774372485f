"""The rewrite's v3 endpoints. Each calls the original's v3 view (same filters, selectors, services,
pagination and errors, by import) and reshapes the answer into the rewrite's representation
(api.md §12); its errors come out in the rewrite's shape because the request carries its flavour
(api/flavours.py, api/errors.py). Composition, not inheritance: a change to an original view
reaches this flavour only through what that view answers, which these wrappers then reshape."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action

from api.filters import Filters, parse_sort
from api.pagination import parse_page
from api.rect import schema as rs
from api.schema import PAGE_PARAMETER, UUID_PATH_PARAMETER, filter_parameter, sort_parameter
from api.v3 import declarations as v3_declarations
from api.v3 import delivery_partners as v3_delivery_partners
from api.v3 import participants as v3_participants
from api.v3 import partnerships as v3_partnerships
from api.v3 import schools as v3_schools
from api.v3 import statements as v3_statements
from api.v3 import transfers as v3_transfers
from api.v3 import unfunded_mentors as v3_unfunded_mentors
from api.views import ProviderViewSet, participant_action
from ecf import clock
from participants import details
from participants import selectors as participant_selectors
from participants.models import EnrolmentKind
from participants.services import REWRITE_WITHDRAWAL_REASONS

SORT_KEYS = ["created_at", "updated_at"]
TRANSFER_SORT_KEYS = {"created_at": "created_at", "updated_at": "updated_at"}
SORT = sort_parameter(SORT_KEYS, "")


def _data(response):
    return response.data["data"]


def _each(data, reshape) -> None:
    """Reshape one resource or each of a list, in place."""
    for resource in data if isinstance(data, list) else [data]:
        reshape(resource)


# --- Participants ------------------------------------------------------------------------------


def reshape_participants(data) -> None:
    """The original's v3 participants → the rewrite's: no `teacher_reference_number_validated`; the
    rewrite's three induction and working fields (ECTs only, as the rewrite shows them); a
    withdrawn participant status reads `left` (the rewrite derives leaving/left from the dates)."""
    people = data if isinstance(data, list) else [data]
    enrolment_ids = [enrolment["training_record_id"] for person in people for enrolment in _enrolments(person)]
    extra = details.enrolment_details(enrolment_ids=enrolment_ids) if enrolment_ids else {}
    for person in people:
        for enrolment in _enrolments(person):
            enrolment.pop("teacher_reference_number_validated", None)
            row = extra.get(_uuid(enrolment["training_record_id"]), {})
            is_ect = enrolment["participant_type"] == EnrolmentKind.ECT
            enrolment["working_pattern"] = row.get("working_pattern") if is_ect else None
            enrolment["most_recent_induction_period_end_date"] = (
                _date(row.get("most_recent_induction_period_end_date")) if is_ect else None
            )
            enrolment["overall_induction_start_date"] = _date(row.get("induction_start_date")) if is_ect else None
            if enrolment["participant_status"] == "withdrawn":
                enrolment["participant_status"] = "left"


def _enrolments(person: dict) -> list[dict]:
    return person["attributes"]["ecf_enrolments"]


def _uuid(text: str):
    import uuid

    return uuid.UUID(text)


def _date(value) -> str | None:
    return None if value is None else value.isoformat()


class ParticipantViewSet(ProviderViewSet):
    original = v3_participants.ParticipantViewSet

    @extend_schema(
        summary="Retrieve multiple participants",
        operation_id="getParticipants",
        tags=["Participants"],
        parameters=[filter_parameter(v3_participants.ParticipantFilterSerializer), PAGE_PARAMETER, SORT],
        responses={200: rs.PARTICIPANT_LIST_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED},
    )
    def list(self, request):
        response = self.original().list(request)
        reshape_participants(_data(response))
        return response

    @extend_schema(
        summary="Retrieve a single participant",
        operation_id="getParticipant",
        tags=["Participants"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: rs.PARTICIPANT_RESPONSE, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        response = self.original().retrieve(request, pk)
        reshape_participants(_data(response))
        return response

    def _act(self, request, pk, action_name: str, **options):
        enrolment = participant_action(request, pk, action_name, **options)
        data = v3_participants.render_participant(request.user.id, enrolment.participant_id)
        if data is None:  # cannot happen: the action leaves the provider a visible period
            raise self.not_found()
        reshape_participants(data)
        return self.respond(data)

    @extend_schema(
        summary="Withdraw a participant",
        operation_id="withdrawParticipant",
        tags=["Participants"],
        parameters=[UUID_PATH_PARAMETER],
        request=rs.WITHDRAW_REQUEST,
        responses=rs.ACTION_RESPONSES,
    )
    @action(detail=True, methods=["put"], url_path="withdraw")
    def withdraw(self, request, pk=None):
        return self._act(request, pk, "withdraw", allowed_reasons=REWRITE_WITHDRAWAL_REASONS)

    @extend_schema(
        summary="Defer a participant",
        operation_id="deferParticipant",
        tags=["Participants"],
        parameters=[UUID_PATH_PARAMETER],
        request=rs.DEFER_REQUEST,
        responses=rs.ACTION_RESPONSES,
    )
    @action(detail=True, methods=["put"], url_path="defer")
    def defer(self, request, pk=None):
        return self._act(request, pk, "defer")

    @extend_schema(
        summary="Resume a participant",
        operation_id="resumeParticipant",
        tags=["Participants"],
        parameters=[UUID_PATH_PARAMETER],
        request=rs.RESUME_REQUEST,
        responses=rs.ACTION_RESPONSES,
    )
    @action(detail=True, methods=["put"], url_path="resume")
    def resume(self, request, pk=None):
        return self._act(request, pk, "resume")

    @extend_schema(
        summary="Change a participant's schedule",
        operation_id="changeScheduleParticipant",
        tags=["Participants"],
        parameters=[UUID_PATH_PARAMETER],
        request=rs.CHANGE_SCHEDULE_REQUEST,
        responses=rs.ACTION_RESPONSES,
    )
    @action(detail=True, methods=["put"], url_path="change-schedule")
    def change_schedule(self, request, pk=None):
        return self._act(request, pk, "change-schedule")


# --- Declarations --------------------------------------------------------------------------------


def reshape_declaration(declaration: dict) -> None:
    """No `has_passed`; the rewrite has no `ineligible` state: such a declaration is not paid, which the
    rewrite calls `submitted` (its `no_payment`), and keeps `ineligible_for_funding_reason`."""
    attributes = declaration["attributes"]
    attributes.pop("has_passed", None)
    if attributes["state"] == "ineligible":
        attributes["state"] = "submitted"


class ParticipantDeclarationViewSet(ProviderViewSet):
    original = v3_declarations.ParticipantDeclarationViewSet

    @extend_schema(
        summary="Retrieve multiple declarations",
        operation_id="getDeclarations",
        tags=["Declarations"],
        parameters=[filter_parameter(rs.DECLARATION_FILTER), PAGE_PARAMETER],
        responses={200: rs.DECLARATION_LIST_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED},
    )
    def list(self, request):
        response = self.original().list(request)
        _each(_data(response), reshape_declaration)
        return response

    @extend_schema(
        summary="Retrieve a single declaration",
        operation_id="getDeclaration",
        tags=["Declarations"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: rs.DECLARATION_RESPONSE, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        response = self.original().retrieve(request, pk)
        _each(_data(response), reshape_declaration)
        return response

    @extend_schema(
        summary="Create a declaration",
        operation_id="createDeclaration",
        tags=["Declarations"],
        request={"application/json": v3_declarations.declaration_request_schema()},
        responses={200: rs.DECLARATION_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED, 422: rs.UNPROCESSABLE},
    )
    def create(self, request):
        response = self.original().create(request)
        _each(_data(response), reshape_declaration)
        return response

    @extend_schema(
        summary="Void a declaration",
        operation_id="voidDeclaration",
        tags=["Declarations"],
        parameters=[UUID_PATH_PARAMETER],
        request=None,
        responses={200: rs.DECLARATION_RESPONSE, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND, 422: rs.UNPROCESSABLE},
    )
    @action(detail=True, methods=["put"], url_path="void")
    def void(self, request, pk=None):
        response = self.original().void(request, pk)
        _each(_data(response), reshape_declaration)
        return response


# --- Partnerships ---------------------------------------------------------------------------------


def reshape_partnerships(data) -> None:
    """No challenge fields (the rewrite has no challenges); `participants_currently_training` added."""
    partnerships = data if isinstance(data, list) else [data]
    ids = [partnership["id"] for partnership in partnerships]
    counts = details.participants_currently_training(partnership_ids=ids, now=clock.now()) if ids else {}
    for partnership in partnerships:
        attributes = partnership["attributes"]
        for name in ("status", "challenged_reason", "challenged_at"):
            attributes.pop(name, None)
        attributes["participants_currently_training"] = counts.get(_uuid(partnership["id"]), 0)


class PartnershipViewSet(ProviderViewSet):
    original = v3_partnerships.PartnershipViewSet

    @extend_schema(
        summary="Retrieve multiple partnerships",
        operation_id="getPartnerships",
        tags=["Partnerships"],
        parameters=[filter_parameter(v3_partnerships.PartnershipsFilterSerializer), PAGE_PARAMETER, SORT],
        responses={200: rs.PARTNERSHIP_LIST_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED},
    )
    def list(self, request):
        response = self.original().list(request)
        reshape_partnerships(_data(response))
        return response

    @extend_schema(
        summary="Retrieve a single partnership",
        operation_id="getPartnership",
        tags=["Partnerships"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: rs.PARTNERSHIP_RESPONSE, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        response = self.original().retrieve(request, pk)
        reshape_partnerships(_data(response))
        return response

    @extend_schema(
        summary="Create a partnership",
        operation_id="createPartnership",
        tags=["Partnerships"],
        request=rs.PARTNERSHIP_CREATE_REQUEST,
        responses={200: rs.PARTNERSHIP_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED, 422: rs.UNPROCESSABLE},
    )
    def create(self, request):
        response = self.original().create(request)
        reshape_partnerships(_data(response))
        return response

    @extend_schema(
        summary="Update a partnership",
        operation_id="updatePartnership",
        tags=["Partnerships"],
        parameters=[UUID_PATH_PARAMETER],
        request=rs.PARTNERSHIP_UPDATE_REQUEST,
        responses={
            200: rs.PARTNERSHIP_RESPONSE,
            400: rs.BAD_REQUEST,
            401: rs.UNAUTHORISED,
            404: rs.NOT_FOUND,
            422: rs.UNPROCESSABLE,
        },
    )
    def update(self, request, pk=None):
        response = self.original().update(request, pk)
        reshape_partnerships(_data(response))
        return response


# --- Schools ---------------------------------------------------------------------------------------


def reshape_schools(lead_provider_id, data) -> None:
    """The rewrite's programme choices (no `no_early_career_teachers`: not yet known to a provider),
    and `expression_of_interest` with the induction tutor, shown only to a provider the school expects."""
    schools = data if isinstance(data, list) else [data]
    if not schools:
        return
    cohort_id = int(schools[0]["attributes"]["cohort"])
    ids = [school["id"] for school in schools]
    expecting = details.schools_expecting_provider(lead_provider_id, cohort_id=cohort_id, school_ids=ids)
    tutors = details.induction_tutors(school_ids=[school_id for school_id in ids if _uuid(school_id) in expecting])
    for school in schools:
        attributes = school["attributes"]
        if attributes["induction_programme_choice"] not in rs.PROGRAMME_CHOICES:
            attributes["induction_programme_choice"] = "not_yet_known"
        school_id = _uuid(school["id"])
        interested = school_id in expecting
        name, email = tutors.get(school_id, (None, None))
        attributes["expression_of_interest"] = interested
        attributes["induction_tutor_name"] = name if interested else None
        attributes["induction_tutor_email"] = email if interested else None


class SchoolViewSet(ProviderViewSet):
    original = v3_schools.SchoolViewSet

    @extend_schema(
        summary="Retrieve multiple schools scoped to cohort",
        operation_id="getSchools",
        tags=["Schools"],
        parameters=[filter_parameter(v3_schools.ECFSchoolsFilterSerializer), PAGE_PARAMETER, SORT],
        responses={200: rs.SCHOOL_LIST_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED},
    )
    def list(self, request):
        response = self.original().list(request)
        reshape_schools(request.user.id, _data(response))
        return response

    @extend_schema(
        summary="Retrieve a single school scoped to cohort",
        operation_id="getSchool",
        tags=["Schools"],
        parameters=[UUID_PATH_PARAMETER, filter_parameter(v3_schools.ECFSchoolsFilterSerializer)],
        responses={200: rs.SCHOOL_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        response = self.original().retrieve(request, pk)
        reshape_schools(request.user.id, _data(response))
        return response


# --- Statements, delivery partners, transfers, unfunded mentors --------------------------------------


def reshape_statement(statement: dict) -> None:
    statement["attributes"].pop("type", None)  # the rewrite has no statement type


class StatementViewSet(ProviderViewSet):
    original = v3_statements.StatementViewSet

    @extend_schema(
        summary="Retrieve financial statements",
        operation_id="getStatements",
        tags=["Statements"],
        parameters=[filter_parameter(rs.RectStatementsFilterSerializer), PAGE_PARAMETER],
        responses={200: rs.STATEMENT_LIST_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED},
    )
    def list(self, request):
        response = self.original().list(request)
        _each(_data(response), reshape_statement)
        return response

    @extend_schema(
        summary="Retrieve a financial statement",
        operation_id="getStatement",
        tags=["Statements"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: rs.STATEMENT_RESPONSE, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        response = self.original().retrieve(request, pk)
        _each(_data(response), reshape_statement)
        return response


class DeliveryPartnerViewSet(ProviderViewSet):
    original = v3_delivery_partners.DeliveryPartnerViewSet

    @extend_schema(
        summary="Retrieve multiple delivery partners",
        operation_id="getDeliveryPartners",
        tags=["Delivery partners"],
        parameters=[filter_parameter(v3_delivery_partners.DeliveryPartnersFilterSerializer), PAGE_PARAMETER, SORT],
        responses={200: rs.DELIVERY_PARTNER_LIST_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED},
    )
    def list(self, request):
        return self.original().list(request)

    @extend_schema(
        summary="Retrieve a single delivery partner",
        operation_id="getDeliveryPartner",
        tags=["Delivery partners"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: rs.DELIVERY_PARTNER_RESPONSE, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        return self.original().retrieve(request, pk)


class TransferViewSet(ProviderViewSet):
    original = v3_transfers.TransferViewSet

    @extend_schema(
        summary="Retrieve multiple participant transfers",
        operation_id="getTransfers",
        tags=["Participant transfers"],
        parameters=[filter_parameter(v3_transfers.TransferFilterSerializer), PAGE_PARAMETER, SORT],
        responses={200: rs.TRANSFER_LIST_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED},
    )
    def list(self, request):
        """The original's list, plus the rewrite's `sort` (created_at / updated_at of the person)."""
        order = parse_sort(request.query_params.get("sort"), TRANSFER_SORT_KEYS)
        if order is None:
            return self.original().list(request)
        filters = Filters(request.query_params)
        page = parse_page(request.query_params)
        people = participant_selectors.transfer_participants(request.user.id)
        updated_since = filters.updated_since()
        if updated_since is not None:
            people = people.filter(updated_at__gte=updated_since)
        rows = list(page.slice(people.order_by(*order, "id").values(*v3_transfers.PERSON_COLUMNS)))
        return self.respond(v3_transfers.render_transfers(request.user.id, rows))

    @extend_schema(
        summary="Retrieve a single participant's transfers",
        operation_id="getTransfer",
        tags=["Participant transfers"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: rs.TRANSFER_RESPONSE, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND},
    )
    def show(self, request, pk=None):
        return self.original().show(request, pk)


participant_transfers_view = TransferViewSet.as_view({"get": "show"})


class UnfundedMentorViewSet(ProviderViewSet):
    original = v3_unfunded_mentors.UnfundedMentorViewSet

    @extend_schema(
        summary="Retrieve multiple unfunded mentors",
        operation_id="getUnfundedMentors",
        tags=["Unfunded mentors"],
        parameters=[filter_parameter(v3_unfunded_mentors.UnfundedMentorFilterSerializer), PAGE_PARAMETER, SORT],
        responses={200: rs.UNFUNDED_MENTOR_LIST_RESPONSE, 400: rs.BAD_REQUEST, 401: rs.UNAUTHORISED},
    )
    def list(self, request):
        return self.original().list(request)

    @extend_schema(
        summary="Retrieve a single unfunded mentor",
        operation_id="getUnfundedMentor",
        tags=["Unfunded mentors"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: rs.UNFUNDED_MENTOR_RESPONSE, 401: rs.UNAUTHORISED, 404: rs.NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        return self.original().retrieve(request, pk)

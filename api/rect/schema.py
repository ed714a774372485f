"""The rewrite's shapes, for its document (openapi/v3-rect.json). Where a shape is the original's,
the original's serializer is imported; where the rewrite differs (api.md §12), a flat class here."""

from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers

from api.schema import ErrorSerializer
from api.v3 import declarations as v3_declarations
from api.v3 import delivery_partners as v3_delivery_partners
from api.v3 import participants as v3_participants
from api.v3 import transfers as v3_transfers
from api.v3 import unfunded_mentors as v3_unfunded_mentors
from participants.models import (
    CourseIdentifier,
    DeferralReason,
    EnrolmentKind,
    MentorCompletionReason,
    TrainingStatus,
    WorkingPattern,
)
from participants.services import REWRITE_WITHDRAWAL_REASONS

# The rewrite shows no `withdrawn` participant status (a withdrawn or deferred record is leaving or left).
PARTICIPANT_STATUSES = ["active", "joining", "leaving", "left"]
# The rewrite's state vocabulary has no `ineligible` (rules §10).
DECLARATION_STATES = [state for state in v3_declarations.DECLARATION_STATES if state != "ineligible"]
PROGRAMME_CHOICES = ["school_led", "provider_led", "not_yet_known"]


def _typed(name: str, type_value: str, attributes: serializers.Serializer) -> serializers.Serializer:
    """`{"id", "type", "attributes"}` with the type enumerated, as the rewrite's document does."""
    return inline_serializer(
        name,
        {
            "id": serializers.UUIDField(),
            "type": serializers.ChoiceField(choices=[type_value]),
            "attributes": attributes,
        },
    )


def one_and_many(name: str, resource: serializers.Serializer) -> tuple:
    return (
        inline_serializer(f"{name}Response", {"data": resource}),
        inline_serializer(f"{name}ListResponse", {"data": _many(resource)}),
    )


def _many(resource: serializers.Serializer) -> serializers.ListSerializer:
    return serializers.ListSerializer(child=resource)


# --- Errors ----------------------------------------------------------------------------------


class RectErrorSerializer(ErrorSerializer):
    code = serializers.CharField(help_text="Stable machine-readable code (docs/error-codes.md).")


def _errors(name: str, description: str) -> OpenApiResponse:
    return OpenApiResponse(inline_serializer(name, {"errors": RectErrorSerializer(many=True)}), description=description)


UNAUTHORISED = OpenApiResponse(
    inline_serializer(
        "RectUnauthorisedResponse", {"error": serializers.CharField(help_text="HTTP Token: Access denied")}
    ),
    description="Authorization information is missing or invalid",
)
NOT_FOUND = _errors("RectNotFoundResponse", "Nothing could be found for the provided details")
BAD_REQUEST = _errors("RectBadRequestResponse", "Bad request")
UNPROCESSABLE = _errors("RectUnprocessableContentResponse", "Unprocessable content: one item per message")


# --- Participants ------------------------------------------------------------------------------


def _nullable_object(properties: dict) -> dict:
    """Written out, not a nullable component reference: `allOf` + `nullable` hides the null from readers."""
    return {"type": "object", "nullable": True, "properties": properties}


@extend_schema_field(
    _nullable_object(
        {
            "reason": {"type": "string", "enum": list(REWRITE_WITHDRAWAL_REASONS)},
            "date": {"type": "string", "format": "date-time"},
        }
    )
)
class RectWithdrawalField(serializers.JSONField):
    pass


@extend_schema_field(
    _nullable_object(
        {
            "reason": {"type": "string", "enum": list(DeferralReason.values)},
            "date": {"type": "string", "format": "date-time"},
        }
    )
)
class RectDeferralField(serializers.JSONField):
    pass


@extend_schema_field(
    _nullable_object(
        {
            "school_urn": {"type": "string"},
            "provider": {"type": "string", "nullable": True},
            "date": {"type": "string", "format": "date"},
        }
    )
)
class RectJoiningField(serializers.JSONField):
    pass


class RectEnrolmentSerializer(serializers.Serializer):
    training_record_id = serializers.UUIDField()
    email = serializers.CharField(allow_null=True)
    mentor_id = serializers.UUIDField(allow_null=True)
    school_urn = serializers.CharField()
    participant_type = serializers.ChoiceField(choices=EnrolmentKind.values)
    working_pattern = serializers.ChoiceField(choices=WorkingPattern.values, allow_null=True)
    cohort = serializers.CharField()
    training_status = serializers.ChoiceField(choices=TrainingStatus.values)
    participant_status = serializers.ChoiceField(choices=PARTICIPANT_STATUSES)
    eligible_for_funding = serializers.BooleanField(allow_null=True)
    pupil_premium_uplift = serializers.BooleanField()
    sparsity_uplift = serializers.BooleanField()
    schedule_identifier = serializers.ChoiceField(choices=v3_participants.SCHEDULE_IDENTIFIERS)
    delivery_partner_id = serializers.UUIDField(allow_null=True)
    withdrawal = RectWithdrawalField()
    deferral = RectDeferralField()
    created_at = serializers.DateTimeField()
    induction_end_date = serializers.DateField(allow_null=True)
    most_recent_induction_period_end_date = serializers.DateField(allow_null=True)
    overall_induction_start_date = serializers.DateField(allow_null=True)
    mentor_funding_end_date = serializers.DateField(allow_null=True)
    cohort_changed_after_payments_frozen = serializers.BooleanField()
    mentor_ineligible_for_funding_reason = serializers.ChoiceField(
        choices=MentorCompletionReason.values, allow_null=True
    )


class RectParticipantAttributesSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    teacher_reference_number = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()
    ecf_enrolments = RectEnrolmentSerializer(many=True)
    participant_id_changes = v3_participants.ParticipantIdChangeSerializer(many=True)


PARTICIPANT = _typed("RectParticipant", "participant", RectParticipantAttributesSerializer())
PARTICIPANT_RESPONSE, PARTICIPANT_LIST_RESPONSE = one_and_many("RectParticipant", PARTICIPANT)


class RectWithdrawAttributesSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=REWRITE_WITHDRAWAL_REASONS)
    course_identifier = serializers.ChoiceField(choices=CourseIdentifier.values)


def _action_request(name: str, data_type: str, attributes: serializers.Serializer) -> serializers.Serializer:
    data = inline_serializer(
        f"{name}Data", {"type": serializers.ChoiceField(choices=[data_type]), "attributes": attributes}
    )
    return inline_serializer(f"{name}Request", {"data": data})


WITHDRAW_REQUEST = _action_request(
    "RectParticipantWithdraw", "participant-withdraw", RectWithdrawAttributesSerializer()
)
DEFER_REQUEST = v3_participants.DEFER_REQUEST
RESUME_REQUEST = v3_participants.RESUME_REQUEST
CHANGE_SCHEDULE_REQUEST = v3_participants.CHANGE_SCHEDULE_REQUEST
ACTION_RESPONSES = {
    200: PARTICIPANT_RESPONSE,
    400: BAD_REQUEST,
    401: UNAUTHORISED,
    404: NOT_FOUND,
    422: UNPROCESSABLE,
}

# --- Declarations --------------------------------------------------------------------------------


class RectDeclarationAttributesSerializer(serializers.Serializer):
    participant_id = serializers.UUIDField()
    declaration_type = serializers.ChoiceField(choices=v3_declarations.DeclarationType.values)
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
        choices=list(v3_declarations.SHOWN_INELIGIBILITY_REASONS.values()), allow_null=True
    )
    uplift_paid = serializers.BooleanField()
    evidence_held = serializers.ChoiceField(choices=v3_declarations.EvidenceHeld.values, allow_null=True)
    lead_provider_name = serializers.CharField(help_text="The provider that submitted the declaration.")


DECLARATION = _typed("RectDeclaration", "participant-declaration", RectDeclarationAttributesSerializer())
DECLARATION_RESPONSE, DECLARATION_LIST_RESPONSE = one_and_many("RectDeclaration", DECLARATION)
DECLARATION_FILTER = v3_declarations.ParticipantDeclarationFilterSerializer

# --- Partnerships ---------------------------------------------------------------------------------


class RectPartnershipAttributesSerializer(serializers.Serializer):
    cohort = serializers.CharField()
    urn = serializers.CharField()
    school_id = serializers.UUIDField()
    delivery_partner_id = serializers.UUIDField()
    delivery_partner_name = serializers.CharField(allow_null=True)
    induction_tutor_name = serializers.CharField(allow_null=True)
    induction_tutor_email = serializers.CharField(allow_null=True)
    participants_currently_training = serializers.IntegerField(
        help_text="Participants whose current training is in this partnership and not withdrawn or deferred."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


PARTNERSHIP = _typed("RectPartnership", "partnership", RectPartnershipAttributesSerializer())
PARTNERSHIP_RESPONSE, PARTNERSHIP_LIST_RESPONSE = one_and_many("RectPartnership", PARTNERSHIP)


class RectPartnershipCreateAttributesSerializer(serializers.Serializer):
    cohort = serializers.CharField(help_text="The cohort's start year, e.g. `2024` (a number is accepted too).")
    school_id = serializers.UUIDField()
    delivery_partner_id = serializers.UUIDField()


class RectPartnershipUpdateAttributesSerializer(serializers.Serializer):
    delivery_partner_id = serializers.UUIDField()


PARTNERSHIP_CREATE_REQUEST = _action_request(
    "RectPartnershipCreate", "partnership", RectPartnershipCreateAttributesSerializer()
)
PARTNERSHIP_UPDATE_REQUEST = _action_request(
    "RectPartnershipUpdate", "partnership", RectPartnershipUpdateAttributesSerializer()
)

# --- Schools ---------------------------------------------------------------------------------------


class RectSchoolAttributesSerializer(serializers.Serializer):
    name = serializers.CharField()
    urn = serializers.CharField()
    cohort = serializers.CharField()
    in_partnership = serializers.BooleanField()
    induction_programme_choice = serializers.ChoiceField(choices=PROGRAMME_CHOICES)
    expression_of_interest = serializers.BooleanField(
        help_text="You have a partnership with the school for the cohort, or the school said it expects you."
    )
    induction_tutor_name = serializers.CharField(allow_null=True, help_text="Only when expression_of_interest.")
    induction_tutor_email = serializers.CharField(allow_null=True, help_text="Only when expression_of_interest.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


SCHOOL = _typed("RectSchool", "school", RectSchoolAttributesSerializer())
SCHOOL_RESPONSE, SCHOOL_LIST_RESPONSE = one_and_many("RectSchool", SCHOOL)

# --- Statements, delivery partners, transfers, unfunded mentors --------------------------------------


class RectStatementAttributesSerializer(serializers.Serializer):
    month = serializers.CharField()
    year = serializers.CharField()
    cohort = serializers.CharField()
    cut_off_date = serializers.DateField()
    payment_date = serializers.DateField()
    paid = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RectStatementsFilterSerializer(serializers.Serializer):
    cohort = serializers.CharField(required=False, help_text="Comma-separated start years, e.g. `2023,2024`.")
    updated_since = serializers.CharField(required=False, help_text="ISO 8601 date-time; updated at or after.")


STATEMENT = _typed("RectStatement", "statement", RectStatementAttributesSerializer())
STATEMENT_RESPONSE, STATEMENT_LIST_RESPONSE = one_and_many("RectStatement", STATEMENT)

DELIVERY_PARTNER = _typed(
    "RectDeliveryPartner", "delivery-partner", v3_delivery_partners.DeliveryPartnerAttributesSerializer()
)
DELIVERY_PARTNER_RESPONSE, DELIVERY_PARTNER_LIST_RESPONSE = one_and_many("RectDeliveryPartner", DELIVERY_PARTNER)


class RectTransferDetailSerializer(serializers.Serializer):
    training_record_id = serializers.UUIDField()
    transfer_type = serializers.ChoiceField(choices=v3_transfers.TransferType.values)
    status = serializers.ChoiceField(choices=v3_transfers.TransferStatus.values)
    created_at = serializers.DateTimeField(help_text="A timestamp, as the rewrite sends it (its document says a date).")
    leaving = v3_transfers.TransferLeavingSerializer()
    joining = RectJoiningField(help_text="Null until the new school reports the joiner.")


class RectTransferAttributesSerializer(serializers.Serializer):
    updated_at = serializers.DateTimeField()
    transfers = RectTransferDetailSerializer(many=True)


TRANSFER = _typed("RectTransfer", "participant-transfer", RectTransferAttributesSerializer())
TRANSFER_RESPONSE, TRANSFER_LIST_RESPONSE = one_and_many("RectTransfer", TRANSFER)

UNFUNDED_MENTOR = _typed(
    "RectUnfundedMentor", "unfunded-mentor", v3_unfunded_mentors.UnfundedMentorAttributesSerializer()
)
UNFUNDED_MENTOR_RESPONSE, UNFUNDED_MENTOR_LIST_RESPONSE = one_and_many("RectUnfundedMentor", UNFUNDED_MENTOR)

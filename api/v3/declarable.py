"""GET /api/v3/participants/ecf/{id}/declarable: what the provider may declare for a participant
today (issue 16.4). The answer comes from `declarations.services.declaration_options`, which runs the
POST's own validation, so each refusal here is word for word what the POST would answer."""

from rest_framework import serializers

from api.errors import errors_body
from declarations.services import declaration_options
from ecf.rfc3339 import format_date


class DeclarableErrorSerializer(serializers.Serializer):
    title = serializers.CharField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="The stable error code (docs/error-codes.md), as the POST gives it.")


class DeclarableTypeSerializer(serializers.Serializer):
    declaration_type = serializers.CharField()
    declarable = serializers.BooleanField(help_text="Whether a POST of this type dated now would be accepted.")
    milestone_start_date = serializers.DateField(
        allow_null=True, help_text="First day of the window (UTC); null when the schedule has no such milestone."
    )
    milestone_date = serializers.DateField(
        allow_null=True, help_text="Last day of the window (UTC); null when only the start bounds it."
    )
    evidence_held = serializers.ListField(
        child=serializers.CharField(), help_text="The evidence_held values accepted (empty: none is validated)."
    )
    evidence_held_required = serializers.BooleanField()
    errors = DeclarableErrorSerializer(
        many=True, help_text="When not declarable: the errors the POST would give, in its order."
    )


class DeclarableEnrolmentSerializer(serializers.Serializer):
    course_identifier = serializers.CharField()
    cohort = serializers.CharField(help_text="The cohort of the participant's current schedule.")
    declaration_types = DeclarableTypeSerializer(many=True)


class DeclarableAttributesSerializer(serializers.Serializer):
    participant_id = serializers.UUIDField()
    ecf_enrolments = DeclarableEnrolmentSerializer(many=True)


class DeclarableSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="participant-declarable")
    attributes = DeclarableAttributesSerializer()


class DeclarableResponseSerializer(serializers.Serializer):
    data = DeclarableSerializer()


def render_declarable(lead_provider, participant_id) -> dict | None:
    """None when the provider has never trained the participant (answered as an unknown id)."""
    options = declaration_options(lead_provider=lead_provider, participant_id=participant_id)
    if options is None:
        return None
    return {
        "id": str(participant_id),
        "type": "participant-declarable",
        "attributes": {
            "participant_id": str(participant_id),
            "ecf_enrolments": [
                {
                    "course_identifier": option["course_identifier"],
                    "cohort": str(option["cohort"]),
                    "declaration_types": [_declaration_type(entry) for entry in option["types"]],
                }
                for option in options
            ],
        },
    }


def _declaration_type(entry: dict) -> dict:
    return {
        "declaration_type": entry["declaration_type"],
        "declarable": not entry["errors"],
        "milestone_start_date": format_date(entry["milestone_start"]),
        "milestone_date": format_date(entry["milestone_end"]),
        "evidence_held": entry["evidence_accepted"],
        "evidence_held_required": entry["evidence_required"],
        "errors": errors_body(entry["errors"])["errors"],  # exactly the POST's items, codes included
    }

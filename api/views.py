"""Views shared by every version. Version-specific views live in api/v1, api/v2, api/v3."""

from functools import wraps

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound, UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import BAD_JSON_DETAIL, BadRequest
from api.filters import parse_uuid
from api.schema import UNAUTHORISED, EnvelopeAutoSchema
from participants import services as participant_services


class PingView(APIView):
    """Tells an integrator which lead provider its token belongs to."""

    @extend_schema(
        summary="Check a token: answers with the name of the lead provider it belongs to",
        tags=["Tokens"],
        operation_id="ping",
        responses={
            200: inline_serializer(
                "Ping",
                {
                    "data": inline_serializer(
                        "PingData",
                        {
                            "id": serializers.UUIDField(),
                            "type": serializers.CharField(),
                            "attributes": inline_serializer("PingAttributes", {"name": serializers.CharField()}),
                        },
                    )
                },
            ),
            401: UNAUTHORISED,
        },
    )
    def get(self, request, *args, **kwargs):
        lead_provider = request.user
        return Response(
            {"data": {"id": str(lead_provider.id), "type": "lead-provider", "attributes": {"name": lead_provider.name}}}
        )


# The one base of every provider endpoint: token auth and scoping come from settings
# (api.authentication), errors from api.errors; `request.user` is the calling LeadProvider.
# (A comment, not a docstring: drf-spectacular would publish a docstring as every operation's description.)
class ProviderViewSet(viewsets.ViewSet):
    schema = EnvelopeAutoSchema()
    lookup_value_regex = "[^/]+"  # any path id reaches the view, which answers 404 for non-UUIDs

    @staticmethod
    def respond(data) -> Response:
        return Response({"data": data})

    @staticmethod
    def not_found() -> NotFound:
        return NotFound()

    def path_uuid(self, value: str):
        parsed = parse_uuid(value)
        if parsed is None:
            raise self.not_found()
        return parsed


def attributes_of(request) -> dict:
    """`data.attributes` of a JSON:API write body (api.md §4, §16.7): `data` must be an object, missing
    attributes count as empty, `type` and unknown attributes are ignored by the callers. A body the
    parsers cannot read (malformed JSON, or a content type that is not JSON) is a 400 too."""
    try:
        body = request.data
    except UnsupportedMediaType:
        raise BadRequest(BAD_JSON_DETAIL) from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise BadRequest(BAD_JSON_DETAIL)
    attributes = data.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


# The four participant actions (rules §3, api.md §11.2): the service each calls and the body
# attributes it reads. Every version runs them through `participant_action`; only the answer's
# shape differs per version.
PARTICIPANT_ACTIONS = {
    "withdraw": (participant_services.participant_withdraw, ("course_identifier", "reason")),
    "defer": (participant_services.participant_defer, ("course_identifier", "reason")),
    "resume": (participant_services.participant_resume, ("course_identifier",)),
    "change-schedule": (
        participant_services.participant_change_schedule,
        ("course_identifier", "schedule_identifier", "cohort"),
    ),
}


def participant_action(request, participant_id, action: str, **options):
    """Run one participant action for the calling provider; returns the enrolment acted on.
    `options` go to the service as they are (the rewrite's contract: `allowed_reasons`)."""
    service, names = PARTICIPANT_ACTIONS[action]
    attributes = attributes_of(request)
    return service(
        lead_provider=request.user,
        participant_id=participant_id,
        **{name: attributes.get(name) for name in names},
        **options,
    )


# --- Dry run (issue 16.5) -------------------------------------------------------------------------

DRY_RUN_INVALID = "The 'dry_run' parameter must be true or false."


def dry_run_requested(request) -> bool:
    """`?dry_run=true` (api.schema.DRY_RUN_PARAMETER)."""
    value = request.query_params.get("dry_run")
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise BadRequest(DRY_RUN_INVALID)


def dry_run_capable(view_method):
    """A write view that honours `?dry_run=true`: the view (service and rendering) runs for real inside
    a transaction that is then rolled back, so the answer is the real call's and nothing is kept.
    The rules run once, in the service; there is no second copy of them for the dry run."""

    @wraps(view_method)
    def view(self, request, *args, **kwargs):
        if not dry_run_requested(request):
            return view_method(self, request, *args, **kwargs)
        with transaction.atomic():
            response = view_method(self, request, *args, **kwargs)
            transaction.set_rollback(True)
        return response

    return view

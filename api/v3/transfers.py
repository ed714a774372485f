"""v3 participant transfers: school moves as the calling provider sees them (rules §6, api.md §9.8, §10.3)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from api.filters import ContractFilterSet, UpdatedSinceFilter
from api.pagination import parse_page
from api.schema import BAD_REQUEST, NOT_FOUND, PAGE_PARAMETER, UNAUTHORISED, UUID_PATH_PARAMETER
from api.views import ProviderViewSet
from ecf import clock
from ecf.rfc3339 import format_date, format_timestamp
from participants import selectors
from participants.selectors import Transfer, TransferStatus, TransferType

TAG = "participant transfers"


# --- The shape, for the schema -----------------------------------------------------------


class TransferLeavingSerializer(serializers.Serializer):
    school_urn = serializers.CharField()
    provider = serializers.CharField(allow_null=True, help_text="Lead provider name; null for school-led training.")
    date = serializers.DateField(allow_null=True, help_text="The leaving period's end date.")


class TransferJoiningSerializer(serializers.Serializer):
    school_urn = serializers.CharField()
    provider = serializers.CharField(allow_null=True, help_text="Lead provider name; null for school-led training.")
    date = serializers.DateField(help_text="The joining period's start date.")


class TransferDetailSerializer(serializers.Serializer):
    training_record_id = serializers.UUIDField()
    transfer_type = serializers.ChoiceField(choices=TransferType.values)
    status = serializers.ChoiceField(choices=TransferStatus.values)
    created_at = serializers.DateTimeField()
    leaving = TransferLeavingSerializer(allow_null=True)
    joining = TransferJoiningSerializer(allow_null=True, help_text="Null until the new school reports the joiner.")


class ParticipantTransferAttributesSerializer(serializers.Serializer):
    updated_at = serializers.DateTimeField()
    transfers = TransferDetailSerializer(many=True)


class ParticipantTransferSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="participant-transfer")
    attributes = ParticipantTransferAttributesSerializer()


class ParticipantTransferResponseSerializer(serializers.Serializer):
    data = ParticipantTransferSerializer()


class ParticipantTransferListResponseSerializer(serializers.Serializer):
    data = ParticipantTransferSerializer(many=True)


class TransferFilterSet(ContractFilterSet):
    updated_since = UpdatedSinceFilter(help_text="RFC 3339 date-time; people updated at or after.")


# --- Rendering -----------------------------------------------------------------------------

PERSON_COLUMNS = ("id", "updated_at")


def render_transfers(lead_provider_id, people: list[dict]) -> list[dict]:
    """These people's transfers as the provider sees them, in the given order (one query)."""
    transfers = selectors.provider_transfers(lead_provider_id, participant_ids=[person["id"] for person in people])
    today = clock.today()
    return [_person(person, transfers.get(person["id"], []), today) for person in people]


def _person(person: dict, transfers: list[Transfer], today) -> dict:
    # The latest change among the reported periods; the person's own when none is reported (api.md §9.8).
    updated_at = max((transfer.updated_at for transfer in transfers), default=person["updated_at"])
    return {
        "id": str(person["id"]),
        "type": "participant-transfer",
        "attributes": {
            "updated_at": format_timestamp(updated_at),
            "transfers": [_transfer(transfer, today) for transfer in transfers],
        },
    }


def _transfer(transfer: Transfer, today) -> dict:
    leaving, joining = transfer.leaving, transfer.joining
    return {
        "training_record_id": str(transfer.enrolment_id),
        "transfer_type": transfer.transfer_type,
        "status": transfer.status(today),
        "created_at": format_timestamp(leaving["created_at"]),
        "leaving": _side(leaving, leaving["end_date"]),
        "joining": None if joining is None else _side(joining, joining["start_date"]),
    }


def _side(period: dict, day) -> dict:
    return {"school_urn": period["school_urn"], "provider": period["lead_provider_name"], "date": format_date(day)}


# --- Endpoints -------------------------------------------------------------------------------


class TransferViewSet(ProviderViewSet):
    """Routed at `participants/ecf/transfers` (list) and `participants/ecf/{id}/transfers` (show);
    the show action is not called `retrieve` so the router adds no `transfers/{id}` route."""

    filtersets = {"list": TransferFilterSet}

    @extend_schema(
        summary="Retrieve multiple participant transfers",
        operation_id="participant_transfers_list",
        tags=[TAG],
        parameters=[PAGE_PARAMETER],
        responses={200: ParticipantTransferListResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        filters = TransferFilterSet(request.query_params)
        page = parse_page(request.query_params)
        people = selectors.transfer_participants(request.user.id)
        order = ["created_at"]
        updated_since = filters["updated_since"]
        if updated_since is not None:
            # A sync walks forward through changes (api.md §10.3).
            people = people.filter(updated_at__gte=updated_since)
            order = ["updated_at"]
        rows = list(page.slice(people.order_by(*order, "id").values(*PERSON_COLUMNS)))
        return self.respond(render_transfers(request.user.id, rows))

    @extend_schema(
        summary="Get a single participant's transfers",
        operation_id="participant_transfers_show",
        tags=[TAG],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: ParticipantTransferResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def show(self, request, pk=None):
        participant_id = self.path_uuid(pk)
        people = selectors.transfer_participants(request.user.id).filter(id=participant_id)
        person = people.values(*PERSON_COLUMNS).first()
        if person is None:
            raise self.not_found()
        return self.respond(render_transfers(request.user.id, [person])[0])


participant_transfers_view = TransferViewSet.as_view({"get": "show"})

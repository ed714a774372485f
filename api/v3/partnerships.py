"""v3 partnerships: the provider's own, challenged ones included (rules §7.3, api.md §9.4, §10.3),
and the writes that report them and change their delivery partner (rules §7.1, §7.2, api.md §11.3).

`render_partnerships` / `render_partnership` are the one representation, for reads and for the
responses of the writes.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers

from api.filters import (
    CohortsFilter,
    ContractFilterSet,
    NoFilterSet,
    UpdatedSinceFilter,
    UUIDsFilter,
    cohort_condition,
    parse_sort,
)
from api.pagination import parse_page
from api.schema import (
    BAD_REQUEST,
    NOT_FOUND,
    PAGE_PARAMETER,
    UNAUTHORISED,
    UUID_PATH_PARAMETER,
    ErrorSerializer,
    sort_parameter,
)
from api.views import ProviderViewSet, attributes_of
from ecf.rfc3339 import format_timestamp, format_timestamp_ms
from participants import selectors, services
from participants.models import ChallengeReason

# `updated_at` sorts on the value shown: the latest of partnership, school and delivery partner.
SORT_KEYS = {"created_at": "created_at", "updated_at": "last_updated_at"}
PARTNERSHIP_STATUSES = ["active", "challenged"]


# --- The shape, for the schema -----------------------------------------------------------


class ECFPartnershipAttributesSerializer(serializers.Serializer):
    cohort = serializers.CharField()
    urn = serializers.CharField()
    school_id = serializers.UUIDField()
    delivery_partner_id = serializers.UUIDField()
    delivery_partner_name = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=PARTNERSHIP_STATUSES)
    challenged_reason = serializers.ChoiceField(choices=ChallengeReason.values, allow_null=True)
    challenged_at = serializers.DateTimeField(allow_null=True, help_text="With milliseconds.")
    induction_tutor_name = serializers.CharField(allow_null=True)
    induction_tutor_email = serializers.CharField(
        allow_null=True, help_text="The induction tutor's email, else the school's primary, else secondary contact."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ECFPartnershipSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="partnership")
    attributes = ECFPartnershipAttributesSerializer()


class ECFPartnershipResponseSerializer(serializers.Serializer):
    data = ECFPartnershipSerializer()


class MultipleECFPartnershipsResponseSerializer(serializers.Serializer):
    data = ECFPartnershipSerializer(many=True)


class PartnershipFilterSet(ContractFilterSet):
    cohort = CohortsFilter(help_text="Comma-separated start years, e.g. `2023,2024`.")
    updated_since = UpdatedSinceFilter(
        help_text="RFC 3339 date-time; the partnership, its school or delivery partner updated since."
    )
    delivery_partner_id = UUIDsFilter(help_text="Comma-separated delivery partner ids.")


class ECFPartnershipCreateAttributesSerializer(serializers.Serializer):
    cohort = serializers.CharField(help_text="The cohort's start year, e.g. `2024` (a number is accepted too).")
    school_id = serializers.UUIDField(help_text="The school you are partnering with.")
    delivery_partner_id = serializers.UUIDField(help_text="The delivery partner you will work with at the school.")


class ECFPartnershipUpdateAttributesSerializer(serializers.Serializer):
    delivery_partner_id = serializers.UUIDField(help_text="The delivery partner you will work with at the school.")


def _write_request(name: str, data_type: str, attributes: serializers.Serializer) -> serializers.Serializer:
    """`{"data": {"type": ..., "attributes": {...}}}`: the type is documented, never checked, and
    attributes other than these are dropped (api.md §4, §16.7)."""
    data = inline_serializer(
        f"{name}Data", {"type": serializers.ChoiceField(choices=[data_type], required=False), "attributes": attributes}
    )
    return inline_serializer(name, {"data": data})


PARTNERSHIP_CREATE_REQUEST = _write_request(
    "ECFPartnership", "ecf-partnership", ECFPartnershipCreateAttributesSerializer()
)
PARTNERSHIP_UPDATE_REQUEST = _write_request(
    "ECFPartnershipUpdate", "ecf-partnership-update", ECFPartnershipUpdateAttributesSerializer()
)

# The titles of the error items the published contract lists for these 422s; the service never sends
# them (api.md §14.1, §14.14). Kept in the contract's order.
PUBLISHED_PARTNERSHIP_ERROR_TITLES = (
    "URN is not valid",
    "Partnership already exists",
    "The school you have entered has not registered to deliver DfE-funded training. "
    "Contact the school for more information.",
    "Not a delivery partner you have a relationship with for this cohort",
    "Recruited by other provider",
)


@extend_schema_field(
    {
        "type": "array",
        "description": "The list as the published contract names and titles it. Never sent: the errors come in "
        "`errors`, titled by attribute (api.md §14.1, §14.14).",
        "items": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"title": {"type": "string", "enum": [title]}, "detail": {"type": "string"}},
                }
                for title in PUBLISHED_PARTNERSHIP_ERROR_TITLES
            ]
        },
    }
)
class PublishedPartnershipErrorsField(serializers.JSONField):
    pass


PARTNERSHIP_UNPROCESSABLE = OpenApiResponse(
    inline_serializer(
        "ECFPartnershipRequestErrorResponse",
        {
            "errors": ErrorSerializer(
                many=True,
                help_text="One item per failing attribute (`cohort`, `school_id`, `delivery_partner_id`), in "
                "that order; `detail` joins the attribute's messages with `, `.",
            ),
            "error": PublishedPartnershipErrorsField(required=False),
        },
    ),
    description="Unprocessable entity: one item per failing attribute, in validation order",
)


# --- Rendering -----------------------------------------------------------------------------

PARTNERSHIP_COLUMNS = (
    "id",
    "cohort_id",
    "school_id",
    "school__urn",
    "delivery_partner_id",
    "delivery_partner__name",
    "challenge_reason",
    "challenged_at",
    "school__induction_tutor_name",
    "school__induction_tutor_email",
    "school__primary_contact_email",
    "school__secondary_contact_email",
    "created_at",
    "last_updated_at",
)


def render_partnerships(rows: list[dict]) -> list[dict]:
    """Rows of `partnership_rows` (or any queryset of `provider_partnerships` with these columns)."""
    return [_partnership(row) for row in rows]


def _partnership(row: dict) -> dict:
    return {
        "id": str(row["id"]),
        "type": "partnership",
        "attributes": {
            "cohort": str(row["cohort_id"]),
            "urn": row["school__urn"],
            "school_id": str(row["school_id"]),
            "delivery_partner_id": str(row["delivery_partner_id"]),
            "delivery_partner_name": row["delivery_partner__name"],
            "status": "challenged" if row["challenge_reason"] else "active",
            "challenged_reason": row["challenge_reason"],
            "challenged_at": format_timestamp_ms(row["challenged_at"]),
            "induction_tutor_name": row["school__induction_tutor_name"] or None,
            "induction_tutor_email": row["school__induction_tutor_email"]
            or row["school__primary_contact_email"]
            or row["school__secondary_contact_email"]
            or None,
            "created_at": format_timestamp(row["created_at"]),
            "updated_at": format_timestamp(row["last_updated_at"]),
        },
    }


def render_partnership(lead_provider_id, partnership_id) -> dict | None:
    """One of the provider's partnerships as it sees it, or None when it is not the provider's."""
    row = (
        selectors.provider_partnerships(lead_provider_id).filter(id=partnership_id).values(*PARTNERSHIP_COLUMNS).first()
    )
    return None if row is None else _partnership(row)


# --- Endpoints -------------------------------------------------------------------------------


class PartnershipViewSet(ProviderViewSet):
    filtersets = {"list": PartnershipFilterSet}

    @extend_schema(
        summary="Retrieve multiple ECF partnerships",
        operation_id="partnerships_list",
        tags=["ECF partnerships"],
        parameters=[PAGE_PARAMETER, sort_parameter(list(SORT_KEYS), "")],
        responses={200: MultipleECFPartnershipsResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        filters = PartnershipFilterSet(request.query_params)
        page = parse_page(request.query_params)
        partnerships = selectors.provider_partnerships(request.user.id).filter(
            **cohort_condition(filters["cohort"], "cohort_id")
        )
        updated_since = filters["updated_since"]
        if updated_since is not None:
            partnerships = selectors.partnerships_updated_since(partnerships, updated_since)
        delivery_partner_ids = filters["delivery_partner_id"]
        if delivery_partner_ids is not None:
            partnerships = partnerships.filter(delivery_partner_id__in=delivery_partner_ids)
        order = parse_sort(request.query_params.get("sort"), SORT_KEYS) or ["created_at"]
        rows = list(page.slice(partnerships.order_by(*order, "id").values(*PARTNERSHIP_COLUMNS)))
        return self.respond(render_partnerships(rows))

    @extend_schema(
        summary="Get a single ECF partnership",
        operation_id="partnership_show",
        tags=["ECF partnerships"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: ECFPartnershipResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        NoFilterSet(request.query_params)  # a `filter` that is not a hash is a 400 here too (api.md §6.3)
        data = render_partnership(request.user.id, self.path_uuid(pk))
        if data is None:
            raise self.not_found()
        return self.respond(data)

    @extend_schema(
        summary="Create an ECF partnership with a school and delivery partner",
        description="Reports that you will train at the school in the cohort with the delivery partner. A partnership "
        "you had with the school for the cohort that was challenged is confirmed again.",
        operation_id="partnership_create",
        tags=["ECF partnerships"],
        request=PARTNERSHIP_CREATE_REQUEST,
        responses={
            200: ECFPartnershipResponseSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORISED,
            422: PARTNERSHIP_UNPROCESSABLE,
        },
    )
    def create(self, request):
        attributes = attributes_of(request)
        partnership = services.partnership_confirm(
            lead_provider=request.user,
            cohort=attributes.get("cohort"),
            school_id=attributes.get("school_id"),
            delivery_partner_id=attributes.get("delivery_partner_id"),
        )
        return self._respond_with_partnership(request.user, partnership)

    @extend_schema(
        summary="Update a partnership's delivery partner in an existing partnership in a cohort",
        description="The same delivery partner as now leaves the partnership unchanged. A challenged partnership "
        "cannot be updated: confirm it again with POST.",
        operation_id="partnership_update",
        tags=["ECF partnerships"],
        parameters=[UUID_PATH_PARAMETER],
        request=PARTNERSHIP_UPDATE_REQUEST,
        responses={
            200: ECFPartnershipResponseSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORISED,
            404: NOT_FOUND,
            422: PARTNERSHIP_UNPROCESSABLE,
        },
    )
    def update(self, request, pk=None):
        partnership = selectors.provider_partnerships(request.user.id).filter(id=self.path_uuid(pk)).first()
        if partnership is None:  # another provider's, a relationship record, or none at all
            raise self.not_found()
        attributes = attributes_of(request)
        partnership = services.partnership_change_delivery_partner(
            lead_provider=request.user,
            partnership=partnership,
            delivery_partner_id=attributes.get("delivery_partner_id"),
        )
        return self._respond_with_partnership(request.user, partnership)

    def _respond_with_partnership(self, lead_provider, partnership):
        data = render_partnership(lead_provider.id, partnership.id)
        if data is None:  # cannot happen: a write leaves the provider its own, non-relationship record
            raise self.not_found()
        return self.respond(data)

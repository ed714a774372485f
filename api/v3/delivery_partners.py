"""v3 delivery partners the provider works with (rules §8.3, api.md §9.6, §10.3)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from api.filters import CohortsFilter, ContractFilterSet, NoFilterSet, cohort_condition, parse_sort
from api.pagination import parse_page
from api.schema import (
    BAD_REQUEST,
    NOT_FOUND,
    PAGE_PARAMETER,
    UNAUTHORISED,
    UUID_PATH_PARAMETER,
    sort_parameter,
)
from api.views import ProviderViewSet
from ecf.rfc3339 import format_timestamp
from participants import selectors

SORT_KEYS = {"created_at": "created_at", "updated_at": "updated_at"}


# --- The shape, for the schema -----------------------------------------------------------


class DeliveryPartnerAttributesSerializer(serializers.Serializer):
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    cohort = serializers.ListField(
        child=serializers.CharField(), help_text="Start years of your relationships with this partner, ascending."
    )


class DeliveryPartnerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="delivery-partner")
    attributes = DeliveryPartnerAttributesSerializer()


class DeliveryPartnerResponseSerializer(serializers.Serializer):
    data = DeliveryPartnerSerializer()


class DeliveryPartnersResponseSerializer(serializers.Serializer):
    data = DeliveryPartnerSerializer(many=True)


class DeliveryPartnerFilterSet(ContractFilterSet):
    cohort = CohortsFilter(help_text="Comma-separated start years, e.g. `2023,2024`.")


# --- Rendering -----------------------------------------------------------------------------

DELIVERY_PARTNER_COLUMNS = ("id", "name", "created_at", "updated_at")


def render_delivery_partners(lead_provider_id, rows: list[dict]) -> list[dict]:
    """Two queries in all with the page's: one more for the cohorts of every partner on it."""
    cohorts = selectors.relationship_cohorts(lead_provider_id, delivery_partner_ids=[row["id"] for row in rows])
    return [
        {
            "id": str(row["id"]),
            "type": "delivery-partner",
            "attributes": {
                "name": row["name"],
                "created_at": format_timestamp(row["created_at"]),
                "updated_at": format_timestamp(row["updated_at"]),
                "cohort": [str(year) for year in cohorts.get(row["id"], [])],
            },
        }
        for row in rows
    ]


# --- Endpoints -------------------------------------------------------------------------------


class DeliveryPartnerViewSet(ProviderViewSet):
    filtersets = {"list": DeliveryPartnerFilterSet}

    @extend_schema(
        summary="Retrieve delivery partners",
        operation_id="delivery_partners_list",
        tags=["delivery partners"],
        parameters=[PAGE_PARAMETER, sort_parameter(list(SORT_KEYS), "")],
        responses={200: DeliveryPartnersResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        filters = DeliveryPartnerFilterSet(request.query_params)
        page = parse_page(request.query_params)
        lead_provider = request.user
        partners = selectors.provider_delivery_partners(
            lead_provider.id, **cohort_condition(filters["cohort"], "cohort_id")
        )
        order = parse_sort(request.query_params.get("sort"), SORT_KEYS) or ["created_at"]
        rows = list(page.slice(partners.order_by(*order, "id").values(*DELIVERY_PARTNER_COLUMNS)))
        return self.respond(render_delivery_partners(lead_provider.id, rows))

    @extend_schema(
        summary="Retrieve a specific delivery partner",
        operation_id="delivery_partner_show",
        tags=["delivery partners"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: DeliveryPartnerResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        NoFilterSet(request.query_params)  # a `filter` that is not a hash is a 400 here too (api.md §6.3)
        delivery_partner_id = self.path_uuid(pk)
        lead_provider = request.user
        # Any cohort: a partner the provider worked with only in an old cohort is still its partner.
        row = (
            selectors.provider_delivery_partners(lead_provider.id)
            .filter(id=delivery_partner_id)
            .values(*DELIVERY_PARTNER_COLUMNS)
            .first()
        )
        if row is None:
            raise self.not_found()
        return self.respond(render_delivery_partners(lead_provider.id, [row])[0])

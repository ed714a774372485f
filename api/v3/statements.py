"""v3 financial statements of the provider (rules §5.5, api.md §9.7, §10.3, §16.17).

The list shows only output-fee statements; show opens any statement of the provider.
"""

import calendar

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from api.filters import CohortsFilter, ContractFilter, ContractFilterSet, UpdatedSinceFilter, cohort_condition
from api.pagination import parse_page
from api.schema import BAD_REQUEST, NOT_FOUND, PAGE_PARAMETER, UNAUTHORISED, UUID_PATH_PARAMETER
from api.views import ProviderViewSet
from ecf.rfc3339 import format_date, format_timestamp
from statements import selectors
from statements.models import StatementStatus

STATEMENT_TYPES = ["ecf"]


# --- The shape, for the schema -----------------------------------------------------------


class StatementAttributesSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="The payment month's name, e.g. `May`.")
    year = serializers.CharField(help_text="The payment year, e.g. `2025`.")
    type = serializers.ChoiceField(choices=STATEMENT_TYPES)
    cohort = serializers.CharField()
    cut_off_date = serializers.DateField()
    payment_date = serializers.DateField()
    paid = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class StatementSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="statement")
    attributes = StatementAttributesSerializer()


class StatementResponseSerializer(serializers.Serializer):
    data = StatementSerializer()


class StatementsResponseSerializer(serializers.Serializer):
    data = StatementSerializer(many=True)


def _type_filter() -> ContractFilter:
    # Documented with its one value; any other answers nothing (_asks_for_ecf), never a 400.
    return ContractFilter(choices=[(name, name) for name in STATEMENT_TYPES], help_text="Only `ecf` statements exist.")


class StatementFilterSet(ContractFilterSet):
    cohort = CohortsFilter(help_text="Comma-separated start years, e.g. `2023,2024`.")
    type = _type_filter()
    updated_since = UpdatedSinceFilter(help_text="RFC 3339 date-time; records updated at or after.")


class StatementShowFilterSet(ContractFilterSet):
    """Show reads only `filter[type]` (api.md §6.3); like the original's, it is not documented there."""

    type = _type_filter()


# --- Rendering -----------------------------------------------------------------------------

STATEMENT_COLUMNS = (
    "id",
    "month",
    "year",
    "cohort_id",
    "deadline_date",
    "payment_date",
    "status",
    "created_at",
    "updated_at",
)


def render_statements(rows: list[dict]) -> list[dict]:
    return [
        {
            "id": str(row["id"]),
            "type": "statement",
            "attributes": {
                # The two words of the statement's name ("May 2025").
                "month": calendar.month_name[row["month"]],
                "year": str(row["year"]),
                "type": "ecf",
                "cohort": str(row["cohort_id"]),
                "cut_off_date": format_date(row["deadline_date"]),
                "payment_date": format_date(row["payment_date"]),
                "paid": row["status"] == StatementStatus.PAID,
                "created_at": format_timestamp(row["created_at"]),
                "updated_at": format_timestamp(row["updated_at"]),
            },
        }
        for row in rows
    ]


def _asks_for_ecf(filters: ContractFilterSet) -> bool:
    """`filter[type]` absent, blank or `ecf`: every statement here is an ECF one. Any other type
    (the original also had NPQ statements) has none."""
    raw = filters["type"]
    return raw is None or raw.strip() in ("", "ecf")


# --- Endpoints -------------------------------------------------------------------------------


class StatementViewSet(ProviderViewSet):
    filtersets = {"list": StatementFilterSet}

    @extend_schema(
        summary="Retrieve financial statements",
        operation_id="statements_list",
        tags=["statements"],
        parameters=[PAGE_PARAMETER],
        responses={200: StatementsResponseSerializer, 400: BAD_REQUEST, 401: UNAUTHORISED},
    )
    def list(self, request):
        filters = StatementFilterSet(request.query_params)
        page = parse_page(request.query_params)
        conditions = cohort_condition(filters["cohort"], "cohort_id")
        updated_since = filters["updated_since"]
        if updated_since is not None:
            conditions["updated_at__gte"] = updated_since
        if not _asks_for_ecf(filters):
            return self.respond([])
        statements = selectors.provider_output_statements(request.user.id, **conditions)
        rows = list(page.slice(statements.order_by("payment_date", "id").values(*STATEMENT_COLUMNS)))
        return self.respond(render_statements(rows))

    @extend_schema(
        summary="Retrieve specific financial statement",
        operation_id="statement_show",
        tags=["statements"],
        parameters=[UUID_PATH_PARAMETER],
        responses={200: StatementResponseSerializer, 401: UNAUTHORISED, 404: NOT_FOUND},
    )
    def retrieve(self, request, pk=None):
        filters = StatementShowFilterSet(request.query_params)
        statement_id = self.path_uuid(pk)
        if not _asks_for_ecf(filters):
            raise self.not_found()
        row = selectors.provider_statements(request.user.id).filter(id=statement_id).values(*STATEMENT_COLUMNS).first()
        if row is None:
            raise self.not_found()
        return self.respond(render_statements([row])[0])

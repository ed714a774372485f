"""v3 financial statements of the provider (rules §5.5, api.md §9.7, §10.3, §16.17).

The list shows only output-fee statements; show opens any statement of the provider.
"""

import calendar
from decimal import ROUND_HALF_UP, Decimal

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
PENNY = Decimal("0.01")


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


def _amount(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True, help_text=help_text)


class StatementAmountsSerializer(serializers.Serializer):
    """Pounds and pence as strings, rounded half-up from the statement's own figures: the same as
    the statement DfE finance authorises (its frozen amounts once paid)."""

    output_payment = _amount("Output payments (ECTs and mentors), before clawbacks.")
    service_fee = _amount("The monthly service fee.")
    uplift_fees = _amount("Sparsity and pupil premium uplift fees.")
    clawbacks = _amount("Everything clawed back (output and uplift), negative.")
    additional_adjustments = _amount("The sum of DfE's additional adjustments, signed.")
    total_before_vat = _amount("Net total before VAT.")
    vat = _amount("VAT.")
    total = _amount("Total including VAT: what is paid.")


AMOUNTS_HELP_TEXT = (
    "The statement's amounts once it is payable or paid; null while it is open. "
    "List its lines with `GET /api/v3/participant-declarations?filter[statement_id]=<id>`."
)


class StatementShowAttributesSerializer(StatementAttributesSerializer):
    amounts = StatementAmountsSerializer(allow_null=True, help_text=AMOUNTS_HELP_TEXT)


class StatementShowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(default="statement")
    attributes = StatementShowAttributesSerializer()


class StatementResponseSerializer(serializers.Serializer):
    data = StatementShowSerializer()


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


def render_amounts(amounts: dict[str, Decimal] | None) -> dict[str, str] | None:
    if amounts is None:
        return None
    return {name: f"{amount.quantize(PENNY, rounding=ROUND_HALF_UP) + 0:.2f}" for name, amount in amounts.items()}


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
        statement = selectors.provider_statements(request.user.id).filter(id=statement_id).first()
        if statement is None:
            raise self.not_found()
        shown = render_statements([{column: getattr(statement, column) for column in STATEMENT_COLUMNS}])[0]
        shown["attributes"]["amounts"] = render_amounts(selectors.statement_amounts(statement))
        return self.respond(shown)

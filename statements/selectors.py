"""Reads of the statements domain, scoped to the lead provider asking (rules §5.5)."""

from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from statements.calculation import BILLABLE_STATES, REFUNDABLE_STATES, statement_figures
from statements.models import Statement, StatementStatus


def provider_statements(lead_provider_id) -> QuerySet[Statement]:
    """Every statement of the provider, output or not: what it may open by id."""
    return Statement.objects.filter(lead_provider_id=lead_provider_id)


def provider_output_statements(lead_provider_id, **conditions) -> QuerySet[Statement]:
    """The statements the provider lists: only output-fee ones, the ones that pay declarations
    (e.g. `cohort_id__in=[2024]`, `updated_at__gte=...`)."""
    return provider_statements(lead_provider_id).output().filter(**conditions)


def earlier_statements_shaping_bands(statement: Statement, *, courses: tuple[str, ...]) -> list[Statement]:
    """The previous statements of the statement's provider and cohort (finance.md §1.1) that hold
    lines the band allocation counts (§3.2), oldest first, each annotated with `paying_lines` and
    `clawback_lines` of the given courses (the calculation's population)."""
    paying = Q(
        declarations__state__in=(*BILLABLE_STATES, *REFUNDABLE_STATES), declarations__course_identifier__in=courses
    )
    clawing = Q(
        clawback_declarations__state__in=REFUNDABLE_STATES, clawback_declarations__course_identifier__in=courses
    )
    return list(
        Statement.objects.filter(
            lead_provider_id=statement.lead_provider_id,
            cohort_id=statement.cohort_id,
            payment_date__lt=statement.payment_date,
        )
        .annotate(
            paying_lines=Count("declarations", filter=paying, distinct=True),
            clawback_lines=Count("clawback_declarations", filter=clawing, distinct=True),
        )
        .filter(Q(paying_lines__gt=0) | Q(clawback_lines__gt=0))
        .order_by("payment_date", "id")
    )


# What a statement's money reads as outside the back office (issue 16.6): the same figures as its page.
AMOUNT_FIELDS = {
    "output_payment": "output_payment",
    "service_fee": "service_fee",
    "uplift_fees": "uplift_fees",
    "clawbacks": "clawbacks",
    "additional_adjustments": "adjustments_total",
    "total_before_vat": "net",
    "vat": "vat",
    "total": "total",
}


def statement_amounts(statement: Statement) -> dict[str, Decimal] | None:
    """The amounts of a payable or paid statement (the frozen ones once paid, decisions §15), at full
    precision; None while it is open, when its lines may still change."""
    if statement.status == StatementStatus.OPEN:
        return None
    figures = statement_figures(statement)
    return {name: Decimal(str(figures[key])) for name, key in AMOUNT_FIELDS.items()}

"""Reads of the statements domain, scoped to the lead provider asking (rules §5.5)."""

from django.db.models import Count, Q, QuerySet

from statements.calculation import BILLABLE_STATES, REFUNDABLE_STATES
from statements.models import Statement


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

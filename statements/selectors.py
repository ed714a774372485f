"""Reads of the statements domain, scoped to the lead provider asking (rules §5.5)."""

from django.db.models import QuerySet

from statements.models import Statement


def provider_statements(lead_provider_id) -> QuerySet[Statement]:
    """Every statement of the provider, output or not: what it may open by id."""
    return Statement.objects.filter(lead_provider_id=lead_provider_id)


def provider_output_statements(lead_provider_id, **conditions) -> QuerySet[Statement]:
    """The statements the provider lists: only output-fee ones, the ones that pay declarations
    (e.g. `cohort_id__in=[2024]`, `updated_at__gte=...`)."""
    return provider_statements(lead_provider_id).output().filter(**conditions)

"""Reads of declarations, scoped to the lead provider asking (rules §4.11).

A provider reads its own declarations in every state, and the declarations other providers made
for the people who train with it now (or are leaving it), so that a provider taking a participant
over knows what has already been claimed (rules §12 PV-34).
"""

from datetime import datetime

from django.db.models import QuerySet

from declarations.models import Declaration, DeclarationState
from participants.models import InductionStatus
from visibility.models import DeclarationVisibility

# Another provider's declaration is shown only while it holds, or is being paid for, its event:
# voided, ineligible and clawed-back ones are that provider's business.
SHARED_STATES = (
    DeclarationState.SUBMITTED,
    DeclarationState.ELIGIBLE,
    DeclarationState.PAYABLE,
    DeclarationState.PAID,
)
TRAINING_HERE = (InductionStatus.ACTIVE, InductionStatus.COMPLETED)


def visible_declarations(
    lead_provider_id,
    *,
    cohorts: list[int] | None = None,
    participant_ids: list | None = None,
    delivery_partner_ids: list | None = None,
    updated_since: datetime | None = None,
    updated_after: datetime | None = None,
    include_leaving: bool = True,
) -> QuerySet[Declaration]:
    """The declarations the provider may read: the union of rules §4.11 sets 1-3 (v3), or of sets
    1-2 only with `include_leaving=False` (v1/v2, api.md §15), narrowed by each given filter (None
    means no restriction; cohorts are the declaration's own). `updated_since` is inclusive (v3),
    `updated_after` strict (v1/v2, api.md §6.2).

    The sets are kept in the read model (visibility.services computes them). Sets 2 and 3 look at
    the provider's training periods of the declaration's person (through the
    period's enrolment, so any enrolment of that person counts). Challenged partnerships are NOT
    excluded here: the original's declarations query does not exclude them, the spec says nothing
    about reads, and decisions §4 only restricts what a provider may *do* (submit, act), so we keep
    the original behaviour.
    """
    rows = visible_declaration_ids(
        lead_provider_id,
        cohorts=cohorts,
        participant_ids=participant_ids,
        delivery_partner_ids=delivery_partner_ids,
        updated_since=updated_since,
        updated_after=updated_after,
        include_leaving=include_leaving,
    )
    return Declaration.objects.filter(id__in=rows.order_by())


def visible_declaration_ids(
    lead_provider_id,
    *,
    cohorts: list[int] | None = None,
    participant_ids: list | None = None,
    delivery_partner_ids: list | None = None,
    updated_since: datetime | None = None,
    updated_after: datetime | None = None,
    include_leaving: bool = True,
) -> QuerySet:
    """The ids of visible_declarations (same arguments), oldest first (`created_at`, then id), read
    from the read model (visibility.models) by an index range scan: slice it for a page."""
    rows = DeclarationVisibility.objects.filter(lead_provider_id=lead_provider_id)
    if not include_leaving:
        rows = rows.filter(in_v1=True)
    if cohorts is not None:
        rows = rows.filter(cohort_id__in=cohorts)
    if participant_ids is not None:
        rows = rows.filter(participant_id__in=participant_ids)
    if delivery_partner_ids is not None:
        rows = rows.filter(delivery_partner_id__in=delivery_partner_ids)
    if updated_since is not None:
        rows = rows.filter(updated_at__gte=updated_since)
    if updated_after is not None:
        rows = rows.filter(updated_at__gt=updated_after)
    return rows.order_by("created_at", "declaration_id").values_list("declaration_id", flat=True)


def own_declaration(lead_provider_id, declaration_id) -> Declaration | None:
    """A declaration the provider may void: only one it submitted (rules §5.3)."""
    return Declaration.objects.filter(pk=declaration_id, lead_provider_id=lead_provider_id).first()

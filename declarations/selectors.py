"""Reads of declarations, scoped to the lead provider asking (rules §4.11).

A provider reads its own declarations in every state, and the declarations other providers made
for the people who train with it now (or are leaving it), so that a provider taking a participant
over knows what has already been claimed (rules §12 PV-34).
"""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from declarations.models import Declaration, DeclarationState
from participants.models import InductionStatus, TrainingPeriod

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

    Sets 2 and 3 look at the provider's training periods of the declaration's person (through the
    period's enrolment, so any enrolment of that person counts). Challenged partnerships are NOT
    excluded here: the original's declarations query does not exclude them, the spec says nothing
    about reads, and decisions §4 only restricts what a provider may *do* (submit, act), so we keep
    the original behaviour.
    """
    provider_periods = TrainingPeriod.objects.filter(partnership__lead_provider_id=lead_provider_id)
    # Uncorrelated, so the database builds the set of people once per query (a hashed subplan).
    training_here = provider_periods.filter(induction_status__in=TRAINING_HERE).values("enrolment__participant_id")
    leaving = provider_periods.filter(induction_status=InductionStatus.LEAVING)
    # A provider the person is leaving still sees what was declared up to the day they leave; the
    # correlated check only runs for people who have such a period.
    left_after_declaration = leaving.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=OuterRef("declaration_date")),
        enrolment__participant_id=OuterRef("participant_id"),
    )
    shared = Q(participant_id__in=training_here)
    if include_leaving:
        shared |= Q(participant_id__in=leaving.values("enrolment__participant_id")) & Exists(left_after_declaration)
    declarations = Declaration.objects.filter(
        Q(lead_provider_id=lead_provider_id) | (Q(state__in=SHARED_STATES) & shared)
    )
    if cohorts is not None:
        declarations = declarations.filter(cohort_id__in=cohorts)
    if participant_ids is not None:
        declarations = declarations.filter(participant_id__in=participant_ids)
    if delivery_partner_ids is not None:
        declarations = declarations.filter(delivery_partner_id__in=delivery_partner_ids)
    if updated_since is not None:
        declarations = declarations.filter(updated_at__gte=updated_since)
    if updated_after is not None:
        declarations = declarations.filter(updated_at__gt=updated_after)
    return declarations


def own_declaration(lead_provider_id, declaration_id) -> Declaration | None:
    """A declaration the provider may void: only one it submitted (rules §5.3)."""
    return Declaration.objects.filter(pk=declaration_id, lead_provider_id=lead_provider_id).first()


def on_statements(declarations: QuerySet[Declaration], lead_provider_id, statement_ids: list) -> QuerySet[Declaration]:
    """`filter[statement_id]` (issue 16.6): the provider's own declarations that the statements pay
    (or paid) or claw back, so that a payment can be reconciled line by line. Only the provider's:
    a statement pays its own provider alone."""
    return declarations.filter(
        Q(statement_id__in=statement_ids) | Q(clawback_statement_id__in=statement_ids),
        lead_provider_id=lead_provider_id,
    )

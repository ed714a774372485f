"""Reads of declarations, scoped to the lead provider asking (rules §4.11).

A provider reads its own declarations in every state, and the declarations other providers made
for the people who train with it now (or are leaving it), so that a provider taking a participant
over knows what has already been claimed (rules §12 PV-34).
"""

from datetime import date, datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, UUIDField, Value

from declarations.models import BILLABLE_STATES, SLOT_HOLDING_STATES, Declaration, DeclarationState
from ecf.compiled_query import CompiledQuery
from participants.models import Enrolment, InductionStatus, Milestone, TrainingStatusChange
from participants.selectors import visible_periods
from statements.models import Statement, StatementStatus
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
    statement_ids: list | None = None,
) -> QuerySet:
    """The ids of visible_declarations (same arguments), oldest first (`created_at`, then id), read
    from the read model (visibility.models) by an index range scan: slice it for a page.
    `statement_ids`: only those the statements pay, paid or claw back (on_statements)."""
    rows = DeclarationVisibility.objects.filter(lead_provider_id=lead_provider_id)
    if statement_ids is not None:
        rows = rows.filter(declaration_id__in=on_statements(lead_provider_id, statement_ids).values("id"))
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


def on_statements(lead_provider_id, statement_ids: list) -> QuerySet[Declaration]:
    """`filter[statement_id]` (issue 16.6): the provider's own declarations that the statements pay
    (or paid) or claw back, so that a payment can be reconciled line by line. Only the provider's:
    a statement pays its own provider alone."""
    return Declaration.objects.filter(
        Q(statement_id__in=statement_ids) | Q(clawback_statement_id__in=statement_ids),
        lead_provider_id=lead_provider_id,
    )


# --- What the submission rules need (rules §4.4), in one query ------------------------------------


def submission_facts(**values) -> dict:
    """Everything rules §4.4-§4.7 read about one enrolment for one submission, as one row (see
    `_submission_facts_query` for the keys). Compiled once per process (ecf.compiled_query)."""
    row = _SUBMISSION_FACTS.first(**values)
    row.setdefault("period_status", None)
    row.setdefault("period_delivery_partner_id", None)
    row.setdefault("period_mentor_id", None)
    return row


def _submission_facts_query(
    *,
    lead_provider_id,
    enrolment_id,
    participant_id,
    trn: str | None,
    course_identifier: str,
    declaration_type: str | None,
    declared_at: datetime | None,
    today: date,
) -> QuerySet:
    """Everything rules §4.4-§4.7 read about one enrolment for one submission, as one row.

    One query (each value is an indexed lookup in a subquery), read after the submission's locks
    were taken, so nothing a concurrent submission commits before them is missed. Keys:
    the enrolment's own fields (`kind`, `schedule_id`, `cohort_id`, `mentor_funding`,
    `detailed_evidence_types`, `eligibility_status`, uplifts), `trains_current_schedule` (V13),
    the provider's newest status change (`last_status`, `last_status_at`, V2), the provider's
    period in force at the declaration date (`period_status`, `period_delivery_partner_id`,
    `period_mentor_id`, V2 and §4.7), the milestone (`milestone_start`, `milestone_end`, V7/V9),
    the identical declarations of any provider (`identical_submitted`, `identical_billable`,
    `identical_slot_taken`, V8/V10), the next output statement (`output_statement_id`, V8/§4.8)
    and the oldest same-TRN declaration of another account (`same_trn_declaration_id`, §4.6).
    """
    periods = visible_periods(lead_provider_id).filter(enrolment_id=OuterRef("pk"))
    status_changes = TrainingStatusChange.objects.filter(
        enrolment_id=OuterRef("pk"), lead_provider_id=lead_provider_id
    ).order_by("-created_at", "-id")
    milestones = Milestone.objects.filter(schedule_id=OuterRef("schedule_id"), declaration_type=declaration_type)
    identical = Declaration.objects.filter(
        participant_id=participant_id, course_identifier=course_identifier, declaration_type=declaration_type
    )
    statements = Statement.objects.filter(
        lead_provider_id=lead_provider_id,
        cohort_id=OuterRef("schedule__cohort_id"),
        output_fee=True,
        status=StatementStatus.OPEN,
        deadline_date__gte=today,
    ).order_by("deadline_date", "payment_date", "id")
    facts = {
        "trains_current_schedule": Exists(periods.filter(schedule_id=OuterRef("schedule_id"))),
        "last_status": Subquery(status_changes.values("training_status")[:1]),
        "last_status_at": Subquery(status_changes.values("created_at")[:1]),
        "milestone_start": Subquery(milestones.values("start_date")[:1]),
        "milestone_end": Subquery(milestones.values("milestone_date")[:1]),
        "identical_submitted": Exists(identical.filter(state=DeclarationState.SUBMITTED)),
        "identical_billable": Exists(identical.filter(state__in=BILLABLE_STATES)),
        "identical_slot_taken": Exists(identical.filter(state__in=SLOT_HOLDING_STATES)),
        "output_statement_id": Subquery(statements.values("id")[:1]),
        "same_trn_declaration_id": Value(None, output_field=UUIDField()),
    }
    if declared_at is not None:
        relevant = periods.filter(start_date__lte=declared_at).order_by("-start_date", "-created_at", "-id")
        facts["period_status"] = Subquery(relevant.values("training_status")[:1])
        facts["period_delivery_partner_id"] = Subquery(relevant.values("partnership__delivery_partner_id")[:1])
        facts["period_mentor_id"] = Subquery(relevant.values("mentor__participant_id")[:1])
    if trn:
        same_trn = (
            Declaration.objects.filter(
                participant__trn=trn,
                course_identifier=course_identifier,
                declaration_type=declaration_type,
                state__in=SLOT_HOLDING_STATES,
                superseded_by__isnull=True,
            )
            .exclude(participant_id=participant_id)
            .order_by("created_at", "id")
        )
        facts["same_trn_declaration_id"] = Subquery(same_trn.values("id")[:1])
    return (
        Enrolment.objects.filter(pk=enrolment_id)
        .annotate(**facts)
        .values(
            "id",
            "kind",
            "schedule_id",
            "eligibility_status",
            "pupil_premium_uplift",
            "sparsity_uplift",
            *facts,
            cohort_id=F("schedule__cohort_id"),
            mentor_funding=F("schedule__cohort__mentor_funding"),
            detailed_evidence_types=F("schedule__cohort__detailed_evidence_types"),
        )[:1]
    )


_SUBMISSION_FACTS = CompiledQuery(_submission_facts_query)

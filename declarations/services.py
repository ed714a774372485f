"""Declaration writes: submit (rules §4) and void / claw back (rules §5.3), for every API version.

Money is made or lost here. Validation follows the original's order exactly (rules §4.4) so a
provider gets the same errors, in the same order, as from the service it integrated against.
Writes happen in one transaction under a lock on the enrolment, with the database's unique
slot constraint as the backstop, so concurrent identical submissions give exactly one
declaration. The attempt log is written outside that transaction: it survives a refusal.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import IntegrityError, transaction

from declarations import state_machine
from declarations.models import (
    BILLABLE_STATES,
    SLOT_HOLDING_STATES,
    Declaration,
    DeclarationAttempt,
    DeclarationState,
    EvidenceHeld,
    IneligibilityReason,
)
from declarations.state_machine import Actor
from ecf import clock, rfc3339
from ecf.errors import InvalidAction, ServiceValidationError
from participants import selectors as participant_selectors
from participants import services as participant_services
from participants.models import (
    DeclarationType,
    EligibilityReason,
    EligibilityStatus,
    Enrolment,
    EnrolmentKind,
    LeadProvider,
    Milestone,
    Participant,
    TrainingStatus,
    TrainingStatusChange,
)
from statements.models import Statement
from visibility.changes import visibility_changed

# --- The contract's words (api.md §11.1, §11.4) ------------------------------------------------

NPQ_NOT_SUPPORTED = "NPQ Courses are no longer supported"
PARTICIPANT_NOT_RECOGNISED = (
    "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again."
)
WITHDRAWN_ON = (
    "This participant withdrew from this course on {at}. "
    "Enter a '#/declaration_date' that's on or before the withdrawal date."
)
DATE_MISSING = "Enter a '#/declaration_date'."
TYPE_MISSING = "Enter a '#/declaration_type'."
DATE_IN_FUTURE = "The '#/declaration_date' value cannot be a future date. Check the date and try again."
DATE_INVALID = "Enter a valid RCF3339 '#/declaration_date'."
BEFORE_MILESTONE_START = "Enter a '#/declaration_date' that's on or after the milestone start."
AFTER_MILESTONE_END = "Enter a '#/declaration_date' that's before the milestone end date."
FUNDING_ENDED = (
    "You cannot submit or void declarations for the {year} cohort. The funding contract for this cohort has ended. "
    "Get in touch if you need to discuss this with us"
)
TYPE_NOT_IN_SCHEDULE = "The property '#/declaration_type' does not exist for this schedule."
ALREADY_SUBMITTED = "A declaration has already been submitted that will be, or has been, paid for this event"
MENTOR_ONLY_STARTED_COMPLETED = (
    "You cannot send retained or extended declarations for participants who began their mentor training after "
    "June 2025. Resubmit this declaration with either a started or completed declaration."
)
COURSE_NOT_RECOGNISED = (
    "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again."
)
EVIDENCE_MISSING = "Enter a '#/evidence_held' value for this participant."
EVIDENCE_NOT_AVAILABLE = "Enter an available '#/evidence_held' type for this participant's event and course."
ALREADY_VOIDED = "This declaration has already been voided."
CLAWED_BACK_VIEW_ONLY = "This declaration has been clawed-back, so you can only view it."
ALREADY_REFUNDED = "Participant declaration will or has been be refunded"

# --- Evidence rules (rules §4.3) ------------------------------------------------------------------

E = EvidenceHeld
T = DeclarationType
BASIC_EVIDENCE = frozenset({E.TRAINING_EVENT_ATTENDED, E.SELF_STUDY_MATERIAL_COMPLETED, E.OTHER})
_ENGAGEMENT = frozenset({*BASIC_EVIDENCE, E.MATERIALS_ENGAGED_WITH_OFFLINE})
_SEVENTY_FIVE = frozenset(
    {E.SEVENTY_FIVE_PERCENT_ENGAGEMENT_MET, E.SEVENTY_FIVE_PERCENT_ENGAGEMENT_MET_REDUCED_INDUCTION}
)
DETAILED_EVIDENCE = {
    EnrolmentKind.ECT: {
        T.STARTED: _ENGAGEMENT,
        T.RETAINED_1: _ENGAGEMENT,
        T.RETAINED_2: _SEVENTY_FIVE,
        T.RETAINED_3: _ENGAGEMENT,
        T.RETAINED_4: _ENGAGEMENT,
        T.COMPLETED: _SEVENTY_FIVE | {E.ONE_TERM_INDUCTION},
        T.EXTENDED_1: _ENGAGEMENT,
        T.EXTENDED_2: _ENGAGEMENT,
        T.EXTENDED_3: _ENGAGEMENT,
    },
    EnrolmentKind.MENTOR: {T.STARTED: _ENGAGEMENT, T.COMPLETED: _SEVENTY_FIVE},
}
MENTOR_FUNDED_TYPES = frozenset({T.STARTED, T.COMPLETED})


# --- Submission -------------------------------------------------------------------------------------


@dataclass
class Submission:
    """What a provider sent, and what it resolves to. Attributes are the raw strings sent."""

    lead_provider: LeadProvider
    participant_id: object
    declaration_type: str | None
    declaration_date: str | None
    course_identifier: str | None
    evidence_held: str | None
    participant: Participant | None = None
    enrolment: Enrolment | None = None
    declared_at: datetime | None = None  # the parsed declaration_date
    # Read once under the enrolment lock, then reused: nothing this request writes changes them
    # before they are used (each saved a query of a POST, docs/benchmarks.md).
    identical_states: frozenset | None = None  # states of the identical declarations (any provider)
    output_statement: Statement | None = None
    output_statement_read: bool = False

    @property
    def cohort_id(self) -> int:
        return self.enrolment.schedule.cohort_id


def declaration_submit(*, lead_provider: LeadProvider, attributes: dict) -> Declaration:
    """Validate and record a declaration, or raise ServiceValidationError with every failing attribute."""
    submission = Submission(
        lead_provider=lead_provider,
        participant_id=attributes.get("participant_id"),
        declaration_type=_text(attributes.get("declaration_type")),
        declaration_date=_text(attributes.get("declaration_date")),
        course_identifier=_text(attributes.get("course_identifier")),
        evidence_held=_text(attributes.get("evidence_held")),
    )
    if (submission.course_identifier or "").startswith("npq-"):
        raise ServiceValidationError([("course_identifier", NPQ_NOT_SUPPORTED)])
    submission.participant = _participant(submission.participant_id)
    attempt = _record_attempt(submission)
    try:
        declaration = _submit(submission)
    except ServiceValidationError as refusal:
        if attempt is not None:
            DeclarationAttempt.objects.filter(pk=attempt.pk).update(errors=refusal.errors)
        raise
    if attempt is not None:
        DeclarationAttempt.objects.filter(pk=attempt.pk).update(declaration=declaration)
    return declaration


def _text(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _participant(participant_id) -> Participant | None:
    """The person the id names now, or None (an unknown or non-UUID id, rules §1.4)."""
    try:
        parsed = uuid.UUID(str(participant_id)) if participant_id is not None else None
    except ValueError:
        return None
    return participant_selectors.participant_by_any_id(parsed) if parsed else None


def _record_attempt(submission: Submission) -> DeclarationAttempt | None:
    """Every POST for a known person is logged, accepted or not (rules §4.9)."""
    if submission.participant is None:
        return None
    return DeclarationAttempt.objects.create(
        lead_provider=submission.lead_provider,
        participant=submission.participant,
        course_identifier=(submission.course_identifier or "")[:64],
        declaration_type=(submission.declaration_type or "")[:64],
        declaration_date=(submission.declaration_date or "")[:64],
        evidence_held=(submission.evidence_held or "")[:64],
    )


def _submit(submission: Submission) -> Declaration:
    try:
        with transaction.atomic():
            if submission.participant is not None and submission.course_identifier:
                submission.enrolment = participant_selectors.enrolment_for_course(
                    submission.participant, submission.course_identifier, lead_provider_id=submission.lead_provider.pk
                )
            if submission.enrolment is not None:
                # Serialise submissions for one enrolment: the second of two identical requests
                # waits here, then sees the first one's declaration as a duplicate.
                Enrolment.objects.select_for_update().filter(pk=submission.enrolment.pk).first()
            errors = _validate(submission)
            if errors:
                raise ServiceValidationError(errors)
            return _create(submission)
    except IntegrityError:
        # The unique slot constraint caught a race the lock did not (e.g. two enrolments of one person).
        raise ServiceValidationError([("base", ALREADY_SUBMITTED)]) from None


def _validate(submission: Submission) -> list[tuple[str, str]]:
    """Rules §4.4 V1–V14, in order. A rule "skip if errors" runs only while nothing has failed."""
    errors: list[tuple[str, str]] = []
    enrolment = submission.enrolment
    now = clock.now()
    if submission.declaration_date:
        submission.declared_at = rfc3339.parse(submission.declaration_date)
    declared_at = submission.declared_at

    if submission.participant is None:  # V1
        errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))
    if enrolment is not None and declared_at is not None:  # V2
        withdrawn_at = _withdrawal_blocking(submission)
        if withdrawn_at is not None:
            errors.append(("participant_id", WITHDRAWN_ON.format(at=rfc3339.format_timestamp(withdrawn_at))))
    if not submission.declaration_date:  # V3
        errors.append(("declaration_date", DATE_MISSING))
    if not submission.declaration_type:  # V4
        errors.append(("declaration_type", TYPE_MISSING))
    if declared_at is not None and declared_at > now:  # V5
        errors.append(("declaration_date", DATE_IN_FUTURE))
    if submission.declaration_date and declared_at is None:  # V6
        errors.append(("declaration_date", DATE_INVALID))
    milestone = _milestone(submission)
    if milestone is not None and declared_at is not None:  # V7
        errors.extend(("declaration_date", message) for message in _outside_window(milestone, declared_at))
    if enrolment is not None and _needs_output_statement(submission) and not _output_statement_available(submission):
        errors.append(("cohort", FUNDING_ENDED.format(year=submission.cohort_id)))  # V8
    if enrolment is not None and submission.declaration_type and milestone is None:  # V9
        errors.append(("declaration_type", TYPE_NOT_IN_SCHEDULE))
    if enrolment is not None and submission.declaration_type and _slot_taken(submission):  # V10
        errors.append(("base", ALREADY_SUBMITTED))
    if (  # V11
        enrolment is not None
        and enrolment.kind == EnrolmentKind.MENTOR
        and enrolment.schedule.cohort.mentor_funding
        and submission.declaration_type
        and submission.declaration_type not in MENTOR_FUNDED_TYPES
    ):
        errors.append(("declaration_type", MENTOR_ONLY_STARTED_COMPLETED))
    if errors:
        return errors
    if enrolment is None:  # V12
        return [("course_identifier", COURSE_NOT_RECOGNISED)]
    if not _provider_trains_on_current_schedule(submission):  # V13
        return [("participant_id", PARTICIPANT_NOT_RECOGNISED)]
    evidence_error = _evidence_error(submission)  # V14
    return [("evidence_held", evidence_error)] if evidence_error else []


def _withdrawal_blocking(submission: Submission) -> datetime | None:
    """The withdrawal time when this provider's withdrawal came at or before the declaration date (V2)."""
    newest = (
        TrainingStatusChange.objects.filter(enrolment=submission.enrolment, lead_provider=submission.lead_provider)
        .order_by("-created_at", "-id")
        .first()
    )
    if newest is None or newest.training_status != TrainingStatus.WITHDRAWN:
        return None
    if newest.created_at > submission.declared_at:
        return None
    period = _relevant_period(submission)
    if period is not None and period.training_status == TrainingStatus.ACTIVE:
        return None  # resumed with an active period in force at the declaration date
    return newest.created_at


def _relevant_period(submission: Submission):
    """The provider's latest period for the enrolment that had started by the declaration date."""
    return (
        participant_selectors.visible_periods(submission.lead_provider.pk)
        .filter(enrolment=submission.enrolment, start_date__lte=submission.declared_at)
        .select_related("partnership", "mentor")
        .order_by("-start_date", "-created_at", "-id")
        .first()
    )


def _milestone(submission: Submission) -> Milestone | None:
    if submission.enrolment is None or not submission.declaration_type:
        return None
    return Milestone.objects.filter(
        schedule_id=submission.enrolment.schedule_id, declaration_type=submission.declaration_type
    ).first()


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _outside_window(milestone: Milestone, declared_at: datetime) -> list[str]:
    """Whole UTC days: any time on the start day through any time on the milestone day (rules §4.5)."""
    if declared_at < _start_of_day(milestone.start_date):
        return [BEFORE_MILESTONE_START]
    if milestone.milestone_date and declared_at >= _start_of_day(milestone.milestone_date + timedelta(days=1)):
        return [AFTER_MILESTONE_END]
    return []


def _identical(submission: Submission):
    return Declaration.objects.filter(
        participant=submission.participant,
        course_identifier=submission.course_identifier,
        declaration_type=submission.declaration_type,
    )


def _identical_states(submission: Submission) -> frozenset:
    """The states of the identical declarations, one query for V8 and V10."""
    if submission.identical_states is None:
        submission.identical_states = frozenset(_identical(submission).values_list("state", flat=True).distinct())
    return submission.identical_states


def _needs_output_statement(submission: Submission) -> bool:
    """V8 runs for fundable participants, or when an identical declaration is already billable,
    and not when an identical one is only submitted (api.md §11.1 row 9)."""
    states = _identical_states(submission)
    if DeclarationState.SUBMITTED in states:
        return False
    return submission.enrolment.is_fundable or not states.isdisjoint(BILLABLE_STATES)


def _output_statement(submission: Submission) -> Statement | None:
    """The statement V8 checks for is the one the declaration goes on (one query for both)."""
    if not submission.output_statement_read:
        submission.output_statement = _next_output_statement(submission.lead_provider.pk, submission.cohort_id)
        submission.output_statement_read = True
    return submission.output_statement


def _output_statement_available(submission: Submission) -> bool:
    return _output_statement(submission) is not None


def _next_output_statement(lead_provider_id, cohort_id: int) -> Statement | None:
    return Statement.objects.next_output_for(
        lead_provider_id=lead_provider_id, cohort_id=cohort_id, today=clock.today()
    )


def _slot_taken(submission: Submission) -> bool:
    """Any provider's submitted or billable declaration of the same type and course (rules §4.6)."""
    return not _identical_states(submission).isdisjoint(SLOT_HOLDING_STATES)


def _provider_trains_on_current_schedule(submission: Submission) -> bool:
    """V13: challenged partnerships don't count (decisions §4: a provider acts only on whom it can see)."""
    return (
        participant_selectors.visible_periods(submission.lead_provider.pk)
        .filter(enrolment=submission.enrolment, schedule_id=submission.enrolment.schedule_id)
        .exists()
    )


def _evidence_error(submission: Submission) -> str | None:
    evidence = submission.evidence_held
    declaration_type = submission.declaration_type
    if not submission.enrolment.schedule.cohort.detailed_evidence_types:
        if declaration_type == T.STARTED:
            return None  # not validated, not stored
        if not evidence:
            return EVIDENCE_MISSING
        return None if evidence in BASIC_EVIDENCE else EVIDENCE_NOT_AVAILABLE
    if not evidence:
        return None if declaration_type == T.STARTED else EVIDENCE_MISSING
    allowed = DETAILED_EVIDENCE[submission.enrolment.kind].get(declaration_type, frozenset())
    return None if evidence in allowed else EVIDENCE_NOT_AVAILABLE


def _stored_evidence(submission: Submission) -> str | None:
    cohort = submission.enrolment.schedule.cohort
    if submission.declaration_type == T.STARTED and not cohort.detailed_evidence_types:
        return None
    return submission.evidence_held or None


def _create(submission: Submission) -> Declaration:
    enrolment = submission.enrolment
    period = _relevant_period(submission)
    duplicate_of = _same_trn_declaration(submission)
    if duplicate_of is not None:
        state = DeclarationState.INELIGIBLE
    elif enrolment.is_fundable:
        state = DeclarationState.ELIGIBLE
    else:
        state = DeclarationState.SUBMITTED
    statement = None
    if state != DeclarationState.SUBMITTED:
        statement = _output_statement(submission)
    declaration = Declaration.objects.create(
        enrolment=enrolment,
        participant=submission.participant,
        lead_provider=submission.lead_provider,
        cohort_id=submission.cohort_id,
        course_identifier=submission.course_identifier,
        declaration_type=submission.declaration_type,
        declaration_date=submission.declared_at,
        state=state,
        ineligibility_reason=IneligibilityReason.DUPLICATE if duplicate_of else None,
        superseded_by=duplicate_of,
        evidence_held=_stored_evidence(submission),
        delivery_partner_id=period.partnership.delivery_partner_id if period and period.partnership else None,
        mentor_id=period.mentor.participant_id if period and period.mentor and enrolment.kind == "ect" else None,
        pupil_premium_uplift=enrolment.pupil_premium_uplift,
        sparsity_uplift=enrolment.sparsity_uplift,
        statement=statement,
    )
    state_machine.record_creation(declaration, actor=Actor.provider(submission.lead_provider))
    _update_mentor_completion(declaration)
    visibility_changed(participant_ids=[declaration.participant_id])
    return declaration


def _same_trn_declaration(submission: Submission) -> Declaration | None:
    """Another account of the same teacher already holds this event (rules §4.6): the oldest one."""
    trn = submission.participant.trn
    if not trn:
        return None
    return (
        Declaration.objects.filter(
            participant__trn=trn,
            course_identifier=submission.course_identifier,
            declaration_type=submission.declaration_type,
            state__in=SLOT_HOLDING_STATES,
            superseded_by__isnull=True,
        )
        .exclude(participant=submission.participant)
        .order_by("created_at", "id")
        .first()
    )


def _update_mentor_completion(declaration: Declaration) -> None:
    """Rules §4.10: a mentor's completion follows their completed declarations."""
    if declaration.course_identifier != "ecf-mentor" or declaration.declaration_type != T.COMPLETED:
        return
    participant_services.enrolment_refresh_mentor_completion(enrolment_id=declaration.enrolment_id)


# --- Void and clawback ---------------------------------------------------------------------------------


@transaction.atomic
def declaration_void(*, declaration: Declaration, actor: Actor, reason: str = "") -> Declaration:
    """Void an unpaid declaration, or claw back a paid one on the next output statement (rules §5.3)."""
    declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
    state = declaration.state
    if state == DeclarationState.VOIDED:
        raise InvalidAction(ALREADY_VOIDED)
    if state in (DeclarationState.AWAITING_CLAWBACK, DeclarationState.CLAWED_BACK):
        raise InvalidAction(CLAWED_BACK_VIEW_ONLY)
    voided_by = {"voided_by_user": actor.user, "voided_at": clock.now()} if actor.user else {}
    if state == DeclarationState.PAID:
        declaration = _claw_back(declaration, actor=actor, reason=reason, **voided_by)
    else:
        declaration = state_machine.transition(
            declaration, DeclarationState.VOIDED, actor=actor, reason=reason, **voided_by
        )
    _update_mentor_completion(declaration)
    visibility_changed(participant_ids=[declaration.participant_id])
    return declaration


def _claw_back(declaration: Declaration, *, actor: Actor, reason: str, **changes) -> Declaration:
    if declaration.clawback_statement_id is not None:
        raise InvalidAction(ALREADY_REFUNDED)
    statement = _next_output_statement(declaration.lead_provider_id, declaration.cohort_id)
    if statement is None:
        raise InvalidAction("Participant declaration " + FUNDING_ENDED.format(year=declaration.cohort_id))
    return state_machine.transition(
        declaration,
        DeclarationState.AWAITING_CLAWBACK,
        actor=actor,
        reason=reason,
        clawback_statement=statement,
        **changes,
    )


# --- Funding eligibility from DfE's TRN checks (rules §4.8, §5.2) -------------------------------------

ELIGIBILITY_STATUS_INVALID = "The eligibility status must be one of: " + ", ".join(EligibilityStatus.values) + "."
ELIGIBILITY_REASON_INVALID = "The eligibility reason must be one of: " + ", ".join(EligibilityReason.values) + "."


@transaction.atomic
def enrolment_set_eligibility(*, enrolment: Enrolment, status: str, reason: str) -> list[Declaration]:
    """Record the result of DfE's TRN check for a training record.

    The provider sees it (`eligible_for_funding`, `teacher_reference_number_validated`), so the
    person is touched. When the record becomes fundable, each of its `submitted` declarations
    becomes `eligible` on its provider's next output-fee statement for the declaration's cohort at
    this moment (rules §4.8, §5.2); one whose provider has no such statement stays `submitted`, as
    there is nowhere to pay it (and it moves when the eligibility is recorded again). A reversed
    eligibility changes no declaration: `eligible` → `submitted` is for DfE to decide case by case.
    Returns the declarations moved (their `updated_at` moved with them).
    """
    errors = []
    if status not in EligibilityStatus.values:
        errors.append(("eligibility_status", ELIGIBILITY_STATUS_INVALID))
    if (reason or EligibilityReason.NONE) not in EligibilityReason.values:
        errors.append(("eligibility_reason", ELIGIBILITY_REASON_INVALID))
    if errors:
        raise ServiceValidationError(errors)
    # The same lock as a submission: a declaration cannot slip in half-way through.
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    reason = reason or EligibilityReason.NONE
    changed = (enrolment.eligibility_status, enrolment.eligibility_reason) != (status, reason)
    if changed:
        enrolment.eligibility_status, enrolment.eligibility_reason = status, reason
        enrolment.save(update_fields=["eligibility_status", "eligibility_reason"])
        Participant.objects.filter(pk=enrolment.participant_id).update(updated_at=clock.now())
    moved = _make_submitted_declarations_eligible(enrolment) if enrolment.is_fundable else []
    visibility_changed(participant_ids=[enrolment.participant_id])
    return moved


def _make_submitted_declarations_eligible(enrolment: Enrolment) -> list[Declaration]:
    moved = []
    submitted = enrolment.declarations.select_for_update().filter(state=DeclarationState.SUBMITTED)
    for declaration in submitted.order_by("created_at", "id"):
        statement = _next_output_statement(declaration.lead_provider_id, declaration.cohort_id)
        if statement is None:
            continue
        moved.append(
            state_machine.transition(
                declaration,
                DeclarationState.ELIGIBLE,
                actor=Actor.system(),
                reason="The participant became eligible for funding",
                statement=statement,
            )
        )
    return moved

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

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, ExpressionWrapper, IntegerField, OuterRef
from django.db.models.expressions import RawSQL

from declarations import selectors, state_machine
from declarations.models import (
    Declaration,
    DeclarationAttempt,
    DeclarationState,
    EvidenceHeld,
    IneligibilityReason,
)
from declarations.state_machine import Actor
from ecf import clock, rfc3339
from ecf.after_response import run_after_response
from ecf.compiled_query import CompiledQuery, insert_new
from ecf.errors import InvalidAction, ServiceValidationError
from participants import selectors as participant_selectors
from participants import services as participant_services
from participants.models import (
    COURSE_FOR_KIND,
    KIND_FOR_COURSE,
    DeclarationType,
    EligibilityReason,
    EligibilityStatus,
    Enrolment,
    EnrolmentKind,
    LeadProvider,
    Participant,
    TrainingStatus,
)
from statements.models import Statement
from visibility.changes import visibility_changed, visibility_declarations_added

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

# Advisory locks of this service are (namespace, key) pairs; the namespace keeps them apart from
# any other advisory lock taken in the database.
TEACHER_LOCK_NAMESPACE = 4_041_001


@dataclass
class Submission:
    """What a provider sent (attributes are the raw strings sent), and what it resolved to."""

    lead_provider: LeadProvider
    participant_id: object
    declaration_type: str | None
    declaration_date: str | None
    course_identifier: str | None
    evidence_held: str | None
    # {"id", "trn", "trained"} of the person the id names (participants.selectors.participant_known_to)
    person: dict | None = None
    enrolment_id: object = None  # the person's active enrolment for the course, if any
    declared_at: datetime | None = None  # the parsed declaration_date
    # What the rules read (declarations.selectors.submission_facts), loaded only for an enrolment
    # this provider trains: rules that need the participant's profile are skipped without it.
    facts: dict | None = None

    @classmethod
    def of(cls, lead_provider: LeadProvider, attributes: dict) -> "Submission":
        declaration_date = _text(attributes.get("declaration_date"))
        return cls(
            lead_provider=lead_provider,
            participant_id=attributes.get("participant_id"),
            declaration_type=_text(attributes.get("declaration_type")),
            declaration_date=declaration_date,
            course_identifier=_text(attributes.get("course_identifier")),
            evidence_held=_text(attributes.get("evidence_held")),
            declared_at=rfc3339.parse(declaration_date) if declaration_date else None,
        )

    @property
    def known(self) -> bool:
        """The id names someone this provider has trained. Anyone else is answered as an unknown
        id, with nothing more read about them (issue 12.4, docs/differences.md)."""
        return self.person is not None and self.person["trained"]


def declaration_submit(*, lead_provider: LeadProvider, attributes: dict, dry_run: bool = False) -> Declaration:
    """Validate and record a declaration, or raise ServiceValidationError with every failing attribute.

    With `dry_run` everything runs exactly as for real (locks, every rule, the writes) inside a
    transaction that is then rolled back, and no attempt is logged: the declaration returned was
    never stored.
    """
    submission = Submission.of(lead_provider, attributes)
    if (submission.course_identifier or "").startswith("npq-"):
        raise ServiceValidationError([("course_identifier", NPQ_NOT_SUPPORTED)])
    try:
        with transaction.atomic():
            declaration = _submit(submission, log_attempt=not dry_run)
            if dry_run:
                transaction.set_rollback(True)
            return declaration
    except IntegrityError:
        # The unique slot constraint caught a race the locks did not.
        refusal = ServiceValidationError([("base", ALREADY_SUBMITTED)])
        if not dry_run:
            _log_refused_attempt(submission, refusal.errors)
        raise refusal from None
    except ServiceValidationError as refusal:
        if not dry_run:
            _log_refused_attempt(submission, refusal.errors)
        raise


def _text(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _submit(submission: Submission, *, log_attempt: bool) -> Declaration:
    """Resolve, lock, load, validate and write, in the caller's transaction."""
    participant_id = _uuid(submission.participant_id)
    if participant_id is not None:
        submission.person = participant_selectors.participant_known_to(submission.lead_provider.pk, participant_id)
    kind = KIND_FOR_COURSE.get(submission.course_identifier)
    if submission.known and kind is not None:
        # One statement takes the teacher's lock, then the enrolment's (issue 19: a round trip less).
        enrolment = _locked_enrolment(submission, kind)
        if enrolment is not None:
            submission.enrolment_id = enrolment["id"]
            if enrolment["trained"]:
                submission.facts = _facts(submission)
    errors = validate_submission(submission, now=clock.now())
    if errors:
        raise ServiceValidationError(errors)
    declaration = _create(submission)
    if log_attempt:
        insert_new(_attempt(submission, declaration=declaration))
    return declaration


def declaration_lock_teacher(*, trn: str | None, participant_id) -> None:
    """Serialise every write that decides whether a teacher's declaration is paid (rules §4.6).

    Keyed on the TRN when there is one, so that two accounts of one teacher wait for each other
    (issue 13.1): the second then sees the first one's declaration and becomes an `ineligible`
    duplicate. Held until the transaction ends. SQLite serialises every writer anyway.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {TEACHER_LOCK_SQL}", [TEACHER_LOCK_NAMESPACE, _teacher_lock_key(trn, participant_id)])


TEACHER_LOCK_SQL = "pg_advisory_xact_lock(%s, hashtext(%s))"


def _teacher_lock_key(trn: str | None, participant_id) -> str:
    return f"trn:{trn}" if trn else f"participant:{participant_id}"


def _locked_enrolment(submission: Submission, kind: str) -> dict | None:
    """The person's active enrolment for the course, locked (the participant actions and eligibility
    changes lock it too), after the teacher's lock (`declaration_lock_teacher`). After a merge a
    person can hold two of one kind: the one the provider trains wins, then the newest.
    {"id", "trained"}, `trained` meaning the provider trains it."""
    person = submission.person
    return _LOCKED_ENROLMENT.first(
        lead_provider_id=submission.lead_provider.pk,
        participant_id=person["id"],
        kind=str(kind),
        teacher_key=_teacher_lock_key(person["trn"], person["id"]),
    )


def _locked_enrolment_query(*, lead_provider_id, participant_id, kind, teacher_key):
    trained = Exists(participant_selectors.visible_periods(lead_provider_id).filter(enrolment_id=OuterRef("pk")))
    enrolments = (
        Enrolment.objects.select_for_update(of=("self",))
        .filter(participant_id=participant_id, kind=kind, is_active=True)
        .annotate(trained=trained)
    )
    columns = ["id", "trained"]
    if connection.vendor == "postgresql":
        # The teacher's lock, in the same statement: PostgreSQL computes the selected values below the
        # row locks, so the teacher's lock is held before the enrolment's, the order every submission
        # takes them in. With no enrolment of the kind nothing is locked, and nothing will be written.
        lock = RawSQL(f"(SELECT 1 FROM {TEACHER_LOCK_SQL})", [TEACHER_LOCK_NAMESPACE, teacher_key])
        enrolments = enrolments.annotate(teacher_locked=ExpressionWrapper(lock, output_field=IntegerField()))
        columns.append("teacher_locked")
    return enrolments.order_by("-trained", "-created_at").values(*columns)[:1]


_LOCKED_ENROLMENT = CompiledQuery(_locked_enrolment_query)


def _facts(submission: Submission) -> dict:
    # A separate statement after the locks: one that waited for a lock would read what it read
    # before waiting.
    return selectors.submission_facts(
        lead_provider_id=submission.lead_provider.pk,
        enrolment_id=submission.enrolment_id,
        participant_id=submission.person["id"],
        trn=submission.person["trn"],
        course_identifier=submission.course_identifier,
        declaration_type=submission.declaration_type,
        declared_at=submission.declared_at,
        today=clock.today(),
    )


def _attempt(submission: Submission, *, declaration=None, errors=None) -> DeclarationAttempt:
    """The attempt row of rules §4.9 (unsaved)."""
    return DeclarationAttempt(
        lead_provider=submission.lead_provider,
        participant_id=submission.person["id"],
        course_identifier=(submission.course_identifier or "")[:64],
        declaration_type=(submission.declaration_type or "")[:64],
        declaration_date=(submission.declaration_date or "")[:64],
        evidence_held=(submission.evidence_held or "")[:64],
        declaration=declaration,
        errors=errors,
    )


def _log_refused_attempt(submission: Submission, errors: list) -> None:
    """Every POST for a known person is logged, accepted or not (rules §4.9, PV-16). For a person
    the provider never trained it is written after the answer has gone, so the answer takes the
    time an unknown id's takes (issue 12.4)."""
    if submission.person is None:
        return
    attempt = _attempt(submission, errors=errors)
    if submission.known:
        attempt.save()
    else:
        run_after_response(attempt.save)


def validate_submission(submission: Submission, *, now: datetime) -> list[tuple[str, str]]:
    """Rules §4.4 V1–V14, in order. A rule "skip if errors" runs only while nothing has failed.

    Reads nothing: every fact comes from `submission.facts`. The POST and the declarable listing
    (api/v3) both call this, so there is one copy of the rules.
    """
    errors: list[tuple[str, str]] = []
    facts = submission.facts
    declared_at = submission.declared_at
    declaration_type = submission.declaration_type

    if not submission.known:  # V1
        errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))
    if facts is not None and declared_at is not None:  # V2
        withdrawn_at = _withdrawal_blocking(facts, declared_at)
        if withdrawn_at is not None:
            errors.append(("participant_id", WITHDRAWN_ON.format(at=rfc3339.format_timestamp(withdrawn_at))))
    if not submission.declaration_date:  # V3
        errors.append(("declaration_date", DATE_MISSING))
    if not declaration_type:  # V4
        errors.append(("declaration_type", TYPE_MISSING))
    if declared_at is not None and declared_at > now:  # V5
        errors.append(("declaration_date", DATE_IN_FUTURE))
    if submission.declaration_date and declared_at is None:  # V6
        errors.append(("declaration_date", DATE_INVALID))
    has_milestone = facts is not None and declaration_type and facts["milestone_start"] is not None
    if has_milestone and declared_at is not None:  # V7
        errors.extend(("declaration_date", message) for message in _outside_window(facts, declared_at))
    if facts is not None and _needs_output_statement(facts) and facts["output_statement_id"] is None:  # V8
        errors.append(("cohort", FUNDING_ENDED.format(year=facts["cohort_id"])))
    if facts is not None and declaration_type and not has_milestone:  # V9
        errors.append(("declaration_type", TYPE_NOT_IN_SCHEDULE))
    if facts is not None and declaration_type and facts["identical_slot_taken"]:  # V10
        errors.append(("base", ALREADY_SUBMITTED))
    if (  # V11
        facts is not None
        and facts["kind"] == EnrolmentKind.MENTOR
        and facts["mentor_funding"]
        and declaration_type
        and declaration_type not in MENTOR_FUNDED_TYPES
    ):
        errors.append(("declaration_type", MENTOR_ONLY_STARTED_COMPLETED))
    if errors:
        return errors
    if submission.enrolment_id is None:  # V12
        return [("course_identifier", COURSE_NOT_RECOGNISED)]
    # V13; an enrolment only another provider trains has no facts, and fails here as it always did.
    if facts is None or not facts["trains_current_schedule"]:
        return [("participant_id", PARTICIPANT_NOT_RECOGNISED)]
    evidence_error = _evidence_error(submission)  # V14
    return [("evidence_held", evidence_error)] if evidence_error else []


def _withdrawal_blocking(facts: dict, declared_at: datetime) -> datetime | None:
    """The withdrawal time when this provider's withdrawal came at or before the declaration date (V2),
    unless it resumed them with an active period in force at the declaration date."""
    if facts["last_status"] != TrainingStatus.WITHDRAWN or facts["last_status_at"] > declared_at:
        return None
    if facts["period_status"] == TrainingStatus.ACTIVE:
        return None
    return facts["last_status_at"]


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _outside_window(facts: dict, declared_at: datetime) -> list[str]:
    """Whole UTC days: any time on the start day through any time on the milestone day (rules §4.5)."""
    if declared_at < _start_of_day(facts["milestone_start"]):
        return [BEFORE_MILESTONE_START]
    end = facts["milestone_end"]
    if end and declared_at >= _start_of_day(end + timedelta(days=1)):
        return [AFTER_MILESTONE_END]
    return []


def _needs_output_statement(facts: dict) -> bool:
    """V8 runs for fundable participants, or when an identical declaration is already billable,
    and not when an identical one is only submitted (api.md §11.1 row 9)."""
    if facts["identical_submitted"]:
        return False
    return facts["eligibility_status"] == EligibilityStatus.ELIGIBLE or facts["identical_billable"]


def evidence_accepted(*, detailed_evidence_types: bool, kind: str, declaration_type: str) -> tuple[frozenset, bool]:
    """(the evidence_held values accepted, whether one is required) for a declaration type (rules §4.3).
    For `started` in a cohort without detailed evidence types nothing is validated or stored."""
    if not detailed_evidence_types:
        return (frozenset(), False) if declaration_type == T.STARTED else (BASIC_EVIDENCE, True)
    allowed = DETAILED_EVIDENCE[kind].get(declaration_type, frozenset())
    return allowed, declaration_type != T.STARTED


def _evidence_error(submission: Submission) -> str | None:
    facts = submission.facts
    evidence = submission.evidence_held
    if not facts["detailed_evidence_types"] and submission.declaration_type == T.STARTED:
        return None  # not validated, not stored
    allowed, required = evidence_accepted(
        detailed_evidence_types=facts["detailed_evidence_types"],
        kind=facts["kind"],
        declaration_type=submission.declaration_type,
    )
    if not evidence:
        return EVIDENCE_MISSING if required else None
    return None if evidence in allowed else EVIDENCE_NOT_AVAILABLE


def _stored_evidence(submission: Submission) -> str | None:
    if submission.declaration_type == T.STARTED and not submission.facts["detailed_evidence_types"]:
        return None
    return submission.evidence_held or None


def _create(submission: Submission) -> Declaration:
    facts = submission.facts
    duplicate_of = facts["same_trn_declaration_id"]
    if duplicate_of is not None:
        state = DeclarationState.INELIGIBLE
    elif facts["eligibility_status"] == EligibilityStatus.ELIGIBLE:
        state = DeclarationState.ELIGIBLE
    else:
        state = DeclarationState.SUBMITTED
    declaration = Declaration(
        enrolment_id=submission.enrolment_id,
        participant_id=submission.person["id"],
        lead_provider=submission.lead_provider,
        cohort_id=facts["cohort_id"],
        course_identifier=submission.course_identifier,
        declaration_type=submission.declaration_type,
        declaration_date=submission.declared_at,
        state=state,
        ineligibility_reason=IneligibilityReason.DUPLICATE if duplicate_of else None,
        superseded_by_id=duplicate_of,
        evidence_held=_stored_evidence(submission),
        delivery_partner_id=facts["period_delivery_partner_id"],
        mentor_id=facts["period_mentor_id"] if facts["kind"] == EnrolmentKind.ECT else None,
        pupil_premium_uplift=facts["pupil_premium_uplift"],
        sparsity_uplift=facts["sparsity_uplift"],
        statement_id=facts["output_statement_id"] if state != DeclarationState.SUBMITTED else None,
    )
    state_machine.create(declaration, actor=Actor.provider(submission.lead_provider))
    if _update_mentor_completion(declaration):  # the enrolment changed too
        visibility_changed(participant_ids=[declaration.participant_id])
    else:
        visibility_declarations_added(participant_id=declaration.participant_id, declaration_ids=[declaration.id])
    return declaration


# --- What may be declared now (issue 16.4) ----------------------------------------------------------


def declaration_options(*, lead_provider: LeadProvider, participant_id) -> list[dict] | None:
    """For each enrolment the provider trains of this person, each declaration type: whether a POST
    dated now would be accepted, the milestone window, the evidence accepted, and otherwise the
    errors the POST would give. None when the id is unknown or names someone the provider never
    trained (issue 12.4).

    A read: it loads the same facts and runs the same `validate_submission` as the POST (one copy of
    the rules), for a submission dated now carrying accepted evidence; it takes no lock and writes nothing.
    """
    parsed = _uuid(participant_id)
    person = participant_selectors.participant_known_to(lead_provider.pk, parsed) if parsed else None
    if person is None or not person["trained"]:
        return None
    now = clock.now()
    declaration_date = rfc3339.format_timestamp(now)
    options = []
    for enrolment in participant_selectors.trained_enrolments(lead_provider.pk, participant_id=person["id"]):
        course = str(COURSE_FOR_KIND[enrolment.kind])
        types = []
        for declaration_type in DeclarationType.values:
            submission = Submission.of(
                lead_provider, {"declaration_date": declaration_date, "declaration_type": declaration_type}
            )
            submission.course_identifier, submission.person, submission.enrolment_id = course, person, enrolment.pk
            submission.facts = _facts(submission)
            accepted, required = evidence_accepted(
                detailed_evidence_types=submission.facts["detailed_evidence_types"],
                kind=enrolment.kind,
                declaration_type=declaration_type,
            )
            submission.evidence_held = min(accepted) if accepted else None
            types.append(
                {
                    "declaration_type": declaration_type,
                    "errors": validate_submission(submission, now=now),
                    "milestone_start": submission.facts["milestone_start"],
                    "milestone_end": submission.facts["milestone_end"],
                    "evidence_accepted": sorted(accepted),
                    "evidence_required": required,
                }
            )
        options.append({"course_identifier": course, "cohort": enrolment.schedule.cohort_id, "types": types})
    return options


def _next_output_statement(lead_provider_id, cohort_id: int) -> Statement | None:
    return Statement.objects.next_output_for(
        lead_provider_id=lead_provider_id, cohort_id=cohort_id, today=clock.today()
    )


def _update_mentor_completion(declaration: Declaration) -> bool:
    """Rules §4.10: a mentor's completion follows their completed declarations (True: it was refreshed)."""
    if declaration.course_identifier != "ecf-mentor" or declaration.declaration_type != T.COMPLETED:
        return False
    participant_services.enrolment_refresh_mentor_completion(enrolment_id=declaration.enrolment_id)
    return True


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

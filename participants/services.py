"""Writes on participants. Every function is one transaction and reads the one clock."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from django.db import transaction

from ecf import clock
from ecf.errors import ServiceValidationError
from participants import notices, selectors
from participants.models import (
    EARLY_ROLL_OUT_COMPLETION_DATE,
    UNCHALLENGED,
    Cohort,
    ContractFlavour,
    DeclarationType,
    DeferralReason,
    EarlyRollOutMentor,
    Enrolment,
    EnrolmentKind,
    InductionStatus,
    LeadProvider,
    MentorCompletionReason,
    Participant,
    ParticipantIdChange,
    Partnership,
    Schedule,
    ScheduleChange,
    TrainingPeriod,
    TrainingStatus,
    TrainingStatusChange,
    WithdrawalReason,
)
from visibility.changes import visibility_changed

# The states that hold a participant's "slot" for a course and declaration type (rules §4.6). Kept
# here as plain values because participants may not import the declarations app; they mirror the
# declaration_one_slot_per_participant_course_type constraint.
_SLOT_HOLDING_STATES = ("submitted", "eligible", "payable", "paid")


@transaction.atomic
def participant_merge(*, from_participant: Participant, to_participant: Participant) -> ParticipantIdChange:
    """Retire `from_participant` into `to_participant` (rules §1.4 "identity transfer").

    Its enrolments, declarations, declaration attempts, mentor links and earlier id changes move
    to the target; an id change from → to is recorded; the target is touched so that it reappears
    in `updated_since` syncs; the emptied record is deleted. The retired id keeps resolving through
    the id change.
    """
    _check_mergeable(from_participant=from_participant, to_participant=to_participant)
    now = clock.now()
    # The ECTs this person mentors show the mentor's id (`mentor_id`), which becomes the target's.
    Participant.objects.filter(
        id__in=TrainingPeriod.objects.filter(mentor__participant=from_participant).values("enrolment__participant_id")
    ).update(updated_at=now)
    # Moved rows are touched too: the API shows their participant (or mentor) id, which changed.
    from_participant.enrolments.update(participant=to_participant, updated_at=now)
    from_participant.declarations.update(participant=to_participant, updated_at=now)
    from_participant.mentee_declarations.update(mentor=to_participant, updated_at=now)
    from_participant.declaration_attempts.update(participant=to_participant)
    from_participant.id_changes.update(participant=to_participant)
    change = ParticipantIdChange.objects.create(
        participant=to_participant,
        from_participant_id=from_participant.id,
        to_participant_id=to_participant.id,
        created_at=now,
    )
    Participant.objects.filter(pk=to_participant.pk).update(updated_at=now)
    to_participant.updated_at = now
    retired_id = from_participant.id
    from_participant.delete()
    mentees = TrainingPeriod.objects.filter(mentor__participant=to_participant).values_list(
        "enrolment__participant_id", flat=True
    )
    visibility_changed(participant_ids=[retired_id, to_participant.id, *mentees])
    return change


def _check_mergeable(*, from_participant: Participant, to_participant: Participant) -> None:
    if from_participant.pk == to_participant.pk:
        raise ServiceValidationError([("participant_id", "A participant cannot be merged into itself.")])
    target_slots = set(
        to_participant.declarations.filter(state__in=_SLOT_HOLDING_STATES).values_list(
            "course_identifier", "declaration_type"
        )
    )
    clashes = (
        from_participant.declarations.filter(state__in=_SLOT_HOLDING_STATES)
        .order_by("created_at", "id")
        .values_list("id", "course_identifier", "declaration_type", "state")
    )
    errors = [
        (
            "participant_id",
            f"Both participants have a {declaration_type} {course} declaration that holds the slot; "
            f"void declaration {declaration_id} ({state}) of participant {from_participant.pk} before merging.",
        )
        for declaration_id, course, declaration_type, state in clashes
        if (course, declaration_type) in target_slots
    ]
    if errors:
        raise ServiceValidationError(errors)


# --- Provider actions on an enrolment: withdraw, defer, resume, change schedule (rules §3) ----------
#
# One set of services for every API version: each validates in the order of api.md §11.2, raises
# ServiceValidationError with every failing attribute, and otherwise applies the change in one
# transaction and returns the enrolment acted on. A provider acts only on participants it can see
# (decisions §4): one it cannot see, or sees only through a challenged partnership, is refused
# exactly like an unknown id.

# The withdrawal reasons a provider may send: the original's five; the rewrite's contract adds one.
ORIGINAL_WITHDRAWAL_REASONS = tuple(
    reason for reason in WithdrawalReason.values if reason != WithdrawalReason.CHANGED_LEAD_PROVIDER
)
REWRITE_WITHDRAWAL_REASONS = tuple(WithdrawalReason.values)

PARTICIPANT_NOT_RECOGNISED = (
    "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again."
)
COURSE_NOT_RECOGNISED = (
    "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again."
)
COURSE_MISSING = "Enter a '#/course_identifier' value for this participant."
REASON_MISSING = "The property '#/reason' must be present"
REASON_INVALID = "The property '#/reason' must be a valid reason"
ALREADY_WITHDRAWN = "The participant is already withdrawn"
ALREADY_DEFERRED = "The participant is already deferred"
ALREADY_ACTIVE = "The participant is already active"
SCHEDULE_INVALID = "The property '#/schedule_identifier' must be present and correspond to a valid schedule"
WITHDRAWN_PARTICIPANT = "Cannot perform actions on a withdrawn participant"
SCHEDULE_INVALIDATES_DECLARATIONS = "Changing schedule would invalidate existing declarations. Please void them first."
SCHEDULE_ALREADY_ON_PROFILE = "Selected schedule is already on the profile"
SCHEDULE_INVALID_FOR_COURSE = "Selected schedule is not valid for the course"
COHORT_CANNOT_CHANGE = "You cannot change the '#/cohort' field"
NO_PARTNERSHIP_FOR_COHORT = (
    "You cannot change a participant to this cohort as you do not have a partnership with the school for the "
    "cohort. Contact the DfE for assistance."
)

# The only cohort an ECT may be moved to out of a frozen cohort while keeping its declarations (rules §3.7).
FROZEN_COHORT_DESTINATION = 2024
# Schedules only mentors may follow (rules §3.5 S6). Every schedule of the data permits both courses today.
MENTOR_ONLY_SCHEDULE_IDENTIFIERS: frozenset[str] = frozenset()
_BILLABLE_STATES = ("eligible", "payable", "paid")


@dataclass
class _ActionTarget:
    """What an action request resolved to. `enrolment` and `period` are set only when every common
    check passed: the provider trains this enrolment and `period` is its latest period with it."""

    participant: Participant | None
    enrolment: Enrolment | None
    period: TrainingPeriod | None
    errors: list[tuple[str, str]]


@transaction.atomic
def participant_withdraw(
    *,
    lead_provider: LeadProvider,
    participant_id,
    course_identifier,
    reason,
    allowed_reasons: tuple[str, ...] = ORIGINAL_WITHDRAWAL_REASONS,
) -> Enrolment:
    """Rules §3.2: the provider stops training the participant (a deferred one too). The rewrite's
    contract also accepts `changed-lead-provider` (REWRITE_WITHDRAWAL_REASONS)."""
    target = _action_target(lead_provider=lead_provider, participant_id=participant_id, course=course_identifier)
    errors = target.errors
    if target.enrolment is not None:
        errors += _reason_errors(reason, allowed_reasons)
        if target.period.training_status == TrainingStatus.WITHDRAWN:
            errors.append(("participant_profile", ALREADY_WITHDRAWN))
    _refuse_if(errors)
    period = target.period
    enrolment = _training_status_change(
        target, lead_provider=lead_provider, status=TrainingStatus.WITHDRAWN, reason=reason
    )
    notices.notify_withdrawal(period=period, lead_provider=lead_provider, reason=reason, at=enrolment.updated_at)
    return enrolment


@transaction.atomic
def participant_defer(*, lead_provider: LeadProvider, participant_id, course_identifier, reason) -> Enrolment:
    """Rules §3.3: a break in training; the reason is checked whatever else failed (api.md §11.2)."""
    target = _action_target(lead_provider=lead_provider, participant_id=participant_id, course=course_identifier)
    errors = target.errors + _reason_errors(reason, DeferralReason.values)
    if target.enrolment is not None:
        if target.period.training_status == TrainingStatus.DEFERRED:
            errors.append(("participant_profile", ALREADY_DEFERRED))
        if target.period.training_status == TrainingStatus.WITHDRAWN:
            errors.append(("participant_profile", ALREADY_WITHDRAWN))
    _refuse_if(errors)
    return _training_status_change(target, lead_provider=lead_provider, status=TrainingStatus.DEFERRED, reason=reason)


@transaction.atomic
def participant_resume(*, lead_provider: LeadProvider, participant_id, course_identifier) -> Enrolment:
    """Rules §3.4: back to active, from deferred or from withdrawn."""
    target = _action_target(lead_provider=lead_provider, participant_id=participant_id, course=course_identifier)
    errors = target.errors
    if target.enrolment is not None and target.period.training_status == TrainingStatus.ACTIVE:
        errors.append(("participant_profile", ALREADY_ACTIVE))
    _refuse_if(errors)
    return _training_status_change(target, lead_provider=lead_provider, status=TrainingStatus.ACTIVE, reason="")


@transaction.atomic
def participant_change_schedule(
    *, lead_provider: LeadProvider, participant_id, course_identifier, schedule_identifier, cohort=None
) -> Enrolment:
    """Rules §3.5 and §3.7: a new schedule, possibly in another cohort. Every check (S2-S8) runs and
    all failures are reported together. Declarations are never moved or re-dated."""
    target = _action_target(lead_provider=lead_provider, participant_id=participant_id, course=course_identifier)
    errors = target.errors
    identifier = _text(schedule_identifier)
    if not identifier:  # S2
        errors.append(("schedule_identifier", SCHEDULE_INVALID))
    if target.enrolment is None:  # a common check failed (there is always an error then): nothing more to check
        _refuse_if(errors)
    move = _ScheduleMove.build(target, identifier=identifier, cohort=cohort, lead_provider=lead_provider)
    if identifier and move.new_schedule is None:  # unknown in the target cohort (decisions §3)
        errors.append(("schedule_identifier", SCHEDULE_INVALID))
    errors += move.errors()
    _refuse_if(errors)
    return move.apply()


def _refuse_if(errors: list[tuple[str, str]]) -> None:
    if errors:
        raise ServiceValidationError(errors)


def _text(value) -> str | None:
    """A sent attribute as text; blank (or whitespace) counts as absent, as the original's presence checks."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _reason_errors(reason, allowed: list[str]) -> list[tuple[str, str]]:
    """A missing reason fails both checks, so its detail carries both messages (rules §3.2)."""
    text = _text(reason)
    errors = []
    if text is None:
        errors.append(("reason", REASON_MISSING))
    if text not in allowed:
        errors.append(("reason", REASON_INVALID))
    return errors


def _action_target(*, lead_provider: LeadProvider, participant_id, course) -> _ActionTarget:
    """The common checks of every action, in order (api.md §11.2 rows 1-4)."""
    errors: list[tuple[str, str]] = []
    course = _text(course)
    participant = _visible_participant(lead_provider, participant_id)
    enrolment = None
    if participant is None:
        errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))
    elif course is not None:
        enrolment = selectors.enrolment_for_course(participant, course, lead_provider_id=lead_provider.pk)
    if participant is not None and enrolment is None:
        errors.append(("course_identifier", COURSE_NOT_RECOGNISED))
    if course is None:
        errors.append(("course_identifier", COURSE_MISSING))
    if errors:
        return _ActionTarget(participant=participant, enrolment=None, period=None, errors=errors)
    # Serialise actions on one enrolment: a second request waits here, then sees the first one's result.
    enrolment = _lock_enrolment(enrolment, "schedule__cohort")
    period = selectors.latest_periods(lead_provider.pk).filter(enrolment=enrolment).select_related("schedule").first()
    if period is None:  # the provider does not train this enrolment (another one of the person's, maybe)
        errors.append(("participant_id", PARTICIPANT_NOT_RECOGNISED))
        return _ActionTarget(participant=participant, enrolment=None, period=None, errors=errors)
    return _ActionTarget(participant=participant, enrolment=enrolment, period=period, errors=errors)


def _visible_participant(lead_provider: LeadProvider, participant_id) -> Participant | None:
    """The person a (possibly retired) id names, when the provider can see them (decisions §4)."""
    try:
        parsed = uuid.UUID(str(participant_id))
    except ValueError:
        return None
    # One query whether the id is unknown or names someone the provider never trained, so the two
    # cannot be told apart by the time the answer takes either (issue 12.4).
    known = selectors.participant_known_to(lead_provider.pk, parsed)
    if known is None or not known["trained"]:
        return None
    return Participant.objects.get(pk=known["id"])


def _training_status_change(target: _ActionTarget, *, lead_provider: LeadProvider, status: str, reason) -> Enrolment:
    """The effects shared by withdraw, defer and resume (rules §3.2-§3.4)."""
    now = clock.now()
    enrolment = target.enrolment
    TrainingStatusChange.objects.create(
        enrolment=enrolment, lead_provider=lead_provider, training_status=status, reason=reason or "", created_at=now
    )
    _change_period(target.period, now=now, training_status=status)
    Enrolment.objects.filter(pk=enrolment.pk).update(training_status=status, updated_at=now)
    enrolment.training_status, enrolment.updated_at = status, now
    _touch(target.participant, now)
    visibility_changed(participant_ids=[target.participant.pk])
    return enrolment


# Copied from the period being replaced; everything else is the copy's own.
_PERIOD_OWN_FIELDS = frozenset({"id", "created_at", "updated_at", "start_date"})


def _change_period(period: TrainingPeriod, *, now, **changes) -> TrainingPeriod:
    """Close the period and open a copy with the changes, starting now (rules §1.1 InductionRecord).

    A period that has not started yet, or has already ended (the participant left), is edited in
    place instead: closing it now would make it end before it starts or rewrite its end date.
    """
    if period.start_date > now or (period.end_date is not None and period.end_date <= now):
        for field, value in changes.items():
            setattr(period, field, value)
        period.save(update_fields=list(changes))
        return period
    copied = {
        field.attname: getattr(period, field.attname)
        for field in TrainingPeriod._meta.concrete_fields
        if field.attname not in _PERIOD_OWN_FIELDS
    }
    TrainingPeriod.objects.filter(pk=period.pk).update(
        end_date=now, induction_status=InductionStatus.CHANGED, updated_at=now
    )
    return TrainingPeriod.objects.create(**{**copied, **changes}, start_date=now, created_at=now, updated_at=now)


def _touch(participant: Participant, now) -> None:
    """Every action moves the sync timestamp, so `updated_since` finds the person (rules §3.6)."""
    Participant.objects.filter(pk=participant.pk).update(updated_at=now)
    participant.updated_at = now


def _cohort_year(value) -> int | None:
    """`cohort` is sent as a string or a number; anything else names no cohort."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _is_frozen(payments_frozen_at, now) -> bool:
    return payments_frozen_at is not None and payments_frozen_at <= now


@dataclass
class _ScheduleMove:
    """A change-schedule request for an enrolment the provider trains (rules §3.5, §3.7)."""

    lead_provider: LeadProvider
    target: _ActionTarget
    course: str
    target_year: int | None
    target_cohort: Cohort | None
    new_schedule: Schedule | None
    declarations: list[dict]  # the enrolment's submitted/eligible/payable/paid declarations, any provider
    now: datetime

    @classmethod
    def build(cls, target: _ActionTarget, *, identifier, cohort, lead_provider: LeadProvider) -> "_ScheduleMove":
        # No cohort sent: the school cohort of the provider's latest period (it always has one, so the
        # original's further fallbacks, the schedule's cohort and the current cohort, are never reached).
        target_year = target.period.cohort_id if _text(cohort) is None else _cohort_year(cohort)
        new_schedule = None
        if identifier and target_year is not None:
            schedules = Schedule.objects.for_identifier(cohort_id=target_year, identifier=identifier)
            new_schedule = schedules.select_related("cohort").prefetch_related("milestones").first()
        # Read through the reverse relation: participants does not import the declarations app.
        declarations = list(
            target.enrolment.declarations.filter(state__in=_SLOT_HOLDING_STATES).values(
                "declaration_type", "declaration_date", "state", "cohort_id", "cohort__payments_frozen_at"
            )
        )
        return cls(
            lead_provider=lead_provider,
            target=target,
            course=target.enrolment.course_identifier,
            target_year=target_year,
            target_cohort=Cohort.objects.filter(pk=target_year).first() if target_year is not None else None,
            new_schedule=new_schedule,
            declarations=declarations,
            now=clock.now(),
        )

    @property
    def enrolment(self) -> Enrolment:
        return self.target.enrolment

    @property
    def period(self) -> TrainingPeriod:
        return self.target.period

    @property
    def changes_cohort(self) -> bool:
        return self.new_schedule is not None and self.new_schedule.cohort_id != self.enrolment.schedule.cohort_id

    def errors(self) -> list[tuple[str, str]]:
        """S3-S8, all of them (rules §3.5)."""
        errors = []
        if self.period.training_status == TrainingStatus.WITHDRAWN:  # S3
            errors.append(("participant_id", WITHDRAWN_PARTICIPANT))
        if self.new_schedule is not None:
            if not self.frozen_cohort_exception and not self.declarations_fit():  # S4
                errors.append(("schedule_identifier", SCHEDULE_INVALIDATES_DECLARATIONS))
            if self.new_schedule.pk == self.enrolment.schedule_id and self.new_schedule.pk == self.period.schedule_id:
                errors.append(("schedule_identifier", SCHEDULE_ALREADY_ON_PROFILE))  # S5
            if self.new_schedule.identifier in MENTOR_ONLY_SCHEDULE_IDENTIFIERS and self.course != "ecf-mentor":
                errors.append(("schedule_identifier", SCHEDULE_INVALID_FOR_COURSE))  # S6
        if (  # S7
            not self.frozen_cohort_exception
            and self.declarations
            and self.period.schedule.cohort_id != self.target_year
        ):
            errors.append(("cohort", COHORT_CANNOT_CHANGE))
        if self.partnership is None:  # S8
            errors.append(("cohort", NO_PARTNERSHIP_FOR_COHORT))
        return errors

    def declarations_fit(self) -> bool:
        """S4: each declaration still falls in the new schedule's window for its type: strictly after
        the start of the milestone's start day, and not after the end of its milestone day."""
        milestones = {milestone.declaration_type: milestone for milestone in self.new_schedule.milestones.all()}
        for declaration in self.declarations:
            # Once moved out of a frozen cohort, the declarations left behind there no longer count (§3.7).
            if self.enrolment.cohort_changed_after_payments_frozen and _is_frozen(
                declaration["cohort__payments_frozen_at"], self.now
            ):
                continue
            milestone = milestones.get(declaration["declaration_type"])
            if milestone is None:  # the original answers 404 here; rules §3.5 recommends this message
                return False
            declared_at = declaration["declaration_date"]
            if declared_at <= _start_of_day(milestone.start_date):
                return False
            if milestone.milestone_date and declared_at >= _start_of_day(milestone.milestone_date + timedelta(days=1)):
                return False
        return True

    @cached_property
    def frozen_cohort_exception(self) -> bool:
        """Rules §3.7: an ECT may leave a frozen cohort for 2024 with its declarations, or go back."""
        if self.enrolment.kind != EnrolmentKind.ECT or self.target_cohort is None:
            return False
        return self._may_leave_frozen_cohort() or self._may_return_to_frozen_cohort()

    def _may_leave_frozen_cohort(self) -> bool:
        current = self.enrolment.schedule.cohort
        billable = [d for d in self.declarations if d["state"] in _BILLABLE_STATES]
        return (
            self.target_year == FROZEN_COHORT_DESTINATION
            and current.payments_frozen
            and any(d["cohort_id"] == current.start_year for d in billable)
            and not any(d["declaration_type"] == "completed" for d in billable)
            and self.enrolment.induction_completion_date is None
        )

    def _may_return_to_frozen_cohort(self) -> bool:
        """Back to the frozen cohort it left, while nothing is declared in the cohort it moved to."""
        current_year = self.enrolment.schedule.cohort_id
        return (
            self.enrolment.cohort_changed_after_payments_frozen
            and self.target_cohort.payments_frozen
            and not any(d["cohort_id"] == current_year for d in self.declarations)
            and any(d["cohort_id"] == self.target_year and d["state"] in _BILLABLE_STATES for d in self.declarations)
        )

    @cached_property
    def partnership(self) -> Partnership | None:
        """S8: the provider's active, unchallenged, non-relationship partnership with the school in the
        target cohort; its relationship partnership will do when only the schedule changes."""
        active = Partnership.objects.filter(
            UNCHALLENGED,
            pending=False,
            lead_provider=self.lead_provider,
            school_id=self.period.school_id,
            cohort_id=self.target_year,
        ).order_by("created_at", "id")
        found = active.filter(relationship=False).first()
        schedule_only = self.target_year == self.period.schedule.cohort_id and (
            self.new_schedule is None or self.new_schedule.pk != self.period.schedule_id
        )
        if found is None and schedule_only:
            found = active.first()
        return found

    def apply(self) -> Enrolment:
        enrolment, now = self.enrolment, self.now
        ScheduleChange.objects.create(enrolment=enrolment, schedule=self.new_schedule, created_at=now)
        flag = enrolment.cohort_changed_after_payments_frozen
        if self.changes_cohort and self.frozen_cohort_exception:
            flag = not flag
        Enrolment.objects.filter(pk=enrolment.pk).update(
            schedule=self.new_schedule, cohort_changed_after_payments_frozen=flag, updated_at=now
        )
        enrolment.schedule, enrolment.cohort_changed_after_payments_frozen, enrolment.updated_at = (
            self.new_schedule,
            flag,
            now,
        )
        # A new school cohort means training under the provider's partnership for that cohort (S8).
        moves_school_cohort = self.target_year != self.period.cohort_id
        _change_period(
            self.period,
            now=now,
            schedule_id=self.new_schedule.pk,
            cohort_id=self.target_year,
            partnership_id=self.partnership.pk if moves_school_cohort else self.period.partnership_id,
        )
        _touch(self.target.participant, now)
        visibility_changed(participant_ids=[self.target.participant.pk])
        return enrolment


# --- Partnerships: confirm, change delivery partner, challenge (rules §7.1, §7.2, §7.4) -------------
#
# Each service validates in the order of api.md §11.3 and raises ServiceValidationError with the
# contract's messages, or applies the change in one transaction. The school row is locked first (by
# every partnership write), so two confirmations for one school wait for each other and the rules,
# not the database's unique constraints, decide between them.
# Notifications are out of scope: the original emails the school on a report (and schedules a
# reminder 7 days later) and the provider's users on a challenge; nothing here sends mail.

import calendar  # noqa: E402 (this section was appended to a module others edit)

from django.db.models import Q  # noqa: E402

from ecf.errors import InvalidAction  # noqa: E402
from participants.models import (  # noqa: E402
    ChallengeReason,
    DeliveryPartner,
    InductionProgrammeChoice,
    ProviderRelationship,
    School,
    SchoolCohort,
    TrainingProgramme,
)

COHORT_MISSING = "Enter a '#/cohort'."
COHORT_INVALID = "The '#/cohort' you have entered is invalid. Check cohort details and try again."
LEAD_PROVIDER_MISSING = "Enter a '#/lead_provider_id'."
SCHOOL_MISSING = "Enter a '#/school_id'."
SCHOOL_INVALID = (
    "The '#/school_id' you have entered is invalid. Check school details and try again. "
    "Contact the DfE for support if you are unable to find the '#/school_id'."
)
SCHOOL_CIP_ONLY = (
    "The school you have entered has not registered to deliver DfE-funded training. "
    "Contact the school for more information."
)
SCHOOL_INELIGIBLE = (
    "The school you have entered is currently ineligible for DfE funding. Contact the school for more information."
)
SCHOOL_ALREADY_PARTNERED = "You are already in a confirmed partnership with this school for the entered cohort."
SCHOOL_PARTNERED_ELSEWHERE = (
    "Another provider is in a confirmed partnership with the school for the cohort you entered. "
    "Contact the school for more information."
)
SCHOOL_COHORT_NOT_CONFIRMED = (
    "The school you have entered has not yet confirmed they will deliver DfE-funded training. "
    "Contact the school for more information."
)
DELIVERY_PARTNER_MISSING = "Enter a '#/delivery_partner_id'."
DELIVERY_PARTNER_INVALID = (
    "The '#/delivery_partner_id' you have entered is invalid. Check delivery partner details and try again."
)
DELIVERY_PARTNER_NOT_RECOGNISED = (
    "The entered delivery partner is not recognised to be working in partnership with you for the given cohort. "
    "Contact the DfE for more information."
)
PARTNERSHIP_MISSING = "Enter a '#/partnership'."
PARTNERSHIP_CHALLENGED = (
    "Your update cannot be made as this partnership has been challenged by the school. If this partnership has "
    "been challenged in error, submit a new partnership confirmation using the endpoint POST /api/v3/partnerships/ecf."
)
DELIVERY_PARTNER_ALREADY_CONFIRMED = (
    "We are unable to process this request. You are already confirmed to be in partnership with the entered "
    "delivery partner. Contact the DfE for support."
)
CHALLENGE_REASON_INVALID = "The challenge reason must be one of: " + ", ".join(ChallengeReason.values) + "."
ALREADY_CHALLENGED = "This partnership has already been challenged."

# A school may challenge a report for 14 days, and always until 31 October of the cohort's first year.
CHALLENGE_WINDOW = timedelta(days=14)
EARLY_ACADEMIC_YEAR_CHALLENGE_MONTHS = 2


@transaction.atomic
def partnership_confirm(*, lead_provider: LeadProvider, cohort, school_id, delivery_partner_id) -> Partnership:
    """Rules §7.1: the provider reports that it trains at the school, with this delivery partner, in
    this cohort. Checks P1-P9 (errors in the order cohort, school_id, delivery_partner_id); then the
    provider's relationship record with that delivery partner is converted, or its own record for
    the school and cohort (a challenged one) reused, or a new one made; and the report effects run."""
    errors: list[tuple[str, str]] = []
    found_cohort, cohort_error = _partnership_cohort(cohort)
    errors += cohort_error
    lead_provider_id = getattr(lead_provider, "pk", None)
    if lead_provider_id is None:  # P2: cannot happen behind token authentication
        errors.append(("lead_provider_id", LEAD_PROVIDER_MISSING))
    school, school_error = _partnership_school(school_id, cohort=found_cohort, lead_provider_id=lead_provider_id)
    errors += school_error
    delivery_partner, partner_error = _partnership_delivery_partner(
        delivery_partner_id, lead_provider_id=lead_provider_id, cohort=found_cohort
    )
    errors += partner_error
    _refuse_if(errors)

    mine = Partnership.objects.select_for_update().filter(
        lead_provider_id=lead_provider_id, school=school, cohort=found_cohort
    )
    # Its own record first: a provider keeps one non-relationship partnership per school and cohort
    # (a database constraint), so a relationship record is converted only when there is none.
    partnership = (
        mine.filter(relationship=False).first()
        or mine.filter(relationship=True, delivery_partner=delivery_partner).order_by("created_at", "id").first()
        or Partnership(lead_provider_id=lead_provider_id, school=school, cohort=found_cohort)
    )
    return _partnership_report(partnership, delivery_partner=delivery_partner)


@transaction.atomic
def partnership_change_delivery_partner(
    *, lead_provider: LeadProvider, partnership: Partnership | None, delivery_partner_id
) -> Partnership:
    """Rules §7.2: another delivery partner for one of the provider's own partnerships. The same
    delivery partner as now changes nothing; another one runs the report effects of §7.1."""
    if partnership is not None:
        School.objects.select_for_update().filter(pk=partnership.school_id).first()  # lock order as confirm
        partnership = (
            Partnership.objects.select_for_update(of=("self",))  # not the cohort row, which every write references
            .filter(pk=partnership.pk, lead_provider_id=lead_provider.pk, relationship=False)
            .select_related("cohort")
            .first()
        )
    if partnership is None:  # not the provider's own (the API answers 404 before asking)
        errors = [("partnership", PARTNERSHIP_MISSING)]
        if _text(delivery_partner_id) is None:
            errors.append(("delivery_partner_id", DELIVERY_PARTNER_MISSING))
        raise ServiceValidationError(errors)
    delivery_partner, errors = _partnership_delivery_partner(
        delivery_partner_id, lead_provider_id=lead_provider.pk, cohort=partnership.cohort
    )
    # The original's checks are one chain: at most one message, the first that applies.
    if not errors and partnership.is_challenged:
        errors = [("delivery_partner_id", PARTNERSHIP_CHALLENGED)]
    if not errors and _relationship_with_delivery_partner_exists(partnership, delivery_partner):
        errors = [("delivery_partner_id", DELIVERY_PARTNER_ALREADY_CONFIRMED)]
    _refuse_if(errors)
    if delivery_partner.pk == partnership.delivery_partner_id:
        return partnership
    return _partnership_report(partnership, delivery_partner=delivery_partner)


@transaction.atomic
def partnership_challenge(*, partnership: Partnership, reason: str) -> Partnership:
    """Rules §7.4, for the back office (a school's induction tutor or DfE): the partnership is
    challenged now with the reason, so its participants disappear from the provider's endpoints;
    `no_ects` also records that the school has no early career teachers in the cohort. Any time is
    allowed: the challenge deadline binds schools, not DfE."""
    if reason not in ChallengeReason.values:
        raise ServiceValidationError([("challenge_reason", CHALLENGE_REASON_INVALID)])
    School.objects.select_for_update().filter(pk=partnership.school_id).first()  # lock order as confirm
    partnership = Partnership.objects.select_for_update().get(pk=partnership.pk)
    if partnership.is_challenged:
        raise InvalidAction(ALREADY_CHALLENGED)
    now = clock.now()
    was_in_partnership = _school_in_partnership(partnership.school_id, partnership.cohort_id)
    partnership.challenged_at, partnership.challenge_reason = now, reason
    partnership.save(update_fields=["challenged_at", "challenge_reason"])
    _touch_school_cohort_if_partnered_changed(partnership, was_in_partnership, now=now)
    if reason == ChallengeReason.NO_ECTS:
        SchoolCohort.objects.filter(school_id=partnership.school_id, cohort_id=partnership.cohort_id).update(
            induction_programme_choice=InductionProgrammeChoice.NO_EARLY_CAREER_TEACHERS, updated_at=now
        )
    trained_here = Participant.objects.filter(id__in=partnership.training_periods.values("enrolment__participant_id"))
    trained_here.update(updated_at=now)
    visibility_changed(participant_ids=trained_here.values_list("id", flat=True))
    notices.cancel_partnership_reminder(partnership=partnership)
    return partnership


def _partnership_cohort(value) -> tuple[Cohort | None, list[tuple[str, str]]]:
    """P1: a start year, sent as a string or a number."""
    if _text(value) is None:
        return None, [("cohort", COHORT_MISSING)]
    year = _cohort_year(value)
    found = Cohort.objects.filter(pk=year).first() if year is not None and 0 < year < 2**15 else None
    return found, ([] if found is not None else [("cohort", COHORT_INVALID)])


def _partnership_school(value, *, cohort: Cohort | None, lead_provider_id) -> tuple[School | None, list]:
    """P3-P8, stopping at the first that fails. The school is locked for the rest of the transaction."""
    if _text(value) is None:
        return None, [("school_id", SCHOOL_MISSING)]
    school_id = _uuid(value)
    school = School.objects.select_for_update().filter(pk=school_id).first() if school_id else None
    if school is None:
        return None, [("school_id", SCHOOL_INVALID)]
    refusal = _school_refusal(school, cohort=cohort, lead_provider_id=lead_provider_id)
    return school, ([] if refusal is None else [("school_id", refusal)])


def _school_refusal(school: School, *, cohort: Cohort | None, lead_provider_id) -> str | None:
    if school.is_cip_only:  # P4
        return SCHOOL_CIP_ONLY
    if not school.is_eligible_for_funding:  # P5
        return SCHOOL_INELIGIBLE
    if cohort is None:  # api.md §11.3: with no valid cohort, only the cohort error is reported
        return None
    # Challenged and relationship records are not "confirmed": they never block a report (§7.1, §7.5).
    confirmed = Partnership.objects.confirmed().filter(school=school)
    holder = confirmed.filter(cohort=cohort).values_list("lead_provider_id", flat=True).first()
    if holder is not None and holder == lead_provider_id:  # P6
        return SCHOOL_ALREADY_PARTNERED
    if holder is not None:  # P7
        return SCHOOL_PARTNERED_ELSEWHERE
    partnered_last_year = confirmed.filter(cohort_id=cohort.start_year - 1).exists()
    if partnered_last_year and not SchoolCohort.objects.filter(school=school, cohort=cohort).exists():  # P8
        return SCHOOL_COHORT_NOT_CONFIRMED
    return None


def _partnership_delivery_partner(
    value, *, lead_provider_id, cohort: Cohort | None
) -> tuple[DeliveryPartner | None, list]:
    """P9: present, known, and working with the provider in the cohort (not checked without a cohort)."""
    if _text(value) is None:
        return None, [("delivery_partner_id", DELIVERY_PARTNER_MISSING)]
    delivery_partner_id = _uuid(value)
    delivery_partner = (
        DeliveryPartner.objects.filter(pk=delivery_partner_id).first() if delivery_partner_id is not None else None
    )
    if delivery_partner is None:
        return None, [("delivery_partner_id", DELIVERY_PARTNER_INVALID)]
    if cohort is None:
        return delivery_partner, []
    related = ProviderRelationship.objects.filter(
        lead_provider_id=lead_provider_id, delivery_partner=delivery_partner, cohort=cohort
    ).exists()
    return delivery_partner, ([] if related else [("delivery_partner_id", DELIVERY_PARTNER_NOT_RECOGNISED)])


def _relationship_with_delivery_partner_exists(partnership: Partnership, delivery_partner: DeliveryPartner) -> bool:
    """Another of the provider's records for the school and cohort already names that delivery partner
    (only a relationship record can be: the provider has one non-relationship record per pair)."""
    return (
        Partnership.objects.filter(
            lead_provider_id=partnership.lead_provider_id,
            school_id=partnership.school_id,
            cohort_id=partnership.cohort_id,
            delivery_partner=delivery_partner,
        )
        .exclude(pk=partnership.pk)
        .exists()
    )


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


def _partnership_report(partnership: Partnership, *, delivery_partner: DeliveryPartner) -> Partnership:
    """The effects of a report (rules §7.1 "Effects"), on a new, reused or converted record."""
    now = clock.now()
    was_in_partnership = _school_in_partnership(partnership.school_id, partnership.cohort_id)
    partnership.relationship = False
    partnership.delivery_partner = delivery_partner
    partnership.challenged_at = partnership.challenge_reason = None
    partnership.pending = False
    partnership.report_id = uuid.uuid4()
    partnership.challenge_deadline = _challenge_deadline(partnership.cohort)
    if partnership._state.adding:
        partnership.created_at = partnership.updated_at = now
    partnership.save()
    SchoolCohort.objects.get_or_create(
        school_id=partnership.school_id,
        cohort_id=partnership.cohort_id,
        defaults={"induction_programme_choice": InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME},
    )
    _touch_school_cohort_if_partnered_changed(partnership, was_in_partnership, now=now)
    attached = _attach_unpartnered_periods(partnership, now=now)
    # Everyone who trains or trained at the school comes back in `updated_since` syncs, and so do the
    # mentors of the training the provider now sees (they may be its unfunded mentors from now on).
    touched = Participant.objects.filter(
        Q(id__in=TrainingPeriod.objects.filter(school_id=partnership.school_id).values("enrolment__participant_id"))
        | Q(id__in=Enrolment.objects.filter(id__in=[p.mentor_id for p in attached]).values("participant_id"))
    )
    touched.update(updated_at=now)
    visibility_changed(participant_ids=touched.values_list("id", flat=True))
    notices.notify_partnership_reported(partnership=partnership)
    return partnership


def _attach_unpartnered_periods(partnership: Partnership, *, now) -> list[TrainingPeriod]:
    """Provider-led training at the school in the cohort that waited for a partnership now trains under
    this one: each current period is closed and continued by a copy with the partnership (the
    provider then sees the participant). Periods that already ended stay as they were."""
    waiting = TrainingPeriod.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gt=now),
        school_id=partnership.school_id,
        cohort_id=partnership.cohort_id,
        training_programme=TrainingProgramme.PROVIDER_LED,
        partnership__isnull=True,
    )
    # Lock order of every write: school, then enrolments (by id), then their periods. The school is
    # locked already; the enrolments are locked before the periods, as the participant actions do.
    enrolments = Enrolment.objects.select_for_update().filter(id__in=waiting.values("enrolment_id")).order_by("pk")
    list(enrolments.values_list("pk", flat=True))
    waiting = waiting.select_for_update().order_by("created_at", "id")
    return [_change_period(period, now=now, partnership_id=partnership.pk) for period in waiting]


def _challenge_deadline(cohort: Cohort) -> date:
    """The later of 31 October of the cohort's first year (academic year start + 2 months - 1 day) and
    14 days from today."""
    start = cohort.academic_year_start_date
    end_of_early_window = _months_after(start, EARLY_ACADEMIC_YEAR_CHALLENGE_MONTHS) - timedelta(days=1)
    return max(end_of_early_window, clock.today() + CHALLENGE_WINDOW)


def _months_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


# --- What schools and DfE report: transfers, mentors, emails, school data (rules §1.1, §6, §8) ---------
#
# Back-office services (DfE staff record what a school, GIAS or the TRN check reports). The rule of
# this section is the sync rule: every change a provider could see in a representation moves that
# record's sync timestamp in the same transaction (participants through `_touch`; schools, school
# cohorts, partnerships and delivery partners through their own `updated_at`). A change that shows
# nowhere touches nothing, so a sync is not flooded with records that did not change.

from django.core.exceptions import ValidationError  # noqa: E402
from django.core.validators import validate_email  # noqa: E402

NO_CURRENT_TRAINING = "The participant has no current training period."
LEAVING_BEFORE_START = "The leaving date cannot be before the participant started training at the school."
ALREADY_AT_SCHOOL = "The participant already trains at this school."
JOINING_BEFORE_START = "The joining date cannot be before the participant started training at their current school."
NO_PROVIDER_TO_KEEP = (
    "The participant does not train with a lead provider now: choose the lead provider at the new school."
)
PROVIDER_NOT_PARTNERED = "{provider} has no confirmed partnership with {school} for the {cohort} cohort."
PARTNERSHIP_NOT_AT_SCHOOL = (
    "The partnership must be an unchallenged partnership of the new school for the {cohort} cohort."
)
ONLY_ECTS_HAVE_MENTORS = "Only an early career teacher has a mentor."
MENTOR_NOT_A_MENTOR = "The mentor must be a mentor training record."
OWN_MENTOR = "A participant cannot mentor themselves."
EMAIL_INVALID = "Enter an email address in the correct format, like name@example.com"
URN_INVALID = "A URN is 6 digits."
URN_TAKEN = "Another school has this URN."
NAME_MISSING = "Enter a name."
TRN_INVALID = "A TRN is 7 digits."
LEAD_PROVIDER_NAME_TAKEN = "Another lead provider has this name."

# School fields staff may correct (GIAS data and contacts); school_update refuses any other.
SCHOOL_UPDATABLE_FIELDS = frozenset(
    {
        "urn",
        "name",
        "school_status_code",
        "school_type_code",
        "administrative_district_code",
        "section_41_approved",
        "induction_tutor_name",
        "induction_tutor_email",
        "primary_contact_email",
        "secondary_contact_email",
    }
)
SCHOOL_COHORT_UPDATABLE_FIELDS = frozenset({"induction_programme_choice", "pupil_premium_uplift", "sparsity_uplift"})


@transaction.atomic
def participant_leave_school(*, enrolment: Enrolment, end_date, reported_at: datetime | None = None) -> TrainingPeriod:
    """The old school reports a leaver (rules §6.1): the current period is closed (`changed`) and
    continued by a `leaving` copy that ends on `end_date`, so the participant shows as `leaving`, then
    `left` (rules §2.3). The joining period of an earlier transfer is never edited, so that transfer
    keeps its pair (rules §6.2). A leaver already reported may be reported again with another date.

    The copy starts when the leaver is reported, or on the leaving date when that is already past (a
    period cannot end before it starts). Returns the leaving period."""
    enrolment = _lock_enrolment(enrolment)
    now = clock.now()
    end = _instant(end_date)
    current = _current_period(enrolment)
    if current is None or (current.end_date is not None and current.induction_status != InductionStatus.LEAVING):
        raise ServiceValidationError([("end_date", NO_CURRENT_TRAINING)])
    if end < current.start_date:
        raise ServiceValidationError([("end_date", LEAVING_BEFORE_START)])
    leaving = _report_leaving(current, end=end, now=now, reported_at=reported_at or now)
    _touch(enrolment.participant, now)
    visibility_changed(participant_ids=[enrolment.participant_id])
    return leaving


@transaction.atomic
def participant_join_school(
    *,
    enrolment: Enrolment,
    school: School,
    start_date,
    lead_provider: LeadProvider | None = None,
    partnership: Partnership | None = None,
    mentor: Enrolment | None = None,
) -> TrainingPeriod:
    """The new school registers a joiner (rules §6.1): a period at the new school from `start_date`,
    flagged `school_transfer`, so the transfer pairs (rules §6.2).

    The training continues under:
    * `partnership`, when given (an unchallenged partnership of the new school in the cohort);
    * else, with another `lead_provider`, that provider's confirmed partnership with the school for
      the enrolment's cohort (refused when it has none);
    * else (the participant keeps their provider and delivery partner) the school's partnership with
      that provider and delivery partner, or a relationship partnership made for it (rules §7.5), so
      the provider keeps seeing the participant.
    A leaver the old school has not reported leaves on the joining date. Training status carries over
    when the provider stays; a new provider starts `active`. The new school's mentor, if any, is given
    as `mentor` (a mentor training record). Returns the joining period."""
    School.objects.select_for_update().filter(pk=school.pk).first()  # lock order: school, then enrolment
    enrolment = _lock_enrolment(enrolment)
    now = clock.now()
    start = _instant(start_date)
    current = _current_period(enrolment)
    if current is None or (current.end_date is not None and current.induction_status != InductionStatus.LEAVING):
        raise ServiceValidationError([("enrolment", NO_CURRENT_TRAINING)])
    if current.school_id == school.pk:
        raise ServiceValidationError([("school", ALREADY_AT_SCHOOL)])
    if start < current.start_date:
        raise ServiceValidationError([("start_date", JOINING_BEFORE_START)])
    _check_mentor(enrolment, mentor)
    cohort_id = enrolment.schedule.cohort_id
    chosen = _joining_partnership(
        current=current, school=school, cohort_id=cohort_id, lead_provider=lead_provider, partnership=partnership
    )
    if current.end_date is None:  # the old school did not report the leaver: they leave as they join
        _report_leaving(current, end=start, now=now, reported_at=now)
    stays = current.partnership is not None and current.partnership.lead_provider_id == chosen.lead_provider_id
    joining = TrainingPeriod.objects.create(
        enrolment=enrolment,
        school=school,
        cohort_id=chosen.cohort_id,
        training_programme=TrainingProgramme.PROVIDER_LED,
        partnership=chosen,
        schedule_id=enrolment.schedule_id,
        mentor=mentor,
        email=current.email,
        start_date=start,
        training_status=current.training_status if stays else TrainingStatus.ACTIVE,
        induction_status=InductionStatus.ACTIVE,
        school_transfer=True,
        created_at=now,
        updated_at=now,
    )
    _touch(enrolment.participant, now)
    if mentor is not None:  # a mentor from another provider becomes an unfunded mentor of this one
        _touch_person(mentor.participant_id, now)
    visibility_changed(participant_ids=[enrolment.participant_id, mentor.participant_id if mentor else None])
    return joining


@transaction.atomic
def training_period_assign_mentor(*, enrolment: Enrolment, mentor: Enrolment | None) -> TrainingPeriod:
    """The school assigns (or, with None, removes) an ECT's mentor: the current period is continued
    with the mentor (rules §1.1). The ECT's `mentor_id` changes, and the mentor may be a new unfunded
    mentor of the provider (rules §8.2), so both people are touched. Returns the current period."""
    enrolment = _lock_enrolment(enrolment)
    _check_mentor(enrolment, mentor)
    if enrolment.kind != EnrolmentKind.ECT:
        raise ServiceValidationError([("mentor", ONLY_ECTS_HAVE_MENTORS)])
    current = _current_period(enrolment)
    if current is None:
        raise ServiceValidationError([("enrolment", NO_CURRENT_TRAINING)])
    mentor_id = mentor.pk if mentor is not None else None
    if current.mentor_id == mentor_id:
        return current
    now = clock.now()
    period = _change_period(current, now=now, mentor_id=mentor_id)
    _touch(enrolment.participant, now)
    if mentor is not None:
        _touch_person(mentor.participant_id, now)
    visibility_changed(participant_ids=[enrolment.participant_id, mentor.participant_id if mentor else None])
    return period


@transaction.atomic
def participant_change_email(*, participant: Participant, email: str) -> Participant:
    """The person's own email changes. It is the email of their identity, so the periods that show
    it (their preferred email is that identity's) show the new one: they are updated in place, as an
    identity change is not a training change. Touches the person."""
    email = _valid_email(email)
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if participant.email == email:
        return participant
    now = clock.now()
    TrainingPeriod.objects.filter(enrolment__participant=participant, email__iexact=participant.email).update(
        email=email, updated_at=now
    )
    participant.email = email
    participant.save(update_fields=["email"])  # moves updated_at (Timestamped)
    visibility_changed(participant_ids=[participant.pk])
    return participant


@transaction.atomic
def participant_correct_details(*, participant: Participant, full_name: str, trn: str | None) -> Participant:
    """Correct a person's name or TRN. Both are shown (participants, and as an unfunded mentor), so
    the person is touched when either changes; nothing is touched when neither does."""
    full_name = (full_name or "").strip()
    trn = (trn or "").strip() or None
    errors = []
    if not full_name:
        errors.append(("full_name", NAME_MISSING))
    if trn is not None and not (len(trn) == 7 and trn.isascii() and trn.isdigit()):
        errors.append(("trn", TRN_INVALID))
    _refuse_if(errors)
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    changed = [f for f, v in (("full_name", full_name), ("trn", trn)) if getattr(participant, f) != v]
    if changed:
        participant.full_name, participant.trn = full_name, trn
        participant.save(update_fields=changed)  # moves updated_at (Timestamped)
    if "trn" in changed:  # the early-roll-out list is by TRN
        for enrolment in participant.enrolments.filter(kind=EnrolmentKind.MENTOR):
            enrolment_refresh_mentor_completion(enrolment_id=enrolment.pk)
    if changed:
        visibility_changed(participant_ids=[participant.pk])
    return participant


@transaction.atomic
def enrolment_refresh_mentor_completion(*, enrolment_id) -> Enrolment:
    """Rules §4.10, after a mentor's `completed` declaration is made, voided or clawed back, a TRN is
    corrected or the early-roll-out list is loaded: a mentor on that list completed on 19 April 2021;
    otherwise the latest slot-holding `completed` declaration gives the date; otherwise nothing.
    A mentor marked `started_not_completed` is left as it is."""
    enrolment = Enrolment.objects.select_for_update().select_related("participant").get(pk=enrolment_id)
    if enrolment.kind != EnrolmentKind.MENTOR:
        return enrolment
    if enrolment.mentor_completion_reason == MentorCompletionReason.STARTED_NOT_COMPLETED:
        return enrolment
    trn = enrolment.participant.trn
    latest = (
        enrolment.declarations.filter(declaration_type=DeclarationType.COMPLETED, state__in=_SLOT_HOLDING_STATES)
        .order_by("-declaration_date")
        .first()
    )
    if trn and EarlyRollOutMentor.objects.filter(trn=trn).exists():
        completion = (EARLY_ROLL_OUT_COMPLETION_DATE, MentorCompletionReason.COMPLETED_DURING_EARLY_ROLL_OUT)
    elif latest is not None:
        completion = (
            latest.declaration_date.astimezone(UTC).date(),
            MentorCompletionReason.COMPLETED_DECLARATION_RECEIVED,
        )
    else:
        completion = (None, None)
    enrolment.mentor_completion_date, enrolment.mentor_completion_reason = completion
    enrolment.save(update_fields=["mentor_completion_date", "mentor_completion_reason"])
    _touch(enrolment.participant, clock.now())
    visibility_changed(participant_ids=[enrolment.participant_id])
    return enrolment


@transaction.atomic
def early_roll_out_mentors_replace(*, trns: list[str]) -> int:
    """Replace the early-roll-out list (reference data) and bring every mentor whose standing changes
    up to date. Returns how many mentor enrolments were refreshed."""
    refused = [trn for trn in trns if not (len(trn) == 7 and trn.isascii() and trn.isdigit())]
    if refused:
        raise ServiceValidationError([("trn", f"{TRN_INVALID} ({', '.join(refused[:5])})")])
    new, old = set(trns), set(EarlyRollOutMentor.objects.values_list("trn", flat=True))
    now = clock.now()
    EarlyRollOutMentor.objects.exclude(trn__in=new).delete()
    EarlyRollOutMentor.objects.bulk_create(
        [EarlyRollOutMentor(trn=trn, loaded_at=now) for trn in sorted(new - old)], ignore_conflicts=True
    )
    affected = Enrolment.objects.filter(kind=EnrolmentKind.MENTOR, participant__trn__in=new ^ old).order_by("pk")
    for enrolment_id in affected.values_list("pk", flat=True):
        enrolment_refresh_mentor_completion(enrolment_id=enrolment_id)
    return len(affected)


@transaction.atomic
def training_period_change_email(*, enrolment: Enrolment, email: str) -> TrainingPeriod:
    """The school records another preferred email for one training record (ECF's preferred identity):
    the current period is continued with it (rules §1.1). Touches the person."""
    email = _valid_email(email)
    enrolment = _lock_enrolment(enrolment)
    current = _current_period(enrolment)
    if current is None:
        raise ServiceValidationError([("enrolment", NO_CURRENT_TRAINING)])
    if current.email == email:
        return current
    now = clock.now()
    period = _change_period(current, now=now, email=email)
    _touch(enrolment.participant, now)
    visibility_changed(participant_ids=[enrolment.participant_id])
    return period


@transaction.atomic
def school_update(*, school: School, **fields) -> School:
    """Correct a school's GIAS data or contacts. The school's own timestamp moves (schools and
    partnerships syncs show it); a URN change also touches everyone who trains or trained there,
    because enrolments and transfers show the URN (rules §2.2, §6.3). Other fields show on no
    participant, so no participant is touched for them."""
    unknown = set(fields) - SCHOOL_UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"school_update cannot change {sorted(unknown)}")
    school = School.objects.select_for_update().get(pk=school.pk)
    changed = {field: value for field, value in fields.items() if getattr(school, field) != value}
    if not changed:
        return school
    _refuse_if(_school_errors(school, changed))
    for field, value in changed.items():
        setattr(school, field, value)
    school.save(update_fields=list(changed))
    if "urn" in changed:
        trained_here = Participant.objects.filter(
            id__in=TrainingPeriod.objects.filter(school=school).values("enrolment__participant_id")
        )
        trained_here.update(updated_at=school.updated_at)
        visibility_changed(participant_ids=trained_here.values_list("id", flat=True))
    return school


@transaction.atomic
def school_cohort_update(*, school: School, cohort: Cohort, **fields) -> SchoolCohort:
    """A school's choice (and uplift flags) for a cohort; made if missing. The school cohort's
    timestamp is the one the schools sync reads for that cohort (rules §8.1)."""
    unknown = set(fields) - SCHOOL_COHORT_UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"school_cohort_update cannot change {sorted(unknown)}")
    choice = fields.get("induction_programme_choice")
    if choice is not None and choice not in InductionProgrammeChoice.values:
        raise ServiceValidationError([("induction_programme_choice", f"{choice!r} is not a programme choice.")])
    school_cohort, created = SchoolCohort.objects.select_for_update().get_or_create(
        school=school, cohort=cohort, defaults=fields
    )
    changed = [field for field, value in fields.items() if getattr(school_cohort, field) != value]
    if not created and changed:
        for field in changed:
            setattr(school_cohort, field, fields[field])
        school_cohort.save(update_fields=changed)
    return school_cohort


@transaction.atomic
def delivery_partner_update(*, delivery_partner: DeliveryPartner, name: str) -> DeliveryPartner:
    """Rename a delivery partner: its own timestamp moves, which brings it and every partnership that
    names it back into syncs (rules §7.3, §8.3). Participants and declarations show only its id."""
    name = (name or "").strip()
    if not name:
        raise ServiceValidationError([("name", NAME_MISSING)])
    delivery_partner = DeliveryPartner.objects.select_for_update().get(pk=delivery_partner.pk)
    if delivery_partner.name != name:
        delivery_partner.name = name
        delivery_partner.save(update_fields=["name"])
    return delivery_partner


@transaction.atomic
def lead_provider_update(*, lead_provider: LeadProvider, name: str) -> LeadProvider:
    """Rename a lead provider. Its name is shown on every declaration it submitted
    (`lead_provider_name`, rules §4.1) and on both sides of transfers (`provider`, rules §6.3): those
    declarations, and the people with a transfer that involves it, are touched."""
    name = (name or "").strip()
    if not name:
        raise ServiceValidationError([("name", NAME_MISSING)])
    lead_provider = LeadProvider.objects.select_for_update().get(pk=lead_provider.pk)
    if lead_provider.name == name:
        return lead_provider
    if LeadProvider.objects.filter(name=name).exclude(pk=lead_provider.pk).exists():
        raise ServiceValidationError([("name", LEAD_PROVIDER_NAME_TAKEN)])
    lead_provider.name = name
    lead_provider.save(update_fields=["name"])
    now = lead_provider.updated_at
    # Read through the reverse relation: participants does not import the declarations app.
    lead_provider.declarations.update(updated_at=now)
    transferred = TrainingPeriod.objects.filter(
        partnership__lead_provider=lead_provider,
        enrolment__training_periods__induction_status=InductionStatus.LEAVING,
    )
    Participant.objects.filter(id__in=transferred.values("enrolment__participant_id")).update(updated_at=now)
    visibility_changed(
        participant_ids=[
            *lead_provider.declarations.values_list("participant_id", flat=True),
            *transferred.values_list("enrolment__participant_id", flat=True),
        ]
    )
    return lead_provider


@transaction.atomic
def provider_relationship_create(*, lead_provider: LeadProvider, delivery_partner: DeliveryPartner, cohort: Cohort):
    """The delivery partner works with the provider in the cohort (rules §8.3). The delivery
    partner's `cohort` list, as that provider sees it, gains a year: the delivery partner is touched."""
    relationship, created = ProviderRelationship.objects.get_or_create(
        lead_provider=lead_provider, delivery_partner=delivery_partner, cohort=cohort
    )
    if created:
        DeliveryPartner.objects.filter(pk=delivery_partner.pk).update(updated_at=clock.now())
    return relationship


@transaction.atomic
def provider_relationship_delete(*, relationship: ProviderRelationship) -> None:
    """The reverse: the delivery partner's `cohort` list loses a year (or the partner disappears)."""
    delivery_partner_id = relationship.delivery_partner_id
    relationship.delete()
    DeliveryPartner.objects.filter(pk=delivery_partner_id).update(updated_at=clock.now())


def _lock_enrolment(enrolment: Enrolment, *related: str) -> Enrolment:
    """Serialise on the enrolment row (provider actions, transfers and declarations all lock it), then
    read it afresh with `related` (default: participant and schedule).

    The lock is taken by a query without joins, on purpose: PostgreSQL re-checks a waiting locking
    query's join against the row the holder committed, but with the joined rows it read before
    waiting, so a lock joined to the schedule found no row at all once the holder changed the
    schedule (`Enrolment.DoesNotExist`, issue 13.2). The read after the lock sees the committed row.
    """
    Enrolment.objects.select_for_update().filter(pk=enrolment.pk).values_list("pk").get()
    return Enrolment.objects.select_related(*(related or ("participant", "schedule"))).get(pk=enrolment.pk)


def _current_period(enrolment: Enrolment) -> TrainingPeriod | None:
    """The enrolment's latest period, whoever the provider (the order of rules §2.1)."""
    return (
        TrainingPeriod.objects.select_for_update(of=("self",))
        .filter(enrolment=enrolment)
        .select_related("partnership")
        .order_by(*selectors.LATEST_FIRST)
        .first()
    )


def _instant(value) -> datetime:
    """A reported date is the start of that UTC day; a datetime must say its zone."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("dates and times must be aware (UTC)")
        return value
    if isinstance(value, date):
        return _start_of_day(value)
    raise ServiceValidationError([("date", "Enter a date.")])


def _report_leaving(current: TrainingPeriod, *, end: datetime, now: datetime, reported_at: datetime) -> TrainingPeriod:
    """Close `current` and continue it with a `leaving` copy ending at `end` (see participant_leave_school).

    The copy is created when the leaver was reported (the transfer's `created_at`, rules §6.3) but
    its `updated_at` is now, the moment of the change, so the next sync finds it. A period that has
    not started yet is edited in place (rules §1.1)."""
    changes = {"induction_status": InductionStatus.LEAVING, "end_date": end}
    if current.start_date > reported_at:
        for field, value in changes.items():
            setattr(current, field, value)
        current.save(update_fields=list(changes))
        return current
    switch = min(reported_at, end)
    copied = {
        field.attname: getattr(current, field.attname)
        for field in TrainingPeriod._meta.concrete_fields
        if field.attname not in _PERIOD_OWN_FIELDS
    }
    TrainingPeriod.objects.filter(pk=current.pk).update(
        end_date=switch, induction_status=InductionStatus.CHANGED, updated_at=now
    )
    return TrainingPeriod.objects.create(
        **{**copied, **changes}, start_date=switch, created_at=reported_at, updated_at=now
    )


def _joining_partnership(
    *, current: TrainingPeriod, school: School, cohort_id: int, lead_provider, partnership
) -> Partnership:
    School.objects.select_for_update().filter(pk=school.pk).first()  # lock order as the partnership writes
    if partnership is not None:
        found = Partnership.objects.unchallenged().filter(pk=partnership.pk, school=school, cohort_id=cohort_id).first()
        if found is None:
            raise ServiceValidationError([("partnership", PARTNERSHIP_NOT_AT_SCHOOL.format(cohort=cohort_id))])
        return found
    kept = current.partnership
    if lead_provider is None or (kept is not None and kept.lead_provider_id == lead_provider.pk):
        if kept is None:
            raise ServiceValidationError([("lead_provider", NO_PROVIDER_TO_KEEP)])
        return _partnership_keeping(kept, school=school, cohort_id=cohort_id)
    confirmed = (
        Partnership.objects.confirmed().filter(lead_provider=lead_provider, school=school, cohort_id=cohort_id).first()
    )
    if confirmed is None:
        message = PROVIDER_NOT_PARTNERED.format(provider=lead_provider.name, school=school.name, cohort=cohort_id)
        raise ServiceValidationError([("lead_provider", message)])
    return confirmed


def _partnership_keeping(kept: Partnership, *, school: School, cohort_id: int) -> Partnership:
    """The new school's unchallenged partnership with the same provider and delivery partner (its own
    one first), else a relationship partnership made for the transfer (rules §7.5)."""
    same = (
        Partnership.objects.unchallenged()
        .filter(
            lead_provider_id=kept.lead_provider_id,
            delivery_partner_id=kept.delivery_partner_id,
            school=school,
            cohort_id=cohort_id,
        )
        .order_by("relationship", "created_at", "id")
        .first()
    )
    if same is not None:
        return same
    now = clock.now()
    was_in_partnership = _school_in_partnership(school.pk, cohort_id)
    made = Partnership.objects.create(
        lead_provider_id=kept.lead_provider_id,
        delivery_partner_id=kept.delivery_partner_id,
        school=school,
        cohort_id=cohort_id,
        relationship=True,
        created_at=now,
        updated_at=now,
    )
    _touch_school_cohort_if_partnered_changed(made, was_in_partnership, now=now)
    return made


def _check_mentor(enrolment: Enrolment, mentor: Enrolment | None) -> None:
    if mentor is None:
        return
    if enrolment.kind != EnrolmentKind.ECT:
        raise ServiceValidationError([("mentor", ONLY_ECTS_HAVE_MENTORS)])
    if mentor.kind != EnrolmentKind.MENTOR:
        raise ServiceValidationError([("mentor", MENTOR_NOT_A_MENTOR)])
    if mentor.participant_id == enrolment.participant_id:
        raise ServiceValidationError([("mentor", OWN_MENTOR)])


def _valid_email(email) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceValidationError([("email", EMAIL_INVALID)]) from None
    return email


def _school_errors(school: School, changed: dict) -> list[tuple[str, str]]:
    errors = []
    if "urn" in changed:
        urn = str(changed["urn"])
        if len(urn) != 6 or not urn.isascii() or not urn.isdigit():
            errors.append(("urn", URN_INVALID))
        elif School.objects.filter(urn=urn).exclude(pk=school.pk).exists():
            errors.append(("urn", URN_TAKEN))
    if "name" in changed and not (changed["name"] or "").strip():
        errors.append(("name", NAME_MISSING))
    return errors


def _touch_person(participant_id, now) -> None:
    Participant.objects.filter(pk=participant_id).update(updated_at=now)


def _school_in_partnership(school_id, cohort_id) -> bool:
    """The schools endpoint's `in_partnership`: any unchallenged partnership, relationship ones included."""
    return Partnership.objects.unchallenged().filter(school_id=school_id, cohort_id=cohort_id).exists()


def _touch_school_cohort_if_partnered_changed(partnership: Partnership, was_in_partnership: bool, *, now) -> None:
    """A school's `in_partnership` for the cohort flipped: the schools sync must show it again. The
    school cohort carries the cohort's timestamp (rules §8.1); a school without one is touched itself."""
    if _school_in_partnership(partnership.school_id, partnership.cohort_id) == was_in_partnership:
        return
    touched = SchoolCohort.objects.filter(school_id=partnership.school_id, cohort_id=partnership.cohort_id).update(
        updated_at=now
    )
    if not touched:
        School.objects.filter(pk=partnership.school_id).update(updated_at=now)


@transaction.atomic
def lead_provider_set_contract_flavour(*, lead_provider: LeadProvider, contract_flavour: str) -> LeadProvider:
    """Which v3 contract /api/v3/ speaks to the provider (issue 15). The provider's records do not
    change, so nothing comes back into a sync; its next request is answered in the new flavour."""
    if contract_flavour not in ContractFlavour.values:
        raise ServiceValidationError([("contract_flavour", CONTRACT_FLAVOUR_INVALID)])
    LeadProvider.objects.filter(pk=lead_provider.pk).update(contract_flavour=contract_flavour)
    lead_provider.contract_flavour = contract_flavour
    return lead_provider


CONTRACT_FLAVOUR_INVALID = "The contract flavour must be one of: " + ", ".join(ContractFlavour.values) + "."

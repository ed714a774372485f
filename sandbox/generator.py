"""The participant generator: each participant drafted in memory, with its enrolments, training
periods, status changes and declarations, from a random stream keyed on the seed and the participant."""

from __future__ import annotations

import bisect
import math
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from declarations.models import (
    ActorKind,
    DeclarationState,
    IneligibilityReason,
)
from ecf import rfc3339
from participants.models import (
    CourseIdentifier,
    DeclarationType,
    EligibilityReason,
    EligibilityStatus,
    EnrolmentKind,
    InductionStatus,
    MentorCompletionReason,
    TrainingStatus,
)
from sandbox.world import (
    ALSO_MENTOR_LATER,
    BASIC_EVIDENCE,
    COHORT_WEIGHTS,
    DEFERRAL,
    DEFERRAL_REASONS,
    DETAILED_EVIDENCE,
    DUPLICATE_EVERY,
    ECT_COMPLETED_EVIDENCE,
    ECT_ELIGIBILITY,
    ECT_WITHDRAWAL_REASONS,
    ENGAGEMENT_EVIDENCE,
    FIRST_NAMES,
    FUTURE_TRANSFER_HORIZON,
    INDUCTION_COMPLETED,
    LAST_NAMES,
    LAST_UPLIFT_COHORT,
    MENTOR_ELIGIBILITY,
    MENTOR_FUNDED_COMPLETED_WINDOW,
    MENTOR_FUNDED_TYPES,
    MENTOR_SHARE,
    MENTOR_WITHDRAWAL_REASONS,
    MIN_SCHOOLS,
    PARTICIPANTS_PER_SCHOOL,
    REDUCED_PACE,
    RESUBMIT_AFTER_VOID,
    RESUME_AFTER_DEFERRAL,
    SCHEDULE_CHANGE,
    SKIP_DECLARATION,
    STOP_DECLARING,
    TRANSFER,
    TYPICAL_WINDOWS,
    UNMENTORED_ECTS,
    UPCOMING_TRANSFER,
    VOID,
    WITHDRAWAL,
    PartnershipDraft,
    Provider,
    ScheduleRef,
    SchoolDraft,
    StatementBook,
    World,
    _add_months,
    _at,
    _between,
    _slug,
    _weighted,
    stable_id,
)

# ---------------------------------------------------------------------------------------
# Participants (drafted one by one in memory, written in batches)


@dataclass(frozen=True)
class MentorRef:
    enrolment_id: uuid.UUID
    participant_id: uuid.UUID


@dataclass
class PeriodDraft:
    id: uuid.UUID
    school: SchoolDraft
    partnership: PartnershipDraft
    schedule: ScheduleRef
    mentor: MentorRef | None
    start: datetime
    created_at: datetime
    end: datetime | None = None
    training_status: str = TrainingStatus.ACTIVE
    induction_status: str = InductionStatus.ACTIVE
    school_transfer: bool = False
    updated_at: datetime | None = None


@dataclass
class DeclarationDraft:
    row: dict  # Declaration fields
    changes: list[dict]  # DeclarationStateChange fields, in order
    attempt: dict  # DeclarationAttempt fields

    @property
    def id(self) -> uuid.UUID:
        return self.row["id"]

    @property
    def state(self) -> str:
        return self.row["state"]

    @property
    def holds_slot(self) -> bool:
        return self.state in SLOT_HOLDING


@dataclass
class EnrolmentDraft:
    index: int  # the participant's
    kind: str
    row: dict  # Enrolment fields
    periods: list[PeriodDraft]
    status_changes: list[dict] = field(default_factory=list)
    schedule_changes: list[dict] = field(default_factory=list)
    declarations: list[DeclarationDraft] = field(default_factory=list)
    touched_at: datetime | None = None  # a later change of the enrolment itself (completion)

    @property
    def id(self) -> uuid.UUID:
        return self.row["id"]

    @property
    def cohort(self) -> int:
        return self.periods[-1].schedule.cohort


@dataclass
class Timing:
    """What an enrolment's declarations must respect."""

    schedule: ScheduleRef  # whose calendar the dates follow
    last_event: datetime
    withdrawn_at: datetime | None = None
    blocked: list[list] = field(default_factory=list)  # deferrals: [from, to or None]


@dataclass
class ParticipantDraft:
    index: int
    row: dict  # Participant fields
    enrolments: list[EnrolmentDraft] = field(default_factory=list)
    relationship_partnerships: list[PartnershipDraft] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        return self.row["id"]


@dataclass
class OriginalAccount:
    """An ECT a later duplicate account of the same teacher copies (rules §4.6)."""

    participant: ParticipantDraft
    enrolment: EnrolmentDraft


SLOT_HOLDING = (DeclarationState.SUBMITTED, DeclarationState.ELIGIBLE, DeclarationState.PAYABLE, DeclarationState.PAID)


class ParticipantFactory:
    """Drafts participant i from (seed, i) and what earlier participants left behind.

    Earlier participants matter in two ways only: an ECT is given a mentor registered before them
    at the same school, and a duplicate account copies a recent ECT. Both look backwards, so
    participant i is the same whatever the total asked for.
    """

    def __init__(self, world: World, schedules: dict[tuple[int, str], ScheduleRef], book: StatementBook):
        self.world = world
        self.seed = world.seed
        self.now = world.now
        self.schedules = schedules
        self.book = book
        self.mentor_pools: dict[tuple[int, int], list[MentorRef]] = {}
        self.school_mentors: dict[int, list[MentorRef]] = {}  # every cohort's mentors, by school
        # Per cohort, the partnered schools with a mentor, in world order (as world.partnered).
        self.mentored_schools: dict[int, list[int]] = {cohort: [] for cohort in world.partnered}
        self.originals: deque[OriginalAccount] = deque(maxlen=300)

    # -- the person ---------------------------------------------------------------------

    def draft(self, index: int) -> ParticipantDraft:
        rng = random.Random(f"{self.seed}:participant:{index}")
        original = self._original(rng) if index % DUPLICATE_EVERY == DUPLICATE_EVERY // 2 else None
        if original:
            cohort, kind = original.enrolment.cohort, EnrolmentKind.ECT
            full_name, trn = original.participant.row["full_name"], original.participant.row["trn"]
        else:
            cohort = _weighted(rng, COHORT_WEIGHTS)
            kind = EnrolmentKind.MENTOR if rng.random() < MENTOR_SHARE else EnrolmentKind.ECT
            full_name, trn = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", self.world.trn(index)
        email = f"{_slug(full_name).replace('-', '.')}.{index}@example.com"
        draft = ParticipantDraft(
            index, {"id": stable_id(self.seed, "participant", index), "full_name": full_name, "email": email}
        )
        mentored = kind == EnrolmentKind.ECT and rng.random() >= UNMENTORED_ECTS
        school = self._pick_school(rng, index, cohort, mentored=mentored)
        if original:
            # Registered again by another school a little after the first account.
            registered = original.enrolment.periods[0].start + timedelta(
                days=rng.randrange(1, 20), hours=rng.randrange(24)
            )
            schedule = original.enrolment.periods[-1].schedule
            main = self._enrolment(
                rng, draft, kind, school, schedule, registered=min(registered, self.now), mentored=mentored
            )
            main.declarations = self._duplicate_declarations(rng, draft, main, original)
        else:
            main = self._enrolment(
                rng, draft, kind, school, self._initial_schedule(rng, kind, cohort), mentored=mentored
            )
        draft.enrolments.append(main)
        later = cohort + 2  # trained as an ECT, now mentors the next ECTs at the same school
        mentors_later = not original and kind == EnrolmentKind.ECT and cohort <= 2024
        if (
            mentors_later
            and rng.random() < ALSO_MENTOR_LATER
            and getattr(school.cohorts.get(later), "partnership", None)
        ):
            schedule = self._initial_schedule(rng, EnrolmentKind.MENTOR, later)
            draft.enrolments.append(self._enrolment(rng, draft, EnrolmentKind.MENTOR, school, schedule))
        if all(e.row["eligibility_status"] is None for e in draft.enrolments) and rng.random() < 0.3:
            trn = None  # not yet matched to a teacher record
        draft.row["trn"] = trn
        for enrolment in draft.enrolments:
            enrolment.row["validation_trn"] = trn if enrolment.row["eligibility_status"] else None
        self._finish(draft)
        if not original and kind == EnrolmentKind.ECT and cohort <= 2024 and trn:
            self.originals.append(OriginalAccount(draft, main))
        return draft

    def _original(self, rng: random.Random) -> OriginalAccount | None:
        candidates = [o for o in self.originals if any(d.holds_slot for d in o.enrolment.declarations)]
        return rng.choice(candidates) if candidates else None

    def _pool_size(self, index: int) -> int:
        """Participant i chooses among the first schools only, so adding participants never moves it."""
        return min(len(self.world.schools), max(MIN_SCHOOLS, math.ceil((index + 1) / PARTICIPANTS_PER_SCHOOL)))

    def _pick_school(self, rng: random.Random, index: int, cohort: int, *, mentored: bool = False) -> SchoolDraft:
        """A partnered school among the first `_pool_size`; for an ECT who has a mentor, one that
        has registered a mentor (while any has), as a school names its ECT's mentor."""
        candidates = self.world.partnered[cohort]
        pool = self._pool_size(index)
        with_mentor = self.mentored_schools[cohort]
        if mentored and with_mentor and with_mentor[0] < pool:
            candidates = with_mentor
        upper = bisect.bisect_left(candidates, pool)
        # Half the time favour the most recently added schools, so that later schools fill up too.
        lower = bisect.bisect_left(candidates, pool - MIN_SCHOOLS) if rng.random() < 0.5 else 0
        if lower >= upper:
            lower = 0
        return self.world.schools[candidates[rng.randrange(lower, upper)]]

    def _finish(self, draft: ParticipantDraft) -> None:
        """The person's timestamps follow from the enrolments; mentors join their school's pool."""
        rows = [e.row for e in draft.enrolments]
        draft.row["created_at"] = min(row["created_at"] for row in rows)
        draft.row["updated_at"] = max(row["updated_at"] for row in rows)
        for enrolment in draft.enrolments:
            if enrolment.kind == EnrolmentKind.MENTOR:
                first = enrolment.periods[0]
                key = (first.school.index, first.partnership.cohort)
                mentor = MentorRef(enrolment.id, draft.id)
                self.mentor_pools.setdefault(key, []).append(mentor)
                if first.school.index not in self.school_mentors:
                    self._school_has_a_mentor(first.school)
                self.school_mentors.setdefault(first.school.index, []).append(mentor)

    def _school_has_a_mentor(self, school: SchoolDraft) -> None:
        for cohort, schools in self.mentored_schools.items():
            if getattr(school.cohorts.get(cohort), "partnership", None):
                bisect.insort(schools, school.index)

    # -- one enrolment and its history ----------------------------------------------------

    def _enrolment(
        self, rng, draft, kind, school, schedule: ScheduleRef, registered=None, mentored=True
    ) -> EnrolmentDraft:
        duplicate = registered is not None
        cohort = schedule.cohort
        status, reason = (
            (EligibilityStatus.ELIGIBLE, EligibilityReason.NONE)
            if duplicate
            else _weighted(rng, ECT_ELIGIBILITY if kind == EnrolmentKind.ECT else MENTOR_ELIGIBILITY)
        )
        registered = registered or self._registration(rng, schedule)
        school_cohort = school.cohorts[cohort]
        first = PeriodDraft(
            id=stable_id(self.seed, "period", draft.index, kind, 0),
            school=school,
            partnership=school_cohort.partnership,
            schedule=schedule,
            mentor=self._mentor_at(rng, kind, school, cohort) if mentored else None,
            start=registered,
            created_at=registered,
        )
        enrolment = EnrolmentDraft(
            index=draft.index,
            kind=kind,
            row={
                "id": stable_id(self.seed, "enrolment", draft.index, kind),
                "participant_id": draft.id,
                "kind": kind,
                "eligibility_status": status,
                "eligibility_reason": reason,
                "pupil_premium_uplift": school_cohort.pupil_premium,
                "sparsity_uplift": school_cohort.sparsity,
                "induction_start_date": schedule.start if kind == EnrolmentKind.ECT else None,
                "created_at": registered,
            },
            periods=[first],
        )
        if not duplicate:  # a duplicate account only mirrors its original's declarations
            timing = self._history(rng, draft, enrolment)
            enrolment.declarations = self._declarations(rng, draft, enrolment, timing)
            self._completion(rng, enrolment)
        self._settle(enrolment)
        return enrolment

    def _initial_schedule(self, rng, kind, cohort) -> ScheduleRef:
        ect = kind == EnrolmentKind.ECT
        identifier = _weighted(
            rng,
            (
                ("ecf-standard-september", 82),
                ("ecf-standard-january", 6),
                ("ecf-standard-april", 4),
                ("ecf-extended-september", 4 if ect else 2),
                ("ecf-reduced-september", 3),
                ("ecf-replacement-september", 0 if ect else 4),
            ),
        )
        return self.schedules[(cohort, identifier)]

    def _registration(self, rng, schedule: ScheduleRef) -> datetime:
        start = schedule.start
        if start.month == 9:
            earliest, latest = _at(date(start.year, 5, 10), 8), _at(date(start.year, 9, 30), 18)
            if rng.random() < 0.15:  # late registrations
                earliest, latest = latest, _at(date(start.year, 11, 30), 18)
        else:
            earliest, latest = _at(start) - timedelta(days=80), _at(start) + timedelta(days=20)
        # Seeded before a cohort's registrations are all in: the latest ones registered "just now".
        return min(_between(rng, earliest, latest), self.now - timedelta(hours=rng.randrange(1, 240)))

    def _mentor_at(self, rng, kind, school, cohort) -> MentorRef | None:
        """A mentor of the ECT's cohort at the school, else one the school registered for another
        cohort (mentors go on mentoring the next ECTs). Only an ECT registered before any mentor
        at the school has none, as when a school has not yet registered its mentor."""
        if kind != EnrolmentKind.ECT:
            return None
        pool = self.mentor_pools.get((school.index, cohort)) or self.school_mentors.get(school.index)
        return rng.choice(pool) if pool else None

    def _history(self, rng, draft, enrolment) -> Timing:
        """Schedule change, transfer, deferral or withdrawal, applied in time order (rules §3, §6)."""
        first = enrolment.periods[0]
        registered = first.start
        timing = Timing(schedule=first.schedule, last_event=registered)
        events = []
        if first.schedule.identifier == "ecf-standard-september" and rng.random() < SCHEDULE_CHANGE:
            ect = enrolment.kind == EnrolmentKind.ECT
            identifier = _weighted(
                rng,
                (
                    ("ecf-standard-january", 35),
                    ("ecf-standard-april", 15),
                    ("ecf-extended-september", 35 if ect else 0),
                    ("ecf-reduced-september", 15),
                ),
            )
            target = self.schedules[(first.schedule.cohort, identifier)]
            if target.kind == "standard":  # a later start, agreed before training began
                at = registered + timedelta(days=rng.randrange(2, 30), hours=rng.randrange(24))
                timing.schedule = target
            else:  # induction extended or reduced part-way through
                at = _at(first.schedule.start) + timedelta(days=rng.randrange(60, 420), hours=rng.randrange(24))
            events.append((at, "schedule", target))
        if rng.random() < TRANSFER:
            if rng.random() < UPCOMING_TRANSFER and registered < self.now - timedelta(days=60):
                at = self.now + timedelta(days=rng.randrange(7, 60), hours=rng.randrange(24))
            else:
                at = registered + timedelta(days=rng.randrange(60, 540), hours=rng.randrange(24))
            events.append((at, "transfer", None))
        roll = rng.random()
        if roll < WITHDRAWAL:
            events.append(
                (registered + timedelta(days=rng.randrange(30, 640), hours=rng.randrange(24)), "withdraw", None)
            )
        elif roll < WITHDRAWAL + DEFERRAL:
            deferred = registered + timedelta(days=rng.randrange(30, 500), hours=rng.randrange(24))
            events.append((deferred, "defer", None))
            if rng.random() < RESUME_AFTER_DEFERRAL:
                events.append((deferred + timedelta(days=rng.randrange(45, 240)), "resume", None))
        events.sort(key=lambda event: event[0])
        for at, what, target in events:
            at = max(at, timing.last_event + timedelta(hours=1))
            if at > self.now:
                # Only a transfer can already be known before it happens (the school reports it).
                if what == "transfer" and at <= self.now + FUTURE_TRANSFER_HORIZON:
                    self._transfer(rng, draft, enrolment, at, timing)
                break
            if what == "schedule":
                self._next_period(enrolment, at, schedule=target)
                enrolment.schedule_changes.append({"schedule_id": target.id, "created_at": at})
            elif what == "transfer":
                self._transfer(rng, draft, enrolment, at, timing)
            elif what == "withdraw":
                self._training_status(rng, enrolment, at, TrainingStatus.WITHDRAWN)
                timing.withdrawn_at = at
                break
            elif what == "defer":
                self._training_status(rng, enrolment, at, TrainingStatus.DEFERRED)
                timing.blocked.append([at, None])
            elif enrolment.periods[-1].training_status == TrainingStatus.DEFERRED:  # resume
                self._training_status(rng, enrolment, at, TrainingStatus.ACTIVE)
                timing.blocked[-1][1] = at
            timing.last_event = max(timing.last_event, at)
        return timing

    def _next_period(self, enrolment, at, **changes) -> PeriodDraft:
        """Close the current period at `at` and open a changed copy (ECF induction records)."""
        current = enrolment.periods[-1]
        current.end = at
        current.updated_at = at
        current.induction_status = InductionStatus.CHANGED
        fields = {
            "school": current.school,
            "partnership": current.partnership,
            "schedule": current.schedule,
            "mentor": current.mentor,
            "training_status": current.training_status,
            "start": at,
            "created_at": at,
            **changes,
        }
        period = PeriodDraft(
            id=stable_id(self.seed, "period", enrolment.index, enrolment.kind, len(enrolment.periods)), **fields
        )
        enrolment.periods.append(period)
        return period

    def _transfer(self, rng, draft, enrolment, at, timing) -> None:
        """The old school reports a leaver, the new school a joiner (rules §6.1)."""
        current = enrolment.periods[-1]
        cohort = current.partnership.cohort
        provider = current.partnership.provider
        kind = _weighted(rng, (("same_provider", 45), ("keep_provider", 20), ("new_provider", 35)))
        destination = self._destination(rng, enrolment.index, cohort, current.school, provider, kind == "same_provider")
        if destination is None:
            return
        reported = max(timing.last_event + timedelta(minutes=30), at - timedelta(days=rng.randrange(5, 60)))
        reported = min(reported, at, self.now)
        if kind == "keep_provider":
            # The new school works with another provider: a relationship partnership keeps the
            # participant with theirs and their delivery partner (rules §7.5).
            partner = current.partnership.partner
            partnership = PartnershipDraft(
                id=stable_id(self.seed, "relationship", destination.index, cohort, provider.key, partner.id),
                provider=provider,
                partner=partner,
                school=destination,
                cohort=cohort,
                created_at=reported,
                relationship=True,
            )
            draft.relationship_partnerships.append(partnership)
        else:
            partnership = destination.cohorts[cohort].partnership
        changes = {}
        if partnership.provider is not provider:
            # A new provider trains them from the start: a deferral by the old one is not theirs.
            changes["training_status"] = TrainingStatus.ACTIVE
            if timing.blocked and timing.blocked[-1][1] is None:
                timing.blocked[-1][1] = at
        mentor = self._mentor_at(rng, enrolment.kind, destination, cohort)
        self._next_period(
            enrolment,
            at,
            school=destination,
            partnership=partnership,
            mentor=mentor,
            created_at=reported,
            school_transfer=True,
            **changes,
        )
        leaving = enrolment.periods[-2]
        leaving.induction_status = InductionStatus.LEAVING
        leaving.updated_at = reported
        timing.last_event = reported

    def _destination(self, rng, index, cohort, school, provider, same_provider) -> SchoolDraft | None:
        if same_provider:
            candidates = self.world.partnered_by_provider[(cohort, provider.key)]
        else:
            candidates = self.world.partnered[cohort]
        upper = bisect.bisect_left(candidates, self._pool_size(index))
        for _ in range(12 if upper else 0):
            found = self.world.schools[candidates[rng.randrange(upper)]]
            if found is not school and (same_provider or found.cohorts[cohort].partnership.provider is not provider):
                return found
        return None

    def _training_status(self, rng, enrolment, at, status) -> None:
        """A provider's withdraw / defer / resume: an audit row and a new period (rules §3.2–3.4)."""
        if status == TrainingStatus.WITHDRAWN:
            ect = enrolment.kind == EnrolmentKind.ECT
            reason = _weighted(rng, ECT_WITHDRAWAL_REASONS if ect else MENTOR_WITHDRAWAL_REASONS)
        elif status == TrainingStatus.DEFERRED:
            reason = _weighted(rng, DEFERRAL_REASONS)
        else:
            reason = ""
        provider = enrolment.periods[-1].partnership.provider
        enrolment.status_changes.append(
            {"lead_provider_id": provider.id, "training_status": status, "reason": reason, "created_at": at}
        )
        self._next_period(enrolment, at, training_status=status)

    # -- declarations ------------------------------------------------------------------------

    def _declarations(self, rng, draft, enrolment, timing: Timing) -> list[DeclarationDraft]:
        final = enrolment.periods[-1].schedule
        mentor_funded = enrolment.kind == EnrolmentKind.MENTOR and final.cohort >= 2025
        types = [t for t in DeclarationType.values if t in final.windows]
        if mentor_funded:
            types = [t for t in types if t in MENTOR_FUNDED_TYPES]
        declarations = []
        for declaration_type in types:
            if rng.random() < STOP_DECLARING:
                break
            if rng.random() < SKIP_DECLARATION:
                continue
            declared_at = self._declaration_date(rng, enrolment, declaration_type, timing, mentor_funded)
            if declared_at is None:
                continue
            delay = timedelta(days=rng.choice((0, 0, 1, 2, 3, 5, 8, 13, 21)), minutes=rng.randrange(1, 600))
            created = declared_at + delay
            if created > self.now or not _fits_schedules(enrolment, declaration_type, declared_at, created):
                continue
            declaration = self._declaration(rng, draft, enrolment, declaration_type, declared_at, created, 0)
            if declaration is None:
                continue
            declarations.append(declaration)
            if declaration.state == DeclarationState.VOIDED and rng.random() < RESUBMIT_AFTER_VOID:
                # The provider voided a wrong declaration and sends it again (rules §5.3).
                voided_at = declaration.changes[-1]["created_at"]
                created = voided_at + timedelta(days=rng.randrange(1, 20), minutes=rng.randrange(1, 600))
                if created <= self.now and _fits_schedules(enrolment, declaration_type, declared_at, created):
                    again = self._declaration(
                        rng, draft, enrolment, declaration_type, declared_at, created, 1, void=False
                    )
                    if again:
                        declarations.append(again)
        return declarations

    def _declaration_date(self, rng, enrolment, declaration_type, timing: Timing, mentor_funded) -> datetime | None:
        """A date in the type's typical window, inside its milestone window, before today."""
        if mentor_funded and declaration_type == DeclarationType.COMPLETED:
            months = MENTOR_FUNDED_COMPLETED_WINDOW
        else:
            months = TYPICAL_WINDOWS[declaration_type]
        pace = REDUCED_PACE if timing.schedule.kind == "reduced" else 1
        start = _add_months(timing.schedule.start, months[0] * pace)
        end = _add_months(timing.schedule.start, months[1] * pace)
        milestone_start, milestone_end = enrolment.periods[-1].schedule.windows[declaration_type]
        start = max(start, milestone_start, enrolment.periods[0].start + timedelta(hours=1))
        end = min([end, *(limit for limit in (milestone_end, timing.withdrawn_at) if limit)])
        if end <= start:
            return None
        declared_at = _between(rng, start, end)
        if declared_at > self.now:
            return None
        for blocked_from, blocked_to in timing.blocked:  # no training while deferred
            if blocked_from <= declared_at and (blocked_to is None or declared_at < blocked_to):
                return None
        return declared_at

    def _declaration(self, rng, draft, enrolment, declaration_type, declared_at, created, number, void=True):
        """One submitted declaration, taken as far as its statement has gone (finance.md §2.6)."""
        period = _period_at(enrolment, declared_at)
        provider = period.partnership.provider
        cohort = enrolment.cohort
        changes = [_change("", DeclarationState.SUBMITTED, created, provider=provider)]
        row = {
            "id": stable_id(self.seed, "declaration", draft.index, enrolment.kind, declaration_type, number),
            "enrolment_id": enrolment.id,
            "participant_id": draft.id,
            "lead_provider_id": provider.id,
            "cohort_id": cohort,
            "course_identifier": COURSES[enrolment.kind],
            "declaration_type": declaration_type,
            "declaration_date": declared_at,
            "evidence_held": _evidence(rng, cohort, enrolment.kind, declaration_type),
            "delivery_partner_id": period.partnership.partner.id,
            "mentor_id": period.mentor.participant_id if period.mentor else None,
            "pupil_premium_uplift": enrolment.row["pupil_premium_uplift"],
            "sparsity_uplift": enrolment.row["sparsity_uplift"],
            "statement_id": None,
            "clawback_statement_id": None,
            "created_at": created,
        }
        if enrolment.row["eligibility_status"] == EligibilityStatus.ELIGIBLE:
            slot = self.book.next_output(provider.id, cohort, created.date())
            if slot is None:
                return None  # the funding contract has ended: the API refuses it (rules §4.4 V8)
            row["statement_id"] = slot.id
            changes.append(_change(DeclarationState.SUBMITTED, DeclarationState.ELIGIBLE, created, provider=provider))
            if slot.payable_at:
                changes.append(_change(DeclarationState.ELIGIBLE, DeclarationState.PAYABLE, slot.payable_at))
            if slot.paid_at:
                changes.append(_change(DeclarationState.PAYABLE, DeclarationState.PAID, slot.paid_at))
        if void and rng.random() < VOID and self.now - created > timedelta(hours=2):
            self._void(row, changes, provider, cohort, _between(rng, created + timedelta(hours=1), self.now))
        row["state"] = changes[-1]["state"]
        row["updated_at"] = changes[-1]["created_at"]
        return DeclarationDraft(row, changes, _attempt(row))

    def _void(self, row, changes, provider, cohort, voided_at) -> None:
        """The provider voids at `voided_at`; a paid declaration is clawed back instead (rules §5.3)."""
        before = [change for change in changes if change["created_at"] <= voided_at]
        state = before[-1]["state"]
        if state == DeclarationState.PAID:
            clawback = self.book.next_output(provider.id, cohort, voided_at.date())
            if clawback is None:
                return  # no output statement left: the void would be refused
            changes.append(_change(state, DeclarationState.AWAITING_CLAWBACK, voided_at, provider=provider))
            if clawback.paid_at:
                changes.append(
                    _change(DeclarationState.AWAITING_CLAWBACK, DeclarationState.CLAWED_BACK, clawback.paid_at)
                )
            row["clawback_statement_id"] = clawback.id
            return
        del changes[len(before) :]
        changes.append(_change(state, DeclarationState.VOIDED, voided_at, provider=provider))

    def _duplicate_declarations(self, rng, draft, enrolment, original: OriginalAccount) -> list[DeclarationDraft]:
        """A second account of a teacher declares what the first holds: ineligible (rules §4.6)."""
        declarations = []
        for held in original.enrolment.declarations:
            if not held.holds_slot:
                continue
            declaration_type = held.row["declaration_type"]
            declared_at = held.row["declaration_date"]
            created = held.row["created_at"] + timedelta(days=rng.randrange(1, 30), minutes=rng.randrange(1, 600))
            if declared_at <= enrolment.periods[0].start or created > self.now:
                continue
            if not _fits_schedules(enrolment, declaration_type, declared_at, created):
                continue
            period = _period_at(enrolment, declared_at)
            provider = period.partnership.provider
            slot = self.book.next_output(provider.id, enrolment.cohort, created.date())
            if slot is None:
                continue
            row = {
                "id": stable_id(self.seed, "declaration", draft.index, enrolment.kind, declaration_type, 0),
                "enrolment_id": enrolment.id,
                "participant_id": draft.id,
                "lead_provider_id": provider.id,
                "cohort_id": enrolment.cohort,
                "course_identifier": COURSES[enrolment.kind],
                "declaration_type": declaration_type,
                "declaration_date": declared_at,
                "state": DeclarationState.INELIGIBLE,
                "ineligibility_reason": IneligibilityReason.DUPLICATE,
                "superseded_by_id": held.id,
                "evidence_held": held.row["evidence_held"],
                "delivery_partner_id": period.partnership.partner.id,
                "mentor_id": period.mentor.participant_id if period.mentor else None,
                "pupil_premium_uplift": enrolment.row["pupil_premium_uplift"],
                "sparsity_uplift": enrolment.row["sparsity_uplift"],
                "statement_id": slot.id,  # the ineligible line sits on the next statement (finance.md §2.2)
                "clawback_statement_id": None,
                "created_at": created,
                "updated_at": created,
            }
            changes = [
                _change("", DeclarationState.SUBMITTED, created, provider=provider),
                _change(
                    DeclarationState.SUBMITTED,
                    DeclarationState.INELIGIBLE,
                    created,
                    provider=provider,
                    reason="duplicate",
                ),
            ]
            declarations.append(DeclarationDraft(row, changes, _attempt(row)))
        return declarations

    # -- completion and final fields ---------------------------------------------------------

    def _completion(self, rng, enrolment) -> None:
        completed = next(
            (
                d
                for d in enrolment.declarations
                if d.row["declaration_type"] == DeclarationType.COMPLETED and d.holds_slot
            ),
            None,
        )
        if completed is None:
            return
        if enrolment.kind == EnrolmentKind.MENTOR:  # the mentor completion hook (rules §4.10)
            enrolment.row["mentor_completion_date"] = completed.row["declaration_date"].date()
            enrolment.row["mentor_completion_reason"] = MentorCompletionReason.COMPLETED_DECLARATION_RECEIVED
            enrolment.touched_at = completed.row["created_at"]
            return
        last = enrolment.periods[-1]
        if last.training_status != TrainingStatus.ACTIVE or last.start > self.now:
            return
        if rng.random() < INDUCTION_COMPLETED:
            finished = completed.row["created_at"] + timedelta(days=rng.randrange(0, 25))
            if max(last.start, last.created_at) <= finished <= self.now:  # nothing changed after it
                enrolment.row["induction_completion_date"] = finished.date()
                enrolment.touched_at = finished
                last.induction_status = InductionStatus.COMPLETED
                last.updated_at = finished

    def _settle(self, enrolment) -> None:
        row = enrolment.row
        last = enrolment.periods[-1]
        row["schedule_id"] = last.schedule.id
        row["training_status"] = last.training_status
        moments = [row["created_at"], enrolment.touched_at or row["created_at"]]
        for period in enrolment.periods:
            period.updated_at = period.updated_at or period.created_at
            moments.append(period.updated_at)
        moments += [change["created_at"] for change in enrolment.status_changes]
        row["updated_at"] = max(moment for moment in moments if moment <= self.now)


COURSES = {EnrolmentKind.ECT: CourseIdentifier.ECF_INDUCTION, EnrolmentKind.MENTOR: CourseIdentifier.ECF_MENTOR}


def _fits_schedules(enrolment, declaration_type, declared_at, created) -> bool:
    """Valid on the schedule it was submitted under and on every later one (rules §4.5, §3.5 S4)."""
    periods = enrolment.periods
    current = next((i for i in range(len(periods) - 1, -1, -1) if periods[i].start <= created), 0)
    return all(period.schedule.allows(declaration_type, declared_at) for period in periods[current:])


def _period_at(enrolment, instant) -> PeriodDraft:
    """The relevant training period: the latest one started by then (rules §4.7)."""
    for period in reversed(enrolment.periods):
        if period.start <= instant:
            return period
    return enrolment.periods[0]


def _change(from_state, state, at, *, provider: Provider | None = None, reason: str = "") -> dict:
    """A state history row: the provider submits and voids, the payment run does the rest."""
    return {
        "from_state": from_state,
        "state": state,
        "reason": reason,
        "actor_kind": ActorKind.LEAD_PROVIDER if provider else ActorKind.PAYMENT_RUN,
        "actor_lead_provider_id": provider.id if provider else None,
        "created_at": at,
    }


def _attempt(row: dict) -> dict:
    return {
        "lead_provider_id": row["lead_provider_id"],
        "participant_id": row["participant_id"],
        "course_identifier": row["course_identifier"],
        "declaration_type": row["declaration_type"],
        "declaration_date": rfc3339.format_timestamp(row["declaration_date"]),
        "evidence_held": row["evidence_held"] or "",
        "declaration_id": row["id"],
        "created_at": row["created_at"],
    }


def _evidence(rng, cohort: int, kind: str, declaration_type: str) -> str | None:
    """Valid evidence for the cohort, course and type (rules §4.3)."""
    if cohort <= LAST_UPLIFT_COHORT:  # no detailed evidence types before 2025
        return None if declaration_type == DeclarationType.STARTED else _weighted(rng, BASIC_EVIDENCE)
    if declaration_type == DeclarationType.STARTED:
        return None if rng.random() < 0.3 else _weighted(rng, DETAILED_EVIDENCE)
    if declaration_type == DeclarationType.RETAINED_2:
        return _weighted(rng, ENGAGEMENT_EVIDENCE)
    if declaration_type == DeclarationType.COMPLETED:
        return _weighted(rng, ECT_COMPLETED_EVIDENCE if kind == EnrolmentKind.ECT else ENGAGEMENT_EVIDENCE)
    return _weighted(rng, DETAILED_EVIDENCE)

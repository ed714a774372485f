"""The sandbox's world: constants, stable ids, providers, delivery partners, schools, partnerships
(drafted whole in memory), and the reference data and statement calendar read back from the database."""

from __future__ import annotations

import bisect
import math
import random
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from declarations.models import (
    EvidenceHeld,
)
from participants.models import (
    ChallengeReason,
    DeclarationType,
    DeferralReason,
    EligibilityReason,
    EligibilityStatus,
    InductionProgrammeChoice,
    Schedule,
    WithdrawalReason,
)
from statements.models import (
    Statement,
    StatementStatus,
)

NAMESPACE = uuid.UUID("0b7f5d0e-3c1a-5e8b-9a54-5a2d1c7e6f10")

DEFAULT_SEED = 1
DEFAULT_PARTICIPANTS = 1000
MIN_SCHOOLS = 300
PARTICIPANTS_PER_SCHOOL = 40
MAX_SCHOOLS = 50_000  # URNs are drawn from 100000–149999
URN_STEP, URN_OFFSET = 30_011, 23_117  # a fixed permutation of those (the step is coprime with 50000)
COHORTS = (2023, 2024, 2025, 2026)
PARTICIPANT_BATCH = 1000
INSERT_BATCH = 2000

# (name, share of schools in %). Ambition holds about a third of the participants: the
# benchmark relies on one provider being much bigger than the others.
LEAD_PROVIDERS = (
    ("Ambition Institute", 33),
    ("Best Practice Network", 10),
    ("Capita", 8),
    ("Education Development Trust", 11),
    ("National Institute of Teaching", 12),
    ("Teach First", 14),
    ("UCL Early Career Teacher Education", 12),
)
# These sandbox providers speak the rewrite's v3 contract at /api/v3/ (issue 15), the others the original's;
# `make run` prints which.
REWRITE_FLAVOURED_PROVIDERS = frozenset({"Capita", "Teach First"})
# Delivery partners per provider; the rest of the 20 are shared between two providers.
PARTNERS_PER_PROVIDER = {"ambition-institute": 5, "capita": 2, "best-practice-network": 2}
PARTNER_COUNT = 20

ADMIN_LOGIN = ("admin", "sandbox-admin-password")
FINANCE_LOGIN = ("finance", "sandbox-finance-password")

# Contract F of finance.md §5; mentor contracts (2025+) pay a flat £1,000.
CONTRACT_BANDS = ((None, 2000, Decimal("995")), (2001, 4000, Decimal("979")), (4001, 6000, Decimal("966")))
LAST_UPLIFT_COHORT = 2024

# How the people are spread. Rates are per participant (or enrolment) unless said.
COHORT_WEIGHTS = ((2023, 24), (2024, 26), (2025, 27), (2026, 23))
MENTOR_SHARE = 0.30
ALSO_MENTOR_LATER = 0.07  # 2023/2024 ECTs who mentor in a later cohort at the same school
# ECTs whose school has not named their mentor yet. Every ECT must have one (statutory induction),
# so in a real year the gap is the few weeks after registration: 1 in 20, not the 1 in 4 of a school
# that happened to register its ECTs before any mentor.
UNMENTORED_ECTS = 0.05
DUPLICATE_EVERY = 150  # every 150th participant is a second account of an earlier ECT (same TRN)
SCHEDULE_CHANGE = 0.06
TRANSFER = 0.08
UPCOMING_TRANSFER = 0.25  # of transfers: reported by the schools, happening in the coming weeks
WITHDRAWAL = 0.06
DEFERRAL = 0.05
RESUME_AFTER_DEFERRAL = 0.4
SKIP_DECLARATION = 0.03
STOP_DECLARING = 0.03
VOID = 0.05
RESUBMIT_AFTER_VOID = 0.5
INDUCTION_COMPLETED = 0.4
FUTURE_TRANSFER_HORIZON = timedelta(days=60)

MONTH = 30.44  # days, for the typical declaration windows below

# When a declaration of each type is typically made, in months after the schedule's start
# (standard calendar of rules §9.3: started Sep–Dec, retained-1 Jan–Mar, ...). The milestone
# window still decides what is valid; this only makes the dates look like real ones, also for
# 2025+ schedules whose milestones have no end date.
TYPICAL_WINDOWS = {
    DeclarationType.STARTED: (0, 4),
    DeclarationType.RETAINED_1: (4, 7),
    DeclarationType.RETAINED_2: (7, 11),
    DeclarationType.RETAINED_3: (11, 16),
    DeclarationType.RETAINED_4: (16, 19),
    DeclarationType.COMPLETED: (19, 23),
    DeclarationType.EXTENDED_1: (23, 27),
    DeclarationType.EXTENDED_2: (27, 31),
    DeclarationType.EXTENDED_3: (31, 35),
}
MENTOR_FUNDED_COMPLETED_WINDOW = (7, 11)  # mentors 2025+: completed after one year (rules §9.3)
REDUCED_PACE = 0.5
MENTOR_FUNDED_TYPES = (DeclarationType.STARTED, DeclarationType.COMPLETED)  # rules §4.2

BASIC_EVIDENCE = (
    (EvidenceHeld.TRAINING_EVENT_ATTENDED, 70),
    (EvidenceHeld.SELF_STUDY_MATERIAL_COMPLETED, 20),
    (EvidenceHeld.OTHER, 10),
)
DETAILED_EVIDENCE = (
    (EvidenceHeld.TRAINING_EVENT_ATTENDED, 55),
    (EvidenceHeld.SELF_STUDY_MATERIAL_COMPLETED, 20),
    (EvidenceHeld.MATERIALS_ENGAGED_WITH_OFFLINE, 15),
    (EvidenceHeld.OTHER, 10),
)
ENGAGEMENT_EVIDENCE = (
    (EvidenceHeld.SEVENTY_FIVE_PERCENT_ENGAGEMENT_MET, 85),
    (EvidenceHeld.SEVENTY_FIVE_PERCENT_ENGAGEMENT_MET_REDUCED_INDUCTION, 15),
)
ECT_COMPLETED_EVIDENCE = (*ENGAGEMENT_EVIDENCE, (EvidenceHeld.ONE_TERM_INDUCTION, 5))

ECT_ELIGIBILITY = (
    ((EligibilityStatus.ELIGIBLE, EligibilityReason.NONE), 84),
    ((EligibilityStatus.MANUAL_CHECK, EligibilityReason.DIFFERENT_TRN), 3),
    ((EligibilityStatus.MANUAL_CHECK, EligibilityReason.ACTIVE_FLAGS), 2),
    ((EligibilityStatus.MATCHED, EligibilityReason.NONE), 1),
    ((EligibilityStatus.INELIGIBLE, EligibilityReason.PREVIOUS_INDUCTION), 2),
    ((EligibilityStatus.INELIGIBLE, EligibilityReason.EXEMPT_FROM_INDUCTION), 1),
    ((EligibilityStatus.INELIGIBLE, EligibilityReason.NO_INDUCTION), 1),
    ((None, EligibilityReason.NONE), 6),
)
MENTOR_ELIGIBILITY = (
    ((EligibilityStatus.ELIGIBLE, EligibilityReason.NONE), 80),
    ((EligibilityStatus.MANUAL_CHECK, EligibilityReason.DIFFERENT_TRN), 4),
    ((EligibilityStatus.INELIGIBLE, EligibilityReason.PREVIOUS_PARTICIPATION), 6),
    ((EligibilityStatus.INELIGIBLE, EligibilityReason.DUPLICATE_PROFILE), 2),
    ((None, EligibilityReason.NONE), 8),
)
ECT_WITHDRAWAL_REASONS = (
    (WithdrawalReason.LEFT_TEACHING_PROFESSION, 35),
    (WithdrawalReason.MOVED_SCHOOL, 25),
    (WithdrawalReason.SWITCHED_TO_SCHOOL_LED, 10),
    (WithdrawalReason.OTHER, 30),
)
MENTOR_WITHDRAWAL_REASONS = (*ECT_WITHDRAWAL_REASONS, (WithdrawalReason.MENTOR_NO_LONGER_BEING_MENTOR, 40))
DEFERRAL_REASONS = (
    (DeferralReason.PARENTAL_LEAVE, 40),
    (DeferralReason.LONG_TERM_SICKNESS, 25),
    (DeferralReason.CAREER_BREAK, 15),
    (DeferralReason.BEREAVEMENT, 5),
    (DeferralReason.OTHER, 15),
)
PROGRAMME_CHOICES = (
    (InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME, 82),
    (InductionProgrammeChoice.SCHOOL_FUNDED_FIP, 4),
    (InductionProgrammeChoice.CORE_INDUCTION_PROGRAMME, 7),
    (InductionProgrammeChoice.DESIGN_OUR_OWN, 3),
    (InductionProgrammeChoice.NOT_YET_KNOWN, 2),
    (InductionProgrammeChoice.NO_EARLY_CAREER_TEACHERS, 2),
)
PROVIDER_LED_CHOICES = (InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME, InductionProgrammeChoice.SCHOOL_FUNDED_FIP)
# GIAS types of ordinary state schools (all eligible), weighted roughly like England's.
STATE_SCHOOL_TYPES = ((34, 34), (1, 20), (28, 14), (2, 8), (3, 6), (35, 5), (5, 4), (7, 3), (33, 3), (12, 1), (36, 2))


def _words(text: str, sep: str = " ") -> tuple[str, ...]:
    return tuple(text.split(sep))


FIRST_NAMES = _words(
    "Aisha Alex Amelia Amir Ava Ben Charlotte Chloe Daniel David Elena Eleanor Emily Ethan Farah Freya "
    "George Grace Hannah Harry Isabel Isaac Jack James Jasmine Joe Kate Kieran Laura Leo Lily Lucy Maya "
    "Mohammed Nadia Nathan Niamh Oliver Olivia Omar Priya Rachel Rhys Rosie Ruby Ryan Sam Sara Sophie "
    "Tom Usman Zara Zoe"
)
LAST_NAMES = _words(
    "Adams Ahmed Ali Allen Bailey Baker Begum Bell Brown Campbell Carter Chapman Clarke Collins Cook "
    "Cooper Davies Edwards Evans Fisher Green Hall Harris Hill Hughes Hussain Jackson James Johnson "
    "Jones Kaur Khan King Lee Lewis Martin Mills Mitchell Moore Morgan Morris Murphy Owen Parker Patel "
    "Phillips Price Roberts Robinson Scott Shah Singh Smith Taylor Thomas Thompson Turner Walker Ward "
    "Watson White Williams Wilson Wood Wright Young"
)
PLACES = _words(
    "Abbey|Ashfield|Ashton|Beacon|Beech|Bramley|Brook|Castle|Cedar|Chestnut|Church|Clifton|Copper|Crown|"
    "Dale|Elmwood|Fairfield|Fernhill|Forest|Glebe|Grange|Green Lane|Greenway|Hawthorn|Heath|Highfield|"
    "Hill Top|Hollin|Holly|Kings|Lakeside|Larkrise|Linden|Manor|Maple|Marsh|Meadow|Mill|Moorland|"
    "Northgate|Oak Tree|Orchard|Park View|Priory|Queens|Redbrook|Ridgeway|Riverside|Rose Hill|St Anne's|"
    "St John's|St Mary's|St Peter's|Southfield|Springfield|Stanley|Station Road|Sunnyside|Thornhill|"
    "Valley|Victoria|Westfield|Whitehall|Willow|Windmill|Woodlands|Wykeham|Yew Tree",
    sep="|",
)
SCHOOL_KINDS = (
    ("Primary School", 30),
    ("Academy", 15),
    ("Church of England Primary School", 8),
    ("Catholic Primary School", 5),
    ("Infant School", 4),
    ("Junior School", 4),
    ("High School", 10),
    ("Community College", 5),
    ("Secondary School", 8),
    ("School", 6),
    ("Free School", 3),
    ("Special School", 2),
)
PARTNER_NAMES = (
    "Aspire Teaching School Hub",
    "Bridgewater Learning Partnership",
    "Cathedral Schools Teaching Hub",
    "Coastal Alliance for Teaching",
    "Dales Teaching School Hub",
    "East Midlands Learning Trust Partnership",
    "Forest Schools Alliance",
    "Great North Teaching Hub",
    "Harbour Teaching School Alliance",
    "Kingfisher Learning Partnership",
    "Lakes and Fells Teaching Hub",
    "London Bridge Teaching Partnership",
    "Meridian Teaching School Hub",
    "Northern Lights Education Partnership",
    "Pennine Teaching School Hub",
    "Red Kite Learning Alliance",
    "Severn Vale Teaching Hub",
    "Solent Schools Partnership",
    "Three Rivers Teaching Alliance",
    "Wessex Teaching School Hub",
    "White Horse Learning Partnership",
    "Yorkshire Moors Teaching Hub",
)


def stable_id(seed: int, kind: str, *key) -> uuid.UUID:
    """The same (seed, kind, key) always names the same row."""
    return uuid.uuid5(NAMESPACE, ":".join(str(part) for part in (seed, kind, *key)))


def sandbox_token(provider_name: str) -> str:
    """The fixed development token of a provider: "sandbox-ambition-institute"."""
    return "sandbox-" + _slug(provider_name)


def school_urn(index: int) -> str:
    """School j has the same URN whatever the seed, so two seeds can never be mixed in one database
    unnoticed: the second one meets the first one's URNs and stops (see _require_all)."""
    return str(100_000 + (URN_STEP * index + URN_OFFSET) % MAX_SCHOOLS)


def school_count_for(participants: int) -> int:
    return min(MAX_SCHOOLS, max(MIN_SCHOOLS, math.ceil(participants / PARTICIPANTS_PER_SCHOOL)))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def _at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole-second instant in [start, end)."""
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(seconds)) if seconds > 0 else start


def _add_months(start: date, months: float) -> datetime:
    return _at(start) + timedelta(days=months * MONTH)


def _last_day_of_previous_month(year: int, month: int) -> date:
    return date(year, month, 1) - timedelta(days=1)


# ---------------------------------------------------------------------------------------
# The world: providers, delivery partners, schools and partnerships (small, built whole)


@dataclass
class Provider:
    key: str
    name: str
    weight: int
    token: str
    id: uuid.UUID


@dataclass
class DeliveryPartnerDraft:
    id: uuid.UUID
    name: str
    created_at: datetime


@dataclass
class PartnershipDraft:
    id: uuid.UUID
    provider: Provider
    partner: DeliveryPartnerDraft
    school: SchoolDraft
    cohort: int
    created_at: datetime
    relationship: bool = False
    challenge_reason: str | None = None
    challenged_at: datetime | None = None

    @property
    def challenge_deadline(self) -> date:
        # rules §7.1: the later of 31 October of the start year and 14 days after reporting.
        return max(date(self.cohort, 10, 31), (self.created_at + timedelta(days=14)).date())

    @property
    def updated_at(self) -> datetime:
        return self.challenged_at or self.created_at


@dataclass
class SchoolCohortDraft:
    cohort: int
    choice: str
    pupil_premium: bool
    sparsity: bool
    created_at: datetime
    partnership: PartnershipDraft | None = None  # the confirmed one
    challenged: list[PartnershipDraft] = field(default_factory=list)


@dataclass
class SchoolDraft:
    index: int
    id: uuid.UUID
    urn: str
    name: str
    status_code: int
    type_code: int
    district: str
    section_41: bool
    tutor_name: str
    tutor_email: str
    created_at: datetime
    updated_at: datetime
    cohorts: dict[int, SchoolCohortDraft] = field(default_factory=dict)


@dataclass
class World:
    seed: int
    now: datetime
    providers: list[Provider]
    partners: list[DeliveryPartnerDraft]
    relationships: dict[tuple[str, int], list[DeliveryPartnerDraft]]
    schools: list[SchoolDraft]
    trn_step: int
    trn_offset: int
    # Indexes of schools with a confirmed partnership, per cohort and per (cohort, provider key).
    partnered: dict[int, list[int]] = field(default_factory=dict)
    partnered_by_provider: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    def trn(self, index: int) -> str:
        """Seven digits, unique per participant index (an affine permutation of 1000000–9999999)."""
        return str(1_000_000 + (self.trn_step * index + self.trn_offset) % 9_000_000)

    def partnerships(self) -> Iterable[PartnershipDraft]:
        for school in self.schools:
            for school_cohort in school.cohorts.values():
                if school_cohort.partnership:
                    yield school_cohort.partnership
                yield from school_cohort.challenged


def _coprime_step(rng: random.Random, modulus: int) -> int:
    while True:
        step = rng.randrange(modulus // 3, modulus - 1)
        if math.gcd(step, modulus) == 1:
            return step


def build_world(*, seed: int, school_count: int, now: datetime) -> World:
    """Everything participants stand on. School j depends only on (seed, j), never on the count."""
    rng = random.Random(f"{seed}:world")
    providers = [
        Provider(_slug(name), name, weight, sandbox_token(name), stable_id(seed, "lead-provider", _slug(name)))
        for name, weight in LEAD_PROVIDERS
    ]
    partners = _delivery_partners(rng, seed)
    relationships = _relationships(rng, providers, partners)
    world = World(
        seed=seed,
        now=now,
        providers=providers,
        partners=partners,
        relationships=relationships,
        schools=[],
        trn_step=_coprime_step(rng, 9_000_000),
        trn_offset=rng.randrange(9_000_000),
    )
    for index in range(school_count):
        world.schools.append(_school(world, index, school_urn(index)))
    for cohort in COHORTS:
        world.partnered[cohort] = []
        for provider in providers:
            world.partnered_by_provider[(cohort, provider.key)] = []
    for school in world.schools:
        for cohort, school_cohort in school.cohorts.items():
            if school_cohort.partnership:
                world.partnered[cohort].append(school.index)
                world.partnered_by_provider[(cohort, school_cohort.partnership.provider.key)].append(school.index)
    return world


def _delivery_partners(rng: random.Random, seed: int) -> list[DeliveryPartnerDraft]:
    names = rng.sample(PARTNER_NAMES, PARTNER_COUNT)
    return [
        DeliveryPartnerDraft(
            stable_id(seed, "delivery-partner", index),
            name,
            _between(rng, datetime(2021, 3, 1, tzinfo=UTC), datetime(2023, 3, 1, tzinfo=UTC)),
        )
        for index, name in enumerate(names)
    ]


def _relationships(rng, providers, partners) -> dict[tuple[str, int], list[DeliveryPartnerDraft]]:
    """Each provider works with a few partners in every cohort; a few pairs only in some cohorts."""
    own: dict[str, list[DeliveryPartnerDraft]] = {}
    queue = list(partners)
    for provider in providers:
        count = PARTNERS_PER_PROVIDER.get(provider.key, 3)
        own[provider.key] = [queue.pop(0) for _ in range(min(count, len(queue)))]
    for partner in queue:  # partners left over work for two providers each
        for provider in rng.sample(providers, 2):
            if partner not in own[provider.key]:
                own[provider.key].append(partner)
    cohorts_of = {}
    for provider in providers:
        for partner in own[provider.key]:
            cohorts_of[(provider.key, partner.id)] = COHORTS
    # Partners that joined late or stopped: only for providers with partners to spare.
    spare = [(p.key, partner) for p in providers for partner in own[p.key][:] if len(own[p.key]) >= 3]
    for (key, partner), cohorts in zip(
        rng.sample(spare, 3), ((2025, 2026), (2023, 2024), (2024, 2025, 2026)), strict=True
    ):
        cohorts_of[(key, partner.id)] = cohorts
    relationships: dict[tuple[str, int], list[DeliveryPartnerDraft]] = {}
    for provider in providers:
        for cohort in COHORTS:
            relationships[(provider.key, cohort)] = [
                partner for partner in own[provider.key] if cohort in cohorts_of[(provider.key, partner.id)]
            ]
    return relationships


def _school(world: World, index: int, urn: str) -> SchoolDraft:
    seed = world.seed
    rng = random.Random(f"{seed}:school:{index}")
    place = rng.choice(PLACES)
    kind = _weighted(rng, SCHOOL_KINDS)
    name, status, type_code, district, s41 = f"{place} {kind}", 1, _weighted(rng, STATE_SCHOOL_TYPES), "", False
    category = rng.random()
    if category < 0.03:
        status = 2  # closed (after the 2023 cohort)
    elif category < 0.06:
        name, type_code = f"{place} {rng.choice(('Preparatory School', 'College', 'House School'))}", 11  # CIP only
    elif category < 0.07:
        name, type_code = f"Ysgol {place}", 30  # Welsh establishment
        district = f"W06{rng.randrange(1, 23):06d}"
    elif category < 0.075:
        name, type_code, s41 = f"{place} Independent Special School", 11, True  # independent, section 41
    elif category < 0.095:
        status = 3  # open, but proposed to close
    district = district or f"E{rng.choice(('06', '07', '08', '09', '10'))}{rng.randrange(1, 70):06d}"
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    created = _between(rng, datetime(2019, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC))
    school = SchoolDraft(
        index=index,
        id=stable_id(seed, "school", index),
        urn=urn,
        name=name,
        status_code=status,
        type_code=type_code,
        district=district,
        section_41=s41,
        tutor_name=f"{first} {last}",
        tutor_email=f"{_slug(first)}.{_slug(last)}@school{urn}.example.com",
        created_at=created,
        updated_at=datetime(2024, 8, 31, 16, tzinfo=UTC) if status == 2 else created,
    )
    _school_cohorts(world, rng, school)
    return school


def _school_cohorts(world: World, rng: random.Random, school: SchoolDraft) -> None:
    if school.district.startswith("W"):
        return  # Welsh schools do not register for English induction
    cip_only = school.type_code == 11 and not school.section_41
    cohorts = (2023,) if school.status_code == 2 else COHORTS
    pupil_premium, sparsity = rng.random() < 0.25, rng.random() < 0.1
    provider = None
    partner = None
    for cohort in cohorts:
        # Uplift data is imported per year: mostly stable, sometimes flipping.
        pupil_premium ^= rng.random() < 0.05
        sparsity ^= rng.random() < 0.02
        created = _between(rng, datetime(cohort, 3, 1, tzinfo=UTC), datetime(cohort, 5, 9, tzinfo=UTC))
        choice = InductionProgrammeChoice.CORE_INDUCTION_PROGRAMME if cip_only else _weighted(rng, PROGRAMME_CHOICES)
        school_cohort = SchoolCohortDraft(cohort, choice, pupil_premium, sparsity, min(created, world.now))
        school.cohorts[cohort] = school_cohort
        if choice not in PROVIDER_LED_CHOICES:
            continue
        if provider is None or rng.random() < 0.15:
            provider = _weighted(rng, [(p, p.weight) for p in world.providers])
        partners = world.relationships[(provider.key, cohort)]
        if partner not in partners or rng.random() < 0.2:
            partner = rng.choice(partners)
        partnership = _partnership(world, school, cohort, provider, partner, created)
        challenge = rng.random()
        if challenge < 0.01:
            # The school says it has no ECTs this year: challenged, and no confirmed partnership.
            partnership.challenge_reason = ChallengeReason.NO_ECTS
            partnership.challenged_at = partnership.created_at + timedelta(days=rng.randrange(2, 14), hours=3)
            school_cohort.choice = InductionProgrammeChoice.NO_EARLY_CAREER_TEACHERS
            school_cohort.challenged.append(partnership)
            continue
        school_cohort.partnership = partnership
        if challenge < 0.03:
            # Another provider reported the school by mistake; the school challenged it.
            other = _weighted(rng, [(p, p.weight) for p in world.providers if p is not provider])
            wrong = _partnership(
                world,
                school,
                cohort,
                other,
                rng.choice(world.relationships[(other.key, cohort)]),
                created - timedelta(days=rng.randrange(3, 20)),
            )
            wrong.challenge_reason = _weighted(
                rng,
                (
                    (ChallengeReason.ANOTHER_PROVIDER, 50),
                    (ChallengeReason.MISTAKE, 20),
                    (ChallengeReason.NOT_CONFIRMED, 15),
                    (ChallengeReason.DO_NOT_RECOGNISE, 15),
                ),
            )
            wrong.challenged_at = wrong.created_at + timedelta(days=rng.randrange(1, 10), hours=5)
            school_cohort.challenged.append(wrong)


def _partnership(world, school, cohort, provider, partner, created) -> PartnershipDraft:
    return PartnershipDraft(
        id=stable_id(world.seed, "partnership", school.index, cohort, provider.key),
        provider=provider,
        partner=partner,
        school=school,
        cohort=cohort,
        created_at=min(created, world.now),
    )


# ---------------------------------------------------------------------------------------
# Reference data and statements, as read back from the database


@dataclass(frozen=True)
class ScheduleRef:
    id: uuid.UUID
    cohort: int
    identifier: str
    # declaration type -> (first valid instant, first invalid instant or None); rules §4.5
    windows: dict[str, tuple[datetime, datetime | None]]

    @property
    def start(self) -> date:
        """When training on this schedule begins (rules §9.3)."""
        month = self.identifier.rsplit("-", 1)[1]
        return {
            "september": date(self.cohort, 9, 1),
            "january": date(self.cohort + 1, 1, 1),
            "april": date(self.cohort + 1, 4, 1),
        }[month]

    @property
    def kind(self) -> str:
        return self.identifier.split("-")[1]  # standard | extended | reduced | replacement

    def allows(self, declaration_type: str, instant: datetime) -> bool:
        window = self.windows.get(declaration_type)
        if window is None:
            return False
        start, end = window
        return start <= instant and (end is None or instant < end)


def load_schedules() -> dict[tuple[int, str], ScheduleRef]:
    schedules = Schedule.objects.filter(cohort_id__in=COHORTS).prefetch_related("milestones")
    refs = {}
    for schedule in schedules:
        windows = {
            milestone.declaration_type: (
                _at(milestone.start_date),
                _at(milestone.milestone_date + timedelta(days=1)) if milestone.milestone_date else None,
            )
            for milestone in schedule.milestones.all()
        }
        refs[(schedule.cohort_id, schedule.identifier)] = ScheduleRef(
            schedule.id, schedule.cohort_id, schedule.identifier, windows
        )
    return refs


@dataclass(frozen=True)
class StatementSlot:
    id: uuid.UUID
    deadline: date
    payable_at: datetime | None  # when its eligible declarations become payable (the payable job)
    paid_at: datetime | None  # when it is authorised (already, or by this run's catch-up)
    closed: bool = False  # paid before this run: frozen, so it takes no new declarations


class StatementBook:
    """The output statements of each (provider, cohort), and where a real year has taken them by
    `today`: payable the day after the deadline, authorised on the payment date at 09:00. The
    writer brings the stored statements there after the participants are written
    (sandbox.writer._catch_up_statements); one already paid keeps what it paid."""

    def __init__(self, statements: Iterable[Statement], *, today: date):
        grouped: dict[tuple[uuid.UUID, int], list[StatementSlot]] = {}
        for statement in sorted(statements, key=lambda s: (s.deadline_date, s.payment_date, str(s.id))):
            grouped.setdefault((statement.lead_provider_id, statement.cohort_id), []).append(_slot(statement, today))
        self._slots = grouped
        self._deadlines = {key: [slot.deadline for slot in slots] for key, slots in grouped.items()}

    def closed_ids(self) -> set[uuid.UUID]:
        return {slot.id for slots in self._slots.values() for slot in slots if slot.closed}

    def next_output(self, provider_id, cohort: int, on: date) -> StatementSlot | None:
        """The first output statement whose deadline is on or after `on` (finance.md §2.2)."""
        deadlines = self._deadlines.get((provider_id, cohort), [])
        position = bisect.bisect_left(deadlines, on)
        return self._slots[(provider_id, cohort)][position] if position < len(deadlines) else None


def _slot(statement: Statement, today: date) -> StatementSlot:
    if statement.status == StatementStatus.PAID:
        return StatementSlot(
            statement.id, statement.deadline_date, _payable_at(statement), statement.marked_as_paid_at, closed=True
        )
    due = statement.deadline_date < today
    paid_at = _at(statement.payment_date, 9) if statement.payment_date < today else None
    return StatementSlot(statement.id, statement.deadline_date, _payable_at(statement) if due else None, paid_at)


def _payable_at(statement: Statement) -> datetime:
    """The payable job runs just after midnight the day after the deadline (decisions §13)."""
    return _at(statement.deadline_date + timedelta(days=1))

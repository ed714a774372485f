"""The deterministic sandbox behind `manage.py seed_sandbox`.

What it builds is described in the command's help and in the README: seven lead providers with
fixed development tokens, delivery partners, schools with their cohorts and partnerships,
contracts, statement calendars, participants with their training history, declarations in every
state with their state history and submission attempts, and two back-office users.

How it stays deterministic, idempotent and fast:

* Every random choice comes from a `random.Random` seeded with the seed and a stable key (the
  world, one school, one participant), so one participant's data never depends on how many
  participants were asked for: a second run with a larger `--participants` regenerates the same
  first participants and adds only the missing ones.
* Every UUID is `uuid5(namespace, "<seed>:<kind>:<key>")`. Tables with integer keys (status and
  schedule changes, state changes, attempts, bands, cohort rows) are only written together with
  the new row they belong to, so a second run never doubles them.
* Timestamps come from the data (registration, milestone and statement dates). The clock is read
  once, for "today" decisions only: which statements are paid/payable, which declarations have
  happened yet, which transfers are still to come.
* Participants are drafted in memory in order and written in batches of plain rows (COPY on
  PostgreSQL, executemany on SQLite), one transaction per batch; nothing is queried per row.
  The small tables (providers, schools, statements, ...) use bulk_create(ignore_conflicts=True).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connections, models, router, transaction

from declarations.models import (
    ActorKind,
    Declaration,
    DeclarationAttempt,
    DeclarationState,
    DeclarationStateChange,
    EvidenceHeld,
    IneligibilityReason,
)
from ecf import clock, rfc3339
from participants.models import (
    ApiToken,
    ChallengeReason,
    CourseIdentifier,
    DeclarationType,
    DeferralReason,
    DeliveryPartner,
    EligibilityReason,
    EligibilityStatus,
    Enrolment,
    EnrolmentKind,
    InductionProgrammeChoice,
    InductionStatus,
    LeadProvider,
    MentorCompletionReason,
    Participant,
    Partnership,
    ProviderRelationship,
    Schedule,
    ScheduleChange,
    School,
    SchoolCohort,
    TrainingPeriod,
    TrainingStatus,
    TrainingStatusChange,
    WithdrawalReason,
)
from participants.tokens import api_token_create
from statements.models import (
    DEFAULT_CONTRACT_VERSION,
    ContractBand,
    EctContract,
    MentorContract,
    Statement,
    StatementStatus,
)
from statements.permissions import ensure_finance_group

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
    payable_at: datetime | None  # when its eligible declarations became payable
    paid_at: datetime | None  # when it was authorised


class StatementBook:
    """The output statements of each (provider, cohort), as they are in the database."""

    def __init__(self, statements: Iterable[Statement]):
        grouped: dict[tuple[uuid.UUID, int], list[StatementSlot]] = {}
        for statement in sorted(statements, key=lambda s: (s.deadline_date, s.payment_date, str(s.id))):
            passed = statement.status in (StatementStatus.PAYABLE, StatementStatus.PAID)
            slot = StatementSlot(
                statement.id,
                statement.deadline_date,
                _at(statement.deadline_date + timedelta(days=1)) if passed else None,
                statement.marked_as_paid_at if statement.status == StatementStatus.PAID else None,
            )
            grouped.setdefault((statement.lead_provider_id, statement.cohort_id), []).append(slot)
        self._slots = grouped
        self._deadlines = {key: [slot.deadline for slot in slots] for key, slots in grouped.items()}

    def next_output(self, provider_id, cohort: int, on: date) -> StatementSlot | None:
        """The first output statement whose deadline is on or after `on` (finance.md §2.2)."""
        deadlines = self._deadlines.get((provider_id, cohort), [])
        position = bisect.bisect_left(deadlines, on)
        return self._slots[(provider_id, cohort)][position] if position < len(deadlines) else None


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
        school = self._pick_school(rng, index, cohort)
        if original:
            # Registered again by another school a little after the first account.
            registered = original.enrolment.periods[0].start + timedelta(
                days=rng.randrange(1, 20), hours=rng.randrange(24)
            )
            schedule = original.enrolment.periods[-1].schedule
            main = self._enrolment(rng, draft, kind, school, schedule, registered=min(registered, self.now))
            main.declarations = self._duplicate_declarations(rng, draft, main, original)
        else:
            main = self._enrolment(rng, draft, kind, school, self._initial_schedule(rng, kind, cohort))
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

    def _pick_school(self, rng: random.Random, index: int, cohort: int) -> SchoolDraft:
        candidates = self.world.partnered[cohort]
        pool = self._pool_size(index)
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
                self.mentor_pools.setdefault(key, []).append(MentorRef(enrolment.id, draft.id))

    # -- one enrolment and its history ----------------------------------------------------

    def _enrolment(self, rng, draft, kind, school, schedule: ScheduleRef, registered=None) -> EnrolmentDraft:
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
            mentor=self._mentor_at(rng, kind, school, cohort),
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
        if kind != EnrolmentKind.ECT:
            return None
        pool = self.mentor_pools.get((school.index, cohort))
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


# ---------------------------------------------------------------------------------------
# Writing to the database


class SandboxConflict(Exception):
    """The database holds rows that clash with the sandbox (another seed, hand-made data)."""


@dataclass
class SeedReport:
    seed: int
    participants: int
    providers: list[tuple[str, str]]  # (name, token)
    logins: list[tuple[str, str, str, bool]]  # (username, password, role, created by this run)
    counts: list[tuple[str, int, int]]  # (what, before, after)
    participants_already_there: int
    declaration_states: dict[str, int]
    statement_statuses: dict[str, int]


ProgressFn = Callable[[int, int], None]

COUNTED = (
    ("lead providers", LeadProvider),
    ("API tokens", ApiToken),
    ("delivery partners", DeliveryPartner),
    ("provider relationships", ProviderRelationship),
    ("schools", School),
    ("school cohorts", SchoolCohort),
    ("partnerships", Partnership),
    ("ECT contracts", EctContract),
    ("contract bands", ContractBand),
    ("mentor contracts", MentorContract),
    ("statements", Statement),
    ("participants", Participant),
    ("enrolments", Enrolment),
    ("training periods", TrainingPeriod),
    ("training status changes", TrainingStatusChange),
    ("schedule changes", ScheduleChange),
    ("declarations", Declaration),
    ("declaration state changes", DeclarationStateChange),
    ("declaration attempts", DeclarationAttempt),
)


def sandbox_seed(
    *, seed: int = DEFAULT_SEED, participants: int = DEFAULT_PARTICIPANTS, progress: ProgressFn | None = None
) -> SeedReport:
    """Build, or top up, the sandbox for `seed` with `participants` people. Safe to run again."""
    if participants < 0:
        raise ValueError("participants must be 0 or more")
    before = _counts()
    # Generated history stops at the start of today: the same day always gives the same data,
    # whatever the hour the command runs.
    now = _at(clock.today())
    schedules = load_schedules()
    missing = [cohort for cohort in COHORTS if (cohort, "ecf-standard-september") not in schedules]
    if missing:
        raise SandboxConflict(f"cohorts {missing} have no schedules: run `manage.py migrate` first")
    world = build_world(seed=seed, school_count=school_count_for(participants), now=now)
    with transaction.atomic():
        book = _save_world(world)
        logins = _ensure_users()
    factory = ParticipantFactory(world, schedules, book)
    # Participant i depends on those before it only, so drafting can stop after the last missing one.
    ids = [stable_id(seed, "participant", index) for index in range(participants)]
    stored = _existing_ids(Participant, ids)
    needed = max((index + 1 for index, id_ in enumerate(ids) if id_ not in stored), default=0)
    for start in range(0, needed, PARTICIPANT_BATCH):
        drafts = [factory.draft(index) for index in range(start, min(start + PARTICIPANT_BATCH, needed))]
        _save_participants(drafts, stored)
        if progress:
            progress(start + len(drafts), participants)
    if progress and needed < participants:
        progress(participants, participants)
    after = _counts()
    return SeedReport(
        seed=seed,
        participants=participants,
        providers=[(provider.name, provider.token) for provider in world.providers],
        logins=logins,
        counts=[(label, before[label], after[label]) for label, _ in COUNTED],
        participants_already_there=len(stored),
        declaration_states=_tally(Declaration, "state"),
        statement_statuses=_tally(Statement, "status"),
    )


def _counts() -> dict[str, int]:
    return {label: model.objects.count() for label, model in COUNTED}


def _tally(model, field_name: str) -> dict[str, int]:
    rows = model.objects.values_list(field_name).annotate(n=models.Count("pk")).order_by(field_name)
    return dict(rows)


def _insert(model, rows: Iterable, *, ignore_conflicts: bool = False) -> None:
    model.objects.bulk_create(list(rows), batch_size=INSERT_BATCH, ignore_conflicts=ignore_conflicts)


def _existing_ids(model, ids: Iterable) -> set:
    """Which of `ids` are already stored (in chunks: SQLite limits query parameters)."""
    ids = list(ids)
    found = set()
    for start in range(0, len(ids), 900):
        found.update(model.objects.filter(pk__in=ids[start : start + 900]).values_list("pk", flat=True))
    return found


def _require_all(model, ids: list, what: str) -> None:
    missing = len(ids) - len(_existing_ids(model, ids))
    if missing:
        raise SandboxConflict(
            f"{missing} {what} could not be written because they clash with rows already in the database "
            "(another --seed, or data made by hand). Seed an empty database, or use the seed that built this one."
        )


def _save_world(world: World) -> StatementBook:
    _save_providers(world)
    _insert(
        DeliveryPartner,
        (
            DeliveryPartner(id=p.id, name=p.name, created_at=p.created_at, updated_at=p.created_at)
            for p in world.partners
        ),
        ignore_conflicts=True,
    )
    relationships = []
    for provider in world.providers:
        for cohort in COHORTS:
            at = datetime(cohort - 1, 12, 1, 9, tzinfo=UTC)
            relationships += [
                ProviderRelationship(
                    lead_provider_id=provider.id,
                    delivery_partner_id=p.id,
                    cohort_id=cohort,
                    created_at=at,
                    updated_at=at,
                )
                for p in world.relationships[(provider.key, cohort)]
            ]
    _insert(ProviderRelationship, relationships, ignore_conflicts=True)
    _save_schools(world)
    contracts = _save_contracts(world)
    _save_statements(world, contracts)
    provider_ids = [provider.id for provider in world.providers]
    return StatementBook(
        Statement.objects.filter(lead_provider_id__in=provider_ids, cohort_id__in=COHORTS, output_fee=True).only(
            "id", "lead_provider_id", "cohort_id", "deadline_date", "payment_date", "status", "marked_as_paid_at"
        )
    )


def _save_providers(world: World) -> None:
    """Providers are found by name (it is unique), so a provider made by hand is reused, not doubled."""
    existing = {p.name: p for p in LeadProvider.objects.filter(name__in=[p.name for p in world.providers])}
    created = datetime(2021, 4, 1, 9, tzinfo=UTC)
    new = []
    for provider in world.providers:
        if provider.name in existing:
            provider.id = existing[provider.name].id
        else:
            new.append(LeadProvider(id=provider.id, name=provider.name, created_at=created, updated_at=created))
    _insert(LeadProvider, new)
    for provider in world.providers:
        lead_provider = existing.get(provider.name) or next(p for p in new if p.id == provider.id)
        api_token_create(lead_provider=lead_provider, raw_token=provider.token, label="sandbox")


def _save_schools(world: World) -> None:
    _insert(
        School,
        (
            School(
                id=s.id,
                urn=s.urn,
                name=s.name,
                school_status_code=s.status_code,
                school_type_code=s.type_code,
                administrative_district_code=s.district,
                section_41_approved=s.section_41,
                induction_tutor_name=s.tutor_name,
                induction_tutor_email=s.tutor_email,
                primary_contact_email=f"office@school{s.urn}.example.com",
                created_at=s.created_at,
                updated_at=s.updated_at,
            )
            for s in world.schools
        ),
        ignore_conflicts=True,
    )
    _require_all(School, [s.id for s in world.schools], "schools")
    _insert(
        SchoolCohort,
        (
            SchoolCohort(
                school_id=school.id,
                cohort_id=sc.cohort,
                induction_programme_choice=sc.choice,
                pupil_premium_uplift=sc.pupil_premium,
                sparsity_uplift=sc.sparsity,
                created_at=sc.created_at,
                updated_at=max([sc.created_at] + [p.updated_at for p in sc.challenged]),
            )
            for school in world.schools
            for sc in school.cohorts.values()
        ),
        ignore_conflicts=True,
    )
    partnerships = list(world.partnerships())
    _insert(Partnership, (_partnership_row(p) for p in partnerships), ignore_conflicts=True)
    _require_all(Partnership, [p.id for p in partnerships], "partnerships")


def _partnership_row(p: PartnershipDraft) -> Partnership:
    return Partnership(
        id=p.id,
        lead_provider_id=p.provider.id,
        delivery_partner_id=p.partner.id,
        school_id=p.school.id,
        cohort_id=p.cohort,
        relationship=p.relationship,
        challenge_deadline=p.challenge_deadline,
        challenged_at=p.challenged_at,
        challenge_reason=p.challenge_reason,
        report_id=uuid.uuid5(NAMESPACE, f"report:{p.id}"),
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _save_contracts(world: World) -> dict[tuple, tuple[int, int | None]]:
    """Contract F for every provider and cohort, and £1,000 mentor contracts from 2025."""
    provider_ids = [provider.id for provider in world.providers]
    ect, mentor = [], []
    for provider in world.providers:
        for cohort in COHORTS:
            at = datetime(cohort, 4, 1, 9, tzinfo=UTC)
            ect.append(
                EctContract(
                    lead_provider_id=provider.id,
                    cohort_id=cohort,
                    version=DEFAULT_CONTRACT_VERSION,
                    recruitment_target=6000,
                    set_up_fee=Decimal("149651"),
                    uplift_target=Decimal("0.33"),
                    uplift_amount=Decimal("100") if cohort <= LAST_UPLIFT_COHORT else None,
                    created_at=at,
                    updated_at=at,
                )
            )
            if cohort >= 2025:
                mentor.append(
                    MentorContract(
                        lead_provider_id=provider.id,
                        cohort_id=cohort,
                        version=DEFAULT_CONTRACT_VERSION,
                        recruitment_target=3000,
                        payment_per_participant=Decimal("1000.00"),
                        created_at=at,
                        updated_at=at,
                    )
                )
    _insert(EctContract, ect, ignore_conflicts=True)
    _insert(MentorContract, mentor, ignore_conflicts=True)
    scope = {"lead_provider_id__in": provider_ids, "cohort_id__in": COHORTS, "version": DEFAULT_CONTRACT_VERSION}
    ect_ids = {(c.lead_provider_id, c.cohort_id): c.id for c in EctContract.objects.filter(**scope)}
    mentor_ids = {(c.lead_provider_id, c.cohort_id): c.id for c in MentorContract.objects.filter(**scope)}
    with_bands = set(
        ContractBand.objects.filter(contract_id__in=ect_ids.values()).values_list("contract_id", flat=True)
    )
    _insert(
        ContractBand,
        (
            ContractBand(contract_id=contract_id, min=low, max=high, per_participant=price)
            for contract_id in ect_ids.values()
            if contract_id not in with_bands
            for low, high, price in CONTRACT_BANDS
        ),
    )
    return {key: (contract_id, mentor_ids.get(key)) for key, contract_id in ect_ids.items()}


def statement_calendar(cohort: int) -> list[tuple[int, int, bool]]:
    """(year, month, output fee) from November of the start year (finance.md §2.1)."""
    last = (cohort + 3, 8) if cohort == 2023 else (cohort + 3, 5)
    months, year, month = [], cohort, 11
    while (year, month) <= last:
        months.append((year, month, month in (1, 4, 8, 10)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _save_statements(world: World, contracts) -> None:
    today = world.now.date()
    rows = []
    for provider in world.providers:
        for cohort in COHORTS:
            ect_contract, mentor_contract = contracts[(provider.id, cohort)]
            created = min(datetime(cohort, 5, 10, 7, tzinfo=UTC), world.now)
            for year, month, output in statement_calendar(cohort):
                deadline, payment = _last_day_of_previous_month(year, month), date(year, month, 25)
                status, marked, updated = StatementStatus.OPEN, None, created
                if payment < today:  # authorised on its payment date
                    status, marked = StatementStatus.PAID, _at(payment, 9)
                    updated = marked
                elif deadline < today:  # the payable job ran the day after the deadline
                    status, updated = StatementStatus.PAYABLE, _at(deadline + timedelta(days=1))
                rows.append(
                    Statement(
                        id=stable_id(world.seed, "statement", provider.key, cohort, year, month),
                        lead_provider_id=provider.id,
                        cohort_id=cohort,
                        year=year,
                        month=month,
                        deadline_date=deadline,
                        payment_date=payment,
                        output_fee=output,
                        status=status,
                        marked_as_paid_at=marked,
                        ect_contract_id=ect_contract,
                        mentor_contract_id=mentor_contract,
                        created_at=created,
                        updated_at=max(created, updated),
                    )
                )
    _insert(Statement, rows, ignore_conflicts=True)


def _ensure_users() -> list[tuple[str, str, str, bool]]:
    """The back-office logins; existing users keep their passwords, the finance user its group."""
    user_model = get_user_model()
    username, password = ADMIN_LOGIN
    admin_created = not user_model.objects.filter(username=username).exists()
    if admin_created:
        user_model.objects.create_superuser(username, f"{username}@example.com", password)
    username, password = FINANCE_LOGIN
    finance = user_model.objects.filter(username=username).first()
    finance_created = finance is None
    if finance_created:
        finance = user_model.objects.create_user(username, f"{username}@example.com", password, is_staff=True)
    finance.groups.add(ensure_finance_group())
    return [(*ADMIN_LOGIN, "superuser", admin_created), (*FINANCE_LOGIN, "finance group", finance_created)]


def _save_participants(drafts: list[ParticipantDraft], stored: set) -> None:
    """Write the drafts not stored yet, with everything that hangs off them."""
    new = [d for d in drafts if d.id not in stored]
    if not new:
        return
    _drop_dangling_duplicates(new)
    rows = _Rows()
    for draft in new:
        rows.add(draft)
    with transaction.atomic():
        _insert(Partnership, rows.partnerships.values(), ignore_conflicts=True)
        for model, batch in rows.tables.items():
            TableWriter(model).write(batch)


def _drop_dangling_duplicates(drafts: list[ParticipantDraft]) -> None:
    """A duplicate declaration may point at one written by an earlier run on another day, which
    may differ: keep it only when what it supersedes really exists."""
    ours = {d.id for p in drafts for e in p.enrolments for d in e.declarations}
    wanted = {
        d.row["superseded_by_id"]
        for p in drafts
        for e in p.enrolments
        for d in e.declarations
        if d.row.get("superseded_by_id") and d.row["superseded_by_id"] not in ours
    }
    present = ours | _existing_ids(Declaration, wanted)
    for draft in drafts:
        for enrolment in draft.enrolments:
            enrolment.declarations = [
                d
                for d in enrolment.declarations
                if d.row.get("superseded_by_id") is None or d.row["superseded_by_id"] in present
            ]


class _Rows:
    """The rows of a batch of new participants, as field dicts grouped by table (in FK order)."""

    def __init__(self):
        self.partnerships: dict[uuid.UUID, Partnership] = {}
        self.tables: dict[type[models.Model], list[dict]] = {
            model: []
            for model in (
                Participant,
                Enrolment,
                TrainingPeriod,
                TrainingStatusChange,
                ScheduleChange,
                Declaration,
                DeclarationStateChange,
                DeclarationAttempt,
            )
        }

    def add(self, draft: ParticipantDraft) -> None:
        tables = self.tables
        for partnership in draft.relationship_partnerships:
            if partnership.id not in self.partnerships:
                self.partnerships[partnership.id] = _partnership_row(partnership)
        tables[Participant].append(draft.row)
        email = draft.row["email"]
        for enrolment in draft.enrolments:
            tables[Enrolment].append(enrolment.row)
            tables[TrainingPeriod] += [
                {
                    "id": period.id,
                    "enrolment_id": enrolment.id,
                    "school_id": period.school.id,
                    "cohort_id": period.partnership.cohort,
                    "partnership_id": period.partnership.id,
                    "schedule_id": period.schedule.id,
                    "mentor_id": period.mentor.enrolment_id if period.mentor else None,
                    "email": email,
                    "start_date": period.start,
                    "end_date": period.end,
                    "training_status": period.training_status,
                    "induction_status": period.induction_status,
                    "school_transfer": period.school_transfer,
                    "created_at": period.created_at,
                    "updated_at": period.updated_at,
                }
                for period in enrolment.periods
            ]
            tables[TrainingStatusChange] += [{"enrolment_id": enrolment.id, **c} for c in enrolment.status_changes]
            tables[ScheduleChange] += [{"enrolment_id": enrolment.id, **c} for c in enrolment.schedule_changes]
            for declaration in enrolment.declarations:
                tables[Declaration].append(declaration.row)
                tables[DeclarationStateChange] += [
                    {"declaration_id": declaration.id, **change} for change in declaration.changes
                ]
                tables[DeclarationAttempt].append(declaration.attempt)


class TableWriter:
    """Appends plain rows to one table, much faster than model instances through bulk_create.

    Only for rows known to be new (nothing is ignored: a broken constraint fails loudly). Values
    are adapted the way Django's fields would for this database; PostgreSQL gets them by COPY.
    Fields missing from a row take their model default; a missing field whose default is computed
    (a uuid, the clock) is a bug and raises KeyError.
    """

    def __init__(self, model: type[models.Model]):
        self.connection = connections[router.db_for_write(model)]
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
        self.defaults = {
            f.attname: f.get_default() for f in self.fields if not (f.has_default() and callable(f.default))
        }
        self.adapters = [self._adapter(f) for f in self.fields]

    def _adapter(self, field) -> Callable | None:
        """How one column's Python value becomes a database parameter (None: as it is)."""
        target = field.target_field if field.is_relation else field
        if self.connection.vendor == "postgresql":
            return (
                None
                if not isinstance(target, models.JSONField)
                else (lambda v, f=field: f.get_db_prep_save(v, self.connection))
            )
        if isinstance(target, models.UUIDField):
            return lambda value: value.hex
        if isinstance(target, models.DateTimeField):
            return self.connection.ops.adapt_datetimefield_value
        if isinstance(target, models.DateField):
            return self.connection.ops.adapt_datefield_value
        if isinstance(target, models.DecimalField | models.JSONField):
            return lambda value, f=field: f.get_db_prep_save(value, self.connection)
        return None

    def _tuples(self, rows: list[dict]):
        names = [f.attname for f in self.fields]
        defaults = self.defaults
        adapters = list(zip(range(len(names)), self.adapters, strict=True))
        converted = [(i, adapt) for i, adapt in adapters if adapt is not None]
        for row in rows:
            values = [row[name] if name in row else defaults[name] for name in names]
            for i, adapt in converted:
                if values[i] is not None:
                    values[i] = adapt(values[i])
            yield values

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {quote(self.table)} ({columns}) FROM STDIN") as copy:
                    for values in self._tuples(rows):
                        copy.write_row(values)
                return
            placeholders = ", ".join(["%s"] * len(self.fields))
            sql = f"INSERT INTO {quote(self.table)} ({columns}) VALUES ({placeholders})"
            tuples = self._tuples(rows)
            while chunk := list(itertools.islice(tuples, INSERT_BATCH)):
                cursor.executemany(sql, chunk)


# ---------------------------------------------------------------------------------------
# Telling the developer what they have


class ProgressBar:
    """`participants 12000/60000 [######........................] 20%` on a terminal; on anything
    else one line per tenth, so logs stay readable."""

    def __init__(
        self, write: Callable[[str], None], *, label: str = "participants", interactive: bool, width: int = 30
    ):
        self.write = write
        self.label = label
        self.interactive = interactive
        self.width = width
        self.last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1
        filled = int(self.width * share)
        line = f"{self.label} {done}/{total} [{'#' * filled}{'.' * (self.width - filled)}] {int(share * 100)}%"
        if self.interactive:
            self.write("\r" + line + ("\n" if done >= total else ""))
        elif int(share * 10) != self.last_tenth:
            self.last_tenth = int(share * 10)
            self.write(line + "\n")


def format_report(report: SeedReport, *, base_url: str = "http://localhost:8000") -> str:
    width = max(len(name) for name, _ in report.providers)
    lines = [
        "",
        f"Sandbox ready (seed {report.seed}, {report.participants} participants requested).",
        f"API: {base_url}/api/v3/  (e.g. curl -H 'Authorization: Bearer <token>' {base_url}/api/v3/ping)",
        "",
        "Lead providers and their tokens:",
        *(f"  {name.ljust(width)}  {token}" for name, token in report.providers),
        "",
        f"Back office: {base_url}/admin/",
        *(
            f"  {user:<8} password {password:<26} ({role}{', created now' if created else ', already there'})"
            for user, password, role, created in report.logins
        ),
        "",
        f"Participants already there: {report.participants_already_there}, "
        f"added: {report.participants - report.participants_already_there}.",
        f"{'':<28}{'now':>10}{'added':>10}",
        *(f"  {label:<26}{after:>10}{after - before:>+10}" for label, before, after in report.counts),
        "",
        "Declarations by state: " + _pairs(report.declaration_states),
        "Statements by status:  " + _pairs(report.statement_statuses),
    ]
    return "\n".join(lines)


def _pairs(tally: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in tally.items()) or "none"

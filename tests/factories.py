"""factory-boy factories for every model, with traits named after states.

Reference data is looked up, never created: cohorts 2021-2026, their schedules and milestones
come from the migrations (`get_cohort(2024)`, `get_schedule(cohort=2024)`).

Related rows agree with each other. Pass the objects you care about and the rest follows:

* a training period's school and cohort are its partnership's, its schedule is its enrolment's;
* a declaration's statements belong to its lead provider and cohort, its participant to its
  enrolment, and by default its participant trains with its lead provider (as the API demands);
* when called directly, a factory also takes defaults from what you pass (a partnership, an
  enrolment, a statement): `DeclarationFactory(enrolment=e, paid=True)` is declared by the
  provider `e` trains with, for `e`'s cohort, on a paid statement of that provider and cohort.

Statements are dated relative to the clock (`ecf.clock`) at the moment they are made: open ones
pay next month (deadline: the end of this month), payable ones this month, paid ones last month.
Freeze the clock before making them when a test needs fixed dates, or pass `year`/`month`.

For the usual API test set-up use `enrolled_participant(...)`.

Cohorts and schedules exist only thanks to the data migration: tests that flush the database
(`transaction=True`) need `serialized_rollback=True` to keep them.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from declarations.models import (
    ActorKind,
    Declaration,
    DeclarationAttempt,
    DeclarationState,
    DeclarationStateChange,
    IneligibilityReason,
)
from ecf import clock, rfc3339
from participants.models import (
    COURSE_FOR_KIND,
    ApiToken,
    ChallengeReason,
    Cohort,
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
    Milestone,
    Participant,
    ParticipantIdChange,
    Partnership,
    ProviderRelationship,
    Schedule,
    ScheduleChange,
    School,
    SchoolCohort,
    TrainingPeriod,
    TrainingProgramme,
    TrainingStatus,
    TrainingStatusChange,
    WithdrawalReason,
)
from participants.tokens import token_digest
from statements.models import (
    Adjustment,
    ContractBand,
    EctContract,
    MentorContract,
    Statement,
    StatementStatus,
)

DEFAULT_COHORT = 2024
DEFAULT_SCHEDULE = "ecf-standard-september"

# finance.md §5: (min, max, £ per participant); every band 60 % output / 40 % service fee.
CONTRACT_F_BANDS = ((None, 2000, Decimal("995")), (2001, 4000, Decimal("979")), (4001, 6000, Decimal("966")))
CONTRACT_M_BANDS = (
    (None, 2, Decimal("400")),
    (3, 4, Decimal("300")),
    (5, 6, Decimal("200")),
    (7, 8, Decimal("100")),
)


# ---------------------------------------------------------------------------------------
# Reference data: looked up, never created


def get_cohort(value: "int | Cohort" = DEFAULT_COHORT) -> Cohort:
    """The migrated cohort of that start year (a Cohort passes through)."""
    if isinstance(value, Cohort):
        return value
    try:
        return Cohort.objects.get(start_year=value)
    except Cohort.DoesNotExist:
        raise LookupError(f"No cohort {value}: cohorts come from the migrations (2021-2026)") from None


def get_schedule(*, cohort: "int | Cohort" = DEFAULT_COHORT, identifier: str = DEFAULT_SCHEDULE) -> Schedule:
    """The migrated schedule, e.g. `get_schedule(cohort=2025, identifier="ecf-extended-april")`."""
    year = cohort.start_year if isinstance(cohort, Cohort) else cohort
    try:
        return Schedule.objects.get(cohort_id=year, identifier=identifier)
    except Schedule.DoesNotExist:
        raise LookupError(f"No schedule {identifier!r} in cohort {year}: schedules come from the migrations") from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _months_from_this_month(day: date) -> int:
    today = clock.today()
    return (day.year - today.year) * 12 + day.month - today.month


class ModelFactory(DjangoModelFactory):
    """Base: accepts `cohort=2024` as well as a Cohort, and lets a factory take defaults from given objects."""

    class Meta:
        abstract = True
        skip_postgeneration_save = True  # post-generation hooks only add related rows: no second save

    @classmethod
    def _generate(cls, strategy, params):
        params = dict(params)
        if isinstance(params.get("cohort"), int):
            params["cohort"] = get_cohort(params["cohort"])
        cls._defaults_from_given(params)
        return super()._generate(strategy, params)

    @classmethod
    def _defaults_from_given(cls, given: dict) -> None:
        """Fill unspecified fields from the objects the caller passed (top-level calls only)."""

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        if isinstance(kwargs.get("cohort"), int):
            kwargs["cohort"] = get_cohort(kwargs["cohort"])
        return kwargs


def _default_from(given: dict, field: str, *sources: tuple[str, Callable]) -> None:
    """given[field] = the first source(given[name]) whose object was passed and gives a value."""
    if field in given:
        return
    for name, derive in sources:
        if given.get(name) is not None and (value := derive(given[name])) is not None:
            given[field] = value
            return


class CohortFactory(DjangoModelFactory):
    """Returns the migrated cohort; it never creates one."""

    class Meta:
        model = Cohort

    start_year = DEFAULT_COHORT

    @classmethod
    def _create(cls, model_class, start_year, **kwargs):
        if kwargs:
            raise TypeError(f"cohorts come from the migrations; only start_year can be chosen, not {sorted(kwargs)}")
        return get_cohort(start_year)

    _build = _create


class ScheduleFactory(DjangoModelFactory):
    """Returns the migrated schedule; it never creates one."""

    class Meta:
        model = Schedule

    cohort = DEFAULT_COHORT
    identifier = DEFAULT_SCHEDULE

    @classmethod
    def _create(cls, model_class, cohort, identifier, **kwargs):
        if kwargs:
            raise TypeError(f"schedules come from the migrations; only cohort and identifier, not {sorted(kwargs)}")
        return get_schedule(cohort=cohort, identifier=identifier)

    _build = _create


class MilestoneFactory(DjangoModelFactory):
    """The migrated milestone of that schedule and type; made only for a type the schedule lacks."""

    class Meta:
        model = Milestone
        django_get_or_create = ("schedule", "declaration_type")

    schedule = factory.LazyFunction(get_schedule)
    declaration_type = DeclarationType.STARTED
    start_date = factory.LazyAttribute(lambda o: o.schedule.cohort.academic_year_start_date)
    milestone_date = None
    payment_date = None


# ---------------------------------------------------------------------------------------
# Providers


class LeadProviderFactory(ModelFactory):
    class Meta:
        model = LeadProvider

    name = factory.Sequence(lambda n: f"Lead provider {n}")
    vat_chargeable = True


class ApiTokenFactory(ModelFactory):
    """`token.raw_token` is the bearer secret (only its digest is stored, as api_token_create does)."""

    class Meta:
        model = ApiToken

    lead_provider = factory.SubFactory(LeadProviderFactory)
    raw_token = factory.Sequence(lambda n: f"test-token-{n:05d}")
    label = ""
    revoked_at = None

    @classmethod
    def _build(cls, model_class, *args, raw_token, **kwargs):
        token = super()._build(model_class, *args, digest=token_digest(raw_token), **kwargs)
        token.raw_token = raw_token
        return token

    @classmethod
    def _create(cls, model_class, *args, raw_token, **kwargs):
        token = super()._create(model_class, *args, digest=token_digest(raw_token), **kwargs)
        token.raw_token = raw_token
        return token


class DeliveryPartnerFactory(ModelFactory):
    class Meta:
        model = DeliveryPartner

    name = factory.Sequence(lambda n: f"Delivery partner {n}")


class ProviderRelationshipFactory(ModelFactory):
    class Meta:
        model = ProviderRelationship
        django_get_or_create = ("lead_provider", "delivery_partner", "cohort")

    lead_provider = factory.SubFactory(LeadProviderFactory)
    delivery_partner = factory.SubFactory(DeliveryPartnerFactory)
    cohort = factory.LazyFunction(get_cohort)


# ---------------------------------------------------------------------------------------
# Schools and partnerships


class SchoolFactory(ModelFactory):
    """Eligible for funding by default (rules §1.3): open, ordinary type, in England."""

    class Meta:
        model = School

    class Params:
        eligible = factory.Trait(school_status_code=1, school_type_code=1, administrative_district_code="E09000001")
        closed = factory.Trait(school_status_code=2)
        cip_only = factory.Trait(school_type_code=11)  # Other independent school
        welsh = factory.Trait(administrative_district_code="W06000015")
        section_41 = factory.Trait(school_type_code=11, section_41_approved=True)

    urn = factory.Sequence(lambda n: f"{100000 + n:06d}")
    name = factory.Sequence(lambda n: f"School {n}")
    school_status_code = 1
    school_type_code = 1
    administrative_district_code = "E09000001"
    section_41_approved = False


class SchoolCohortFactory(ModelFactory):
    class Meta:
        model = SchoolCohort
        django_get_or_create = ("school", "cohort")

    school = factory.SubFactory(SchoolFactory)
    cohort = factory.LazyFunction(get_cohort)
    induction_programme_choice = InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME


class PartnershipFactory(ModelFactory):
    """A confirmed partnership; the provider relationship it needs is made alongside (create strategy).

    `challenged=True` is a trait; `relationship=True` (a relationship partnership, rules §7.5) is the field.
    """

    class Meta:
        model = Partnership

    class Params:
        challenged = factory.Trait(
            challenge_reason=ChallengeReason.MISTAKE, challenged_at=factory.LazyFunction(clock.now)
        )

    lead_provider = factory.SubFactory(LeadProviderFactory)
    delivery_partner = factory.SubFactory(DeliveryPartnerFactory)
    school = factory.SubFactory(SchoolFactory)
    cohort = factory.LazyFunction(get_cohort)
    pending = False
    challenge_deadline = None
    challenged_at = None
    challenge_reason = None

    @factory.post_generation
    def provider_relationship(partnership, create, extracted, **kwargs):
        """Pass `provider_relationship=False` to leave it out."""
        if create and extracted is not False:
            ProviderRelationship.objects.get_or_create(
                lead_provider=partnership.lead_provider,
                delivery_partner=partnership.delivery_partner,
                cohort=partnership.cohort,
            )


# ---------------------------------------------------------------------------------------
# Participants and their training


class ParticipantFactory(ModelFactory):
    class Meta:
        model = Participant

    full_name = factory.Sequence(lambda n: f"Participant {n}")
    email = factory.Sequence(lambda n: f"participant{n}@example.com")
    trn = factory.Sequence(lambda n: f"{1000000 + n % 9000000}")  # 7 digits, distinct


class ParticipantIdChangeFactory(ModelFactory):
    """A retired id (`from_participant_id`) merged into `participant`."""

    class Meta:
        model = ParticipantIdChange

    participant = factory.SubFactory(ParticipantFactory)
    from_participant_id = factory.LazyFunction(uuid.uuid4)
    to_participant_id = factory.SelfAttribute("participant.id")


class EnrolmentFactory(ModelFactory):
    """An ECT enrolment on `ecf-standard-september` 2024; `cohort=` and `schedule_identifier=` pick another."""

    class Meta:
        model = Enrolment

    class Params:
        cohort = factory.LazyFunction(get_cohort)
        schedule_identifier = DEFAULT_SCHEDULE
        ect = factory.Trait(kind=EnrolmentKind.ECT)
        mentor = factory.Trait(kind=EnrolmentKind.MENTOR)
        fundable = factory.Trait(
            eligibility_status=EligibilityStatus.ELIGIBLE, eligibility_reason=EligibilityReason.NONE
        )
        withdrawn = factory.Trait(training_status=TrainingStatus.WITHDRAWN)
        deferred = factory.Trait(training_status=TrainingStatus.DEFERRED)

    participant = factory.SubFactory(ParticipantFactory)
    kind = EnrolmentKind.ECT
    schedule = factory.LazyAttribute(lambda o: get_schedule(cohort=o.cohort, identifier=o.schedule_identifier))
    training_status = TrainingStatus.ACTIVE
    eligibility_status = None  # no TRN check has run: not fundable
    eligibility_reason = EligibilityReason.NONE


class TrainingPeriodFactory(ModelFactory):
    """An active, provider-led period; its school and cohort are its partnership's.

    It starts on the cohort's registration start date, so it covers every milestone window.
    Traits: leaving, withdrawn, deferred, school_led; `school_transfer=True` is the field.
    """

    class Meta:
        model = TrainingPeriod

    class Params:
        leaving = factory.Trait(
            induction_status=InductionStatus.LEAVING,
            end_date=factory.LazyAttribute(lambda o: max(o.start_date, clock.now()) + timedelta(days=30)),
        )
        withdrawn = factory.Trait(training_status=TrainingStatus.WITHDRAWN)
        deferred = factory.Trait(training_status=TrainingStatus.DEFERRED)
        school_led = factory.Trait(training_programme=TrainingProgramme.SCHOOL_LED, partnership=None)

    cohort = factory.LazyFunction(get_cohort)
    enrolment = factory.SubFactory(EnrolmentFactory, cohort=factory.SelfAttribute("..cohort"))
    partnership = factory.SubFactory(PartnershipFactory, cohort=factory.SelfAttribute("..cohort"))
    school = factory.Maybe(
        "partnership",
        yes_declaration=factory.SelfAttribute("partnership.school"),
        no_declaration=factory.SubFactory(SchoolFactory),
    )
    training_programme = TrainingProgramme.PROVIDER_LED
    schedule = factory.SelfAttribute("enrolment.schedule")
    mentor = None
    email = factory.SelfAttribute("enrolment.participant.email")
    start_date = factory.LazyAttribute(lambda o: _midnight(get_cohort(o.cohort).registration_start_date))
    end_date = None
    training_status = TrainingStatus.ACTIVE
    induction_status = InductionStatus.ACTIVE
    school_transfer = False

    @classmethod
    def _defaults_from_given(cls, given):
        _default_from(
            given,
            "cohort",
            ("partnership", lambda partnership: partnership.cohort),
            ("enrolment", lambda enrolment: enrolment.schedule.cohort),
        )


class TrainingStatusChangeFactory(ModelFactory):
    """A provider's withdrawal by default; the provider is the one the enrolment trains with."""

    class Meta:
        model = TrainingStatusChange

    enrolment = factory.SubFactory(EnrolmentFactory)
    lead_provider = factory.LazyAttribute(lambda o: training_lead_provider(o.enrolment) or LeadProviderFactory())
    training_status = TrainingStatus.WITHDRAWN
    reason = WithdrawalReason.LEFT_TEACHING_PROFESSION


class ScheduleChangeFactory(ModelFactory):
    class Meta:
        model = ScheduleChange

    enrolment = factory.SubFactory(EnrolmentFactory)
    schedule = factory.SelfAttribute("enrolment.schedule")


def training_lead_provider(enrolment: Enrolment) -> LeadProvider | None:
    """The provider of the enrolment's latest provider-led period, if any."""
    if enrolment._state.adding:
        return None
    period = (
        enrolment.training_periods.filter(partnership__isnull=False)
        .select_related("partnership__lead_provider")
        .order_by("-start_date", "-created_at")
        .first()
    )
    return period.partnership.lead_provider if period else None


# ---------------------------------------------------------------------------------------
# The usual test set-up (rules §12 conventions)


@dataclass(frozen=True)
class EnrolledParticipant:
    lead_provider: LeadProvider
    delivery_partner: DeliveryPartner
    school: School
    cohort: Cohort
    partnership: Partnership
    participant: Participant
    enrolment: Enrolment
    training_period: TrainingPeriod

    @property
    def course_identifier(self) -> str:
        return self.enrolment.course_identifier


def enrolled_participant(
    *,
    lead_provider: LeadProvider | None = None,
    cohort: "int | Cohort" = DEFAULT_COHORT,
    kind: str = EnrolmentKind.ECT,
    fundable: bool = True,
    schedule_identifier: str = DEFAULT_SCHEDULE,
    training_status: str = TrainingStatus.ACTIVE,
    school: School | None = None,
    delivery_partner: DeliveryPartner | None = None,
    partnership: Partnership | None = None,
    participant: Participant | None = None,
    mentor: Enrolment | None = None,
    start_date: datetime | None = None,
    **enrolment_fields,
) -> EnrolledParticipant:
    """Participant P training with lead provider A at school S, as in rules §12.

    S (eligible unless you pass one) is partnered with A through delivery partner D for the
    cohort (with the provider relationship and a full-induction-programme school cohort); P
    has one enrolment of `kind` on the cohort's schedule, `fundable` meaning eligibility status
    `eligible`, and one active training period under that partnership. A provider's existing
    partnership with S is reused; pass `partnership=` (a relationship one, say) and it decides
    provider, delivery partner, school and cohort. `training_status` withdrawn/deferred also records the
    provider's status change. Other keyword arguments go to EnrolmentFactory
    (e.g. `sparsity_uplift=True`, `eligibility_status="manual_check"`).
    """
    if partnership is None:
        cohort = get_cohort(cohort)
        lead_provider = lead_provider or LeadProviderFactory()
        school = school or SchoolFactory()
        partnership = Partnership.objects.filter(
            lead_provider=lead_provider, school=school, cohort=cohort, relationship=False
        ).first() or PartnershipFactory(
            lead_provider=lead_provider,
            school=school,
            cohort=cohort,
            delivery_partner=delivery_partner or DeliveryPartnerFactory(),
        )
    SchoolCohortFactory(school=partnership.school, cohort=partnership.cohort)
    enrolment = EnrolmentFactory(
        participant=participant or ParticipantFactory(),
        kind=kind,
        cohort=partnership.cohort,
        schedule_identifier=schedule_identifier,
        fundable=fundable,
        training_status=training_status,
        **enrolment_fields,
    )
    period = TrainingPeriodFactory(
        enrolment=enrolment,
        partnership=partnership,
        mentor=mentor,
        training_status=training_status,
        **({"start_date": start_date} if start_date else {}),
    )
    if training_status != TrainingStatus.ACTIVE:
        reason = WithdrawalReason.OTHER if training_status == TrainingStatus.WITHDRAWN else DeferralReason.OTHER
        TrainingStatusChangeFactory(
            enrolment=enrolment, lead_provider=partnership.lead_provider, training_status=training_status, reason=reason
        )
    return EnrolledParticipant(
        lead_provider=partnership.lead_provider,
        delivery_partner=partnership.delivery_partner,
        school=partnership.school,
        cohort=partnership.cohort,
        partnership=partnership,
        participant=enrolment.participant,
        enrolment=enrolment,
        training_period=period,
    )


# ---------------------------------------------------------------------------------------
# Contracts, statements, adjustments


class EctContractFactory(ModelFactory):
    """Contract F of finance.md §5, with its bands A-C (pass `bands=CONTRACT_M_BANDS` or `bands=[]`)."""

    class Meta:
        model = EctContract

    lead_provider = factory.SubFactory(LeadProviderFactory)
    cohort = factory.LazyFunction(get_cohort)
    recruitment_target = 6000
    set_up_fee = Decimal("149651")
    uplift_target = Decimal("0.33")
    uplift_amount = Decimal("100")
    monthly_service_fee = None

    @factory.post_generation
    def bands(contract, create, extracted: Iterable | None, **kwargs):
        if not create:
            return
        for minimum, maximum, price in CONTRACT_F_BANDS if extracted is None else extracted:
            ContractBand.objects.create(contract=contract, min=minimum, max=maximum, per_participant=Decimal(price))


class ContractBandFactory(ModelFactory):
    class Meta:
        model = ContractBand

    contract = factory.SubFactory(EctContractFactory, bands=[])
    min = None
    max = 2000
    per_participant = Decimal("995")
    output_payment_percentage = 60
    service_fee_percentage = 40


class MentorContractFactory(ModelFactory):
    """A flat-rate mentor contract; 2025 is the first cohort with mentor funding."""

    class Meta:
        model = MentorContract

    lead_provider = factory.SubFactory(LeadProviderFactory)
    cohort = factory.LazyFunction(lambda: get_cohort(2025))
    recruitment_target = 3000
    payment_per_participant = Decimal("1000.00")


def _free_payment_month(lead_provider: LeadProvider, cohort: "int | Cohort", first: date, step: int) -> date:
    """`first`, or the nearest month after (step 1) / before (step -1) it with no statement of the pair."""
    taken = set(
        Statement.objects.filter(lead_provider_id=lead_provider.pk, cohort_id=get_cohort(cohort).pk).values_list(
            "year", "month"
        )
    )
    month = first
    while (month.year, month.month) in taken:
        month = _add_months(month, step)
    return month


class StatementFactory(ModelFactory):
    """An open output-fee statement paying next month (its deadline, the end of this month, is still to come).

    The payment month is `months_ahead` from the clock's month, moved away from today to the
    first month the provider and cohort have no statement for; `year=`/`month=` fix it. The
    deadline is the last day of the month before and payment is on the 25th (finance.md §2.1).
    """

    class Meta:
        model = Statement

    class Params:
        months_ahead = 1
        payment_month = factory.LazyAttribute(
            lambda o: _free_payment_month(
                o.lead_provider,
                o.cohort,
                first=_add_months(clock.today().replace(day=1), o.months_ahead),
                step=1 if o.status == StatementStatus.OPEN else -1,
            )
        )
        open = factory.Trait(status=StatementStatus.OPEN)
        # Payable: its deadline (end of last month) has passed, it is not yet authorised.
        payable = factory.Trait(status=StatementStatus.PAYABLE, months_ahead=0)
        paid = factory.Trait(
            status=StatementStatus.PAID,
            months_ahead=-1,
            marked_as_paid_at=factory.LazyAttribute(lambda o: _midnight(o.deadline_date) + timedelta(days=1, hours=12)),
        )
        non_output = factory.Trait(output_fee=False)

    lead_provider = factory.SubFactory(LeadProviderFactory)
    cohort = factory.LazyFunction(get_cohort)
    year = factory.SelfAttribute("payment_month.year")
    month = factory.SelfAttribute("payment_month.month")
    deadline_date = factory.LazyAttribute(lambda o: date(o.year, o.month, 1) - timedelta(days=1))
    payment_date = factory.LazyAttribute(lambda o: date(o.year, o.month, 25))
    output_fee = True
    status = StatementStatus.OPEN
    marked_as_paid_at = None

    @classmethod
    def _defaults_from_given(cls, given):
        # A fixed month needs no search for a free one.
        if "year" in given and "month" in given and 1 <= given["month"] <= 12:
            given.setdefault("payment_month", date(given["year"], given["month"], 1))


class AdjustmentFactory(ModelFactory):
    class Meta:
        model = Adjustment

    statement = factory.SubFactory(StatementFactory)
    payment_type = factory.Sequence(lambda n: f"Adjustment {n}")
    amount = Decimal("150.00")


# ---------------------------------------------------------------------------------------
# Declarations


def _statement_for(declaration, status: str, *, before: Statement | None = None) -> Statement:
    """The declaration's provider-and-cohort output statement in `status`, picked as the service picks it.

    Open: the next output-fee statement (finance.md §2.2). Payable/paid: the latest one (paid
    strictly before `before`). Made when there is none.
    """
    lead_provider, cohort = declaration.lead_provider, get_cohort(declaration.cohort)
    if lead_provider._state.adding:  # build strategy: nothing is saved
        return StatementFactory.build(lead_provider=lead_provider, cohort=cohort, **{status: True})
    if status == StatementStatus.OPEN:
        found = Statement.objects.next_output_for(
            lead_provider_id=lead_provider.pk, cohort_id=cohort.pk, today=clock.today()
        )
        return found or StatementFactory(lead_provider=lead_provider, cohort=cohort)
    statements = Statement.objects.output().filter(lead_provider_id=lead_provider.pk, cohort=cohort, status=status)
    if before is not None:
        statements = statements.filter(payment_date__lt=before.payment_date)
    found = statements.order_by("-payment_date").first()
    if found:
        return found
    months_ahead = _months_from_this_month(before.payment_date) - 1 if before else None
    return StatementFactory(
        lead_provider=lead_provider,
        cohort=cohort,
        **{status: True},
        **({"months_ahead": months_ahead} if months_ahead is not None else {}),
    )


def _relevant_period(declaration) -> TrainingPeriod | None:
    """The provider's latest period of the enrolment started by the declaration date (rules §4.7)."""
    if declaration.enrolment._state.adding:
        return None
    return (
        declaration.enrolment.training_periods.filter(
            partnership__lead_provider_id=declaration.lead_provider.pk, start_date__lte=declaration.declaration_date
        )
        .select_related("partnership", "mentor")
        .order_by("-start_date", "-created_at")
        .first()
    )


def _default_declaration_date(declaration) -> datetime:
    """The start of the type's milestone window on the enrolment's schedule (now if it has none)."""
    milestone = declaration.enrolment.schedule.milestones.filter(declaration_type=declaration.declaration_type).first()
    return _midnight(milestone.start_date) if milestone else clock.now()


_PAYMENT_PATH = (DeclarationState.SUBMITTED, DeclarationState.ELIGIBLE, DeclarationState.PAYABLE, DeclarationState.PAID)


def _states_passed_through(declaration) -> list[str]:
    """Every state the declaration has been in, oldest first (rules §5.2)."""
    state = declaration.state
    if state in _PAYMENT_PATH:
        return list(_PAYMENT_PATH[: _PAYMENT_PATH.index(state) + 1])
    if state == DeclarationState.INELIGIBLE:
        return [DeclarationState.SUBMITTED, state]
    if state == DeclarationState.VOIDED:
        # A voided declaration that was eligible keeps its statement (its line there is voided).
        return [*_PAYMENT_PATH[:2], state] if declaration.statement_id else [DeclarationState.SUBMITTED, state]
    if state == DeclarationState.AWAITING_CLAWBACK:
        return [*_PAYMENT_PATH, state]
    return [*_PAYMENT_PATH, DeclarationState.AWAITING_CLAWBACK, state]  # clawed back


# Who moves a declaration into each state: the provider's requests, or the payment runs.
_RUN_BY_PAYMENTS = (DeclarationState.PAYABLE, DeclarationState.PAID, DeclarationState.CLAWED_BACK)


class DeclarationFactory(ModelFactory):
    """A `started` declaration, `submitted` by default; traits give every other state.

    By default it is made by the provider the participant trains with (a fresh
    `enrolled_participant`, fundable unless the declaration is `submitted`), dated at the start of
    the milestone window, with the delivery partner and mentor of the provider's training period.
    Each state trait puts the declaration on the statements the service would (finance.md §2),
    reusing the provider's existing ones, and `history` writes the states it passed through
    (`history=False` to skip).
    """

    class Meta:
        model = Declaration

    class Params:
        kind = EnrolmentKind.ECT
        period = factory.LazyAttribute(_relevant_period)
        submitted = factory.Trait(state=DeclarationState.SUBMITTED, statement=None)
        eligible = factory.Trait(
            state=DeclarationState.ELIGIBLE,
            statement=factory.LazyAttribute(lambda o: _statement_for(o, StatementStatus.OPEN)),
        )
        payable = factory.Trait(
            state=DeclarationState.PAYABLE,
            statement=factory.LazyAttribute(lambda o: _statement_for(o, StatementStatus.PAYABLE)),
        )
        paid = factory.Trait(
            state=DeclarationState.PAID,
            statement=factory.LazyAttribute(lambda o: _statement_for(o, StatementStatus.PAID)),
        )
        voided = factory.Trait(
            state=DeclarationState.VOIDED,
            statement=factory.LazyAttribute(lambda o: _statement_for(o, StatementStatus.OPEN)),
        )
        ineligible = factory.Trait(
            state=DeclarationState.INELIGIBLE,
            ineligibility_reason=IneligibilityReason.DUPLICATE,
            statement=factory.LazyAttribute(lambda o: _statement_for(o, StatementStatus.OPEN)),
        )
        awaiting_clawback = factory.Trait(
            state=DeclarationState.AWAITING_CLAWBACK,
            statement=factory.LazyAttribute(lambda o: _statement_for(o, StatementStatus.PAID)),
            clawback_statement=factory.LazyAttribute(lambda o: _statement_for(o, StatementStatus.OPEN)),
        )
        clawed_back = factory.Trait(
            state=DeclarationState.CLAWED_BACK,
            statement=factory.LazyAttribute(
                lambda o: _statement_for(o, StatementStatus.PAID, before=o.clawback_statement)
            ),
            clawback_statement=factory.LazyAttribute(lambda o: _statement_for(o, StatementStatus.PAID)),
        )

    lead_provider = factory.SubFactory(LeadProviderFactory)
    cohort = factory.LazyFunction(get_cohort)
    state = DeclarationState.SUBMITTED
    enrolment = factory.LazyAttribute(
        lambda o: EnrolmentFactory.build(cohort=o.cohort, kind=o.kind)
        if o.lead_provider._state.adding  # build strategy: nothing is saved
        else enrolled_participant(
            lead_provider=o.lead_provider,
            cohort=o.cohort,
            kind=o.kind,
            fundable=o.state != DeclarationState.SUBMITTED,
        ).enrolment
    )
    participant = factory.SelfAttribute("enrolment.participant")
    course_identifier = factory.LazyAttribute(lambda o: COURSE_FOR_KIND[o.enrolment.kind])
    declaration_type = DeclarationType.STARTED
    declaration_date = factory.LazyAttribute(_default_declaration_date)
    ineligibility_reason = None
    evidence_held = None
    delivery_partner = factory.LazyAttribute(lambda o: o.period.partnership.delivery_partner if o.period else None)
    mentor = factory.LazyAttribute(
        lambda o: o.period.mentor.participant
        if o.period and o.period.mentor and o.enrolment.kind == EnrolmentKind.ECT
        else None
    )
    pupil_premium_uplift = factory.SelfAttribute("enrolment.pupil_premium_uplift")
    sparsity_uplift = factory.SelfAttribute("enrolment.sparsity_uplift")
    statement = None
    clawback_statement = None

    @classmethod
    def _defaults_from_given(cls, given):
        _default_from(
            given,
            "cohort",
            ("enrolment", lambda enrolment: enrolment.schedule.cohort),
            ("statement", lambda statement: statement.cohort),
            ("clawback_statement", lambda statement: statement.cohort),
        )
        _default_from(
            given,
            "lead_provider",
            ("statement", lambda statement: statement.lead_provider),
            ("clawback_statement", lambda statement: statement.lead_provider),
            ("enrolment", training_lead_provider),
        )

    @factory.post_generation
    def history(declaration, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        states = _states_passed_through(declaration)
        DeclarationStateChange.objects.bulk_create(
            DeclarationStateChange(
                declaration=declaration,
                from_state=previous,
                state=state,
                reason=(declaration.ineligibility_reason or "") if state == DeclarationState.INELIGIBLE else "",
                actor_kind=ActorKind.PAYMENT_RUN if state in _RUN_BY_PAYMENTS else ActorKind.LEAD_PROVIDER,
                actor_lead_provider=None if state in _RUN_BY_PAYMENTS else declaration.lead_provider,
            )
            for previous, state in zip(["", *states], states, strict=False)
        )


class DeclarationStateChangeFactory(ModelFactory):
    class Meta:
        model = DeclarationStateChange

    declaration = factory.SubFactory(DeclarationFactory, history=False)
    from_state = ""
    state = factory.SelfAttribute("declaration.state")
    reason = ""
    actor_kind = ActorKind.LEAD_PROVIDER
    actor_lead_provider = factory.SelfAttribute("declaration.lead_provider")


_DUPLICATE_REFUSAL = "A declaration has already been submitted that will be, or has been, paid for this event"


class DeclarationAttemptFactory(ModelFactory):
    """An accepted POST, linked to its declaration; `refused=True` for one that was turned down."""

    class Meta:
        model = DeclarationAttempt

    class Params:
        refused = factory.Trait(
            declaration=None,
            errors=[{"title": "base", "detail": _DUPLICATE_REFUSAL}],
        )

    declaration = factory.SubFactory(DeclarationFactory)
    lead_provider = factory.Maybe(
        "declaration",
        yes_declaration=factory.SelfAttribute("declaration.lead_provider"),
        no_declaration=factory.SubFactory(LeadProviderFactory),
    )
    participant = factory.Maybe(
        "declaration",
        yes_declaration=factory.SelfAttribute("declaration.participant"),
        no_declaration=factory.SubFactory(ParticipantFactory),
    )
    course_identifier = factory.LazyAttribute(
        lambda o: o.declaration.course_identifier if o.declaration else COURSE_FOR_KIND[EnrolmentKind.ECT]
    )
    declaration_type = factory.LazyAttribute(
        lambda o: o.declaration.declaration_type if o.declaration else DeclarationType.STARTED
    )
    declaration_date = factory.LazyAttribute(
        lambda o: rfc3339.format_timestamp(o.declaration.declaration_date) if o.declaration else "2024-06-01T00:00:00Z"
    )
    evidence_held = factory.LazyAttribute(lambda o: (o.declaration.evidence_held or "") if o.declaration else "")
    errors = None

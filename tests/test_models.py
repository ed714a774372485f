"""The database itself refuses rows that would pay twice, pay without a statement or show the wrong partner.

Each refusal names the constraint it expects, so a test cannot pass because some other rule fired.
"""

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from declarations.models import Declaration, DeclarationState
from ecf import clock
from participants.models import Cohort, Milestone, ProviderRelationship, TrainingProgramme
from statements.models import Statement, StatementStatus
from tests.factories import (
    AdjustmentFactory,
    ApiTokenFactory,
    CohortFactory,
    ContractBandFactory,
    DeclarationAttemptFactory,
    DeclarationFactory,
    DeclarationStateChangeFactory,
    DeliveryPartnerFactory,
    EctContractFactory,
    EnrolmentFactory,
    LeadProviderFactory,
    MentorContractFactory,
    MilestoneFactory,
    ParticipantFactory,
    ParticipantIdChangeFactory,
    PartnershipFactory,
    ProviderRelationshipFactory,
    ScheduleChangeFactory,
    ScheduleFactory,
    SchoolCohortFactory,
    SchoolFactory,
    StatementFactory,
    TrainingPeriodFactory,
    TrainingStatusChangeFactory,
    enrolled_participant,
    get_schedule,
)

pytestmark = pytest.mark.django_db

SLOT_HOLDING = ("submitted", "eligible", "payable", "paid")
SLOT_RELEASED = ("voided", "ineligible", "awaiting_clawback", "clawed_back")
ON_A_STATEMENT = ("eligible", "payable", "paid", "awaiting_clawback", "clawed_back")
REFUNDABLE = ("awaiting_clawback", "clawed_back")


# ---------------------------------------------------------------------------------------
# Declarations: one paid-for event per participant, course and type (rules §4.6)


@pytest.mark.parametrize(("held", "second"), itertools.product(SLOT_HOLDING, repeat=2))
def test_a_second_declaration_of_a_held_slot_is_refused(held, second):
    first = DeclarationFactory(**{held: True})

    with pytest.raises(IntegrityError, match="declaration_one_slot_per_participant_course_type"), transaction.atomic():
        DeclarationFactory(enrolment=first.enrolment, **{second: True})

    assert Declaration.objects.filter(participant=first.participant).count() == 1


def test_another_provider_cannot_take_a_held_slot():
    first = DeclarationFactory(eligible=True)

    with pytest.raises(IntegrityError, match="declaration_one_slot"), transaction.atomic():
        DeclarationFactory(enrolment=first.enrolment, lead_provider=LeadProviderFactory(), eligible=True)


@pytest.mark.parametrize("released", SLOT_RELEASED)
def test_the_same_event_can_be_declared_again_once_the_slot_is_released(released):
    old = DeclarationFactory(**{released: True})

    new = DeclarationFactory(enrolment=old.enrolment, eligible=True)

    assert new.declaration_type == old.declaration_type
    assert set(Declaration.objects.filter(participant=old.participant).values_list("state", flat=True)) == {
        released,
        DeclarationState.ELIGIBLE,
    }


def test_different_declaration_types_hold_different_slots():
    started = DeclarationFactory(paid=True)

    DeclarationFactory(enrolment=started.enrolment, declaration_type="retained-1", eligible=True)

    assert started.participant.declarations.count() == 2


def test_the_ect_and_mentor_courses_of_one_person_hold_different_slots():
    as_ect = DeclarationFactory(eligible=True)
    mentoring = enrolled_participant(lead_provider=as_ect.lead_provider, participant=as_ect.participant, kind="mentor")

    as_mentor = DeclarationFactory(enrolment=mentoring.enrolment, eligible=True)

    assert (as_ect.course_identifier, as_mentor.course_identifier) == ("ecf-induction", "ecf-mentor")


# ---------------------------------------------------------------------------------------
# Declarations: the statement links follow the state (finance.md §1.2)


@pytest.mark.parametrize("state", ON_A_STATEMENT)
def test_a_declaration_being_paid_or_clawed_back_needs_the_statement_that_pays_it(state):
    with pytest.raises(IntegrityError, match="declaration_billable_has_statement"), transaction.atomic():
        DeclarationFactory(**{state: True}, statement=None)


def test_a_submitted_declaration_sits_on_no_statement():
    with pytest.raises(IntegrityError, match="declaration_submitted_has_no_statement"), transaction.atomic():
        DeclarationFactory(statement=StatementFactory())


@pytest.mark.parametrize("state", REFUNDABLE)
def test_a_refund_needs_the_statement_that_claws_it_back(state):
    with pytest.raises(IntegrityError, match="declaration_clawback_statement_iff_refundable"), transaction.atomic():
        DeclarationFactory(**{state: True}, clawback_statement=None)


@pytest.mark.parametrize("state", ("submitted", "eligible", "payable", "paid", "voided", "ineligible"))
def test_only_a_refund_has_a_clawback_statement(state):
    lead_provider = LeadProviderFactory()

    with pytest.raises(IntegrityError, match="declaration_clawback_statement_iff_refundable"), transaction.atomic():
        DeclarationFactory(
            lead_provider=lead_provider,
            clawback_statement=StatementFactory(lead_provider=lead_provider),
            **{state: True},
        )


def test_only_an_ineligible_declaration_has_an_ineligibility_reason():
    with pytest.raises(IntegrityError, match="declaration_reason_only_when_ineligible"), transaction.atomic():
        DeclarationFactory(eligible=True, ineligibility_reason="duplicate")


# ---------------------------------------------------------------------------------------
# Partnerships: one confirmed provider per school and cohort (rules §7.1)


def test_a_second_confirmed_partnership_for_a_school_and_cohort_is_refused():
    first = PartnershipFactory()

    with pytest.raises(IntegrityError, match="partnership_one_confirmed_per_school_cohort"), transaction.atomic():
        PartnershipFactory(school=first.school, cohort=first.cohort)


def test_a_challenged_partnership_leaves_room_for_a_confirmed_one():
    challenged = PartnershipFactory(challenged=True)

    confirmed = PartnershipFactory(school=challenged.school, cohort=challenged.cohort)

    assert list(challenged.school.partnerships.confirmed()) == [confirmed]


def test_relationship_partnerships_do_not_count_as_confirmed():
    confirmed = PartnershipFactory()

    PartnershipFactory(school=confirmed.school, cohort=confirmed.cohort, relationship=True)
    PartnershipFactory(school=confirmed.school, cohort=confirmed.cohort, relationship=True)

    assert confirmed.school.partnerships.count() == 3
    assert list(confirmed.school.partnerships.confirmed()) == [confirmed]


def test_a_school_has_a_confirmed_partnership_in_each_cohort():
    first = PartnershipFactory(cohort=2024)

    PartnershipFactory(school=first.school, cohort=2025)

    assert first.school.partnerships.confirmed().count() == 2


def test_a_provider_reuses_its_partnership_with_a_school_even_once_challenged():
    challenged = PartnershipFactory(challenged=True)

    with pytest.raises(IntegrityError, match="partnership_one_per_provider_school_cohort"), transaction.atomic():
        PartnershipFactory(lead_provider=challenged.lead_provider, school=challenged.school, cohort=challenged.cohort)


def test_a_challenge_has_both_a_reason_and_a_time():
    with pytest.raises(IntegrityError, match="partnership_challenge_fields_together"), transaction.atomic():
        PartnershipFactory(challenged_at=clock.now())


# ---------------------------------------------------------------------------------------
# Statements and adjustments


def test_a_statement_cannot_pay_before_its_deadline():
    with pytest.raises(IntegrityError, match="statement_paid_after_deadline"), transaction.atomic():
        StatementFactory(year=2025, month=1, deadline_date=date(2025, 1, 31), payment_date=date(2025, 1, 25))


def test_a_statement_may_pay_on_its_deadline_day():
    statement = StatementFactory(year=2021, month=11, deadline_date=date(2021, 11, 30), payment_date=date(2021, 11, 30))

    assert statement.name == "November 2021"


@pytest.mark.parametrize("month", (0, 13))
def test_a_statement_month_is_a_calendar_month(month):
    with pytest.raises(IntegrityError, match="statement_month_valid"), transaction.atomic():
        StatementFactory(year=2025, month=month, deadline_date=date(2025, 1, 31), payment_date=date(2025, 2, 25))


def test_a_provider_has_one_statement_per_cohort_and_month():
    first = StatementFactory(year=2025, month=1)

    with pytest.raises(IntegrityError, match="statement_unique_month"), transaction.atomic():
        StatementFactory(lead_provider=first.lead_provider, cohort=first.cohort, year=2025, month=1, output_fee=False)

    StatementFactory(lead_provider=first.lead_provider, cohort=2023, year=2025, month=1)
    StatementFactory(cohort=first.cohort, year=2025, month=1)
    assert Statement.objects.filter(year=2025, month=1).count() == 3


def test_a_paid_statement_records_when_it_was_authorised():
    with pytest.raises(IntegrityError, match="statement_paid_has_authorisation_time"), transaction.atomic():
        StatementFactory(paid=True, marked_as_paid_at=None)


def test_an_adjustment_of_nothing_is_refused():
    with pytest.raises(IntegrityError, match="adjustment_amount_not_zero"), transaction.atomic():
        AdjustmentFactory(amount=Decimal("0.00"))

    assert AdjustmentFactory(amount=Decimal("-250.50")).amount == Decimal("-250.50")


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"min": 10, "max": 9}, "band_max_not_below_min"),
        ({"output_payment_percentage": 101}, "band_percentages_at_most_100"),
        ({"service_fee_percentage": 101}, "band_percentages_at_most_100"),
    ],
)
def test_a_contract_band_is_a_sensible_range(fields, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        ContractBandFactory(**fields)


# ---------------------------------------------------------------------------------------
# Dates that must run forwards


def test_a_milestone_cannot_end_before_it_starts():
    milestone = Milestone.objects.get(schedule=get_schedule(cohort=2024), declaration_type="started")

    with pytest.raises(IntegrityError, match="milestone_ends_after_start"), transaction.atomic():
        Milestone.objects.filter(pk=milestone.pk).update(milestone_date=milestone.start_date - timedelta(days=1))

    Milestone.objects.filter(pk=milestone.pk).update(milestone_date=milestone.start_date)


def test_a_training_period_cannot_end_before_it_starts():
    start = datetime(2024, 9, 1, tzinfo=UTC)

    with pytest.raises(IntegrityError, match="training_period_ends_after_start"), transaction.atomic():
        TrainingPeriodFactory(start_date=start, end_date=start - timedelta(seconds=1))

    assert TrainingPeriodFactory(start_date=start, end_date=start).end_date == start


def test_a_school_led_training_period_has_no_partnership():
    with pytest.raises(IntegrityError, match="training_period_school_led_has_no_partnership"), transaction.atomic():
        TrainingPeriodFactory(training_programme=TrainingProgramme.SCHOOL_LED)


def test_completion_dates_belong_to_the_matching_kind_of_enrolment():
    with pytest.raises(IntegrityError, match="enrolment_mentor_completion_only_for_mentors"), transaction.atomic():
        EnrolmentFactory(mentor_completion_date=date(2025, 7, 1))
    with pytest.raises(IntegrityError, match="enrolment_induction_completion_only_for_ects"), transaction.atomic():
        EnrolmentFactory(mentor=True, induction_completion_date=date(2025, 7, 1))


# ---------------------------------------------------------------------------------------
# The factories themselves make rows the database and the models accept


FACTORY_TRAITS = [
    (SchoolFactory, ("eligible", "closed", "cip_only", "welsh", "section_41")),
    (StatementFactory, ("open", "payable", "paid", "non_output")),
    (PartnershipFactory, ("challenged", "relationship")),
    (EnrolmentFactory, ("ect", "mentor", "fundable", "withdrawn", "deferred")),
    (TrainingPeriodFactory, ("leaving", "withdrawn", "deferred", "school_transfer", "school_led")),
    (DeclarationFactory, (*SLOT_HOLDING, *SLOT_RELEASED)),
    (DeclarationAttemptFactory, ("refused",)),
]
PLAIN_FACTORIES = [
    CohortFactory,
    ScheduleFactory,
    MilestoneFactory,
    LeadProviderFactory,
    ApiTokenFactory,
    DeliveryPartnerFactory,
    ProviderRelationshipFactory,
    SchoolCohortFactory,
    ParticipantFactory,
    ParticipantIdChangeFactory,
    TrainingStatusChangeFactory,
    ScheduleChangeFactory,
    EctContractFactory,
    ContractBandFactory,
    MentorContractFactory,
    AdjustmentFactory,
    DeclarationStateChangeFactory,
    DeclarationAttemptFactory,
]


@pytest.mark.parametrize(
    ("factory_class", "trait"),
    [(factory_class, trait) for factory_class, traits in FACTORY_TRAITS for trait in traits]
    + [(factory_class, None) for factory_class in PLAIN_FACTORIES],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_factory_rows_pass_every_model_check(factory_class, trait):
    instance = factory_class(**({trait: True} if trait else {}))

    instance.full_clean()  # field validators and every constraint, checked by Django this time
    assert type(instance).objects.filter(pk=instance.pk).exists()


STATEMENT_STATUS_FOR = {
    "eligible": StatementStatus.OPEN,
    "payable": StatementStatus.PAYABLE,
    "paid": StatementStatus.PAID,
    "voided": StatementStatus.OPEN,
    "ineligible": StatementStatus.OPEN,
    "awaiting_clawback": StatementStatus.PAID,
    "clawed_back": StatementStatus.PAID,
}


@pytest.mark.parametrize("state", (*SLOT_HOLDING, *SLOT_RELEASED))
def test_declaration_traits_sit_on_their_providers_statements_with_a_coherent_history(state):
    declaration = DeclarationFactory(**{state: True})

    assert declaration.state == state
    for statement in (declaration.statement, declaration.clawback_statement):
        if statement is not None:
            assert (statement.lead_provider, statement.cohort) == (declaration.lead_provider, declaration.cohort)
            assert statement.output_fee
    if state in STATEMENT_STATUS_FOR:
        assert declaration.statement.status == STATEMENT_STATUS_FOR[state]
    if state in REFUNDABLE:
        assert declaration.clawback_statement.payment_date > declaration.statement.payment_date
    history = list(declaration.state_changes.values_list("from_state", "state"))
    assert history[0] == ("", "submitted")
    assert history[-1][1] == state
    assert all(earlier[1] == later[0] for earlier, later in itertools.pairwise(history))


def test_a_default_declaration_is_made_by_the_provider_the_participant_trains_with():
    declaration = DeclarationFactory(eligible=True)

    period = declaration.enrolment.training_periods.get()
    assert period.partnership.lead_provider == declaration.lead_provider
    assert declaration.delivery_partner == period.partnership.delivery_partner
    assert declaration.cohort == declaration.enrolment.schedule.cohort
    assert declaration.enrolment.is_fundable


def test_a_declaration_for_a_given_enrolment_follows_its_provider_and_cohort():
    setup = enrolled_participant(cohort=2025)

    declaration = DeclarationFactory(enrolment=setup.enrolment, paid=True)

    assert (declaration.lead_provider, declaration.cohort_id) == (setup.lead_provider, 2025)
    assert declaration.statement.lead_provider == setup.lead_provider
    assert declaration.delivery_partner == setup.delivery_partner


def test_declarations_of_one_provider_share_its_next_output_statement():
    first = DeclarationFactory(eligible=True)

    second = DeclarationFactory(lead_provider=first.lead_provider, eligible=True)

    assert second.statement == first.statement


def test_a_training_period_agrees_with_its_partnership():
    partnership = PartnershipFactory(cohort=2025)

    period = TrainingPeriodFactory(partnership=partnership)

    assert (period.school, period.cohort) == (partnership.school, partnership.cohort)
    assert period.schedule.cohort == partnership.cohort == period.enrolment.schedule.cohort


def test_statements_are_dated_around_the_clock():
    with clock.frozen(datetime(2024, 10, 15, 9, tzinfo=UTC)):
        open_statement = StatementFactory(cohort=2024)
        payable = StatementFactory(lead_provider=open_statement.lead_provider, cohort=2024, payable=True)
        paid = StatementFactory(lead_provider=open_statement.lead_provider, cohort=2024, paid=True)
        next_open = StatementFactory(lead_provider=open_statement.lead_provider, cohort=2024)

        assert (open_statement.name, open_statement.deadline_date) == ("November 2024", date(2024, 10, 31))
        assert (payable.name, payable.deadline_date) == ("October 2024", date(2024, 9, 30))
        assert (paid.name, paid.payment_date) == ("September 2024", date(2024, 9, 25))
        assert next_open.name == "December 2024"
        assert (
            Statement.objects.next_output_for(
                lead_provider_id=open_statement.lead_provider_id, cohort_id=2024, today=clock.today()
            )
            == open_statement
        )


def test_enrolled_participant_builds_the_usual_test_set_up():
    setup = enrolled_participant(cohort=2024, fundable=True)

    assert setup.school.is_eligible_for_funding
    assert ProviderRelationship.objects.filter(
        lead_provider=setup.lead_provider, delivery_partner=setup.delivery_partner, cohort=setup.cohort
    ).exists()
    assert setup.enrolment.schedule == get_schedule(cohort=2024, identifier="ecf-standard-september")
    assert setup.enrolment.is_fundable and setup.course_identifier == "ecf-induction"
    assert list(setup.enrolment.training_periods.all()) == [setup.training_period]
    assert setup.training_period.partnership == setup.partnership
    assert setup.school.school_cohorts.get(cohort=setup.cohort).induction_programme_choice == "full_induction_programme"


def test_enrolled_participants_at_one_school_share_the_providers_partnership():
    first = enrolled_participant()

    second = enrolled_participant(lead_provider=first.lead_provider, school=first.school)

    assert second.partnership == first.partnership


def test_a_withdrawn_enrolled_participant_has_the_providers_withdrawal_recorded():
    setup = enrolled_participant(training_status="withdrawn")

    change = setup.enrolment.training_status_changes.get()
    assert (change.lead_provider, change.training_status) == (setup.lead_provider, "withdrawn")
    assert setup.training_period.training_status == setup.enrolment.training_status == "withdrawn"


def test_cohorts_are_looked_up_never_created():
    before = Cohort.objects.count()

    assert CohortFactory(start_year=2022).start_year == 2022
    with pytest.raises(LookupError, match="No cohort 2030"):
        CohortFactory(start_year=2030)
    assert Cohort.objects.count() == before

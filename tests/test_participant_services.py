"""Back-office services for what schools and DfE report: mentors, emails, funding eligibility, school
and delivery partner data, merges. Each is checked through what a provider then sees."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from declarations.models import ActorKind, DeclarationState
from declarations.services import enrolment_set_eligibility
from ecf import clock
from ecf.errors import ServiceValidationError
from participants.models import DeliveryPartner, InductionStatus, Participant, SchoolCohort, TrainingPeriod
from participants.services import (
    lead_provider_update,
    participant_change_email,
    participant_correct_details,
    participant_leave_school,
    participant_merge,
    provider_relationship_create,
    school_cohort_update,
    school_update,
    training_period_assign_mentor,
    training_period_change_email,
)
from participants.tokens import api_token_create
from tests.factories import (
    DeclarationFactory,
    DeliveryPartnerFactory,
    LeadProviderFactory,
    ParticipantFactory,
    SchoolFactory,
    StatementFactory,
    TrainingPeriodFactory,
    enrolled_participant,
    get_cohort,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)
T1 = datetime(2025, 2, 11, 9, 0, tzinfo=UTC)


def enrolment_seen_by(lead_provider, participant) -> dict:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    with clock.frozen(T1 + timedelta(minutes=1)):
        response = client.get(f"/api/v3/participants/ecf/{participant.id}")
    assert response.status_code == 200, response.content
    (enrolment,) = response.json()["data"]["attributes"]["ecf_enrolments"]
    return enrolment


def updated_at(record):
    return type(record).objects.values_list("updated_at", flat=True).get(pk=record.pk)


@pytest.fixture
def ect(lead_provider):
    with clock.frozen(T0):
        return enrolled_participant(lead_provider=lead_provider)


@pytest.fixture
def mentor():
    """A mentor trained by another provider."""
    with clock.frozen(T0):
        return enrolled_participant(kind="mentor")


# ---------------------------------------------------------------------------------------
# Mentors


def test_assigning_a_mentor_continues_the_period_and_shows_the_mentor(lead_provider, ect, mentor):
    with clock.frozen(T1):
        period = training_period_assign_mentor(enrolment=ect.enrolment, mentor=mentor.enrolment)

    old = TrainingPeriod.objects.get(pk=ect.training_period.pk)
    assert (old.induction_status, old.end_date, old.mentor_id) == (InductionStatus.CHANGED, T1, None)
    assert (period.start_date, period.mentor_id, period.partnership_id) == (T1, mentor.enrolment.pk, ect.partnership.pk)
    assert enrolment_seen_by(lead_provider, ect.participant)["mentor_id"] == str(mentor.participant.id)
    # The mentor may now be an unfunded mentor of the provider: their own sync timestamp moved.
    assert (updated_at(ect.participant), updated_at(mentor.participant)) == (T1, T1)


def test_a_mentor_for_training_that_has_not_started_is_set_in_place(ect, mentor):
    with clock.frozen(T0):
        future = TrainingPeriodFactory(
            enrolment=ect.enrolment, partnership=ect.partnership, start_date=T1 + timedelta(days=30)
        )

    with clock.frozen(T1):
        period = training_period_assign_mentor(enrolment=ect.enrolment, mentor=mentor.enrolment)

    assert period.pk == future.pk
    assert ect.enrolment.training_periods.count() == 2


def test_assigning_the_same_mentor_again_changes_nothing(ect, mentor):
    with clock.frozen(T1):
        training_period_assign_mentor(enrolment=ect.enrolment, mentor=mentor.enrolment)
    with clock.frozen(T1 + timedelta(hours=1)):
        training_period_assign_mentor(enrolment=ect.enrolment, mentor=mentor.enrolment)

    assert ect.enrolment.training_periods.count() == 2
    assert updated_at(ect.participant) == T1


def test_only_an_ect_has_a_mentor_and_only_a_mentor_mentors(ect, mentor):
    with clock.frozen(T1), pytest.raises(ServiceValidationError) as ect_as_mentor:
        training_period_assign_mentor(enrolment=ect.enrolment, mentor=ect.enrolment)
    with clock.frozen(T1), pytest.raises(ServiceValidationError) as mentor_mentored:
        training_period_assign_mentor(enrolment=mentor.enrolment, mentor=None)

    assert ect_as_mentor.value.errors == [("mentor", "The mentor must be a mentor training record.")]
    assert mentor_mentored.value.errors == [("mentor", "Only an early career teacher has a mentor.")]


# ---------------------------------------------------------------------------------------
# Emails


def test_a_persons_new_email_shows_on_their_training_without_a_new_period(lead_provider, ect):
    with clock.frozen(T1):
        participant_change_email(participant=ect.participant, email="new.address@example.com")

    assert enrolment_seen_by(lead_provider, ect.participant)["email"] == "new.address@example.com"
    assert ect.enrolment.training_periods.count() == 1
    assert updated_at(ect.participant) == T1


def test_a_preferred_email_other_than_the_persons_is_kept(lead_provider, ect):
    TrainingPeriod.objects.filter(pk=ect.training_period.pk).update(email="at.school@example.com")

    with clock.frozen(T1):
        participant_change_email(participant=ect.participant, email="new.address@example.com")

    assert enrolment_seen_by(lead_provider, ect.participant)["email"] == "at.school@example.com"


def test_a_training_records_preferred_email_continues_the_period(lead_provider, ect):
    with clock.frozen(T1):
        period = training_period_change_email(enrolment=ect.enrolment, email="at.school@example.com")

    assert (period.start_date, period.email) == (T1, "at.school@example.com")
    assert enrolment_seen_by(lead_provider, ect.participant)["email"] == "at.school@example.com"
    assert updated_at(ect.participant) == T1


def test_an_invalid_email_is_refused(ect):
    with pytest.raises(ServiceValidationError) as refusal:
        participant_change_email(participant=ect.participant, email="not an email")

    assert refusal.value.errors == [("email", "Enter an email address in the correct format, like name@example.com")]


# ---------------------------------------------------------------------------------------
# Funding eligibility (rules §4.8, §5.2)


@pytest.fixture
def unchecked(lead_provider):
    with clock.frozen(T0):
        person = enrolled_participant(lead_provider=lead_provider, fundable=False)
        declaration = DeclarationFactory(enrolment=person.enrolment, submitted=True)
    return person, declaration


def test_becoming_fundable_makes_submitted_declarations_eligible_on_the_next_statement(lead_provider, unchecked):
    person, declaration = unchecked
    with clock.frozen(T0):
        later = StatementFactory(lead_provider=lead_provider, cohort=2024, year=2025, month=5)
        statement = StatementFactory(lead_provider=lead_provider, cohort=2024, year=2025, month=3)  # deadline 28 Feb

    with clock.frozen(T1):
        moved = enrolment_set_eligibility(enrolment=person.enrolment, status="eligible", reason="none")

    declaration.refresh_from_db()
    assert moved == [declaration]
    assert (declaration.state, declaration.statement_id, declaration.updated_at) == (
        DeclarationState.ELIGIBLE,
        statement.pk,
        T1,
    )
    assert statement.pk != later.pk
    change = declaration.state_changes.order_by("-created_at", "-id").first()
    assert (change.from_state, change.state, change.actor_kind) == ("submitted", "eligible", ActorKind.SYSTEM)
    seen = enrolment_seen_by(lead_provider, person.participant)
    assert (seen["eligible_for_funding"], seen["teacher_reference_number_validated"]) == (True, True)
    assert updated_at(person.participant) == T1


def test_a_declaration_with_no_statement_to_pay_it_stays_submitted(unchecked):
    person, declaration = unchecked  # no open output statement of the provider for 2024

    with clock.frozen(T1):
        moved = enrolment_set_eligibility(enrolment=person.enrolment, status="eligible", reason="none")

    declaration.refresh_from_db()
    assert (moved, declaration.state, declaration.statement_id) == ([], DeclarationState.SUBMITTED, None)


def test_a_check_that_does_not_make_the_participant_fundable_moves_no_declaration(lead_provider, unchecked):
    person, declaration = unchecked
    with clock.frozen(T0):
        StatementFactory(lead_provider=lead_provider, cohort=2024, year=2025, month=3)

    with clock.frozen(T1):
        moved = enrolment_set_eligibility(enrolment=person.enrolment, status="manual_check", reason="no_qts")

    declaration.refresh_from_db()
    assert (moved, declaration.state) == ([], DeclarationState.SUBMITTED)
    assert enrolment_seen_by(lead_provider, person.participant)["eligible_for_funding"] is None
    assert updated_at(person.participant) == T1


def test_an_unknown_eligibility_status_or_reason_is_refused(unchecked):
    person, _ = unchecked

    with pytest.raises(ServiceValidationError) as refusal:
        enrolment_set_eligibility(enrolment=person.enrolment, status="maybe", reason="why-not")

    assert [title for title, _ in refusal.value.errors] == ["eligibility_status", "eligibility_reason"]


# ---------------------------------------------------------------------------------------
# Schools, school cohorts, delivery partners


def test_a_urn_change_touches_everyone_who_trains_or_trained_at_the_school(lead_provider, ect):
    with clock.frozen(T0):
        elsewhere = enrolled_participant(lead_provider=lead_provider)

    with clock.frozen(T1):
        school_update(school=ect.school, urn="999999")

    assert enrolment_seen_by(lead_provider, ect.participant)["school_urn"] == "999999"
    assert (updated_at(ect.school), updated_at(ect.participant), updated_at(elsewhere.participant)) == (T1, T1, T0)


def test_a_new_school_name_touches_the_school_but_no_participant(ect):
    with clock.frozen(T1):
        school_update(school=ect.school, name="Renamed Academy")

    assert (updated_at(ect.school), updated_at(ect.participant)) == (T1, T0)


def test_an_unchanged_value_touches_nothing(ect):
    with clock.frozen(T1):
        school_update(school=ect.school, name=ect.school.name)

    assert updated_at(ect.school) == T0


def test_a_bad_or_taken_urn_is_refused(ect):
    other = SchoolFactory()

    with pytest.raises(ServiceValidationError) as bad:
        school_update(school=ect.school, urn="12345")
    with pytest.raises(ServiceValidationError) as taken:
        school_update(school=ect.school, urn=other.urn)

    assert (bad.value.errors, taken.value.errors) == (
        [("urn", "A URN is 6 digits.")],
        [("urn", "Another school has this URN.")],
    )


def test_only_gias_data_and_contacts_can_be_changed_on_a_school(ect):
    with pytest.raises(ValueError, match="created_at"):
        school_update(school=ect.school, created_at=T1)


def test_a_school_cohort_choice_is_made_when_missing_and_changed_when_present():
    school = SchoolFactory()
    with clock.frozen(T0):
        made = school_cohort_update(school=school, cohort=get_cohort(2024), induction_programme_choice="design_our_own")
    with clock.frozen(T1):
        changed = school_cohort_update(
            school=school, cohort=get_cohort(2024), induction_programme_choice="no_early_career_teachers"
        )

    assert made.pk == changed.pk
    assert SchoolCohort.objects.get(pk=made.pk).induction_programme_choice == "no_early_career_teachers"
    assert updated_at(changed) == T1


def test_a_new_relationship_touches_the_delivery_partner_once(lead_provider):
    with clock.frozen(T0):
        partner = DeliveryPartnerFactory()
    with clock.frozen(T1):
        provider_relationship_create(lead_provider=lead_provider, delivery_partner=partner, cohort=get_cohort(2025))
    with clock.frozen(T1 + timedelta(hours=1)):
        provider_relationship_create(lead_provider=lead_provider, delivery_partner=partner, cohort=get_cohort(2025))

    assert DeliveryPartner.objects.get(pk=partner.pk).updated_at == T1


# ---------------------------------------------------------------------------------------
# Merges


def test_a_merged_mentors_mentees_show_the_mentors_remaining_id(lead_provider):
    with clock.frozen(T0):
        duplicate = enrolled_participant(lead_provider=lead_provider, kind="mentor")
        mentee = enrolled_participant(lead_provider=lead_provider, school=duplicate.school, mentor=duplicate.enrolment)
        original = ParticipantFactory()

    with clock.frozen(T1):
        participant_merge(from_participant=duplicate.participant, to_participant=original)

    assert enrolment_seen_by(lead_provider, mentee.participant)["mentor_id"] == str(original.id)
    assert updated_at(mentee.participant) == T1
    assert not Participant.objects.filter(pk=duplicate.participant.pk).exists()


# ---------------------------------------------------------------------------------------
# Names and TRNs, lead providers


def test_a_corrected_name_and_trn_are_shown_and_move_the_sync_timestamp(lead_provider, ect):
    with clock.frozen(T1):
        participant_correct_details(participant=ect.participant, full_name="  Corrected Name ", trn="7654321")

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    attributes = client.get(f"/api/v3/participants/ecf/{ect.participant.id}").json()["data"]["attributes"]
    assert (attributes["full_name"], attributes["teacher_reference_number"]) == ("Corrected Name", "7654321")
    assert updated_at(ect.participant) == T1


def test_details_that_did_not_change_touch_nothing(ect):
    with clock.frozen(T1):
        participant_correct_details(
            participant=ect.participant, full_name=ect.participant.full_name, trn=ect.participant.trn
        )

    assert updated_at(ect.participant) == T0


def test_a_blank_name_or_a_malformed_trn_is_refused(ect):
    with pytest.raises(ServiceValidationError) as refusal:
        participant_correct_details(participant=ect.participant, full_name=" ", trn="12345")

    assert refusal.value.errors == [("full_name", "Enter a name."), ("trn", "A TRN is 7 digits.")]


def test_renaming_a_provider_touches_its_declarations_and_its_transfers(lead_provider, ect):
    with clock.frozen(T0):
        declaration = DeclarationFactory(enrolment=ect.enrolment, eligible=True)
        stayer = enrolled_participant(lead_provider=lead_provider)
        other_declaration = DeclarationFactory(eligible=True)
    with clock.frozen(T0):
        participant_leave_school(enrolment=ect.enrolment, end_date=T1.date())

    with clock.frozen(T1):
        lead_provider_update(lead_provider=lead_provider, name="Renamed Institute")

    assert (updated_at(declaration), updated_at(other_declaration)) == (T1, T0)
    assert (updated_at(ect.participant), updated_at(stayer.participant)) == (T1, T0)


def test_a_provider_name_must_be_unique(lead_provider):
    other = LeadProviderFactory()

    with pytest.raises(ServiceValidationError) as refusal:
        lead_provider_update(lead_provider=lead_provider, name=other.name)

    assert refusal.value.errors == [("name", "Another lead provider has this name.")]

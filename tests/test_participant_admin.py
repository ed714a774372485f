"""The back office changes what providers see only through the services (issue 5): participants,
training records, training periods and partnerships are read-only, and their changes are made on
small pages that call the services; school, school cohort, delivery partner and relationship forms
save through the services too. So a change made here reaches the next `updated_since` sync."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from declarations.models import DeclarationState
from ecf import clock
from participants.models import (
    DeliveryPartner,
    InductionStatus,
    Participant,
    ParticipantIdChange,
    Partnership,
    ProviderRelationship,
    School,
    SchoolCohort,
    TrainingPeriod,
)
from statements.permissions import ensure_finance_group
from tests.factories import (
    DeclarationFactory,
    DeliveryPartnerFactory,
    LeadProviderFactory,
    ParticipantFactory,
    PartnershipFactory,
    SchoolFactory,
    StatementFactory,
    enrolled_participant,
    get_cohort,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)
T1 = datetime(2025, 2, 11, 9, 0, tzinfo=UTC)


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("support", "support@example.com", "pw"))
    return client


@pytest.fixture
def finance(client):
    user = User.objects.create_user("finance", "finance@example.com", "pw", is_staff=True)
    user.groups.add(ensure_finance_group())
    client.force_login(user)
    return client


@pytest.fixture
def ect(lead_provider):
    with clock.frozen(T0):
        return enrolled_participant(lead_provider=lead_provider)


def page(name: str, *args) -> str:
    return reverse(f"admin:participants_{name}", args=args)


def text(response) -> str:
    return response.content.decode()


def updated_at(record):
    return type(record).objects.values_list("updated_at", flat=True).get(pk=record.pk)


# ---------------------------------------------------------------------------------------
# Read-only records


@pytest.mark.parametrize(
    ("name", "record"),
    [
        ("participant", lambda ect: ect.participant),
        ("enrolment", lambda ect: ect.enrolment),
        ("trainingperiod", lambda ect: ect.training_period),
        ("partnership", lambda ect: ect.partnership),
    ],
)
def test_what_providers_see_cannot_be_edited_added_or_deleted_in_the_back_office(staff, ect, name, record):
    obj = record(ect)
    before = updated_at(obj)

    edited = staff.post(page(f"{name}_change", obj.pk), {"full_name": "Changed", "training_status": "withdrawn"})
    deleted = staff.post(page(f"{name}_delete", obj.pk), {"post": "yes"})
    added = staff.get(page(f"{name}_add"))

    assert (edited.status_code, deleted.status_code, added.status_code) == (403, 403, 403)
    assert updated_at(obj) == before


def test_a_records_page_says_why_it_is_read_only_and_links_to_its_actions(staff, ect):
    participant = staff.get(page("participant_change", ect.participant.pk))
    enrolment = staff.get(page("enrolment_change", ect.enrolment.pk))

    assert "every change it could see must move its sync timestamp" in text(participant)
    assert page("participant_merge", ect.participant.pk) in text(participant)
    for action in ("leave_school", "join_school", "mentor", "email", "eligibility"):
        assert page(f"enrolment_{action}", ect.enrolment.pk) in text(enrolment)


def test_finance_users_see_no_actions_and_cannot_open_them(finance, ect):
    record = finance.get(page("enrolment_change", ect.enrolment.pk))

    assert record.status_code == 200
    assert page("enrolment_leave_school", ect.enrolment.pk) not in text(record)
    assert finance.get(page("enrolment_leave_school", ect.enrolment.pk)).status_code == 403
    assert finance.get(page("participant_merge", ect.participant.pk)).status_code == 403


# ---------------------------------------------------------------------------------------
# Merge


def test_a_merge_is_confirmed_with_both_records_shown_then_made(staff, lead_provider, ect):
    with clock.frozen(T0):
        original = ParticipantFactory(full_name="Kept Person")
    url = page("participant_merge", ect.participant.pk)

    confirm = staff.post(url, {"target_id": str(original.pk)})
    with clock.frozen(T1):
        done = staff.post(url, {"target_id": str(original.pk), "confirmed": "True"})

    assert "Confirm the merge" in text(confirm) and "Kept Person" in text(confirm)
    assert Participant.objects.filter(pk=ect.participant.pk).exists() is False
    assert done.status_code == 302 and done["Location"] == page("participant_change", original.pk)
    assert ParticipantIdChange.objects.filter(from_participant_id=ect.participant.pk, participant=original).exists()
    assert updated_at(original) == T1


def test_the_first_step_of_a_merge_changes_nothing(staff, ect):
    original = ParticipantFactory()

    staff.post(page("participant_merge", ect.participant.pk), {"target_id": str(original.pk)})

    assert Participant.objects.filter(pk=ect.participant.pk).exists()


def test_a_merge_into_an_unknown_or_the_same_record_is_refused(staff, ect):
    url = page("participant_merge", ect.participant.pk)

    unknown = staff.post(url, {"target_id": "00000000-0000-0000-0000-000000000000", "confirmed": "True"})
    itself = staff.post(url, {"target_id": str(ect.participant.pk), "confirmed": "True"})

    assert "No participant has this id." in text(unknown)
    assert "A participant cannot be merged into itself." in text(itself)
    assert Participant.objects.filter(pk=ect.participant.pk).exists()


def test_the_services_refusal_of_a_merge_is_shown(staff, lead_provider):
    with clock.frozen(T0):
        first = enrolled_participant(lead_provider=lead_provider)
        second = enrolled_participant(lead_provider=lead_provider)
        DeclarationFactory(enrolment=first.enrolment, eligible=True)
        DeclarationFactory(enrolment=second.enrolment, eligible=True)

    response = staff.post(
        page("participant_merge", first.participant.pk), {"target_id": str(second.participant.pk), "confirmed": "True"}
    )

    assert response.status_code == 200
    assert "holds the slot" in text(response)
    assert Participant.objects.filter(pk=first.participant.pk).exists()


# ---------------------------------------------------------------------------------------
# Transfers, mentors, emails, eligibility


def test_leaving_and_joining_are_recorded_from_the_training_records_page(staff, lead_provider, ect):
    other = LeadProviderFactory(name="Provider B")
    with clock.frozen(T0):
        new_school = SchoolFactory(urn="654321")
        PartnershipFactory(lead_provider=other, school=new_school, cohort=2024)

    with clock.frozen(T1):
        left = staff.post(page("enrolment_leave_school", ect.enrolment.pk), {"end_date": "2025-03-31"})
        joined = staff.post(
            page("enrolment_join_school", ect.enrolment.pk),
            {"school_urn": "654321", "start_date": "2025-04-01", "lead_provider": str(other.pk)},
        )

    assert (left.status_code, joined.status_code) == (302, 302)
    leaving, joining = TrainingPeriod.objects.filter(enrolment=ect.enrolment).order_by("-created_at", "start_date")[:2]
    assert (leaving.induction_status, leaving.end_date) == (InductionStatus.LEAVING, datetime(2025, 3, 31, tzinfo=UTC))
    assert (joining.school_id, joining.partnership.lead_provider_id, joining.school_transfer) == (
        new_school.pk,
        other.pk,
        True,
    )
    assert updated_at(ect.participant) == T1


def test_joining_a_school_the_provider_is_not_partnered_with_shows_the_refusal(staff, ect):
    other = LeadProviderFactory(name="Provider B")
    SchoolFactory(urn="654321", name="New School")

    response = staff.post(
        page("enrolment_join_school", ect.enrolment.pk),
        {"school_urn": "654321", "start_date": "2025-04-01", "lead_provider": str(other.pk)},
    )

    assert response.status_code == 200
    assert "Provider B has no confirmed partnership with New School for the 2024 cohort." in text(response)
    assert ect.enrolment.training_periods.count() == 1


def test_an_unknown_urn_is_refused(staff, ect):
    response = staff.post(
        page("enrolment_join_school", ect.enrolment.pk), {"school_urn": "000000", "start_date": "2025-04-01"}
    )

    assert "No school has this URN." in text(response)


def test_a_mentor_and_a_preferred_email_are_recorded(staff, ect):
    with clock.frozen(T0):
        mentor = enrolled_participant(kind="mentor")

    with clock.frozen(T1):
        staff.post(page("enrolment_mentor", ect.enrolment.pk), {"mentor_id": str(mentor.enrolment.pk)})
        staff.post(page("enrolment_email", ect.enrolment.pk), {"email": "at.school@example.com"})
        staff.post(page("participant_email", ect.participant.pk), {"email": "home@example.com"})

    current = TrainingPeriod.objects.filter(enrolment=ect.enrolment, end_date__isnull=True).get()
    assert (current.mentor_id, current.email) == (mentor.enrolment.pk, "at.school@example.com")
    assert Participant.objects.get(pk=ect.participant.pk).email == "home@example.com"
    assert (updated_at(ect.participant), updated_at(mentor.participant)) == (T1, T1)


def test_the_trn_check_result_makes_submitted_declarations_eligible(staff, lead_provider):
    with clock.frozen(T0):
        person = enrolled_participant(lead_provider=lead_provider, fundable=False)
        declaration = DeclarationFactory(enrolment=person.enrolment, submitted=True)
        statement = StatementFactory(lead_provider=lead_provider, cohort=2024, year=2025, month=3)

    with clock.frozen(T1):
        response = staff.post(
            page("enrolment_eligibility", person.enrolment.pk), {"status": "eligible", "reason": "none"}, follow=True
        )

    declaration.refresh_from_db()
    assert (declaration.state, declaration.statement_id) == (DeclarationState.ELIGIBLE, statement.pk)
    assert "1 submitted declaration(s) became eligible" in text(response)


def test_a_partnership_is_challenged_on_the_schools_behalf(staff, ect):
    with clock.frozen(T1):
        response = staff.post(page("partnership_challenge", ect.partnership.pk), {"reason": "mistake"})

    partnership = Partnership.objects.get(pk=ect.partnership.pk)
    assert response.status_code == 302
    assert (partnership.challenge_reason, partnership.challenged_at) == ("mistake", T1)


# ---------------------------------------------------------------------------------------
# Forms that save through the services


def _school_form(school: School, **changes) -> dict:
    data = {
        field: getattr(school, field)
        for field in (
            "urn",
            "name",
            "school_status_code",
            "school_type_code",
            "administrative_district_code",
            "induction_tutor_name",
            "induction_tutor_email",
            "primary_contact_email",
            "secondary_contact_email",
        )
    }
    if school.section_41_approved:
        data["section_41_approved"] = "on"
    management = {
        "school_cohorts-TOTAL_FORMS": "0",
        "school_cohorts-INITIAL_FORMS": "0",
        "school_cohorts-MIN_NUM_FORMS": "0",
        "school_cohorts-MAX_NUM_FORMS": "1000",
    }
    return {**data, **management, **changes}


def test_a_urn_corrected_on_the_school_form_reaches_the_participants_sync(staff, ect):
    with clock.frozen(T1):
        response = staff.post(page("school_change", ect.school.pk), _school_form(ect.school, urn="999999"))

    assert response.status_code == 302, text(response)
    assert School.objects.get(pk=ect.school.pk).urn == "999999"
    assert (updated_at(ect.school), updated_at(ect.participant)) == (T1, T1)


def test_a_urn_that_is_not_six_digits_is_refused_by_the_school_form(staff, ect):
    response = staff.post(page("school_change", ect.school.pk), _school_form(ect.school, urn="12a456"))

    assert "A URN is 6 digits." in text(response)
    assert updated_at(ect.school) == T0


def test_a_school_cohort_choice_changed_on_its_form_moves_its_timestamp(staff, ect):
    school_cohort = SchoolCohort.objects.get(school=ect.school, cohort_id=2024)

    with clock.frozen(T1):
        response = staff.post(
            page("schoolcohort_change", school_cohort.pk), {"induction_programme_choice": "design_our_own"}
        )

    assert response.status_code == 302, text(response)
    changed = SchoolCohort.objects.get(pk=school_cohort.pk)
    assert (changed.induction_programme_choice, changed.updated_at, changed.cohort_id) == ("design_our_own", T1, 2024)


def test_delivery_partner_renames_and_relationships_move_the_delivery_partners_timestamp(staff, lead_provider):
    with clock.frozen(T0):
        partner = DeliveryPartnerFactory()

    with clock.frozen(T1):
        staff.post(page("deliverypartner_change", partner.pk), {"name": "Renamed partner"})
    renamed_at = updated_at(partner)
    later = datetime(2025, 2, 12, tzinfo=UTC)
    with clock.frozen(later):
        added = staff.post(
            page("providerrelationship_add"),
            {"lead_provider": str(lead_provider.pk), "delivery_partner": str(partner.pk), "cohort": "2025"},
        )

    assert DeliveryPartner.objects.get(pk=partner.pk).name == "Renamed partner"
    assert renamed_at == T1
    assert added.status_code == 302, text(added)
    assert ProviderRelationship.objects.filter(delivery_partner=partner, cohort=get_cohort(2025)).exists()
    assert updated_at(partner) == later


def test_removing_a_relationship_moves_the_delivery_partners_timestamp(staff, lead_provider):
    with clock.frozen(T0):
        partner = DeliveryPartnerFactory()
        relationship = ProviderRelationship.objects.create(
            lead_provider=lead_provider, delivery_partner=partner, cohort=get_cohort(2024)
        )

    with clock.frozen(T1):
        response = staff.post(page("providerrelationship_delete", relationship.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not ProviderRelationship.objects.filter(pk=relationship.pk).exists()
    assert updated_at(partner) == T1


def test_a_relationship_is_never_edited_in_place(staff, lead_provider):
    relationship = ProviderRelationship.objects.create(
        lead_provider=lead_provider, delivery_partner=DeliveryPartnerFactory(), cohort=get_cohort(2024)
    )

    response = staff.post(page("providerrelationship_change", relationship.pk), {"cohort": "2025"})

    assert response.status_code == 403
    assert ProviderRelationship.objects.get(pk=relationship.pk).cohort_id == 2024


def test_a_name_and_trn_are_corrected_from_the_participants_page(staff, ect):
    with clock.frozen(T1):
        response = staff.post(page("participant_details", ect.participant.pk), {"full_name": "Right Name", "trn": "12"})
        staff.post(page("participant_details", ect.participant.pk), {"full_name": "Right Name", "trn": "7654321"})

    assert "A TRN is 7 digits." in text(response)
    person = Participant.objects.get(pk=ect.participant.pk)
    assert (person.full_name, person.trn, person.updated_at) == ("Right Name", "7654321", T1)


def test_a_provider_renamed_on_its_form_brings_its_declarations_back_into_syncs(staff, lead_provider, ect):
    with clock.frozen(T0):
        declaration = DeclarationFactory(enrolment=ect.enrolment, eligible=True)

    with clock.frozen(T1):
        response = staff.post(
            page("leadprovider_change", lead_provider.pk),
            {"name": "Renamed Institute", "vat_chargeable": "on", "contract_flavour": "original"},
        )

    assert response.status_code == 302, text(response)
    assert updated_at(declaration) == T1

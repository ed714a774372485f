"""School transfers recorded through the services (rules §6), read back through the provider's API:
`GET /api/v3/participants/ecf/{id}/transfers` and each side's `participant_status` (rules §2.3, §6.4).

Nothing here is made with transfer factories: every leaving and joining period is written by
participant_leave_school / participant_join_school, as the back office writes them.
"""

from datetime import UTC, date, datetime

import pytest
from rest_framework.test import APIClient

from ecf import clock
from ecf.errors import ServiceValidationError
from participants.models import InductionStatus, Partnership, TrainingPeriod, TrainingStatus
from participants.services import participant_join_school, participant_leave_school
from participants.tokens import api_token_create
from tests.factories import (
    DeclarationFactory,
    LeadProviderFactory,
    PartnershipFactory,
    SchoolFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db

REGISTERED = datetime(2023, 9, 1, tzinfo=UTC)
TODAY = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)  # PV-33's "today"
LEAVER_REPORTED = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
JOINER_REPORTED = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def client_for(lead_provider) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    return client


def transfers(lead_provider, participant, *, at=TODAY) -> list[dict]:
    with clock.frozen(at):
        response = client_for(lead_provider).get(f"/api/v3/participants/ecf/{participant.id}/transfers")
    assert response.status_code == 200, response.content
    return response.json()["data"]["attributes"]["transfers"]


def participant_status(lead_provider, participant, *, at=TODAY) -> str | None:
    """The status the provider sees, or None when it does not see the participant at all."""
    with clock.frozen(at):
        response = client_for(lead_provider).get(f"/api/v3/participants/ecf/{participant.id}")
    if response.status_code == 404:
        return None
    (enrolment,) = response.json()["data"]["attributes"]["ecf_enrolments"]
    return enrolment["participant_status"]


@pytest.fixture
def provider_a():
    return LeadProviderFactory(name="Provider A")


@pytest.fixture
def provider_b():
    return LeadProviderFactory(name="Provider B")


@pytest.fixture
def ect(provider_a):
    """P, an ECT of the 2023 cohort, trains with A at school S1 since September 2023."""
    with clock.frozen(REGISTERED):
        return enrolled_participant(lead_provider=provider_a, cohort=2023, start_date=REGISTERED)


@pytest.fixture
def school_2():
    with clock.frozen(REGISTERED):
        return SchoolFactory(name="School 2")


def leave(ect, end: date, *, at=LEAVER_REPORTED):
    with clock.frozen(at):
        return participant_leave_school(enrolment=ect.enrolment, end_date=end)


def join(ect, school, start: date, *, at=JOINER_REPORTED, **kwargs):
    with clock.frozen(at):
        return participant_join_school(enrolment=ect.enrolment, school=school, start_date=start, **kwargs)


# ---------------------------------------------------------------------------------------
# PV-33, its four variants


def test_joining_with_the_same_provider_after_today_is_an_incomplete_new_school_transfer(provider_a, ect, school_2):
    """PV-33 (a): leaving 2024-03-08, joining with A 2024-03-11, today 2024-03-10."""
    leave(ect, date(2024, 3, 8))
    join(ect, school_2, date(2024, 3, 11))

    (transfer,) = transfers(provider_a, ect.participant)

    assert transfer == {
        "training_record_id": str(ect.enrolment.id),
        "transfer_type": "new_school",
        "status": "incomplete",
        "created_at": "2024-03-01T09:00:00Z",
        "leaving": {"school_urn": ect.school.urn, "provider": "Provider A", "date": "2024-03-08"},
        "joining": {"school_urn": school_2.urn, "provider": "Provider A", "date": "2024-03-11"},
    }


def test_joining_before_today_completes_the_transfer(provider_a, ect, school_2):
    """PV-33 (b): joining start 2024-03-09 → complete."""
    leave(ect, date(2024, 3, 8))
    join(ect, school_2, date(2024, 3, 9))

    (transfer,) = transfers(provider_a, ect.participant)

    assert (transfer["transfer_type"], transfer["status"]) == ("new_school", "complete")
    assert transfer["joining"]["date"] == "2024-03-09"


def test_joining_with_another_provider_is_a_new_provider_transfer_seen_by_both(provider_a, provider_b, ect, school_2):
    """PV-33 (c): joining with LP B (start 2024-03-11) → new_provider, joining.provider is B's name."""
    with clock.frozen(REGISTERED):
        PartnershipFactory(lead_provider=provider_b, school=school_2, cohort=2023)
    leave(ect, date(2024, 3, 8))
    join(ect, school_2, date(2024, 3, 11), lead_provider=provider_b)

    seen_by_a = transfers(provider_a, ect.participant)
    seen_by_b = transfers(provider_b, ect.participant)

    assert seen_by_a == seen_by_b
    (transfer,) = seen_by_a
    assert (transfer["transfer_type"], transfer["status"]) == ("new_provider", "incomplete")
    assert transfer["leaving"]["provider"] == "Provider A"
    assert transfer["joining"] == {"school_urn": school_2.urn, "provider": "Provider B", "date": "2024-03-11"}


def test_a_leaving_date_after_today_keeps_the_transfer_incomplete(provider_a, ect, school_2):
    """PV-33 (d): leaving end 2024-03-11, joining start 2024-03-12 → incomplete."""
    leave(ect, date(2024, 3, 11))
    join(ect, school_2, date(2024, 3, 12))

    (transfer,) = transfers(provider_a, ect.participant)

    assert transfer["status"] == "incomplete"
    assert (transfer["leaving"]["date"], transfer["joining"]["date"]) == ("2024-03-11", "2024-03-12")


def test_a_leaver_with_no_joiner_is_an_unknown_transfer(provider_a, ect):
    leave(ect, date(2024, 3, 8))

    (transfer,) = transfers(provider_a, ect.participant)

    assert (transfer["transfer_type"], transfer["joining"]) == ("unknown", None)


# ---------------------------------------------------------------------------------------
# What each side sees (rules §6.4)


def test_each_side_sees_the_moves_of_a_new_provider_transfer(provider_a, provider_b, ect, school_2):
    with clock.frozen(REGISTERED):
        PartnershipFactory(lead_provider=provider_b, school=school_2, cohort=2023)
    before = participant_status(provider_a, ect.participant, at=LEAVER_REPORTED)
    leave(ect, date(2024, 3, 8))
    reported = participant_status(provider_a, ect.participant, at=LEAVER_REPORTED)
    join(ect, school_2, date(2024, 3, 11), lead_provider=provider_b)
    joiner_reported = (
        participant_status(provider_a, ect.participant, at=JOINER_REPORTED),
        participant_status(provider_b, ect.participant, at=JOINER_REPORTED),
    )
    after = (participant_status(provider_a, ect.participant), participant_status(provider_b, ect.participant))
    after_joining = datetime(2024, 3, 12, tzinfo=UTC)
    settled = (
        participant_status(provider_a, ect.participant, at=after_joining),
        participant_status(provider_b, ect.participant, at=after_joining),
    )

    assert (before, reported) == ("active", "leaving")
    assert joiner_reported == ("leaving", "joining")
    assert after == ("left", "joining")  # 2024-03-10: left S1, not yet at S2
    assert settled == ("left", "active")


def test_the_same_provider_sees_leaving_then_joining_then_active(provider_a, ect, school_2):
    leave(ect, date(2024, 3, 8))
    reported = participant_status(provider_a, ect.participant, at=LEAVER_REPORTED)
    join(ect, school_2, date(2024, 3, 11))

    assert reported == "leaving"
    assert participant_status(provider_a, ect.participant, at=JOINER_REPORTED) == "joining"
    assert participant_status(provider_a, ect.participant, at=datetime(2024, 3, 12, tzinfo=UTC)) == "active"


# ---------------------------------------------------------------------------------------
# participant_leave_school


def test_reporting_a_leaver_closes_the_period_and_opens_a_leaving_copy(ect):
    leaving = leave(ect, date(2024, 3, 31))

    old = TrainingPeriod.objects.get(pk=ect.training_period.pk)
    assert (old.induction_status, old.end_date) == (InductionStatus.CHANGED, LEAVER_REPORTED)
    assert (leaving.induction_status, leaving.start_date, leaving.end_date) == (
        InductionStatus.LEAVING,
        LEAVER_REPORTED,
        datetime(2024, 3, 31, tzinfo=UTC),
    )
    assert (leaving.school_id, leaving.partnership_id) == (ect.school.pk, ect.partnership.pk)


def test_a_leaver_reported_after_the_date_starts_and_ends_on_that_date(ect):
    leaving = leave(ect, date(2024, 2, 20))

    assert leaving.start_date == leaving.end_date == datetime(2024, 2, 20, tzinfo=UTC)
    assert leaving.created_at == LEAVER_REPORTED  # when it was reported: the transfer's created_at


def test_a_leaving_date_before_the_training_started_is_refused(ect):
    with pytest.raises(ServiceValidationError) as refusal:
        leave(ect, date(2023, 8, 1))

    assert refusal.value.errors == [
        ("end_date", "The leaving date cannot be before the participant started training at the school.")
    ]


def test_a_second_transfer_keeps_the_first_one_paired(provider_a, ect, school_2):
    """The joining period of the first move is closed and copied, never turned into the leaver."""
    leave(ect, date(2024, 3, 8))
    join(ect, school_2, date(2024, 3, 11))
    school_3 = SchoolFactory()
    leave(ect, date(2024, 6, 30), at=datetime(2024, 6, 1, tzinfo=UTC))
    join(ect, school_3, date(2024, 7, 1), at=datetime(2024, 6, 2, tzinfo=UTC))

    moves = transfers(provider_a, ect.participant, at=datetime(2024, 7, 2, tzinfo=UTC))

    assert [(t["leaving"]["school_urn"], t["joining"]["school_urn"]) for t in moves] == [
        (ect.school.urn, school_2.urn),
        (school_2.urn, school_3.urn),
    ]
    assert {t["status"] for t in moves} == {"complete"}


# ---------------------------------------------------------------------------------------
# participant_join_school


def test_keeping_the_provider_at_an_unpartnered_school_makes_a_relationship_partnership(provider_a, ect, school_2):
    joining = join(ect, school_2, date(2024, 3, 11))

    partnership = joining.partnership
    assert (partnership.relationship, partnership.lead_provider_id, partnership.delivery_partner_id) == (
        True,
        provider_a.pk,
        ect.delivery_partner.pk,
    )
    assert (partnership.school_id, partnership.cohort_id) == (school_2.pk, 2023)
    assert (joining.school_transfer, joining.start_date) == (True, datetime(2024, 3, 11, tzinfo=UTC))
    # Hidden from the provider's partnerships (rules §7.5), yet the participant stays visible.
    with clock.frozen(TODAY):
        listed = client_for(provider_a).get("/api/v3/partnerships/ecf").json()["data"]
    assert str(partnership.pk) not in {row["id"] for row in listed}
    assert participant_status(provider_a, ect.participant) == "joining"


def test_a_second_joiner_reuses_the_relationship_partnership(provider_a, ect, school_2):
    with clock.frozen(REGISTERED):
        other = enrolled_participant(lead_provider=provider_a, cohort=2023, partnership=ect.partnership)
    first = join(ect, school_2, date(2024, 3, 11))
    with clock.frozen(JOINER_REPORTED):
        second = participant_join_school(enrolment=other.enrolment, school=school_2, start_date=date(2024, 3, 11))

    assert first.partnership_id == second.partnership_id
    assert Partnership.objects.filter(school=school_2).count() == 1


def test_keeping_the_provider_uses_its_partnership_with_the_same_delivery_partner(provider_a, ect, school_2):
    with clock.frozen(REGISTERED):
        own = PartnershipFactory(
            lead_provider=provider_a, school=school_2, cohort=2023, delivery_partner=ect.delivery_partner
        )

    joining = join(ect, school_2, date(2024, 3, 11))

    assert joining.partnership_id == own.pk


def test_joining_another_provider_without_a_partnership_is_refused(provider_b, ect, school_2):
    with pytest.raises(ServiceValidationError) as refusal:
        join(ect, school_2, date(2024, 3, 11), lead_provider=provider_b)

    assert refusal.value.errors == [
        ("lead_provider", "Provider B has no confirmed partnership with School 2 for the 2023 cohort.")
    ]
    assert ect.enrolment.training_periods.count() == 1  # nothing was written


def test_a_joiner_whose_leaving_was_not_reported_leaves_on_the_joining_date(provider_a, ect, school_2):
    join(ect, school_2, date(2024, 3, 11))

    (transfer,) = transfers(provider_a, ect.participant)
    assert (transfer["leaving"]["date"], transfer["joining"]["date"]) == ("2024-03-11", "2024-03-11")
    assert (transfer["transfer_type"], transfer["status"]) == ("new_school", "incomplete")


def test_a_new_provider_starts_active_and_the_same_provider_keeps_the_training_status(
    provider_a, provider_b, ect, school_2
):
    with clock.frozen(REGISTERED):
        PartnershipFactory(lead_provider=provider_b, school=school_2, cohort=2023)
        deferred = enrolled_participant(lead_provider=provider_a, cohort=2023, training_status="deferred")
    school_3 = SchoolFactory()
    with clock.frozen(JOINER_REPORTED):
        with_b = participant_join_school(
            enrolment=deferred.enrolment, school=school_2, start_date=date(2024, 3, 11), lead_provider=provider_b
        )
    with clock.frozen(REGISTERED):
        deferred_too = enrolled_participant(lead_provider=provider_a, cohort=2023, training_status="deferred")
    with clock.frozen(JOINER_REPORTED):
        with_a = participant_join_school(
            enrolment=deferred_too.enrolment, school=school_3, start_date=date(2024, 3, 11)
        )

    assert (with_b.training_status, with_a.training_status) == (TrainingStatus.ACTIVE, TrainingStatus.DEFERRED)


def test_joining_the_school_the_participant_is_at_is_refused(ect):
    with pytest.raises(ServiceValidationError) as refusal:
        join(ect, ect.school, date(2024, 3, 11))

    assert refusal.value.errors == [("school", "The participant already trains at this school.")]


# ---------------------------------------------------------------------------------------
# PV-34: declarations of the previous provider, after a transfer made through the services

DECLARED_AT = datetime(2025, 2, 5, 10, 0, tzinfo=UTC)  # five days before "today"
PV34_TODAY = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)


def declarations_seen_by(lead_provider) -> set[str]:
    with clock.frozen(PV34_TODAY):
        response = client_for(lead_provider).get("/api/v3/participant-declarations")
    assert response.status_code == 200
    return {row["id"] for row in response.json()["data"]}


def test_the_new_provider_sees_the_previous_providers_declarations(provider_a, provider_b):
    """PV-34: B declared `started` for P; P has since moved to A's school (A's record is active)."""
    with clock.frozen(datetime(2024, 9, 1, tzinfo=UTC)):
        person = enrolled_participant(lead_provider=provider_b, cohort=2024)
        school_a = PartnershipFactory(lead_provider=provider_a, cohort=2024).school
    with clock.frozen(DECLARED_AT):
        declaration = DeclarationFactory(
            enrolment=person.enrolment, lead_provider=provider_b, eligible=True, declaration_date=DECLARED_AT
        )
    with clock.frozen(datetime(2025, 2, 7, tzinfo=UTC)):
        participant_join_school(
            enrolment=person.enrolment, school=school_a, start_date=date(2025, 2, 8), lead_provider=provider_a
        )

    assert str(declaration.pk) in declarations_seen_by(provider_a)


@pytest.mark.parametrize(
    ("left_on", "seen"),
    [(date(2025, 2, 10), True), (date(2021, 2, 10), False)],
    ids=["leaving-today", "left-four-years-ago"],
)
def test_the_provider_a_participant_left_sees_later_declarations_only_up_to_the_leaving_date(
    provider_a, provider_b, left_on, seen
):
    """PV-34: A's record is `leaving`; B's declaration is visible if A's end date is on/after its date."""
    with clock.frozen(datetime(2021, 1, 4, tzinfo=UTC)):
        person = enrolled_participant(
            lead_provider=provider_a, cohort=2024, start_date=datetime(2021, 1, 4, tzinfo=UTC)
        )
        school_b = PartnershipFactory(lead_provider=provider_b, cohort=2024).school
    with clock.frozen(datetime(2021, 1, 5, tzinfo=UTC)):
        participant_leave_school(enrolment=person.enrolment, end_date=left_on)
    with clock.frozen(datetime(2021, 1, 6, tzinfo=UTC)):
        participant_join_school(
            enrolment=person.enrolment, school=school_b, start_date=date(2021, 2, 11), lead_provider=provider_b
        )
    with clock.frozen(DECLARED_AT):
        declaration = DeclarationFactory(
            enrolment=person.enrolment, lead_provider=provider_b, eligible=True, declaration_date=DECLARED_AT
        )

    assert (str(declaration.pk) in declarations_seen_by(provider_a)) is seen

"""GET /api/v3/participants/ecf and /{id} (rules §2, api.md §9.2, §10.3)."""

from datetime import UTC, datetime, timedelta

import pytest

from ecf import clock
from participants.models import EligibilityReason, EligibilityStatus, InductionStatus, MentorCompletionReason
from tests.factories import (
    LeadProviderFactory,
    ParticipantFactory,
    ParticipantIdChangeFactory,
    PartnershipFactory,
    TrainingPeriodFactory,
    TrainingStatusChangeFactory,
    enrolled_participant,
    get_schedule,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/participants/ecf"


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


def test_participant_shows_every_enrolment_attribute(provider_client, lead_provider):
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
    ect = enrolled_participant(
        lead_provider=lead_provider,
        school=mentor.school,
        mentor=mentor.enrolment,
        sparsity_uplift=True,
        validation_trn=None,
    )

    response = provider_client.get(f"{URL}/{ect.participant.id}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    data = response.json()["data"]
    person = ect.participant
    assert data["id"] == str(person.id)
    assert data["type"] == "participant"
    assert data["attributes"]["full_name"] == person.full_name
    assert data["attributes"]["teacher_reference_number"] == person.trn
    assert data["attributes"]["updated_at"] == person.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data["attributes"]["participant_id_changes"] == []
    assert data["attributes"]["ecf_enrolments"] == [
        {
            "training_record_id": str(ect.enrolment.id),
            "email": ect.training_period.email or person.email,
            "mentor_id": str(mentor.participant.id),
            "school_urn": ect.school.urn,
            "participant_type": "ect",
            "cohort": "2024",
            "training_status": "active",
            "participant_status": "active",
            "teacher_reference_number_validated": True,
            "eligible_for_funding": True,
            "pupil_premium_uplift": False,
            "sparsity_uplift": True,
            "schedule_identifier": "ecf-standard-september",
            "delivery_partner_id": str(ect.delivery_partner.id),
            "withdrawal": None,
            "deferral": None,
            "created_at": ect.enrolment.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "induction_end_date": None,
            "mentor_funding_end_date": None,
            "cohort_changed_after_payments_frozen": False,
            "mentor_ineligible_for_funding_reason": None,
        }
    ]


def test_person_who_is_ect_and_mentor_has_two_enrolments(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider)
    enrolled_participant(lead_provider=lead_provider, participant=ect.participant, kind="mentor", school=ect.school)

    data = provider_client.get(URL).json()["data"]

    assert len(data) == 1
    assert [e["participant_type"] for e in data[0]["attributes"]["ecf_enrolments"]] == ["ect", "mentor"]


def test_mentor_funding_fields_only_for_mentors(provider_client, lead_provider):
    mentor = enrolled_participant(
        lead_provider=lead_provider,
        kind="mentor",
        mentor_completion_date=datetime(2025, 3, 1, tzinfo=UTC).date(),
        mentor_completion_reason=MentorCompletionReason.COMPLETED_DECLARATION_RECEIVED,
    )

    enrolment = provider_client.get(f"{URL}/{mentor.participant.id}").json()["data"]["attributes"]["ecf_enrolments"][0]

    assert enrolment["mentor_id"] is None
    assert enrolment["mentor_funding_end_date"] == "2025-03-01"
    assert enrolment["mentor_ineligible_for_funding_reason"] == "completed_declaration_received"


@pytest.mark.parametrize(
    ("status", "reason", "expected_funding", "expected_validated"),
    [
        (EligibilityStatus.ELIGIBLE, EligibilityReason.NONE, True, True),
        (EligibilityStatus.INELIGIBLE, EligibilityReason.PREVIOUS_INDUCTION, False, True),
        (EligibilityStatus.MANUAL_CHECK, EligibilityReason.DIFFERENT_TRN, None, False),
        (None, EligibilityReason.NONE, None, False),
    ],
)
def test_eligibility_fields_follow_the_funding_check(
    provider_client, lead_provider, status, reason, expected_funding, expected_validated
):
    ect = enrolled_participant(
        lead_provider=lead_provider, fundable=False, eligibility_status=status, eligibility_reason=reason
    )

    enrolment = provider_client.get(f"{URL}/{ect.participant.id}").json()["data"]["attributes"]["ecf_enrolments"][0]

    assert enrolment["eligible_for_funding"] is expected_funding
    assert enrolment["teacher_reference_number_validated"] is expected_validated


def test_trn_validated_is_null_without_any_trn(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider, participant=ParticipantFactory(trn=None))

    enrolment = provider_client.get(f"{URL}/{ect.participant.id}").json()["data"]["attributes"]["ecf_enrolments"][0]

    assert enrolment["teacher_reference_number_validated"] is None


def test_withdrawal_shown_only_when_this_provider_recorded_it(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 9, 10, 12, 0, tzinfo=UTC)):
        withdrawn = enrolled_participant(lead_provider=lead_provider, training_status="withdrawn")

    enrolment = provider_client.get(f"{URL}/{withdrawn.participant.id}").json()["data"]["attributes"]["ecf_enrolments"][
        0
    ]

    assert enrolment["training_status"] == "withdrawn"
    assert enrolment["withdrawal"] == {"reason": "other", "date": "2024-09-10T12:00:00Z"}
    assert enrolment["deferral"] is None


def test_legacy_withdrawal_reason_is_shown_under_its_new_name(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider, training_status="withdrawn")
    TrainingStatusChangeFactory(
        enrolment=ect.enrolment, lead_provider=lead_provider, training_status="withdrawn", reason="school-left-fip"
    )

    enrolment = provider_client.get(f"{URL}/{ect.participant.id}").json()["data"]["attributes"]["ecf_enrolments"][0]

    assert enrolment["withdrawal"]["reason"] == "switched-to-school-led"


def test_deferral_shown_with_its_reason(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider, training_status="deferred")

    enrolment = provider_client.get(f"{URL}/{ect.participant.id}").json()["data"]["attributes"]["ecf_enrolments"][0]

    assert enrolment["deferral"]["reason"] == "other"
    assert enrolment["withdrawal"] is None


def test_training_status_is_per_provider(provider_client, lead_provider):
    """Provider B withdrawing the same enrolment does not change what provider A sees (rules §2.1)."""
    ect = enrolled_participant(lead_provider=lead_provider)
    TrainingPeriodFactory(enrolment=ect.enrolment, partnership=PartnershipFactory(), training_status="withdrawn")

    mine = provider_client.get(f"{URL}/{ect.participant.id}").json()["data"]["attributes"]["ecf_enrolments"]

    assert [e["training_status"] for e in mine] == ["active"]


@pytest.mark.parametrize(
    ("start_offset", "end_offset", "induction_status", "expected"),
    [
        (-10, None, InductionStatus.ACTIVE, "active"),
        (-10, None, InductionStatus.COMPLETED, "active"),
        (-10, None, InductionStatus.WITHDRAWN, "withdrawn"),
        (-10, None, InductionStatus.CHANGED, "withdrawn"),
        (5, None, InductionStatus.ACTIVE, "joining"),
        (-10, 5, InductionStatus.LEAVING, "leaving"),
        (-10, -1, InductionStatus.LEAVING, "left"),
    ],
)
def test_participant_status_derived_from_the_latest_period(
    provider_client, lead_provider, start_offset, end_offset, induction_status, expected
):
    now = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
    with clock.frozen(now):
        ect = enrolled_participant(lead_provider=lead_provider, start_date=now + timedelta(days=start_offset))
        ect.training_period.induction_status = induction_status
        ect.training_period.end_date = None if end_offset is None else now + timedelta(days=end_offset)
        ect.training_period.save()

        enrolment = provider_client.get(f"{URL}/{ect.participant.id}").json()["data"]["attributes"]["ecf_enrolments"][0]

    assert enrolment["participant_status"] == expected


def test_latest_period_is_the_open_one_then_latest_start(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider, start_date=datetime(2024, 9, 1, tzinfo=UTC))
    ect.training_period.end_date = datetime(2024, 12, 1, tzinfo=UTC)
    ect.training_period.induction_status = InductionStatus.CHANGED
    ect.training_period.save()
    TrainingPeriodFactory(
        enrolment=ect.enrolment,
        partnership=ect.partnership,
        start_date=datetime(2024, 12, 1, tzinfo=UTC),
        schedule=get_schedule(cohort=2024, identifier="ecf-standard-january"),
    )

    enrolment = provider_client.get(f"{URL}/{ect.participant.id}").json()["data"]["attributes"]["ecf_enrolments"][0]

    assert enrolment["schedule_identifier"] == "ecf-standard-january"
    assert enrolment["participant_status"] == "active"


def test_challenged_partnership_hides_its_participants(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider)
    ect.partnership.challenge_reason = "mistake"
    ect.partnership.challenged_at = clock.now()
    ect.partnership.save()

    assert provider_client.get(URL).json() == {"data": []}
    assert provider_client.get(f"{URL}/{ect.participant.id}").status_code == 404


def test_relationship_partnership_makes_participants_visible(provider_client, lead_provider):
    relationship = PartnershipFactory(lead_provider=lead_provider, relationship=True)
    ect = enrolled_participant(partnership=relationship)

    assert ids(provider_client.get(URL)) == [str(ect.participant.id)]


def test_other_providers_participants_are_invisible(provider_client, lead_provider):
    mine = enrolled_participant(lead_provider=lead_provider)
    theirs = enrolled_participant(lead_provider=LeadProviderFactory())

    assert ids(provider_client.get(URL)) == [str(mine.participant.id)]
    response = provider_client.get(f"{URL}/{theirs.participant.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_a_person_who_moved_provider_keeps_only_their_visible_enrolment(provider_client, lead_provider):
    """Profiles without a record under this provider are left out of ecf_enrolments."""
    ect = enrolled_participant(lead_provider=lead_provider)
    enrolled_participant(participant=ect.participant, kind="mentor")

    enrolments = provider_client.get(f"{URL}/{ect.participant.id}").json()["data"]["attributes"]["ecf_enrolments"]

    assert [e["participant_type"] for e in enrolments] == ["ect"]


def test_non_uuid_id_is_not_found(provider_client):
    assert provider_client.get(f"{URL}/not-a-uuid").status_code == 404


def test_id_changes_are_listed_and_found_by_the_retired_id(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider)
    enrolled_participant(lead_provider=lead_provider, school=ect.school)
    change = ParticipantIdChangeFactory(participant=ect.participant, to_participant_id=ect.participant.id)

    response = provider_client.get(URL, {"filter[from_participant_id]": str(change.from_participant_id)})

    assert ids(response) == [str(ect.participant.id)]
    assert response.json()["data"][0]["attributes"]["participant_id_changes"] == [
        {
            "from_participant_id": str(change.from_participant_id),
            "to_participant_id": str(ect.participant.id),
            "changed_at": change.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ]
    assert provider_client.get(URL, {"filter[from_participant_id]": "not-a-uuid"}).json() == {"data": []}


def test_cohort_filter_matches_the_latest_periods_schedule_cohort(provider_client, lead_provider):
    in_2024 = enrolled_participant(lead_provider=lead_provider, cohort=2024)
    in_2025 = enrolled_participant(lead_provider=lead_provider, cohort=2025)

    assert ids(provider_client.get(URL, {"filter[cohort]": "2024"})) == [str(in_2024.participant.id)]
    assert set(ids(provider_client.get(URL, {"filter[cohort]": "2024,2025"}))) == {
        str(in_2024.participant.id),
        str(in_2025.participant.id),
    }
    assert provider_client.get(URL, {"filter[cohort]": "1999"}).json() == {"data": []}
    assert provider_client.get(URL, {"filter[cohort]": "abc"}).json() == {"data": []}


def test_training_status_filter(provider_client, lead_provider):
    active = enrolled_participant(lead_provider=lead_provider)
    deferred = enrolled_participant(lead_provider=lead_provider, training_status="deferred")

    assert ids(provider_client.get(URL, {"filter[training_status]": "active"})) == [str(active.participant.id)]
    assert ids(provider_client.get(URL, {"filter[training_status]": "deferred"})) == [str(deferred.participant.id)]
    response = provider_client.get(URL, {"filter[training_status]": "paused"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": 'The filter \'#/training_status\' must be ["active", "deferred", "withdrawn"]',
                "code": "filter.invalid_training_status",
            }
        ]
    }


def test_updated_since_is_inclusive_and_accepts_double_encoding(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        enrolled_participant(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 6, 1, 10, 0, tzinfo=UTC)):
        recent = enrolled_participant(lead_provider=lead_provider)

    assert ids(provider_client.get(URL, {"filter[updated_since]": "2024-06-01T10:00:00Z"})) == [
        str(recent.participant.id)
    ]
    # `%2B01:00` sent encoded twice arrives as `%2B01:00` and is decoded again.
    double_encoded = provider_client.get(f"{URL}?filter[updated_since]=2024-06-01T11%253A00%253A00%252B01%253A00")
    assert ids(double_encoded) == [str(recent.participant.id)]


@pytest.mark.parametrize("value", ["2024-06-01", "yesterday", "2024-06-01T10:00:00 01:00"])
def test_invalid_updated_since_is_a_400(provider_client, value):
    response = provider_client.get(URL, {"filter[updated_since]": value})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "The filter '#/updated_since' must be a valid RCF3339 date",
                "code": "filter.invalid_date",
            }
        ]
    }


def test_sort_by_updated_at_descending_and_default_created_at(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        first = enrolled_participant(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 2, 1, tzinfo=UTC)):
        second = enrolled_participant(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 3, 1, tzinfo=UTC)):
        first.participant.save()

    assert ids(provider_client.get(URL)) == [str(first.participant.id), str(second.participant.id)]
    assert ids(provider_client.get(URL, {"sort": "-updated_at"})) == [
        str(first.participant.id),
        str(second.participant.id),
    ]
    assert ids(provider_client.get(URL, {"sort": "updated_at"})) == [
        str(second.participant.id),
        str(first.participant.id),
    ]
    assert ids(provider_client.get(URL, {"sort": "-created_at"})) == [
        str(second.participant.id),
        str(first.participant.id),
    ]
    assert ids(provider_client.get(URL, {"sort": "shoe_size"})) == [
        str(first.participant.id),
        str(second.participant.id),
    ]


def test_pagination_cuts_pages_in_order(provider_client, lead_provider):
    people = []
    for day in range(1, 6):
        with clock.frozen(datetime(2024, 1, day, tzinfo=UTC)):
            people.append(str(enrolled_participant(lead_provider=lead_provider).participant.id))

    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "2"})) == people[2:4]
    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "3"})) == people[4:]
    assert provider_client.get(URL, {"page[per_page]": "2", "page[page]": "4"}).json() == {"data": []}


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    enrolled_participant(lead_provider=lead_provider)
    provider_client.get("/api/v3/ping")  # records the token's first use, a write we don't count here

    def count_queries(expected):
        with django_assert_num_queries(expected):
            response = provider_client.get(URL, {"page[per_page]": "3000"})
        return len(response.json()["data"])

    # 1 token lookup, 1 page of ids (read model), 1 of their latest periods' rows (in order), 2 for the
    # planner settings on and back (ecf.planner: rows by primary key): nobody withdrawn or deferred, no id changes
    assert count_queries(5) == 1
    enrolled_participant(lead_provider=lead_provider, training_status="withdrawn")
    # + 1 status changes of the withdrawn or deferred enrolments
    assert count_queries(6) == 2
    for _ in range(25):
        ect = enrolled_participant(lead_provider=lead_provider, training_status="deferred")
        ParticipantIdChangeFactory(participant=ect.participant)
    # + 1 id changes of the people who have some
    assert count_queries(7) == 27

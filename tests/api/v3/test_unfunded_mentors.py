"""GET /api/v3/unfunded-mentors/ecf and /{id} (rules §8.2, api.md §9.9, §10.3)."""

from datetime import UTC, datetime

import pytest

from ecf import clock
from participants.models import InductionStatus
from tests.factories import (
    EnrolmentFactory,
    LeadProviderFactory,
    ParticipantFactory,
    PartnershipFactory,
    TrainingPeriodFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/unfunded-mentors/ecf"


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


def mentor_trained_elsewhere(**kwargs):
    """A mentor whose own training is with another provider."""
    return enrolled_participant(lead_provider=LeadProviderFactory(), kind="mentor", **kwargs)


def mentored_ect(lead_provider, mentor_enrolment, **kwargs):
    """One of the provider's ECTs, mentored by `mentor_enrolment` on the provider's period."""
    return enrolled_participant(lead_provider=lead_provider, mentor=mentor_enrolment, **kwargs)


def test_unfunded_mentor_shows_every_attribute(provider_client, lead_provider):
    with clock.frozen(at(2024, 5, 1)):
        mentor = mentor_trained_elsewhere(participant=ParticipantFactory(full_name="Jane Smith", trn="1234567"))
        mentor.training_period.email = "jane.smith@some-school.example.com"
        mentor.training_period.save()
    with clock.frozen(at(2024, 6, 1)):
        mentor.participant.save()
    mentored_ect(lead_provider, mentor.enrolment)

    response = provider_client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json() == {
        "data": [
            {
                "id": str(mentor.participant.id),
                "type": "unfunded-mentor",
                "attributes": {
                    "full_name": "Jane Smith",
                    "email": "jane.smith@some-school.example.com",
                    "teacher_reference_number": "1234567",
                    "created_at": "2024-05-01T00:00:00Z",
                    "updated_at": "2024-06-01T00:00:00Z",
                },
            }
        ]
    }
    assert list(response.json()["data"][0]["attributes"]) == [
        "full_name",
        "email",
        "teacher_reference_number",
        "created_at",
        "updated_at",
    ]
    show = provider_client.get(f"{URL}/{mentor.participant.id}")
    assert show.status_code == 200
    assert show.json() == {"data": response.json()["data"][0]}


def test_mentor_trained_by_this_provider_is_funded_not_listed(provider_client, lead_provider):
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
    mentored_ect(lead_provider, mentor.enrolment, school=mentor.school)

    assert provider_client.get(URL).json() == {"data": []}
    assert provider_client.get(f"{URL}/{mentor.participant.id}").status_code == 404


def test_mentor_with_no_training_at_all_is_unfunded_with_their_own_email(provider_client, lead_provider):
    mentor = EnrolmentFactory(kind="mentor")
    mentored_ect(lead_provider, mentor)

    [item] = provider_client.get(URL).json()["data"]

    assert item["id"] == str(mentor.participant.id)
    assert item["attributes"]["email"] == mentor.participant.email


def test_email_comes_from_the_mentors_latest_period_with_any_provider(provider_client, lead_provider):
    mentor = mentor_trained_elsewhere(start_date=at(2024, 9, 1))
    mentor.training_period.email = "old@school.example.com"
    mentor.training_period.end_date = at(2024, 12, 31)
    mentor.training_period.induction_status = InductionStatus.CHANGED
    mentor.training_period.save()
    TrainingPeriodFactory(
        enrolment=mentor.enrolment,
        partnership=PartnershipFactory(cohort=mentor.cohort),
        start_date=at(2025, 1, 1),
        email="new@school.example.com",
    )
    mentored_ect(lead_provider, mentor.enrolment)

    [item] = provider_client.get(URL).json()["data"]

    assert item["attributes"]["email"] == "new@school.example.com"


def test_blank_preferred_email_falls_back_to_the_persons(provider_client, lead_provider):
    mentor = mentor_trained_elsewhere()
    mentor.training_period.email = ""
    mentor.training_period.save()
    mentored_ect(lead_provider, mentor.enrolment)

    assert provider_client.get(URL).json()["data"][0]["attributes"]["email"] == mentor.participant.email


@pytest.mark.parametrize(
    ("person_trn", "validation_trn", "expected"),
    [("1234567", "7654321", "1234567"), (None, "7654321", "7654321"), (None, None, None)],
)
def test_trn_falls_back_to_the_one_captured_at_validation(
    provider_client, lead_provider, person_trn, validation_trn, expected
):
    mentor = mentor_trained_elsewhere(participant=ParticipantFactory(trn=person_trn), validation_trn=validation_trn)
    mentored_ect(lead_provider, mentor.enrolment)

    assert provider_client.get(URL).json()["data"][0]["attributes"]["teacher_reference_number"] == expected


def test_only_the_mentor_on_the_ects_latest_period_counts(provider_client, lead_provider):
    former, current = mentor_trained_elsewhere(), mentor_trained_elsewhere()
    ect = mentored_ect(lead_provider, former.enrolment, start_date=at(2024, 9, 1))
    ect.training_period.end_date = at(2024, 12, 31)
    ect.training_period.induction_status = InductionStatus.CHANGED
    ect.training_period.save()
    TrainingPeriodFactory(
        enrolment=ect.enrolment, partnership=ect.partnership, mentor=current.enrolment, start_date=at(2025, 1, 1)
    )

    assert ids(provider_client.get(URL)) == [str(current.participant.id)]
    assert provider_client.get(f"{URL}/{former.participant.id}").status_code == 404


def test_mentor_assigned_by_another_provider_is_not_listed(provider_client, lead_provider):
    mentor = mentor_trained_elsewhere()
    ect = enrolled_participant(lead_provider=lead_provider)
    TrainingPeriodFactory(
        enrolment=ect.enrolment, partnership=PartnershipFactory(cohort=ect.cohort), mentor=mentor.enrolment
    )

    assert provider_client.get(URL).json() == {"data": []}


def test_mentor_who_is_also_this_providers_ect_is_still_unfunded_as_a_mentor(provider_client, lead_provider):
    """Funding is per enrolment: training with this provider as an ECT does not fund the mentor enrolment."""
    mentor = mentor_trained_elsewhere()
    enrolled_participant(lead_provider=lead_provider, participant=mentor.participant)
    mentored_ect(lead_provider, mentor.enrolment)

    assert ids(provider_client.get(URL)) == [str(mentor.participant.id)]


def test_mentor_of_several_ects_is_listed_once(provider_client, lead_provider):
    mentor = mentor_trained_elsewhere()
    first = mentored_ect(lead_provider, mentor.enrolment)
    mentored_ect(lead_provider, mentor.enrolment, school=first.school)

    assert ids(provider_client.get(URL)) == [str(mentor.participant.id)]


def test_challenged_partnership_hides_its_ects_mentors(provider_client, lead_provider):
    mentor = mentor_trained_elsewhere()
    ect = mentored_ect(lead_provider, mentor.enrolment)
    ect.partnership.challenge_reason = "mistake"
    ect.partnership.challenged_at = clock.now()
    ect.partnership.save()

    assert provider_client.get(URL).json() == {"data": []}
    assert provider_client.get(f"{URL}/{mentor.participant.id}").status_code == 404


def test_other_providers_unfunded_mentors_are_invisible(provider_client, lead_provider):
    mine, theirs = mentor_trained_elsewhere(), mentor_trained_elsewhere()
    mentored_ect(lead_provider, mine.enrolment)
    mentored_ect(LeadProviderFactory(), theirs.enrolment)

    assert ids(provider_client.get(URL)) == [str(mine.participant.id)]
    response = provider_client.get(f"{URL}/{theirs.participant.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_show_finds_mentors_only_by_their_own_id(provider_client, lead_provider):
    mentor = mentor_trained_elsewhere()
    ect = mentored_ect(lead_provider, mentor.enrolment)

    assert provider_client.get(f"{URL}/{mentor.participant.id}").status_code == 200
    assert provider_client.get(f"{URL}/{ect.participant.id}").status_code == 404
    assert provider_client.get(f"{URL}/{mentor.enrolment.id}").status_code == 404
    assert provider_client.get(f"{URL}/not-a-uuid").status_code == 404


# --- Filters, order, pages ----------------------------------------------------------------------


def three_mentors(lead_provider) -> list:
    """Mentors created on 1, 2 and 3 January 2024 and then updated in reverse order (June 3, 2, 1)."""
    people = []
    for day in (1, 2, 3):
        with clock.frozen(at(2024, 1, day)):
            mentor = mentor_trained_elsewhere()
            mentored_ect(lead_provider, mentor.enrolment)
        people.append(mentor.participant)
    for day, person in zip((3, 2, 1), people, strict=True):
        with clock.frozen(at(2024, 6, day)):
            person.save()
    return [str(person.id) for person in people]


def test_default_order_is_by_creation_and_sort_is_honoured(provider_client, lead_provider):
    first, second, third = three_mentors(lead_provider)

    assert ids(provider_client.get(URL)) == [first, second, third]
    assert ids(provider_client.get(URL, {"sort": "updated_at"})) == [third, second, first]
    assert ids(provider_client.get(URL, {"sort": "-updated_at"})) == [first, second, third]
    assert ids(provider_client.get(URL, {"sort": "-created_at"})) == [third, second, first]
    assert ids(provider_client.get(URL, {"sort": "shoe_size"})) == [first, second, third]


def test_updated_since_is_inclusive(provider_client, lead_provider):
    first, second, third = three_mentors(lead_provider)

    response = provider_client.get(URL, {"filter[updated_since]": "2024-06-02T00:00:00Z"})

    assert ids(response) == [first, second]


@pytest.mark.parametrize("value", ["2024-06-01", "yesterday"])
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


def test_pagination_cuts_pages_in_order(provider_client, lead_provider):
    people = three_mentors(lead_provider)

    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "1"})) == people[:2]
    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "2"})) == people[2:]
    assert provider_client.get(URL, {"page[per_page]": "2", "page[page]": "3"}).json() == {"data": []}
    assert provider_client.get(URL, {"page[page]": "0"}).status_code == 400


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    mentored_ect(lead_provider, mentor_trained_elsewhere().enrolment)
    provider_client.get(URL)  # the token's first use is recorded once; later requests only read it

    def count_queries():
        # 1 token lookup, 1 page of mentors, 1 their unfunded enrolments (latest email, validation TRN)
        with django_assert_num_queries(3):
            response = provider_client.get(URL, {"page[per_page]": "3000"})
        return len(response.json()["data"])

    assert count_queries() == 1
    for _ in range(24):
        mentored_ect(lead_provider, mentor_trained_elsewhere().enrolment)
    assert count_queries() == 25

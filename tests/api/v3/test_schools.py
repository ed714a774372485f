"""GET /api/v3/schools/ecf and /{id} (rules §8.1, api.md §9.5, §10.3)."""

from datetime import UTC, datetime

import pytest

from ecf import clock
from participants.models import InductionProgrammeChoice
from tests.factories import (
    LeadProviderFactory,
    PartnershipFactory,
    SchoolCohortFactory,
    SchoolFactory,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/schools/ecf"
REQUIRED_COHORT = {
    "errors": [
        {
            "title": "Bad parameter",
            "detail": "The filter '#/cohort' must be included in your request",
            "code": "filter.cohort_required",
        }
    ]
}


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def test_school_shows_every_attribute_for_the_requested_cohort(provider_client):
    with clock.frozen(at(1, 9)):
        school = SchoolFactory(name="Hillside Primary", urn="012345")
    with clock.frozen(at(2, 10)):
        SchoolCohortFactory(school=school, cohort=2024, induction_programme_choice="full_induction_programme")
        PartnershipFactory(school=school, cohort=2024)  # another provider's: schools are not provider-scoped

    response = provider_client.get(f"{URL}/{school.id}", {"filter[cohort]": "2024"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json() == {
        "data": {
            "id": str(school.id),
            "type": "school",
            "attributes": {
                "name": "Hillside Primary",
                "urn": "012345",
                "cohort": "2024",
                "in_partnership": True,
                "induction_programme_choice": "provider_led",
                "created_at": "2025-01-01T09:00:00Z",
                # The school cohort changed after the school: the later of the two.
                "updated_at": "2025-01-02T10:00:00Z",
            },
        }
    }


def test_school_is_seen_through_the_cohort_asked_for(provider_client):
    school = SchoolFactory()
    SchoolCohortFactory(school=school, cohort=2024, induction_programme_choice="core_induction_programme")
    PartnershipFactory(school=school, cohort=2024)

    attributes = provider_client.get(f"{URL}/{school.id}", {"filter[cohort]": "2025"}).json()["data"]["attributes"]

    assert attributes["cohort"] == "2025"
    assert attributes["in_partnership"] is False
    assert attributes["induction_programme_choice"] == "not_yet_known"


def test_cohort_lists_eligible_and_partnered_schools_and_is_required(provider_client):
    """PV-32: eligible and partnered schools are listed for the cohort; the cohort is required."""
    eligible = SchoolFactory()
    SchoolFactory(cip_only=True)
    closed_partnered_now = SchoolFactory(closed=True)
    PartnershipFactory(school=closed_partnered_now, cohort=2024)
    closed_partnered_before = SchoolFactory(closed=True)
    PartnershipFactory(school=closed_partnered_before, cohort=2023)

    listed = provider_client.get(URL, {"filter[cohort]": "2024"})
    without_cohort = provider_client.get(URL)

    assert ids(listed) == [str(eligible.id), str(closed_partnered_now.id)]
    in_partnership = {item["id"]: item["attributes"]["in_partnership"] for item in listed.json()["data"]}
    assert in_partnership == {str(eligible.id): False, str(closed_partnered_now.id): True}
    assert without_cohort.status_code == 400
    assert without_cohort.json() == REQUIRED_COHORT


def test_show_requires_the_cohort_filter(provider_client):
    school = SchoolFactory()

    response = provider_client.get(f"{URL}/{school.id}")

    assert response.status_code == 400
    assert response.json() == REQUIRED_COHORT


@pytest.mark.parametrize("cohort", ["", "1999", "2030", "abc", "2024,2025"])
def test_empty_or_unknown_cohort_lists_nothing_and_shows_nothing(provider_client, cohort):
    school = SchoolFactory()

    listed = provider_client.get(URL, {"filter[cohort]": cohort})
    shown = provider_client.get(f"{URL}/{school.id}", {"filter[cohort]": cohort})

    assert listed.json() == {"data": []}
    assert shown.status_code == 404
    assert shown.json() == {"error": "Resource not Found"}


@pytest.mark.parametrize(
    "school_traits",
    [{"closed": True}, {"cip_only": True}, {"welsh": True}],
    ids=["closed", "cip-only", "outside-england"],
)
def test_ineligible_school_without_a_partnership_is_not_shown(provider_client, school_traits):
    school = SchoolFactory(**school_traits)

    assert ids(provider_client.get(URL, {"filter[cohort]": "2024"})) == []
    assert provider_client.get(f"{URL}/{school.id}", {"filter[cohort]": "2024"}).status_code == 404


def test_section_41_school_is_eligible_and_shown(provider_client):
    school = SchoolFactory(section_41=True)

    assert ids(provider_client.get(URL, {"filter[cohort]": "2024"})) == [str(school.id)]


def test_challenged_or_relationship_partnership_does_not_bring_in_an_ineligible_school(provider_client):
    challenged = SchoolFactory(closed=True)
    PartnershipFactory(school=challenged, cohort=2024, challenged=True)
    relationship_only = SchoolFactory(closed=True)
    PartnershipFactory(school=relationship_only, cohort=2024, relationship=True)

    assert ids(provider_client.get(URL, {"filter[cohort]": "2024"})) == []


def test_in_partnership_counts_any_unchallenged_partnership_of_the_cohort(provider_client, lead_provider):
    with_relationship = SchoolFactory(name="relationship")
    PartnershipFactory(school=with_relationship, cohort=2024, relationship=True)
    challenged = SchoolFactory(name="challenged")
    PartnershipFactory(school=challenged, cohort=2024, challenged=True)
    with_caller = SchoolFactory(name="caller")
    PartnershipFactory(school=with_caller, cohort=2024, lead_provider=lead_provider)
    other_cohort = SchoolFactory(name="other cohort")
    PartnershipFactory(school=other_cohort, cohort=2025)

    data = provider_client.get(URL, {"filter[cohort]": "2024"}).json()["data"]

    assert {item["attributes"]["name"]: item["attributes"]["in_partnership"] for item in data} == {
        "relationship": True,
        "challenged": False,
        "caller": True,
        "other cohort": False,
    }


@pytest.mark.parametrize(
    ("choice", "shown"),
    [
        (InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME, "provider_led"),
        (InductionProgrammeChoice.SCHOOL_FUNDED_FIP, "provider_led"),
        (InductionProgrammeChoice.CORE_INDUCTION_PROGRAMME, "school_led"),
        (InductionProgrammeChoice.DESIGN_OUR_OWN, "school_led"),
        (InductionProgrammeChoice.NO_EARLY_CAREER_TEACHERS, "no_early_career_teachers"),
        (InductionProgrammeChoice.NOT_YET_KNOWN, "not_yet_known"),
        (None, "not_yet_known"),
    ],
)
def test_induction_programme_choice_is_shown_under_its_published_name(provider_client, choice, shown):
    school = SchoolFactory()
    if choice is not None:
        SchoolCohortFactory(school=school, cohort=2024, induction_programme_choice=choice)

    data = provider_client.get(f"{URL}/{school.id}", {"filter[cohort]": "2024"}).json()["data"]

    assert data["attributes"]["induction_programme_choice"] == shown


def test_every_provider_sees_the_same_schools(provider_client, lead_provider):
    school = SchoolFactory()
    PartnershipFactory(school=school, cohort=2024, lead_provider=LeadProviderFactory())

    assert ids(provider_client.get(URL, {"filter[cohort]": "2024"})) == [str(school.id)]


def test_urn_filter_is_an_exact_match(provider_client):
    school = SchoolFactory(urn="100200")
    SchoolFactory(urn="100201")

    assert ids(provider_client.get(URL, {"filter[cohort]": "2024", "filter[urn]": "100200"})) == [str(school.id)]
    assert ids(provider_client.get(URL, {"filter[cohort]": "2024", "filter[urn]": "1002"})) == []
    assert len(ids(provider_client.get(URL, {"filter[cohort]": "2024", "filter[urn]": ""}))) == 2


def test_updated_since_matches_a_change_to_the_school_or_its_school_cohort(provider_client):
    with clock.frozen(at(1)):
        unchanged, school_changed, cohort_changed, other_cohort_changed = SchoolFactory.create_batch(4)
        SchoolCohortFactory(school=unchanged, cohort=2024)
    with clock.frozen(at(10)):
        school_changed.name = "Renamed"
        school_changed.save()
        SchoolCohortFactory(school=cohort_changed, cohort=2024)
        SchoolCohortFactory(school=other_cohort_changed, cohort=2025)

    response = provider_client.get(URL, {"filter[cohort]": "2024", "filter[updated_since]": "2025-01-10T00:00:00Z"})

    assert set(ids(response)) == {str(school_changed.id), str(cohort_changed.id)}
    later = provider_client.get(URL, {"filter[cohort]": "2024", "filter[updated_since]": "2025-01-10T00:00:01Z"})
    assert ids(later) == []


def test_invalid_updated_since_is_a_bad_request(provider_client):
    response = provider_client.get(URL, {"filter[cohort]": "2024", "filter[updated_since]": "2025-01-10"})

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


def test_filter_that_is_not_a_hash_is_a_bad_parameter(provider_client):
    response = provider_client.get(URL, {"filter": "abc"})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"title": "Bad parameter", "detail": "Filter must be a hash", "code": "filter.not_a_hash"}]
    }


def test_default_order_is_school_creation_and_sort_uses_the_updated_at_shown(provider_client):
    with clock.frozen(at(1)):
        first = SchoolFactory()
    with clock.frozen(at(2)):
        second = SchoolFactory()
    with clock.frozen(at(3)):
        third = SchoolFactory()
    with clock.frozen(at(4)):
        first.save()
    with clock.frozen(at(5)):
        SchoolCohortFactory(school=second, cohort=2024)  # only the school cohort changed

    def listed(**params) -> list[str]:
        return ids(provider_client.get(URL, {"filter[cohort]": "2024", **params}))

    assert listed() == [str(first.id), str(second.id), str(third.id)]
    assert listed(sort="updated_at") == [str(third.id), str(first.id), str(second.id)]
    assert listed(sort="-updated_at") == [str(second.id), str(first.id), str(third.id)]
    assert listed(sort="unknown") == listed()


def test_pages_are_cut_in_order_and_past_the_end_is_empty(provider_client):
    schools = []
    for day in range(1, 6):
        with clock.frozen(at(day)):
            schools.append(str(SchoolFactory().id))

    def page(number: int) -> list[str]:
        return ids(provider_client.get(URL, {"filter[cohort]": "2024", "page[per_page]": "2", "page[page]": number}))

    assert [page(1), page(2), page(3)] == [schools[:2], schools[2:4], schools[4:]]
    assert provider_client.get(URL, {"filter[cohort]": "2024", "page[page]": "4", "page[per_page]": "2"}).json() == {
        "data": []
    }


@pytest.mark.parametrize("school_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_school_is_not_found(provider_client, school_id):
    response = provider_client.get(f"{URL}/{school_id}", {"filter[cohort]": "2024"})

    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_schools_need_a_token(api_client):
    assert api_client.get(URL, {"filter[cohort]": "2024"}).status_code == 401


def test_query_count_does_not_grow_with_the_page(provider_client, django_assert_num_queries):
    provider_client.get("/api/v3/ping")  # the token's first use is recorded once, not per request

    def count_queries() -> int:
        # 1 token lookup, 1 page of schools (school cohort, partnership and cohort checks are joined in)
        with django_assert_num_queries(2):
            response = provider_client.get(URL, {"filter[cohort]": "2024", "page[per_page]": "3000"})
        return len(response.json()["data"])

    school = SchoolFactory()
    SchoolCohortFactory(school=school, cohort=2024)
    assert count_queries() == 1
    for _ in range(24):
        school = SchoolFactory()
        SchoolCohortFactory(school=school, cohort=2024)
        PartnershipFactory(school=school, cohort=2024)
    assert count_queries() == 25


def test_the_contracts_literal_deep_object_form_of_the_cohort_filter_is_accepted(provider_client):
    """The published document gives `filter[cohort]` the whole filter object as a deepObject schema,
    i.e. `filter[cohort][cohort]=2024`: a client following it literally gets the same schools."""
    SchoolFactory()
    usual = provider_client.get(URL, {"filter[cohort]": "2024"})
    literal = provider_client.get(URL, {"filter[cohort][cohort]": "2024"})

    assert literal.status_code == 200
    assert literal.json() == usual.json() != {"data": []}

"""GET /api/v3/partnerships/ecf and /{id} (rules §7.3, api.md §9.4, §10.3)."""

from datetime import UTC, datetime

import pytest

from ecf import clock
from participants.models import ChallengeReason
from tests.factories import (
    DeliveryPartnerFactory,
    LeadProviderFactory,
    PartnershipFactory,
    SchoolFactory,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/partnerships/ecf"


def at(day: int, hour: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, microsecond=microsecond, tzinfo=UTC)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def test_partnership_shows_every_attribute(provider_client, lead_provider):
    with clock.frozen(at(1, 9)):
        school = SchoolFactory(
            urn="012345", induction_tutor_name="Sam Tutor", induction_tutor_email="sam@school.example"
        )
        partner = DeliveryPartnerFactory(name="North Teaching Hub")
    with clock.frozen(at(2, 10)):
        partnership = PartnershipFactory(lead_provider=lead_provider, school=school, delivery_partner=partner)
    with clock.frozen(at(3, 11)):
        partner.save()  # the latest change of the three

    response = provider_client.get(f"{URL}/{partnership.id}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json() == {
        "data": {
            "id": str(partnership.id),
            "type": "partnership",
            "attributes": {
                "cohort": "2024",
                "urn": "012345",
                "school_id": str(school.id),
                "delivery_partner_id": str(partner.id),
                "delivery_partner_name": "North Teaching Hub",
                "status": "active",
                "challenged_reason": None,
                "challenged_at": None,
                "induction_tutor_name": "Sam Tutor",
                "induction_tutor_email": "sam@school.example",
                "created_at": "2025-01-02T10:00:00Z",
                "updated_at": "2025-01-03T11:00:00Z",
            },
        }
    }


def test_challenged_partnership_reads_as_challenged_with_its_reason(provider_client, lead_provider):
    """PV-31 (read half): a partnership challenged as a mistake shows status challenged."""
    with clock.frozen(at(5, 10, microsecond=123456)):
        partnership = PartnershipFactory(lead_provider=lead_provider, cohort=2024, challenged=True)

    response = provider_client.get(f"{URL}/{partnership.id}")

    attributes = response.json()["data"]["attributes"]
    assert partnership.challenge_reason == ChallengeReason.MISTAKE
    assert attributes["status"] == "challenged"
    assert attributes["challenged_reason"] == "mistake"
    # The one timestamp of the API with milliseconds (api.md §5.2).
    assert attributes["challenged_at"] == "2025-01-05T10:00:00.123Z"
    assert ids(provider_client.get(URL)) == [str(partnership.id)]


@pytest.mark.parametrize(
    ("school_fields", "email"),
    [
        ({"induction_tutor_email": "tutor@x.example", "primary_contact_email": "primary@x.example"}, "tutor@x.example"),
        (
            {"primary_contact_email": "primary@x.example", "secondary_contact_email": "second@x.example"},
            "primary@x.example",
        ),
        ({"secondary_contact_email": "second@x.example"}, "second@x.example"),
        ({}, None),
    ],
    ids=["tutor", "primary-contact", "secondary-contact", "none"],
)
def test_induction_tutor_email_falls_back_to_the_school_contacts(provider_client, lead_provider, school_fields, email):
    partnership = PartnershipFactory(lead_provider=lead_provider, school=SchoolFactory(**school_fields))

    attributes = provider_client.get(f"{URL}/{partnership.id}").json()["data"]["attributes"]

    assert attributes["induction_tutor_email"] == email
    assert attributes["induction_tutor_name"] is None


def test_updated_at_is_the_latest_of_partnership_school_and_delivery_partner(provider_client, lead_provider):
    with clock.frozen(at(1)):
        partnership = PartnershipFactory(lead_provider=lead_provider)
    with clock.frozen(at(4)):
        partnership.school.save()
    with clock.frozen(at(2)):
        partnership.save()

    attributes = provider_client.get(f"{URL}/{partnership.id}").json()["data"]["attributes"]

    assert attributes["updated_at"] == "2025-01-04T00:00:00Z"
    assert attributes["created_at"] == "2025-01-01T00:00:00Z"


def test_relationship_partnerships_are_never_shown(provider_client, lead_provider):
    relationship = PartnershipFactory(lead_provider=lead_provider, relationship=True)

    assert ids(provider_client.get(URL)) == []
    assert provider_client.get(f"{URL}/{relationship.id}").status_code == 404


def test_another_providers_partnership_is_invisible(provider_client, lead_provider):
    mine = PartnershipFactory(lead_provider=lead_provider)
    theirs = PartnershipFactory(lead_provider=LeadProviderFactory())

    assert ids(provider_client.get(URL)) == [str(mine.id)]
    response = provider_client.get(f"{URL}/{theirs.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_cohort_filter_takes_a_list(provider_client, lead_provider):
    by_cohort = {year: PartnershipFactory(lead_provider=lead_provider, cohort=year) for year in (2021, 2023, 2024)}

    def listed(cohort: str) -> set[str]:
        return set(ids(provider_client.get(URL, {"filter[cohort]": cohort})))

    assert listed("2024") == {str(by_cohort[2024].id)}
    assert listed("2021,2024") == {str(by_cohort[2021].id), str(by_cohort[2024].id)}
    assert listed("2030") == set()
    assert listed("abc") == set()
    # Absent or empty: every cohort after 2020.
    assert listed("") == set(ids(provider_client.get(URL))) == {str(p.id) for p in by_cohort.values()}


def test_delivery_partner_filter_takes_a_list_and_ignores_non_uuids(provider_client, lead_provider):
    first, second, third = (PartnershipFactory(lead_provider=lead_provider) for _ in range(3))

    def listed(value: str) -> set[str]:
        return set(ids(provider_client.get(URL, {"filter[delivery_partner_id]": value})))

    assert listed(str(first.delivery_partner_id)) == {str(first.id)}
    assert listed(f"{first.delivery_partner_id},{third.delivery_partner_id}") == {str(first.id), str(third.id)}
    assert listed(f"nonsense,{second.delivery_partner_id}") == {str(second.id)}
    assert listed("nonsense") == set()
    assert listed("") == {str(first.id), str(second.id), str(third.id)}


def test_updated_since_matches_a_change_to_the_partnership_school_or_delivery_partner(provider_client, lead_provider):
    with clock.frozen(at(1)):
        unchanged, changed, school_changed, partner_changed = (
            PartnershipFactory(lead_provider=lead_provider) for _ in range(4)
        )
    with clock.frozen(at(10)):
        changed.save()
        school_changed.school.save()
        partner_changed.delivery_partner.save()

    listed = set(ids(provider_client.get(URL, {"filter[updated_since]": "2025-01-10T00:00:00Z"})))

    assert listed == {str(changed.id), str(school_changed.id), str(partner_changed.id)}
    assert ids(provider_client.get(URL, {"filter[updated_since]": "2025-01-10T00:00:01Z"})) == []


def test_invalid_updated_since_is_a_bad_request(provider_client):
    response = provider_client.get(URL, {"filter[updated_since]": "yesterday"})

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


def test_default_order_is_creation_and_updated_at_sort_uses_the_value_shown(provider_client, lead_provider):
    with clock.frozen(at(1)):
        first = PartnershipFactory(lead_provider=lead_provider)
    with clock.frozen(at(2)):
        second = PartnershipFactory(lead_provider=lead_provider)
    with clock.frozen(at(3)):
        third = PartnershipFactory(lead_provider=lead_provider)
    with clock.frozen(at(4)):
        first.school.save()  # only the school changed: the partnership row is untouched

    def listed(**params) -> list[str]:
        return ids(provider_client.get(URL, params))

    assert listed() == [str(first.id), str(second.id), str(third.id)]
    assert listed(sort="-created_at") == [str(third.id), str(second.id), str(first.id)]
    assert listed(sort="updated_at") == [str(second.id), str(third.id), str(first.id)]
    assert listed(sort="-updated_at") == [str(first.id), str(third.id), str(second.id)]
    assert listed(sort="bogus") == listed()


def test_pages_are_cut_in_order_and_past_the_end_is_empty(provider_client, lead_provider):
    partnerships = []
    for day in range(1, 4):
        with clock.frozen(at(day)):
            partnerships.append(str(PartnershipFactory(lead_provider=lead_provider).id))

    def page(number: int):
        return provider_client.get(URL, {"page[per_page]": "2", "page[page]": number})

    assert ids(page(1)) == partnerships[:2]
    assert ids(page(2)) == partnerships[2:]
    assert page(3).json() == {"data": []}


def test_filter_that_is_not_a_hash_is_a_bad_parameter(provider_client):
    response = provider_client.get(URL, {"filter": "abc"})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"title": "Bad parameter", "detail": "Filter must be a hash", "code": "filter.not_a_hash"}]
    }


@pytest.mark.parametrize("partnership_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_partnership_is_not_found(provider_client, partnership_id):
    assert provider_client.get(f"{URL}/{partnership_id}").status_code == 404


def test_partnerships_need_a_token(api_client):
    assert api_client.get(URL).status_code == 401


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    provider_client.get("/api/v3/ping")  # the token's first use is recorded once, not per request

    def count_queries() -> int:
        # 1 token lookup, 1 page of partnerships (school and delivery partner joined in)
        with django_assert_num_queries(2):
            response = provider_client.get(URL, {"page[per_page]": "3000"})
        return len(response.json()["data"])

    PartnershipFactory(lead_provider=lead_provider)
    assert count_queries() == 1
    for _ in range(24):
        PartnershipFactory(lead_provider=lead_provider, challenged=True)
    assert count_queries() == 25

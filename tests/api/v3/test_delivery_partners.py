"""GET /api/v3/delivery-partners and /{id} (rules §8.3, api.md §9.6, §10.3)."""

from datetime import UTC, datetime

import pytest

from ecf import clock
from tests.factories import DeliveryPartnerFactory, LeadProviderFactory, ProviderRelationshipFactory

pytestmark = pytest.mark.django_db
URL = "/api/v3/delivery-partners"


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def partner_of(lead_provider, *cohorts, **fields):
    partner = DeliveryPartnerFactory(**fields)
    for cohort in cohorts:
        ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=partner, cohort=cohort)
    return partner


def test_delivery_partner_shows_its_cohorts_with_the_provider(provider_client, lead_provider):
    with clock.frozen(at(1, 9)):
        partner = partner_of(lead_provider, 2023, 2021, name="North Teaching Hub")
    with clock.frozen(at(3, 12)):
        partner.save()
    # Another provider's relationship with the same partner is not the caller's business.
    ProviderRelationshipFactory(lead_provider=LeadProviderFactory(), delivery_partner=partner, cohort=2025)

    response = provider_client.get(f"{URL}/{partner.id}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json() == {
        "data": {
            "id": str(partner.id),
            "type": "delivery-partner",
            "attributes": {
                "name": "North Teaching Hub",
                "created_at": "2025-01-01T09:00:00Z",
                "updated_at": "2025-01-03T12:00:00Z",
                "cohort": ["2021", "2023"],
            },
        }
    }


def test_list_shows_only_partners_related_to_the_provider(provider_client, lead_provider):
    mine = partner_of(lead_provider, 2024)
    theirs = partner_of(LeadProviderFactory(), 2024)
    DeliveryPartnerFactory()  # no relationship at all

    assert ids(provider_client.get(URL)) == [str(mine.id)]
    assert provider_client.get(f"{URL}/{theirs.id}").status_code == 404


def test_cohort_filter_picks_partners_but_their_cohorts_stay_complete(provider_client, lead_provider):
    both = partner_of(lead_provider, 2022, 2024)
    only_2022 = partner_of(lead_provider, 2022)

    in_2024 = provider_client.get(URL, {"filter[cohort]": "2024"})
    in_either = provider_client.get(URL, {"filter[cohort]": "2024,2022"})

    assert ids(in_2024) == [str(both.id)]
    assert in_2024.json()["data"][0]["attributes"]["cohort"] == ["2022", "2024"]
    assert ids(in_either) == [str(both.id), str(only_2022.id)]


@pytest.mark.parametrize("cohort", ["2030", "abc"])
def test_unknown_cohort_lists_nothing(provider_client, lead_provider, cohort):
    partner_of(lead_provider, 2024)

    assert provider_client.get(URL, {"filter[cohort]": cohort}).json() == {"data": []}


@pytest.mark.parametrize("params", [{}, {"filter[cohort]": ""}], ids=["absent", "empty"])
def test_without_cohort_filter_every_cohort_since_2021_counts(provider_client, lead_provider, params):
    partner = partner_of(lead_provider, 2021)

    assert ids(provider_client.get(URL, params)) == [str(partner.id)]


def test_show_finds_a_partner_related_in_any_cohort(provider_client, lead_provider):
    partner = partner_of(lead_provider, 2021)

    response = provider_client.get(f"{URL}/{partner.id}", {"filter[cohort]": "2025"})

    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["cohort"] == ["2021"]


def test_default_order_is_creation_and_sort_takes_published_keys(provider_client, lead_provider):
    with clock.frozen(at(1)):
        first = partner_of(lead_provider, 2024)
    with clock.frozen(at(2)):
        second = partner_of(lead_provider, 2024)
    with clock.frozen(at(3)):
        third = partner_of(lead_provider, 2024)
    with clock.frozen(at(4)):
        first.save()

    def listed(**params) -> list[str]:
        return ids(provider_client.get(URL, params))

    assert listed() == [str(first.id), str(second.id), str(third.id)]
    assert listed(sort="-created_at") == [str(third.id), str(second.id), str(first.id)]
    assert listed(sort="updated_at") == [str(second.id), str(third.id), str(first.id)]
    assert listed(sort="-updated_at,created_at") == [str(first.id), str(third.id), str(second.id)]
    assert listed(sort="name") == listed()


def test_pages_are_cut_in_order_and_past_the_end_is_empty(provider_client, lead_provider):
    partners = []
    for day in range(1, 4):
        with clock.frozen(at(day)):
            partners.append(str(partner_of(lead_provider, 2024).id))

    def page(number: int):
        return provider_client.get(URL, {"page[per_page]": "2", "page[page]": number})

    assert ids(page(1)) == partners[:2]
    assert ids(page(2)) == partners[2:]
    assert page(3).json() == {"data": []}


def test_bad_page_is_a_bad_request(provider_client):
    response = provider_client.get(URL, {"page[per_page]": "0"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["title"] == "Bad request"


def test_filter_that_is_not_a_hash_is_a_bad_parameter(provider_client, lead_provider):
    partner = partner_of(lead_provider, 2024)

    for url in (URL, f"{URL}/{partner.id}"):
        response = provider_client.get(url, {"filter": "abc"})
        assert response.status_code == 400
        assert response.json() == {
            "errors": [{"title": "Bad parameter", "detail": "Filter must be a hash", "code": "filter.not_a_hash"}]
        }


@pytest.mark.parametrize("partner_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_partner_is_not_found(provider_client, partner_id):
    response = provider_client.get(f"{URL}/{partner_id}")

    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_delivery_partners_need_a_token(api_client):
    assert api_client.get(URL).status_code == 401


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    provider_client.get("/api/v3/ping")  # the token's first use is recorded once, not per request

    def count_queries() -> int:
        # 1 token lookup, 1 page of partners, 1 cohorts of the partners on the page
        with django_assert_num_queries(3):
            response = provider_client.get(URL, {"page[per_page]": "3000"})
        return len(response.json()["data"])

    partner_of(lead_provider, 2024)
    assert count_queries() == 1
    for _ in range(24):
        partner_of(lead_provider, 2023, 2024, 2025)
    assert count_queries() == 25

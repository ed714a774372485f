"""GET /api/v3/statements and /{id} (rules §5.5, api.md §9.7, §10.3, §16.17)."""

from datetime import UTC, datetime

import pytest

from ecf import clock
from tests.factories import LeadProviderFactory, StatementFactory

pytestmark = pytest.mark.django_db
URL = "/api/v3/statements"


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def statement(lead_provider, month: int, *, year: int = 2025, cohort: int = 2024, **fields):
    return StatementFactory(lead_provider=lead_provider, cohort=cohort, year=year, month=month, **fields)


def test_statement_shows_every_attribute(provider_client, lead_provider):
    with clock.frozen(at(1, 9)):
        paid = statement(lead_provider, 5, year=2024, cohort=2023, paid=True)
    with clock.frozen(at(2, 10)):
        paid.save()

    response = provider_client.get(f"{URL}/{paid.id}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json() == {
        "data": {
            "id": str(paid.id),
            "type": "statement",
            "attributes": {
                "month": "May",
                "year": "2024",
                "type": "ecf",
                "cohort": "2023",
                "cut_off_date": "2024-04-30",
                "payment_date": "2024-05-25",
                "paid": True,
                "created_at": "2025-01-01T09:00:00Z",
                "updated_at": "2025-01-02T10:00:00Z",
            },
        }
    }


@pytest.mark.parametrize("status", ["open", "payable"])
def test_statement_not_yet_paid_says_so(provider_client, lead_provider, status):
    unpaid = statement(lead_provider, 3, status=status)

    assert provider_client.get(f"{URL}/{unpaid.id}").json()["data"]["attributes"]["paid"] is False


def test_list_holds_only_output_statements_but_show_opens_any(provider_client, lead_provider):
    output = statement(lead_provider, 3)
    service_fee_only = statement(lead_provider, 4, non_output=True)

    assert ids(provider_client.get(URL)) == [str(output.id)]
    shown = provider_client.get(f"{URL}/{service_fee_only.id}")
    assert shown.status_code == 200
    assert shown.json()["data"]["id"] == str(service_fee_only.id)


def test_list_is_ordered_by_payment_date(provider_client, lead_provider):
    with clock.frozen(at(1)):
        june = statement(lead_provider, 6)
    with clock.frozen(at(2)):
        march = statement(lead_provider, 3)
        next_january = statement(lead_provider, 1, year=2026)
        march_other_cohort = statement(lead_provider, 3, cohort=2023)

    listed = ids(provider_client.get(URL))

    assert listed[:2] == sorted([str(march.id), str(march_other_cohort.id)])  # same day: by id
    assert listed[2:] == [str(june.id), str(next_january.id)]
    assert ids(provider_client.get(URL, {"sort": "-payment_date"})) == listed  # no sort on this list


def test_another_providers_statements_are_invisible(provider_client, lead_provider):
    mine = statement(lead_provider, 3)
    theirs = statement(LeadProviderFactory(), 3)

    assert ids(provider_client.get(URL)) == [str(mine.id)]
    response = provider_client.get(f"{URL}/{theirs.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_cohort_filter_takes_a_list(provider_client, lead_provider):
    by_cohort = {year: statement(lead_provider, 3, cohort=year) for year in (2021, 2023, 2024)}

    def listed(cohort: str) -> set[str]:
        return set(ids(provider_client.get(URL, {"filter[cohort]": cohort})))

    assert listed("2023") == {str(by_cohort[2023].id)}
    assert listed("2021,2024") == {str(by_cohort[2021].id), str(by_cohort[2024].id)}
    assert listed("2030") == set()
    assert listed("abc") == set()
    # Absent or empty: every cohort after 2020.
    assert listed("") == set(ids(provider_client.get(URL))) == {str(s.id) for s in by_cohort.values()}


@pytest.mark.parametrize("statement_type", ["ecf", ""])
def test_type_filter_ecf_or_blank_shows_ecf_statements(provider_client, lead_provider, statement_type):
    ecf = statement(lead_provider, 3)

    assert ids(provider_client.get(URL, {"filter[type]": statement_type})) == [str(ecf.id)]
    assert provider_client.get(f"{URL}/{ecf.id}", {"filter[type]": statement_type}).status_code == 200


@pytest.mark.parametrize("statement_type", ["npq", "ECF", "anything"])
def test_type_filter_other_than_ecf_finds_nothing(provider_client, lead_provider, statement_type):
    ecf = statement(lead_provider, 3)

    assert provider_client.get(URL, {"filter[type]": statement_type}).json() == {"data": []}
    assert provider_client.get(f"{URL}/{ecf.id}", {"filter[type]": statement_type}).status_code == 404


def test_updated_since_is_inclusive(provider_client, lead_provider):
    with clock.frozen(at(1)):
        statement(lead_provider, 3)
        changed = statement(lead_provider, 4)
    with clock.frozen(at(10)):
        changed.save()

    assert ids(provider_client.get(URL, {"filter[updated_since]": "2025-01-10T00:00:00Z"})) == [str(changed.id)]
    assert ids(provider_client.get(URL, {"filter[updated_since]": "2025-01-10T00:00:01Z"})) == []
    assert len(ids(provider_client.get(URL, {"filter[updated_since]": ""}))) == 2


def test_invalid_updated_since_is_a_bad_request(provider_client):
    response = provider_client.get(URL, {"filter[updated_since]": "2025-01-10"})

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


def test_pages_are_cut_in_order_and_past_the_end_is_empty(provider_client, lead_provider):
    statements = [str(statement(lead_provider, month).id) for month in (1, 2, 3)]

    def page(number: int):
        return provider_client.get(URL, {"page[per_page]": "2", "page[page]": number})

    assert ids(page(1)) == statements[:2]
    assert ids(page(2)) == statements[2:]
    assert page(3).json() == {"data": []}


def test_filter_that_is_not_a_hash_is_a_bad_parameter(provider_client, lead_provider):
    shown = statement(lead_provider, 3)

    for url in (URL, f"{URL}/{shown.id}"):
        response = provider_client.get(url, {"filter": "abc"})
        assert response.status_code == 400
        assert response.json() == {
            "errors": [{"title": "Bad parameter", "detail": "Filter must be a hash", "code": "filter.not_a_hash"}]
        }


@pytest.mark.parametrize("statement_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_statement_is_not_found(provider_client, statement_id):
    assert provider_client.get(f"{URL}/{statement_id}").status_code == 404


def test_statements_need_a_token(api_client):
    assert api_client.get(URL).status_code == 401


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    provider_client.get("/api/v3/ping")  # the token's first use is recorded once, not per request

    def count_queries() -> int:
        # 1 token lookup, 1 page of statements
        with django_assert_num_queries(2):
            response = provider_client.get(URL, {"page[per_page]": "3000"})
        return len(response.json()["data"])

    statement(lead_provider, 1)
    assert count_queries() == 1
    for month in range(2, 13):
        for cohort in (2022, 2023):
            statement(lead_provider, month, cohort=cohort, paid=True)
    assert count_queries() == 23

"""The `filter[...]` parameters as the FilterSets read them (api/filters.py), where the contract's
behaviour is more than one filter's value rule: which error a request with two bad parameters gets,
a filter never read on a path, the literal deepObject reading on every endpoint, repeated keys.

Each endpoint reads its filters one at a time, interleaved with paging, so its first error is that
of the first parameter it reads: the `filter` hash, then (v3) the page, then the values in the order
the endpoint reads them. Validating every filter up front would change the answer to these requests.
"""

from datetime import UTC, datetime

import pytest

from ecf import clock
from tests.factories import StatementFactory

pytestmark = pytest.mark.django_db

NOT_A_HASH = {"title": "Bad parameter", "detail": "Filter must be a hash", "code": "filter.not_a_hash"}
BAD_PAGE = {
    "title": "Bad request",
    "detail": (
        "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number (equal and more than 1)"
    ),
    "code": "page.invalid",
}
BAD_UPDATED_SINCE = {
    "title": "Bad request",
    "detail": "The filter '#/updated_since' must be a valid RCF3339 date",
    "code": "filter.invalid_date",
}
BAD_TRAINING_STATUS = {
    "title": "Bad request",
    "detail": 'The filter \'#/training_status\' must be ["active", "deferred", "withdrawn"]',
    "code": "filter.invalid_training_status",
}
COHORT_MISSING = {
    "title": "Bad parameter",
    "detail": "The filter '#/cohort' must be included in your request",
    "code": "filter.cohort_required",
}
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)


def errors(response) -> list[dict]:
    assert response.status_code == 400
    return response.json()["errors"]


def test_a_filter_that_is_not_a_hash_is_refused_before_a_bad_page(provider_client):
    response = provider_client.get("/api/v3/participants/ecf", {"filter": "abc", "page[page]": "0"})

    assert errors(response) == [NOT_A_HASH]


@pytest.mark.parametrize(
    ("path", "bad_filter"),
    [
        ("/api/v3/participants/ecf", {"filter[training_status]": "asleep"}),
        ("/api/v3/participant-declarations", {"filter[updated_since]": "yesterday"}),
        ("/api/v3/statements", {"filter[updated_since]": "yesterday"}),
        ("/api/v3/schools/ecf", {"filter[cohort]": "2024", "filter[updated_since]": "yesterday"}),
    ],
)
def test_v3_lists_check_the_page_before_the_filter_values(provider_client, path, bad_filter):
    response = provider_client.get(path, {**bad_filter, "page[page]": "0"})

    assert errors(response) == [BAD_PAGE]


@pytest.mark.parametrize("path", ["/api/v1/participants/ecf", "/api/v2/participant-declarations"])
def test_v1_and_v2_lists_check_the_filter_values_before_the_page(provider_client, path):
    response = provider_client.get(path, {"filter[updated_since]": "yesterday", "page[page]": "0"})

    assert errors(response) == [BAD_UPDATED_SINCE]


def test_a_school_list_without_its_cohort_is_refused_for_that_before_a_bad_page(provider_client):
    response = provider_client.get("/api/v3/schools/ecf", {"page[page]": "0", "filter[updated_since]": "yesterday"})

    assert errors(response) == [COHORT_MISSING]


def test_the_first_filter_read_gives_the_error_when_two_are_bad(provider_client):
    """v3 participants read the cohort, the training status, then updated_since."""
    response = provider_client.get(
        "/api/v3/participants/ecf", {"filter[updated_since]": "yesterday", "filter[training_status]": "asleep"}
    )

    assert errors(response) == [BAD_TRAINING_STATUS]


def test_a_school_list_for_a_cohort_that_cannot_exist_answers_nothing_without_reading_the_urn(provider_client):
    response = provider_client.get("/api/v3/schools/ecf", {"filter[cohort]": "next", "filter[urn]": "1\x002"})

    assert response.status_code == 200
    assert response.json() == {"data": []}


def test_a_statement_show_reads_only_the_type_filter(provider_client, lead_provider):
    statement = StatementFactory(lead_provider=lead_provider, cohort=2024)

    with clock.frozen(NOW):
        response = provider_client.get(f"/api/v3/statements/{statement.id}", {"filter[updated_since]": "yesterday"})

    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(statement.id)


def test_the_literal_deep_object_reading_works_on_every_endpoint(provider_client, lead_provider):
    StatementFactory(lead_provider=lead_provider, cohort=2024)

    with clock.frozen(NOW):
        literal = provider_client.get("/api/v3/statements", {"filter[cohort][cohort]": "2023"})
        usual = provider_client.get("/api/v3/statements", {"filter[cohort]": "2023"})
        unfiltered = provider_client.get("/api/v3/statements")

    assert literal.json() == usual.json() == {"data": []}
    assert len(unfiltered.json()["data"]) == 1


def test_a_repeated_filter_is_read_from_its_last_value(provider_client, lead_provider):
    StatementFactory(lead_provider=lead_provider, cohort=2024)

    with clock.frozen(NOW):
        last_matches = provider_client.get("/api/v3/statements?filter[cohort]=2023&filter[cohort]=2024")
        last_misses = provider_client.get("/api/v3/statements?filter[cohort]=2024&filter[cohort]=2023")

    assert len(last_matches.json()["data"]) == 1
    assert last_misses.json() == {"data": []}

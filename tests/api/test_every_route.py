"""Behaviour every route shares, written once and run over every operation of every version's
generated schema (so a new route is covered the moment it is documented)."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecf import clock
from participants.models import ContractFlavour, LeadProvider
from participants.tokens import api_token_create
from tests.factories import LeadProviderFactory
from tests.openapi import Document, load
from tests.worlds import build_world

pytestmark = pytest.mark.django_db

# Each published document; `v3-rect` is the rewrite's v3, called by a rewrite-flavoured provider.
VERSIONS = ("v1", "v2", "v3", "v3-rect")
REWRITE = "v3-rect"
# Query parameters an operation cannot be called without.
REQUIRED_QUERY = {
    "/api/v3/schools/ecf": {"filter[cohort]": "2024"},
    "/api/v3/schools/ecf/{}": {"filter[cohort]": "2024"},
    "/api/v3/schools": {"filter[cohort]": "2024"},
    "/api/v3/schools/{}": {"filter[cohort]": "2024"},
}
NOT_FOUND = {
    "v3-rect": {
        "errors": [
            {
                "title": "Resource not found",
                "detail": "Nothing could be found for the provided details",
                "code": "resource.not_found",
            }
        ]
    }
}
PAGE_ERROR = {
    "v3-rect": "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid positive number",
}
ORIGINAL_PAGE_ERROR = (
    "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number (equal and more than 1)"
)


@pytest.fixture
def flavoured(lead_provider, version):
    """The calling provider speaks the contract of the document under test."""
    if version == REWRITE:
        LeadProvider.objects.filter(pk=lead_provider.pk).update(contract_flavour=ContractFlavour.REWRITE)
    return version


PLACEHOLDER_ID = "6f1c2a3e-0000-4000-8000-000000000000"


def operations(methods=None):
    for version in VERSIONS:
        for (method, path), operation in sorted(Document(load(f"{version}.json")).operations().items()):
            if methods is None or method in methods:
                label = f"{method} {path}" if version != REWRITE else f"{REWRITE} {method} {path}"
                yield pytest.param(version, method, path, operation, id=label)


def list_operations():
    """GET operations of collections (no path id), with the filter parameter when they take one."""
    for param in operations({"GET"}):
        _, method, path, operation = param.values
        if "{}" not in path and any(p.get("name") == "page" for p in operation.get("parameters", [])):
            yield param


def show_operations():
    for param in operations({"GET"}):
        _, _, path, _ = param.values
        if path.endswith("{}") or path.endswith("{}/transfers"):
            yield param


def call(client, method: str, path: str, query: dict | None = None):
    url = path.replace("{}", PLACEHOLDER_ID)
    send = getattr(client, method.lower())
    if method == "GET":
        return send(url, query or {})
    return send(url, {"data": {"type": "x", "attributes": {}}}, format="json")


@pytest.mark.parametrize(("version", "method", "path", "operation"), operations())
def test_every_route_refuses_a_missing_token(api_client, version, method, path, operation):
    response = call(api_client, method, path)

    assert response.status_code == 401
    assert response.json() == {"error": "HTTP Token: Access denied"}
    assert response["Content-Type"] == "application/vnd.api+json"


@pytest.mark.parametrize(("version", "method", "path", "operation"), operations())
def test_every_route_refuses_a_wrong_token(api_client, version, method, path, operation):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")

    assert call(api_client, method, path).status_code == 401


@pytest.mark.parametrize(("version", "method", "path", "operation"), list_operations())
def test_every_list_refuses_a_filter_that_is_not_a_hash(provider_client, flavoured, method, path, operation):
    response = provider_client.get(path, {"filter": "abc"})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"title": "Bad parameter", "detail": "Filter must be a hash", "code": "filter.not_a_hash"}]
    }


@pytest.mark.parametrize(("version", "method", "path", "operation"), list_operations())
@pytest.mark.parametrize(
    "page", [{"page[page]": "0"}, {"page[per_page]": "0"}, {"page[per_page]": ""}, {"page[page]": "-1"}]
)
def test_every_list_refuses_pages_below_one(provider_client, flavoured, method, path, operation, page):
    response = provider_client.get(path, {**REQUIRED_QUERY.get(path, {}), **page})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": PAGE_ERROR.get(flavoured, ORIGINAL_PAGE_ERROR),
                "code": "page.invalid",
            }
        ]
    }


@pytest.mark.parametrize(("version", "method", "path", "operation"), list_operations())
def test_every_list_is_empty_past_the_last_page(provider_client, lead_provider, flavoured, method, path, operation):
    now = build_world(lead_provider)
    with clock.frozen(now):
        response = provider_client.get(path, {**REQUIRED_QUERY.get(path, {}), "page[page]": "500"})

    assert response.status_code == 200
    assert response.json() == {"data": []}


@pytest.mark.parametrize(("version", "method", "path", "operation"), show_operations())
def test_every_show_answers_404_for_unknown_and_malformed_ids(provider_client, flavoured, method, path, operation):
    for record_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = provider_client.get(path.replace("{}", record_id), REQUIRED_QUERY.get(path, {}))
        assert response.status_code == 404
        assert response.json() == NOT_FOUND.get(flavoured, {"error": "Resource not Found"})


def test_routing_404_for_unknown_paths_uses_the_contract_body(provider_client):
    for url in ("/api/v3/npq-applications", "/api/v4/participants/ecf", "/api/v2/participants/ecf/x/withdraw/x"):
        response = provider_client.get(url)
        assert response.status_code == 404
        assert response.json() == {"error": "Resource not Found"}


def test_routing_404_for_a_rewrite_flavoured_provider_uses_the_rewrite_body(provider_client, lead_provider):
    LeadProvider.objects.filter(pk=lead_provider.pk).update(contract_flavour=ContractFlavour.REWRITE)
    for url in ("/api/v3/npq-applications", "/api/v3/participants/ecf", "/api/v3/partnerships/ecf"):
        response = provider_client.get(url)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND[REWRITE]


@pytest.mark.parametrize(("version", "method", "path", "operation"), list_operations())
def test_another_providers_records_never_appear(api_client, lead_provider, version, method, path, operation):
    """Lists of a provider with nothing of its own show none of another provider's world
    (schools excepted: they are the same for every provider, rules §8.1)."""
    now = build_world(lead_provider)
    stranger = LeadProviderFactory(
        contract_flavour=ContractFlavour.REWRITE if version == REWRITE else ContractFlavour.ORIGINAL
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=stranger)}")

    with clock.frozen(now):
        response = api_client.get(path, REQUIRED_QUERY.get(path, {}))

    assert response.status_code == 200
    if "/schools" not in path:
        assert response.json() == {"data": []}


@pytest.mark.parametrize(("version", "method", "path", "operation"), list_operations())
def test_query_count_of_every_list_is_the_same_for_one_world_and_for_three(
    provider_client, lead_provider, flavoured, method, path, operation
):
    """The number of queries of a list does not grow with the rows on the page."""
    provider_client.get("/api/v3/ping")  # the token's first use is recorded once; not part of the count

    def queries_and_rows() -> tuple[int, int]:
        with clock.frozen(now), CaptureQueriesContext(connection) as captured:
            response = provider_client.get(path, {**REQUIRED_QUERY.get(path, {}), "page[per_page]": "3000"})
        assert response.status_code == 200
        return len(captured), len(response.json()["data"])

    now = build_world(lead_provider)
    one_world = queries_and_rows()
    build_world(lead_provider)
    build_world(lead_provider)
    three_worlds = queries_and_rows()

    assert three_worlds[0] == one_world[0]
    assert three_worlds[1] > one_world[1]


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_api_paths_answer_json_404_whatever_debug_says(provider_client, settings, debug):
    settings.DEBUG = debug

    response = provider_client.put("/api/v2/participants/6f1c2a3e-0000-4000-8000-000000000000/withdraw")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json() == {"error": "Resource not Found"}

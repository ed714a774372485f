"""How paths and methods outside the routes' own are answered (api.md §1, §7; issue 14): the `.json`
suffix changes nothing, a write to an unknown path is the contract's JSON 404 (never Django's CSRF
page), and OPTIONS says which methods a route allows without describing our internals."""

import uuid

import pytest
from rest_framework.test import APIClient

from tests.factories import enrolled_participant

pytestmark = pytest.mark.django_db
NOT_FOUND = {"error": "Resource not Found"}


@pytest.fixture
def ect(lead_provider):
    return enrolled_participant(lead_provider=lead_provider)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/participants/ecf",
        "/api/v2/participant-declarations",
        "/api/v3/participants/ecf?page[per_page]=1",
        "/api/v3/schools/ecf?filter[cohort]=2024",
        "/api/v3/ping",
    ],
)
def test_a_json_suffix_changes_nothing(provider_client, ect, path):
    bare, _, query = path.partition("?")
    with_suffix = f"{bare}.json" + (f"?{query}" if query else "")

    plain, suffixed = provider_client.get(path), provider_client.get(with_suffix)

    assert (suffixed.status_code, suffixed.content) == (plain.status_code, plain.content)
    assert plain.status_code == 200


def test_a_json_suffix_on_a_record_path_finds_the_record(provider_client, ect):
    response = provider_client.get(f"/api/v3/participants/ecf/{ect.participant.id}.json")

    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(ect.participant.id)


def test_a_json_suffix_on_an_action_runs_it(provider_client, ect):
    body = {"data": {"type": "participant-withdraw", "attributes": {"course_identifier": "ecf-induction"}}}
    response = provider_client.put(f"/api/v3/participants/ecf/{ect.participant.id}/withdraw.json", body, format="json")

    assert response.status_code == 422  # validated as the action (no reason), not a 404
    assert response.json()["errors"][0]["title"] == "reason"


def test_the_schema_documents_keep_their_json_name(api_client):
    assert api_client.get("/api/v3/schema.json").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v3/nothing"),
        ("put", "/api/v2/participants/{id}/withdraw"),  # v1's legacy action route, absent in v2
        ("patch", "/api/v1/nowhere/at/all"),
        ("delete", "/api/v3/participants/ecf/{id}/nothing"),
    ],
)
def test_a_write_to_an_unknown_path_is_the_contracts_json_404(provider_client, method, path):
    client = APIClient(enforce_csrf_checks=True)  # as a browser-less client really is: no CSRF token
    client.credentials(**provider_client._credentials)

    response = getattr(client, method)(path.format(id=uuid.uuid4()), {"a": 1}, format="json")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert response["Content-Type"] == "application/vnd.api+json"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v3/participants/ecf", {"GET", "HEAD", "OPTIONS"}),
        ("/api/v3/participant-declarations", {"GET", "POST", "HEAD", "OPTIONS"}),
        ("/api/v3/participants/ecf/{id}/withdraw", {"PUT", "OPTIONS"}),
    ],
)
def test_options_names_the_allowed_methods_and_nothing_else(provider_client, ect, path, allowed):
    response = provider_client.options(path.format(id=ect.participant.id))

    assert response.status_code == 200
    assert response.content == b""
    assert {method.strip() for method in response["Allow"].split(",")} == allowed


def test_options_needs_a_token_like_every_other_method(api_client):
    assert api_client.options("/api/v3/participants/ecf").status_code == 401

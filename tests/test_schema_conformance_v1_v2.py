"""Real v1 and v2 responses validate against our own generated schemas (openapi/v1.json, v2.json),
the twin of tests/test_schema_conformance.py for v3: every JSON GET of each version over the world
of tests/worlds.py, every write (POST, void, the actions, v1's legacy action routes too), the error
bodies each operation documents, and the CSV operations' documented media type."""

from datetime import UTC, datetime

import jsonschema
import pytest

from ecf import clock
from tests.factories import DeclarationFactory, StatementFactory, enrolled_participant
from tests.openapi import Document, load
from tests.test_schema_conformance import FORMATS
from tests.worlds import build_world

pytestmark = pytest.mark.django_db
VERSIONS = ("v1", "v2")


def json_get_lists(version: str) -> list[str]:
    """GET operations without a path id whose 200 is JSON (the CSV lists are checked apart)."""
    document = Document(load(f"{version}.json"))
    return [
        path
        for (method, path), operation in document.operations().items()
        if method == "GET" and "{}" not in path and document.response_schema(operation, "200") is not None
    ]


def cases_of_lists():
    for version in VERSIONS:
        for path in json_get_lists(version):
            if not path.endswith("/ping"):
                yield pytest.param(version, path, id=f"{version} {path}")


def check(version: str, method: str, path: str, response, status: int = 200) -> None:
    assert response.status_code == status, response.content
    document = Document(load(f"{version}.json"))
    operation = document.operations()[(method, path)]
    schema = document.json_schema(document.response_schema(operation, str(status)))
    jsonschema.validate(response.json(), schema, format_checker=FORMATS)


@pytest.fixture
def world(lead_provider):
    return build_world(lead_provider)


@pytest.mark.parametrize(("version", "path"), cases_of_lists())
def test_list_and_show_responses_validate_against_our_schema(provider_client, world, version, path):
    with clock.frozen(world):
        listing = provider_client.get(path)
        check(version, "GET", path, listing)
        items = listing.json()["data"]
        assert len(items) > 3, f"the world has too little for {path}"
        for item in items:  # every state and every kind of record, not just the first
            check(version, "GET", f"{path}/{{}}", provider_client.get(f"{path}/{item['id']}"))


@pytest.mark.parametrize("version", VERSIONS)
def test_error_bodies_validate_against_our_schema(api_client, provider_client, version):
    participants = f"/api/{version}/participants/ecf"
    declarations = f"/api/{version}/participant-declarations"

    check(version, "GET", participants, api_client.get(participants), 401)
    check(
        version, "GET", participants, provider_client.get(participants, {"filter[cohort]": "x", "page[page]": "0"}), 400
    )
    check(version, "GET", f"{participants}/{{}}", provider_client.get(f"{participants}/not-a-uuid"), 404)
    check(version, "GET", declarations, provider_client.get(declarations, {"filter[participant_id]": "x"}), 400)
    check(version, "GET", f"{declarations}/{{}}", provider_client.get(f"{declarations}/not-a-uuid"), 404)
    check(version, "POST", declarations, provider_client.post(declarations, {"data": {}}, format="json"), 422)
    check(version, "POST", declarations, provider_client.post(declarations, {}, format="json"), 400)
    check(version, "PUT", f"{declarations}/{{}}/void", provider_client.put(f"{declarations}/not-a-uuid/void"), 404)
    check(
        version,
        "PUT",
        f"{participants}/{{}}/withdraw",
        provider_client.put(f"{participants}/not-a-uuid/withdraw", {"data": {}}, format="json"),
        422,
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_write_responses_validate_against_our_schema(provider_client, lead_provider, version):
    declarations = f"/api/{version}/participant-declarations"
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        ect = enrolled_participant(lead_provider=lead_provider, fundable=False)
    body = {
        "data": {
            "type": "participant-declaration",
            "attributes": {
                "participant_id": str(ect.participant.id),
                "declaration_type": "started",
                "declaration_date": "2024-06-01T00:00:00Z",
                "course_identifier": "ecf-induction",
            },
        }
    }
    with clock.frozen(datetime(2024, 10, 15, tzinfo=UTC)):
        created = provider_client.post(declarations, body, format="json")
        check(version, "POST", declarations, created)
        voided = provider_client.put(f"{declarations}/{created.json()['data']['id']}/void")
        check(version, "PUT", f"{declarations}/{{}}/void", voided)
        paid = DeclarationFactory(lead_provider=lead_provider, paid=True)
        StatementFactory(lead_provider=lead_provider, cohort=paid.cohort)  # the clawback lands on it
        clawed_back = provider_client.put(f"{declarations}/{paid.id}/void")
        check(version, "PUT", f"{declarations}/{{}}/void", clawed_back)

        routes = [f"/api/{version}/participants/ecf"] + (["/api/v1/participants"] if version == "v1" else [])
        for route, schedule in zip(routes, ["ecf-standard-january", "ecf-standard-april"], strict=False):
            for action, attributes in [
                ("defer", {"reason": "bereavement"}),
                ("resume", {}),
                ("change-schedule", {"schedule_identifier": schedule}),
                ("withdraw", {"reason": "other"}),
                ("resume", {}),
            ]:
                response = provider_client.put(
                    f"{route}/{ect.participant.id}/{action}",
                    {"data": {"attributes": {"course_identifier": "ecf-induction", **attributes}}},
                    format="json",
                )
                check(version, "PUT", f"{route}/{{}}/{action}", response)


@pytest.mark.parametrize("version", VERSIONS)
def test_csv_operations_are_documented_as_csv_and_answer_csv(provider_client, world, version):
    document = Document(load(f"{version}.json"))
    csv_paths = [path for (method, path) in document.operations() if path.endswith(".csv")]

    assert sorted(csv_paths) == [f"/api/{version}/participant-declarations.csv", f"/api/{version}/participants/ecf.csv"]
    for path in csv_paths:
        operation = document.operations()[("GET", path)]
        assert list(operation["responses"]["200"]["content"]) == ["text/csv"]
        with clock.frozen(world):
            response = provider_client.get(path)
        assert response["Content-Type"] == "text/csv"
        assert b"".join(response.streaming_content).count(b"\n") > 3

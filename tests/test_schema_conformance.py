"""Real responses validate against our own generated schema, so the document cannot drift from
what is sent. Every GET operation of openapi/v3.json is called against a world holding every kind
of record, and each response body is validated; show endpoints take an id from the list."""

import re
import uuid

import jsonschema
import pytest

from ecf import clock
from participants.models import ContractFlavour, LeadProvider
from tests.openapi import Document, load
from tests.worlds import build_world

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FORMATS = jsonschema.FormatChecker()
FORMATS.checks("date-time")(lambda value: not isinstance(value, str) or bool(TIMESTAMP.match(value)))
FORMATS.checks("date")(lambda value: not isinstance(value, str) or bool(DATE.match(value)))


@FORMATS.checks("uuid")
def _is_uuid(value) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


# Query parameters an operation cannot be called without.
REQUIRED_QUERY = {
    "/api/v3/schools/ecf": {"filter[cohort]": "2024"},
    "/api/v3/schools/ecf/{}": {"filter[cohort]": "2024"},
    "/api/v3/schools": {"filter[cohort]": "2024"},
    "/api/v3/schools/{}": {"filter[cohort]": "2024"},
}
# The original's v3 and the rewrite's (called by a rewrite-flavoured provider).
DOCUMENTS = ("v3.json", "v3-rect.json")


@pytest.fixture
def world(lead_provider):
    return build_world(lead_provider)


def get_operations(name: str = "v3.json"):
    return [path for (method, path) in Document(load(name)).operations() if method == "GET"]


@pytest.mark.parametrize(
    ("name", "path"), [(name, p) for name in DOCUMENTS for p in get_operations(name) if "{}" not in p]
)
def test_list_and_show_responses_validate_against_our_schema(provider_client, lead_provider, world, name, path):
    if name == "v3-rect.json":
        LeadProvider.objects.filter(pk=lead_provider.pk).update(contract_flavour=ContractFlavour.REWRITE)
    document = Document(load(name))
    operations = document.operations()
    with clock.frozen(world):
        listing = provider_client.get(path, REQUIRED_QUERY.get(path, {}))
        validate(document, operations[("GET", path)], listing)
        items = listing.json()["data"]
        assert items, f"the world has nothing for {path}: add a record of that kind to the fixture"
        show_path = next(
            (
                p
                for p in (f"{path}/{{}}", path.replace("/transfers", "/{}/transfers"))
                if ("GET", p) in operations and p != path
            ),
            None,
        )
        if show_path is not None:
            shown = provider_client.get(show_path.replace("{}", items[0]["id"]), REQUIRED_QUERY.get(show_path, {}))
            validate(document, operations[("GET", show_path)], shown)


def validate(document: Document, operation: dict, response) -> None:
    assert response.status_code == 200, response.content
    schema = document.json_schema(document.response_schema(operation, "200"))
    jsonschema.validate(response.json(), schema, format_checker=FORMATS)


def test_validation_catches_a_drifting_field(provider_client, world):
    """The check has teeth: a body that breaks the schema is refused."""
    document = Document(load("v3.json"))
    operation = document.operations()[("GET", "/api/v3/participants/ecf")]
    with clock.frozen(world):
        body = provider_client.get("/api/v3/participants/ecf").json()
    body["data"][0]["attributes"]["ecf_enrolments"][0]["cohort"] = 2024  # an integer, not the contract's string
    schema = document.json_schema(document.response_schema(operation, "200"))

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, schema, format_checker=FORMATS)

"""Issue 16.3: every error item has a stable code, and every code is documented on one page."""

import re
from pathlib import Path

import pytest
from django.test import override_settings

from api import error_codes
from api.error_codes import CODES, UncodedError
from declarations import services as declaration_services
from ecf.errors import ServiceValidationError

DOCS = Path(__file__).resolve().parent.parent / "docs" / "error-codes.md"
DOCUMENTED = re.compile(r"^\| `([a-z_]+\.[a-z_]+)` \|", re.MULTILINE)


def test_every_registered_code_is_documented_and_every_documented_code_registered():
    documented = DOCUMENTED.findall(DOCS.read_text())

    assert sorted(documented) == sorted(CODES)
    assert len(documented) == len(set(documented))


def test_every_message_maps_to_a_registered_code():
    unknown = {text: code for text, code in error_codes.message_codes().items() if code not in CODES}

    assert unknown == {}


def test_templated_messages_are_coded_and_keep_their_values():
    message = declaration_services.WITHDRAWN_ON.format(at="2024-05-01T00:00:00Z")

    found = error_codes.lookup(message)

    assert (found.code, found.values) == ("declaration.participant_withdrawn", {"at": "2024-05-01T00:00:00Z"})


def _raise_uncoded(**kwargs):
    raise ServiceValidationError([("participant_id", "A message nobody registered")])


@pytest.mark.django_db
def test_an_error_without_a_code_is_refused_in_tests(provider_client, monkeypatch):
    monkeypatch.setattr("api.v3.declarations.declaration_submit", _raise_uncoded)

    with pytest.raises(UncodedError, match="A message nobody registered"):
        provider_client.post("/api/v3/participant-declarations", {"data": {"attributes": {}}}, format="json")


@pytest.mark.django_db
@override_settings(ERROR_CODES_STRICT=False)
def test_outside_tests_an_uncoded_error_still_gets_a_code(provider_client, monkeypatch):
    monkeypatch.setattr("api.v3.declarations.declaration_submit", _raise_uncoded)

    response = provider_client.post("/api/v3/participant-declarations", {"data": {"attributes": {}}}, format="json")

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == error_codes.FALLBACK_CODE


@pytest.mark.django_db
def test_a_coded_service_error_carries_its_code(provider_client):
    response = provider_client.post(
        "/api/v3/participant-declarations",
        {"data": {"attributes": {"participant_id": "00000000-0000-0000-0000-000000000000"}}},
        format="json",
    )

    assert response.status_code == 422
    codes = [item["code"] for item in response.json()["errors"]]
    assert codes[0] == "participant.not_recognised"
    assert all(code in CODES for code in codes)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/participants/ecf?filter[updated_since]=nonsense", "filter.invalid_date"),
        ("/api/v2/participant-declarations?filter[participant_id]=nope", "filter.invalid_uuid"),
        ("/api/v3/participants/ecf?page[page]=0", "page.invalid"),
        ("/api/v3/participants/ecf?filter[training_status]=gone", "filter.invalid_training_status"),
        ("/api/v3/schools/ecf", "filter.cohort_required"),
    ],
)
def test_parameter_errors_are_coded_in_every_version(provider_client, path, code):
    response = provider_client.get(path)

    assert response.status_code == 400
    assert [item["code"] for item in response.json()["errors"]] == [code]

"""/api/v2/participant-declarations: v1's declarations without `eligible_for_payment` and `voided`
(api.md §9.3, §10.2). The behaviour is v1's (tests/api/v1/test_declarations.py); here, the differences
and the proof that v2 shares that behaviour."""

from datetime import UTC, datetime, timedelta

import pytest

from ecf import clock
from participants.models import InductionStatus
from tests.factories import (
    DeclarationFactory,
    LeadProviderFactory,
    PartnershipFactory,
    TrainingPeriodFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db
URL = "/api/v2/participant-declarations"
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
V2_ATTRIBUTES = [
    "participant_id",
    "declaration_type",
    "course_identifier",
    "declaration_date",
    "updated_at",
    "state",
    "has_passed",
]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def test_v2_declarations_have_no_eligible_for_payment_or_voided(provider_client, lead_provider):
    with clock.frozen(NOW):
        declaration = DeclarationFactory(lead_provider=lead_provider, eligible=True)

    v2 = provider_client.get(f"{URL}/{declaration.id}").json()["data"]
    v1 = provider_client.get(f"/api/v1/participant-declarations/{declaration.id}").json()["data"]

    assert list(v2["attributes"]) == V2_ATTRIBUTES
    assert v2["attributes"] == {
        "participant_id": str(declaration.participant_id),
        "declaration_type": "started",
        "course_identifier": "ecf-induction",
        "declaration_date": declaration.declaration_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": "2024-10-15T12:00:00Z",
        "state": "eligible",
        "has_passed": None,
    }
    v1_without_deprecated = {k: v for k, v in v1["attributes"].items() if k not in ("eligible_for_payment", "voided")}
    assert v2 == {**v1, "attributes": v1_without_deprecated}


@pytest.mark.parametrize("state", ["awaiting_clawback", "clawed_back"])
def test_v2_declarations_show_the_clawback_states_its_document_omits(provider_client, lead_provider, state):
    """api.md §14.12: the published v2 enum lacks them, but v2 sends them."""
    declaration = DeclarationFactory(lead_provider=lead_provider, **{state: True})

    shown = provider_client.get(f"{URL}/{declaration.id}").json()["data"]["attributes"]

    assert shown["state"] == state.replace("_", "-")


def test_v2_lists_the_same_declarations_as_v1(provider_client, lead_provider):
    for trait in ("submitted", "paid", "voided", "clawed_back"):
        DeclarationFactory(lead_provider=lead_provider, **{trait: True})
    shared = DeclarationFactory(
        enrolment=enrolled_participant(lead_provider=LeadProviderFactory()).enrolment, payable=True
    )
    TrainingPeriodFactory(
        enrolment=shared.enrolment,
        partnership=PartnershipFactory(lead_provider=lead_provider),
        start_date=NOW - timedelta(days=3650),
    )
    leaver = DeclarationFactory(enrolment=enrolled_participant(lead_provider=LeadProviderFactory()).enrolment)
    TrainingPeriodFactory(
        enrolment=leaver.enrolment,
        partnership=PartnershipFactory(lead_provider=lead_provider),
        start_date=NOW - timedelta(days=3650),
        induction_status=InductionStatus.LEAVING,
    )

    v1 = ids(provider_client.get("/api/v1/participant-declarations"))
    assert ids(provider_client.get(URL)) == v1
    assert str(shared.id) in v1
    assert str(leaver.id) not in v1


def test_v2_declarations_updated_since_is_strict(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 6, 1, 10, 0, tzinfo=UTC)):
        recent = DeclarationFactory(lead_provider=lead_provider)

    assert provider_client.get(URL, {"filter[updated_since]": "2024-06-01T10:00:00Z"}).json() == {"data": []}
    assert ids(provider_client.get(URL, {"filter[updated_since]": "2024-06-01T09:59:59Z"})) == [str(recent.id)]


def test_v2_participant_id_filter_that_is_not_a_uuid_is_a_400(provider_client):
    response = provider_client.get(URL, {"filter[participant_id]": "not-a-uuid"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["title"] == "Bad request"


def test_post_answers_in_the_v2_shape(provider_client, lead_provider):
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

    with clock.frozen(NOW):
        response = provider_client.post(URL, body, format="json")

    assert response.status_code == 200, response.content
    assert list(response.json()["data"]["attributes"]) == V2_ATTRIBUTES
    assert response.json()["data"]["attributes"]["state"] == "submitted"


def test_void_answers_in_the_v2_shape(provider_client, lead_provider):
    declaration = DeclarationFactory(lead_provider=lead_provider, eligible=True)

    response = provider_client.put(f"{URL}/{declaration.id}/void")

    assert response.status_code == 200, response.content
    assert list(response.json()["data"]["attributes"]) == V2_ATTRIBUTES
    assert response.json()["data"]["attributes"]["state"] == "voided"


def test_void_of_another_providers_declaration_is_not_found(provider_client):
    theirs = DeclarationFactory(lead_provider=LeadProviderFactory())

    assert provider_client.put(f"{URL}/{theirs.id}/void").status_code == 404

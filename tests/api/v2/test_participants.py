"""v2 participants are v1's (api.md §10.2): same items, filters, CSV and actions; no legacy action routes."""

from datetime import UTC, datetime, timedelta

import pytest

from ecf import clock
from tests.factories import enrolled_participant

pytestmark = pytest.mark.django_db
URL = "/api/v2/participants/ecf"
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)


def act(client, url, action, **attributes):
    body = {"data": {"type": f"participant-{action}", "attributes": attributes}}
    with clock.frozen(NOW):
        return client.put(f"{url}/{action}", body, format="json")


@pytest.fixture
def ect_and_mentor(lead_provider):
    with clock.frozen(NOW - timedelta(days=30)):
        ect = enrolled_participant(lead_provider=lead_provider)
        enrolled_participant(lead_provider=lead_provider, participant=ect.participant, kind="mentor", school=ect.school)
    return ect


def test_v2_participants_are_the_v1_representation(provider_client, ect_and_mentor):
    for path, query in [
        ("participants/ecf", {}),
        ("participants/ecf", {"filter[cohort]": "2024", "filter[updated_since]": "2020-01-01T00:00:00Z"}),
        (f"participants/ecf/{ect_and_mentor.participant.id}", {}),
        ("participants", {}),
    ]:
        v1 = provider_client.get(f"/api/v1/{path}", query)
        v2 = provider_client.get(f"/api/v2/{path}", query)
        assert v1.status_code == v2.status_code == 200
        assert v2.json() == v1.json()
    assert len(provider_client.get(URL).json()["data"]) == 2


def test_v2_participants_csv_is_the_v1_csv(provider_client, ect_and_mentor):
    for path in ("participants/ecf.csv", "participants.csv"):
        v1 = provider_client.get(f"/api/v1/{path}")
        v2 = provider_client.get(f"/api/v2/{path}")
        assert b"".join(v2.streaming_content) == b"".join(v1.streaming_content) != b""


@pytest.mark.parametrize(
    ("action", "attributes"),
    [
        ("withdraw", {"reason": "other"}),
        ("defer", {"reason": "other"}),
        ("resume", {}),
        ("change-schedule", {"schedule_identifier": "ecf-standard-january"}),
    ],
)
def test_v2_has_no_legacy_participant_action_routes(provider_client, ect_and_mentor, action, attributes):
    """api.md §10.2: the original's router had them without a controller, so they answer 404."""
    response = act(
        provider_client,
        f"/api/v2/participants/{ect_and_mentor.participant.id}",
        action,
        course_identifier="ecf-induction",
        **attributes,
    )

    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_v2_actions_answer_with_the_v1_training_record_shape(provider_client, ect_and_mentor):
    withdrawn = act(
        provider_client,
        f"{URL}/{ect_and_mentor.participant.id}",
        "withdraw",
        reason="moved-school",
        course_identifier="ecf-induction",
    )

    assert withdrawn.status_code == 200, withdrawn.content
    data = withdrawn.json()["data"]
    assert data["attributes"]["training_status"] == "withdrawn"
    assert data["attributes"]["training_record_id"] == str(ect_and_mentor.enrolment.id)
    assert provider_client.get(f"/api/v1/participants/ecf/{ect_and_mentor.participant.id}").json()["data"] == data

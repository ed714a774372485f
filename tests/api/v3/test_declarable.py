"""GET /api/v3/participants/ecf/{id}/declarable (issue 16.4): each type's answer is what a POST dated
now would get, because the POST's own validation produces it."""

from datetime import UTC, date, datetime

import pytest

from ecf import clock
from tests.error_items import without_checked_codes
from tests.factories import DeclarationFactory, LeadProviderFactory, StatementFactory, enrolled_participant

pytestmark = pytest.mark.django_db
TODAY = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
TYPES = ["started", "retained-1", "retained-2", "retained-3", "retained-4", "completed"]
EXTENDED = ["extended-1", "extended-2", "extended-3"]


@pytest.fixture
def ect(lead_provider):
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        ect = enrolled_participant(lead_provider=lead_provider)
    StatementFactory(
        lead_provider=lead_provider,
        cohort=2024,
        year=2025,
        month=1,
        deadline_date=date(2024, 12, 31),
        payment_date=date(2025, 1, 25),
    )
    return ect


def declarable(client, participant_id):
    with clock.frozen(TODAY):
        return client.get(f"/api/v3/participants/ecf/{participant_id}/declarable")


def dry_run_post(client, participant, entry):
    attributes = {
        "participant_id": str(participant.id),
        "declaration_type": entry["declaration_type"],
        "declaration_date": "2024-10-15T12:00:00Z",
        "course_identifier": "ecf-induction",
    }
    if entry["evidence_held"]:
        attributes["evidence_held"] = entry["evidence_held"][0]
    body = {"data": {"type": "participant-declaration", "attributes": attributes}}
    with clock.frozen(TODAY):
        return client.post("/api/v3/participant-declarations?dry_run=true", body, format="json")


def test_each_type_says_what_the_post_would_answer(provider_client, ect):
    DeclarationFactory(enrolment=ect.enrolment, lead_provider=ect.lead_provider, eligible=True)  # started is taken

    response = declarable(provider_client, ect.participant.id)

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["type"] == "participant-declarable"
    (enrolment,) = data["attributes"]["ecf_enrolments"]
    assert (enrolment["course_identifier"], enrolment["cohort"]) == ("ecf-induction", "2024")
    entries = {entry["declaration_type"]: entry for entry in enrolment["declaration_types"]}
    assert list(entries) == TYPES + EXTENDED
    for entry in entries.values():
        post = dry_run_post(provider_client, ect.participant, entry)
        if entry["declarable"]:
            assert post.status_code == 200, (entry, post.content)
        else:
            assert post.status_code == 422
            assert post.json()["errors"] == entry["errors"], entry["declaration_type"]
    assert without_checked_codes(entries["started"]["errors"]) == [
        {
            "title": "base",
            "detail": "A declaration has already been submitted that will be, or has been, paid for this event",
        }
    ]
    assert entries["started"]["evidence_held_required"] is False
    assert entries["retained-1"]["evidence_held"] == [
        "other",
        "self-study-material-completed",
        "training-event-attended",
    ]
    assert entries["retained-1"]["evidence_held_required"] is True
    assert entries["extended-1"]["milestone_start_date"] is None
    assert without_checked_codes(entries["extended-1"]["errors"]) == [
        {"title": "declaration_type", "detail": "The property '#/declaration_type' does not exist for this schedule."}
    ]
    assert any(
        entry["milestone_start_date"] and entry["errors"] and entry["errors"][0]["title"] == "declaration_date"
        for entry in entries.values()
    ), "a milestone that has not started yet is refused on its window"


def test_an_open_slot_in_its_window_is_declarable_and_the_post_accepts_it(provider_client, ect):
    entries = declarable(provider_client, ect.participant.id).json()["data"]["attributes"]["ecf_enrolments"][0]
    started = entries["declaration_types"][0]

    assert started["declarable"] is True
    assert started["errors"] == []
    assert (started["milestone_start_date"], started["milestone_date"]) == ("2024-06-01", "2024-12-31")
    assert dry_run_post(provider_client, ect.participant, started).status_code == 200


def test_another_providers_participant_is_a_404_like_an_unknown_id(provider_client):
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        theirs = enrolled_participant(lead_provider=LeadProviderFactory())

    other = declarable(provider_client, theirs.participant.id)
    unknown = declarable(provider_client, "c0ffee00-0000-4000-8000-000000000000")

    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json()


def test_a_mentor_in_a_mentor_funded_cohort_gets_the_posts_v11_reason(provider_client, lead_provider):
    with clock.frozen(datetime(2025, 9, 1, tzinfo=UTC)):
        mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor", cohort=2025)
    with clock.frozen(datetime(2025, 10, 15, tzinfo=UTC)):
        response = provider_client.get(f"/api/v3/participants/ecf/{mentor.participant.id}/declarable")

    (enrolment,) = response.json()["data"]["attributes"]["ecf_enrolments"]
    retained = next(entry for entry in enrolment["declaration_types"] if entry["declaration_type"] == "retained-1")
    assert {
        "title": "declaration_type",
        "detail": (
            "You cannot send retained or extended declarations for participants who began their mentor training after "
            "June 2025. Resubmit this declaration with either a started or completed declaration."
        ),
    } in without_checked_codes(retained["errors"])

"""A provider learns nothing about another provider's participant by posting for them (issue 12.4).

For a participant the caller has never trained, every POST answers exactly as for an unknown id:
the same status and body whatever else is wrong or right, and the same work before the answer
(the attempt row that rules §4.9 / PV-16 keeps for a known person is written after the answer).
"""

import re
import uuid
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from declarations.models import DeclarationAttempt
from ecf import clock
from tests.factories import DeclarationFactory, LeadProviderFactory, StatementFactory, enrolled_participant

pytestmark = pytest.mark.django_db
URLS = ["/api/v1/participant-declarations", "/api/v2/participant-declarations", "/api/v3/participant-declarations"]
TODAY = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
UNKNOWN_ID = "c0ffee00-0000-4000-8000-000000000000"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def theirs():
    """P trains only with provider B, who has a 2024 output statement and already declared `started`."""
    with clock.frozen(at(2024, 6, 1)):
        theirs = enrolled_participant(lead_provider=LeadProviderFactory())
    StatementFactory(
        lead_provider=theirs.lead_provider,
        cohort=2024,
        year=2025,
        month=1,
        deadline_date=date(2024, 12, 31),
        payment_date=date(2025, 1, 25),
    )
    DeclarationFactory(enrolment=theirs.enrolment, lead_provider=theirs.lead_provider, eligible=True)
    return theirs


def body(participant_id, **attributes) -> dict:
    attributes = {
        "participant_id": str(participant_id),
        "declaration_type": "started",
        "declaration_date": "2024-06-01T00:00:00Z",
        "course_identifier": "ecf-induction",
        **attributes,
    }
    return {"data": {"type": "participant-declaration", "attributes": attributes}}


def post(client, url, payload):
    with clock.frozen(TODAY):
        return client.post(url, payload, format="json")


# Probes that, before the fix, drew B's facts out of the answer: B's `started` (base), the milestone
# window (declaration_date), the schedule's types (declaration_type), the evidence rules.
PROBES = [
    {},
    {"declaration_date": "2021-01-01T00:00:00Z"},
    {"declaration_date": "2099-01-01T00:00:00Z"},
    {"declaration_type": "extended-3"},
    {"declaration_type": "retained-1"},
    {"declaration_type": "retained-1", "evidence_held": "nonsense"},
    {"course_identifier": "ecf-mentor"},
    {"declaration_date": ""},
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("probe", PROBES)
def test_another_providers_participant_answers_as_an_unknown_id(provider_client, theirs, url, probe):
    unknown = post(provider_client, url, body(UNKNOWN_ID, **probe))
    other = post(provider_client, url, body(theirs.participant.id, **probe))

    assert (other.status_code, other.json()) == (unknown.status_code, unknown.json())
    assert unknown.status_code == 422


def _statements(queries) -> list[str]:
    """The SQL run, without its values (ids and times differ between two requests)."""
    normalised = []
    for query in queries:
        sql = re.sub(r"'[^']*'", "?", query["sql"])
        sql = re.sub(r'"s\d+_x\d+"', "savepoint", sql)
        normalised.append(re.sub(r"\b\d+(\.\d+)?\b", "?", sql))
    return normalised


def test_another_providers_participant_costs_what_an_unknown_id_costs(provider_client, theirs):
    url = URLS[2]
    post(provider_client, url, body(uuid.uuid4()))  # warm up whatever is cached per process
    with CaptureQueriesContext(connection) as unknown:
        post(provider_client, url, body(UNKNOWN_ID))
    with CaptureQueriesContext(connection) as other:
        post(provider_client, url, body(theirs.participant.id))

    unknown_sql, other_sql = _statements(unknown.captured_queries), _statements(other.captured_queries)
    # The same statements until the answer has gone; then only the attempt row of PV-16.
    assert other_sql[: len(unknown_sql)] == unknown_sql
    after_the_answer = other_sql[len(unknown_sql) :]
    assert len(after_the_answer) == 1
    assert after_the_answer[0].startswith('INSERT INTO "declarations_declarationattempt"')
    assert DeclarationAttempt.objects.filter(participant=theirs.participant).count() == 1


def test_a_participant_trained_in_another_course_only_learns_nothing_of_the_other_course(
    provider_client, lead_provider, theirs
):
    """P is A's mentor and B's ECT: A's ECT declaration for P gets only what V13 always said."""
    with clock.frozen(at(2024, 6, 1)):
        enrolled_participant(lead_provider=lead_provider, participant=theirs.participant, kind="mentor")

    for probe in PROBES[:6]:
        response = post(provider_client, URLS[2], body(theirs.participant.id, **probe))
        titles = [error["title"] for error in response.json()["errors"]]
        assert "base" not in titles and "cohort" not in titles, probe
        assert all(
            "milestone" not in error["detail"] and "schedule" not in error["detail"]
            for error in response.json()["errors"]
        ), probe


@pytest.mark.parametrize("action", ["withdraw", "defer", "resume", "change-schedule"])
def test_an_action_on_another_providers_participant_costs_what_an_unknown_id_costs(provider_client, theirs, action):
    """The participant actions: same answer (tests/api/v3/test_participant_actions.py) and same work."""

    def act(participant_id):
        attributes = {
            "course_identifier": "ecf-induction",
            "reason": "other",
            "schedule_identifier": "ecf-standard-april",
        }
        payload = {"data": {"type": f"participant-{action}", "attributes": attributes}}
        with clock.frozen(TODAY):
            return provider_client.put(f"/api/v3/participants/ecf/{participant_id}/{action}", payload, format="json")

    act(uuid.uuid4())  # warm up
    with CaptureQueriesContext(connection) as unknown:
        unknown_answer = act(UNKNOWN_ID)
    with CaptureQueriesContext(connection) as other:
        other_answer = act(theirs.participant.id)

    assert (other_answer.status_code, other_answer.json()) == (unknown_answer.status_code, unknown_answer.json())
    assert _statements(other.captured_queries) == _statements(unknown.captured_queries)

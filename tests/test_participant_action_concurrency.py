"""Participant actions racing on one participant answer 200 or the contract's 422, never 500 (issue 13.2).

Real concurrent transactions on separate PostgreSQL connections (one per thread), so the test needs a
committed world (transaction=True) and keeps the migrated reference data with serialized_rollback.
Each trial is a fresh participant and a burst of actions released together by a barrier: the actions
serialise on the enrolment, so each one either applies or is refused by the rules with the state the
previous one left.
"""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from ecf import clock
from participants.models import Enrolment, ScheduleChange, TrainingPeriod, TrainingStatusChange
from participants.tokens import api_token_create
from tests.factories import LeadProviderFactory, enrolled_participant

TRIALS = 20
SET_UP = datetime(2024, 9, 2, 10, 0, tzinfo=UTC)
NOW = datetime(2024, 12, 10, 12, 0, tzinfo=UTC)

# Every pair the issue names (change-schedule against defer and against another change-schedule),
# with withdraw and resume in the mix: five actions on one participant at once.
BURST = [
    ("change-schedule", {"schedule_identifier": "ecf-standard-january"}),
    ("change-schedule", {"schedule_identifier": "ecf-standard-april"}),
    ("defer", {"reason": "bereavement"}),
    ("withdraw", {"reason": "moved-school"}),
    ("resume", {}),
]


def _act_together(token: str, participant_id, burst) -> list:
    start = threading.Barrier(len(burst))
    answers: list = []
    lock = threading.Lock()

    def act(action: str, attributes: dict):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        body = {
            "data": {
                "type": f"participant-{action}",
                "attributes": {"course_identifier": "ecf-induction", **attributes},
            }
        }
        try:
            start.wait()
            with clock.frozen(NOW):
                response = client.put(f"/api/v3/participants/ecf/{participant_id}/{action}", body, format="json")
            with lock:
                answers.append((action, response.status_code, response.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=step) for step in burst]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_participant_actions_answer_200_or_422_and_each_applied_one_is_recorded():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions on PostgreSQL")
    lead_provider = LeadProviderFactory()
    token = api_token_create(lead_provider=lead_provider)
    unexpected = []
    for _trial in range(TRIALS):
        with clock.frozen(SET_UP):
            ect = enrolled_participant(lead_provider=lead_provider)
        answers = _act_together(token, ect.participant.id, BURST)
        unexpected += [(action, status, body[:300]) for action, status, body in answers if status not in (200, 422)]
        applied = [action for action, status, _ in answers if status == 200]
        # Nothing half-written: every 200 left exactly its record, every 422 none.
        assert ScheduleChange.objects.filter(enrolment=ect.enrolment).count() == applied.count("change-schedule")
        assert TrainingStatusChange.objects.filter(enrolment=ect.enrolment).count() == len(applied) - applied.count(
            "change-schedule"
        )
        assert Enrolment.objects.filter(pk=ect.enrolment.pk).exists()
        # One after the other: each action continued the period the previous one left, so exactly one is open.
        assert TrainingPeriod.objects.filter(enrolment=ect.enrolment, end_date__isnull=True).count() == 1
    assert unexpected == []

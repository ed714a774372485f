"""Two identical POSTs arriving together produce exactly one billable declaration (issue 4).

Runs real concurrent transactions on separate PostgreSQL connections, so it needs a committed
world (transaction=True) and keeps the migrated reference data with serialized_rollback.
"""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from declarations.models import Declaration, DeclarationAttempt
from ecf import clock
from participants.tokens import api_token_create
from tests.factories import ParticipantFactory, StatementFactory, enrolled_participant

SUBMISSIONS = 20
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_identical_submissions_make_exactly_one_declaration():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions on PostgreSQL")
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        ect = enrolled_participant()
    StatementFactory(
        lead_provider=ect.lead_provider,
        cohort=2024,
        year=2025,
        month=1,
        deadline_date=date(2024, 12, 31),
        payment_date=date(2025, 1, 25),
    )
    token = api_token_create(lead_provider=ect.lead_provider)
    payload = {
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
    start = threading.Barrier(SUBMISSIONS)
    responses: list = []
    lock = threading.Lock()

    def submit():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            start.wait()
            with clock.frozen(NOW):
                response = client.post("/api/v3/participant-declarations", payload, format="json")
            with lock:
                responses.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in responses)
    assert statuses == [200] + [422] * (SUBMISSIONS - 1)
    refusals = [body for status, body in responses if status == 422]
    assert all(
        body
        == {
            "errors": [
                {
                    "title": "base",
                    "detail": "A declaration has already been submitted that will be, or has been, paid for this event",
                    "code": "declaration.duplicate",
                }
            ]
        }
        for body in refusals
    )
    assert Declaration.objects.count() == 1
    assert DeclarationAttempt.objects.count() == SUBMISSIONS
    assert DeclarationAttempt.objects.filter(declaration__isnull=False).count() == 1


TRN_TRIALS = 20


def _started(participant) -> dict:
    return {
        "data": {
            "type": "participant-declaration",
            "attributes": {
                "participant_id": str(participant.id),
                "declaration_type": "started",
                "declaration_date": "2024-06-01T00:00:00Z",
                "course_identifier": "ecf-induction",
            },
        }
    }


def _post_together(requests: list[tuple[str, dict]]) -> list[int]:
    """POST each (token, body) from its own thread and connection, released at the same instant."""
    start = threading.Barrier(len(requests))
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(token, payload):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            start.wait()
            with clock.frozen(NOW):
                response = client.post("/api/v3/participant-declarations", payload, format="json")
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_accounts_of_one_teacher_are_never_both_paid_for_one_event():
    """Issue 13.1 (rules §4.6): two accounts with one TRN, posted for at the same moment by their
    two providers, give one `eligible` declaration and one `ineligible` duplicate, every time."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions on PostgreSQL")
    outcomes = []
    for trial in range(TRN_TRIALS):
        trn = f"{7100000 + trial}"
        with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
            accounts = [enrolled_participant(participant=ParticipantFactory(trn=trn)) for _ in range(2)]
        requests = []
        for account in accounts:
            StatementFactory(
                lead_provider=account.lead_provider,
                cohort=2024,
                year=2025,
                month=1,
                deadline_date=date(2024, 12, 31),
                payment_date=date(2025, 1, 25),
            )
            requests.append((api_token_create(lead_provider=account.lead_provider), _started(account.participant)))

        assert _post_together(requests) == [200, 200]

        states = sorted(Declaration.objects.filter(participant__trn=trn).values_list("state", flat=True))
        outcomes.append(states)
    assert outcomes == [["eligible", "ineligible"]] * TRN_TRIALS

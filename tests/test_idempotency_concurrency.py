"""Requests with one `Idempotency-Key` arriving together do the work once (issue 13.3).

Real concurrent requests on separate PostgreSQL connections (one per thread), so the test needs a
committed world (transaction=True) and keeps the migrated reference data with serialized_rollback.
The first request records the declaration; every other one waits for it and replays its answer.
"""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from declarations.models import Declaration, DeclarationAttempt
from ecf import clock
from participants.tokens import api_token_create
from tests.factories import StatementFactory, enrolled_participant

TRIALS = 20
REQUESTS = 5
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)


def _post_together(token: str, payload: dict, key: str) -> list:
    start = threading.Barrier(REQUESTS)
    answers: list = []
    lock = threading.Lock()

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            start.wait()
            with clock.frozen(NOW):
                response = client.post(
                    "/api/v3/participant-declarations", payload, format="json", HTTP_IDEMPOTENCY_KEY=key
                )
            with lock:
                answers.append((response.status_code, response.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_requests_with_one_key_record_one_declaration_and_all_get_its_answer():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions on PostgreSQL")
    failures = []
    for trial in range(TRIALS):
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
        answers = _post_together(api_token_create(lead_provider=ect.lead_provider), payload, key=f"trial-{trial}")

        statuses = sorted(status for status, _ in answers)
        bodies = {body for _, body in answers}
        made = Declaration.objects.filter(participant=ect.participant).count()
        attempts = DeclarationAttempt.objects.filter(participant=ect.participant).count()
        if (statuses, len(bodies), made, attempts) != ([200] * REQUESTS, 1, 1, 1):
            failures.append((trial, statuses, len(bodies), made, attempts))
    assert failures == []

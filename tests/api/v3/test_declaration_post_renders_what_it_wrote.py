"""A stored declaration is never answered with an error because of what happens after its commit
(issue 13.3): the POST renders the rows it wrote and reads nothing back.

The fault: once the submission has written its last row, the database refuses every further read
of declarations (as a connection lost just after the commit would). Before the change, the POST
re-read the declaration through the visibility query and answered 500.
"""

from datetime import UTC, date, datetime

import pytest
from django.db import OperationalError, connection

from declarations.models import Declaration
from ecf import clock
from tests.factories import StatementFactory, enrolled_participant

pytestmark = pytest.mark.django_db


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


def lost_after_the_last_write(execute, sql, params, many, context):
    if getattr(connection, "_written", False) and "declarations_declaration" in sql and sql.startswith("SELECT"):
        raise OperationalError("server closed the connection unexpectedly")
    if sql.startswith('INSERT INTO "declarations_declarationattempt"'):
        connection._written = True
    return execute(sql, params, many, context)


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_the_answer_is_built_from_what_was_written(provider_client, ect, version):
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
    connection._written = False
    try:
        with (
            clock.frozen(datetime(2024, 10, 15, 12, tzinfo=UTC)),
            connection.execute_wrapper(lost_after_the_last_write),
        ):
            response = provider_client.post(f"/api/{version}/participant-declarations", body, format="json")
    finally:
        del connection._written

    assert response.status_code == 200, response.content
    stored = Declaration.objects.get()
    data = response.json()["data"]
    assert data["id"] == str(stored.id)
    assert data["attributes"]["state"] == "eligible"
    assert data["attributes"]["updated_at"] == stored.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if version == "v3":
        show = provider_client.get(f"/api/v3/participant-declarations/{stored.id}").json()
        assert show == response.json()

"""The one clock and the sandbox's X-With-Server-Date header (issue 4)."""

from datetime import UTC, date, datetime

import pytest
from django.test import override_settings

from ecf import clock
from tests.factories import StatementFactory, enrolled_participant

pytestmark = pytest.mark.django_db


def test_frozen_clock_sets_now_and_the_utc_today():
    with clock.frozen(datetime(2025, 3, 31, 23, 30, tzinfo=UTC)):
        assert clock.now() == datetime(2025, 3, 31, 23, 30, tzinfo=UTC)
        assert clock.today().isoformat() == "2025-03-31"


def test_frozen_clock_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        clock.frozen(datetime(2025, 1, 1)).__enter__()


@override_settings(SANDBOX=True)
def test_sandbox_header_lets_a_provider_declare_at_a_future_date(provider_client, lead_provider):
    """The declaration date may not be in the future: the header moves "now" for that request only."""
    with clock.frozen(datetime(2026, 6, 1, tzinfo=UTC)):
        ect = enrolled_participant(lead_provider=lead_provider, cohort=2026)
    StatementFactory(
        lead_provider=lead_provider,
        cohort=2026,
        year=2027,
        month=2,
        deadline_date=date(2027, 1, 31),
        payment_date=date(2027, 2, 25),
    )
    body = {
        "data": {
            "type": "participant-declaration",
            "attributes": {
                "participant_id": str(ect.participant.id),
                "declaration_type": "started",
                "declaration_date": "2027-01-15T10:00:00Z",
                "course_identifier": "ecf-induction",
            },
        }
    }
    url = "/api/v3/participant-declarations"

    with clock.frozen(datetime(2026, 11, 29, tzinfo=UTC)):
        today = provider_client.post(url, body, format="json")
        in_2027 = provider_client.post(url, body, format="json", HTTP_X_WITH_SERVER_DATE="2027-01-20T09:00:00Z")

    assert today.status_code == 422
    assert today.json()["errors"][0]["title"] == "declaration_date"
    assert in_2027.status_code == 200, in_2027.content
    assert in_2027.json()["data"]["attributes"]["state"] == "eligible"


@override_settings(SANDBOX=True)
def test_sandbox_header_that_is_not_a_date_is_a_clear_400(provider_client):
    response = provider_client.get("/api/v3/ping", HTTP_X_WITH_SERVER_DATE="next tuesday")

    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"].startswith("The header 'X-With-Server-Date' must be a valid RFC 3339")


@override_settings(SANDBOX=False)
def test_production_ignores_the_header(provider_client):
    assert provider_client.get("/api/v3/ping", HTTP_X_WITH_SERVER_DATE="next tuesday").status_code == 200

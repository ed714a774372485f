"""`?dry_run=true` on every version's declaration POST and participant actions (issue 16.5): the
answer is the real call's (status and body), and nothing at all is stored (no attempt row either)."""

from datetime import UTC, date, datetime

import pytest
from django.apps import apps
from django.core import serializers

from ecf import clock
from tests.factories import StatementFactory, enrolled_participant

pytestmark = pytest.mark.django_db
TODAY = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
VERSIONS = ["v1", "v2", "v3"]


def everything() -> list[str]:
    """Every row of the domain apps, serialised: equal before and after means nothing was written
    (API tokens aside: every request records when its token was last used)."""
    models = [
        model
        for name in ("participants", "declarations", "statements")
        for model in apps.get_app_config(name).get_models()
        if model._meta.model_name != "apitoken"
    ]
    return [
        row for model in models for row in serializers.serialize("jsonl", model.objects.order_by("pk")).splitlines()
    ]


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


def declaration(participant, **attributes) -> dict:
    attributes = {
        "participant_id": str(participant.id),
        "declaration_type": "started",
        "declaration_date": "2024-06-01T00:00:00Z",
        "course_identifier": "ecf-induction",
        **attributes,
    }
    return {"data": {"type": "participant-declaration", "attributes": attributes}}


def post(client, version, payload, query=""):
    with clock.frozen(TODAY):
        return client.post(f"/api/{version}/participant-declarations{query}", payload, format="json")


def without_id(answer: dict) -> dict:
    return {**answer["data"], "id": None}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_dry_run_declaration_answers_as_the_real_one_and_stores_nothing(provider_client, ect, version):
    before = everything()
    dry = post(provider_client, version, declaration(ect.participant), "?dry_run=true")
    assert everything() == before

    real = post(provider_client, version, declaration(ect.participant))
    assert (dry.status_code, real.status_code) == (200, 200)
    assert without_id(dry.json()) == without_id(real.json())
    assert dry.json()["data"]["id"] != real.json()["data"]["id"]  # never stored: the real call has its own


@pytest.mark.parametrize("version", VERSIONS)
def test_a_dry_run_refusal_is_the_real_refusal_and_logs_no_attempt(provider_client, ect, version):
    payload = declaration(ect.participant, declaration_date="2024-01-01T00:00:00Z")
    before = everything()
    dry = post(provider_client, version, payload, "?dry_run=true")
    assert everything() == before

    real = post(provider_client, version, payload)
    assert dry.status_code == real.status_code == 422
    assert dry.json() == real.json()


def test_dry_run_false_is_the_real_call(provider_client, ect):
    before = everything()
    assert post(provider_client, "v3", declaration(ect.participant), "?dry_run=false").status_code == 200
    assert everything() != before


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", ""])
def test_a_dry_run_value_that_is_not_true_or_false_is_a_400(provider_client, ect, value):
    before = everything()
    response = post(provider_client, "v3", declaration(ect.participant), f"?dry_run={value}")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "The 'dry_run' parameter must be true or false.",
                "code": "request.dry_run_invalid",
            }
        ]
    }
    assert everything() == before


ACTIONS = [
    ("withdraw", {"reason": "moved-school"}),
    ("defer", {"reason": "parental-leave"}),
    ("change-schedule", {"schedule_identifier": "ecf-standard-january"}),
]
ACTION_PATHS = {"v1": "/api/v1/participants/ecf", "v2": "/api/v2/participants/ecf", "v3": "/api/v3/participants/ecf"}


def act(client, version, participant, action, attributes, query=""):
    body = {
        "data": {"type": f"participant-{action}", "attributes": {"course_identifier": "ecf-induction", **attributes}}
    }
    with clock.frozen(TODAY):
        return client.put(f"{ACTION_PATHS[version]}/{participant.id}/{action}{query}", body, format="json")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("action", "attributes"), ACTIONS)
def test_a_dry_run_action_answers_as_the_real_one_and_changes_nothing(
    provider_client, ect, version, action, attributes
):
    before = everything()
    dry = act(provider_client, version, ect.participant, action, attributes, "?dry_run=true")
    assert everything() == before

    real = act(provider_client, version, ect.participant, action, attributes)
    assert dry.status_code == real.status_code == 200, real.content
    assert dry.json() == real.json()


@pytest.mark.parametrize("version", VERSIONS)
def test_a_dry_run_resume_refusal_is_the_real_refusal(provider_client, ect, version):
    before = everything()
    dry = act(provider_client, version, ect.participant, "resume", {}, "?dry_run=true")
    assert everything() == before
    real = act(provider_client, version, ect.participant, "resume", {})
    assert dry.status_code == real.status_code == 422
    assert dry.json() == real.json()

"""`Idempotency-Key` on every POST and PUT of v1, v2 and v3 (issue 13.3, api/idempotency.py)."""

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from api.idempotency import MAX_KEY_LENGTH
from api.models import IdempotencyKey
from declarations.models import Declaration, DeclarationAttempt
from declarations.services import declaration_submit
from ecf import clock
from participants.models import TrainingStatusChange
from participants.tokens import api_token_create
from tests.factories import DeclarationFactory, LeadProviderFactory, StatementFactory, enrolled_participant

pytestmark = pytest.mark.django_db

VERSIONS = ("v1", "v2", "v3")
SET_UP = datetime(2024, 6, 1, tzinfo=UTC)
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
KEY = "0b7a9c1e-5d0f-4f6e-9f34-6d1c2b7e8a90"


@pytest.fixture
def ect(lead_provider):
    with clock.frozen(SET_UP):
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


def declaration_body(ect, **attributes) -> dict:
    return {
        "data": {
            "type": "participant-declaration",
            "attributes": {
                "participant_id": str(ect.participant.id),
                "declaration_type": "started",
                "declaration_date": "2024-06-01T00:00:00Z",
                "course_identifier": "ecf-induction",
                **attributes,
            },
        }
    }


def send(client, method, url, payload, *, key=KEY, now=NOW, query=""):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    with clock.frozen(now):
        return getattr(client, method)(url + query, payload, format="json", **headers)


def declare(client, version, payload, **kwargs):
    return send(client, "post", f"/api/{version}/participant-declarations", payload, **kwargs)


def same_answer(first, second) -> bool:
    return (first.status_code, first.content, first["Content-Type"]) == (
        second.status_code,
        second.content,
        second["Content-Type"],
    )


# --- Replay -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_retried_post_replays_the_first_answer_without_doing_the_work_again(provider_client, ect, version):
    first = declare(provider_client, version, declaration_body(ect))
    again = declare(provider_client, version, declaration_body(ect), now=NOW + timedelta(hours=23))

    assert first.status_code == 200, first.content
    assert same_answer(first, again)
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Declaration.objects.count() == 1
    assert DeclarationAttempt.objects.count() == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_a_retried_put_replays_the_first_answer(provider_client, lead_provider, version):
    with clock.frozen(SET_UP):
        declaration = DeclarationFactory(lead_provider=lead_provider, submitted=True)
    url = f"/api/{version}/participant-declarations/{declaration.id}/void"

    first = send(provider_client, "put", url, None)
    again = send(provider_client, "put", url, None)

    assert first.status_code == 200, first.content
    assert same_answer(first, again)  # without the key the second void is a 422: already voided
    assert declaration.state_changes.count() == 2  # submitted, then voided once


def test_a_retried_participant_action_is_applied_once(provider_client, ect):
    url = f"/api/v3/participants/ecf/{ect.participant.id}/withdraw"
    payload = {
        "data": {
            "type": "participant-withdraw",
            "attributes": {"reason": "moved-school", "course_identifier": "ecf-induction"},
        }
    }

    first = send(provider_client, "put", url, payload)
    again = send(provider_client, "put", url, payload)

    assert first.status_code == 200 and same_answer(first, again)
    assert TrainingStatusChange.objects.filter(enrolment=ect.enrolment).count() == 1


def test_the_same_json_laid_out_differently_is_the_same_request(provider_client, ect):
    payload = declaration_body(ect)
    first = declare(provider_client, "v3", payload)
    with clock.frozen(NOW):
        again = provider_client.generic(
            "POST",
            "/api/v3/participant-declarations",
            json.dumps(payload, indent=4, sort_keys=True),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=KEY,
        )
    assert same_answer(first, again)


def test_a_refusal_is_replayed_too_and_the_attempt_is_logged_once(provider_client, ect):
    payload = declaration_body(ect, declaration_type="no-such-type")
    first = declare(provider_client, "v3", payload)
    again = declare(provider_client, "v3", payload)

    assert first.status_code == 422 and same_answer(first, again)
    assert DeclarationAttempt.objects.count() == 1


def test_without_a_key_nothing_is_kept(provider_client, ect):
    declare(provider_client, "v3", declaration_body(ect), key=None)
    assert not IdempotencyKey.objects.exists()


# --- Another request with the key; another provider; expiry -----------------------------------


def test_the_same_key_with_another_body_is_a_422_saying_so(provider_client, ect):
    declare(provider_client, "v3", declaration_body(ect))
    other = declare(provider_client, "v3", declaration_body(ect, declaration_type="retained-1"))

    assert other.status_code == 422
    assert other["Content-Type"] == "application/vnd.api+json"
    assert other.json() == {
        "errors": [
            {
                "title": "Idempotency-Key",
                "detail": "This 'Idempotency-Key' was already used with a different request in the last 24 hours. "
                "Use a new key for a new request.",
                "code": "request.idempotency_key_reused",
            }
        ]
    }
    assert Declaration.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_another_request(provider_client, ect):
    declare(provider_client, "v3", declaration_body(ect))
    other = declare(provider_client, "v2", declaration_body(ect))
    assert other.status_code == 422 and other.json()["errors"][0]["title"] == "Idempotency-Key"


def test_keys_are_per_lead_provider(provider_client, lead_provider, ect):
    other_provider = LeadProviderFactory()
    with clock.frozen(SET_UP):
        theirs = enrolled_participant(lead_provider=other_provider)
    StatementFactory(
        lead_provider=other_provider,
        cohort=2024,
        year=2025,
        month=1,
        deadline_date=date(2024, 12, 31),
        payment_date=date(2025, 1, 25),
    )
    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=other_provider)}")

    mine = declare(provider_client, "v3", declaration_body(ect))
    # Provider B's request, with A's key and A's body, is B's own request: never A's answer.
    replay_attempt = declare(other_client, "v3", declaration_body(ect))
    their_own = declare(other_client, "v3", declaration_body(theirs), key=KEY + "-b")

    assert mine.status_code == 200
    assert not replay_attempt.has_header("Idempotent-Replayed")
    assert replay_attempt.status_code == 422 and str(ect.participant.id) not in replay_attempt.content.decode()
    assert their_own.status_code == 200
    assert Declaration.objects.filter(lead_provider=other_provider).count() == 1


def test_after_24_hours_the_key_is_free_again(provider_client, ect):
    declare(provider_client, "v3", declaration_body(ect))
    later = declare(provider_client, "v3", declaration_body(ect), now=NOW + timedelta(hours=24))

    assert not later.has_header("Idempotent-Replayed")
    assert later.status_code == 422  # done again: the declaration exists now, so it is a duplicate
    assert DeclarationAttempt.objects.count() == 2


def test_the_purge_deletes_keys_older_than_a_day(provider_client, ect):
    declare(provider_client, "v3", declaration_body(ect), key="old")
    declare(
        provider_client,
        "v3",
        declaration_body(ect, declaration_type="retained-1"),
        key="fresh",
        now=NOW + timedelta(hours=2),
    )
    out = StringIO()
    with clock.frozen(NOW + timedelta(hours=25)):
        call_command("purge_idempotency_keys", stdout=out)

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    assert out.getvalue().strip() == "Deleted 1 idempotency keys older than 24 hours."


# --- What is never kept -----------------------------------------------------------------------


def test_a_500_is_not_kept_and_the_retry_does_the_work(provider_client, ect, monkeypatch):
    real = declaration_submit
    calls = []

    def fails_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("connection lost")
        return real(**kwargs)

    monkeypatch.setattr("api.v3.declarations.declaration_submit", fails_once)

    failed = declare(provider_client, "v3", declaration_body(ect))
    retried = declare(provider_client, "v3", declaration_body(ect))

    assert failed.status_code == 500
    assert retried.status_code == 200 and not retried.has_header("Idempotent-Replayed")
    assert Declaration.objects.count() == 1


def test_a_dry_run_is_not_kept(provider_client, ect):
    declare(provider_client, "v3", declaration_body(ect), query="?dry_run=true")
    assert not IdempotencyKey.objects.exists()


# --- Bad keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "x" * (MAX_KEY_LENGTH + 1), "has space", "clé"])
def test_a_bad_key_is_a_400(provider_client, ect, key):
    response = declare(provider_client, "v3", declaration_body(ect), key=key)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "The 'Idempotency-Key' header must be 1 to 255 visible ASCII characters",
                "code": "request.idempotency_key_invalid",
            }
        ]
    }
    assert not Declaration.objects.exists()


def test_the_longest_key_is_accepted(provider_client, ect):
    assert declare(provider_client, "v3", declaration_body(ect), key="k" * MAX_KEY_LENGTH).status_code == 200


def test_without_a_valid_token_the_answer_is_the_401_whatever_the_key(api_client, ect):
    response = declare(api_client, "v3", declaration_body(ect), key="x" * 1000)
    assert response.status_code == 401


# --- Documented -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_every_post_and_put_documents_the_optional_header(version):
    schema = json.loads((Path(__file__).resolve().parents[2] / "openapi" / f"{version}.json").read_text())
    writes = [
        operation
        for path_item in schema["paths"].values()
        for method, operation in path_item.items()
        if method in ("post", "put", "patch")
    ]
    assert writes
    for operation in writes:
        assert {"$ref": "#/components/parameters/IdempotencyKey"} in operation["parameters"]
    header = schema["components"]["parameters"]["IdempotencyKey"]
    assert (header["in"], header["name"], header["required"]) == ("header", "Idempotency-Key", False)

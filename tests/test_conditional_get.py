"""Issue 16.1: every API GET has an ETag (and Last-Modified for one record); If-None-Match with the
current tag gets 304 with no body, and a 304 does not count against the per-token rate limit."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.http import parse_http_date
from rest_framework.test import APIClient

from ecf import clock
from participants.tokens import api_token_create
from tests.factories import enrolled_participant

NOW = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)
PARTICIPANTS = "/api/v3/participants/ecf"
LIMIT = 3


@pytest.fixture
def client(lead_provider):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    return client


@pytest.fixture
def participant(lead_provider):
    with clock.frozen(NOW):
        return enrolled_participant(lead_provider=lead_provider).participant


@pytest.fixture
def limited(settings):
    settings.API_RATE_LIMIT_ENABLED = True
    settings.API_RATE_LIMIT = LIMIT
    settings.API_RATE_LIMIT_WINDOW_SECONDS = 300


def get(client, path, **headers):
    with clock.frozen(NOW):
        return client.get(path, **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("path", [PARTICIPANTS, "/api/v1/participants/ecf", "/api/v3/statements"])
def test_a_get_answers_with_an_etag_and_304_when_the_caller_has_it(client, participant, path):
    first = get(client, path)

    again = get(client, path, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200 and first["ETag"].startswith('"')
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", first["ETag"])


@pytest.mark.django_db
def test_a_list_of_tags_a_weak_form_or_a_star_match_too(client, participant):
    tag = get(client, PARTICIPANTS)["ETag"]

    assert get(client, PARTICIPANTS, HTTP_IF_NONE_MATCH=f'"other", W/{tag}').status_code == 304
    assert get(client, PARTICIPANTS, HTTP_IF_NONE_MATCH="*").status_code == 304


@pytest.mark.django_db
def test_a_change_gives_a_new_tag_and_the_full_answer(client, participant):
    tag = get(client, PARTICIPANTS)["ETag"]
    participant.full_name = "Someone Else"
    participant.save()

    changed = get(client, PARTICIPANTS, HTTP_IF_NONE_MATCH=tag)

    assert changed.status_code == 200
    assert changed["ETag"] != tag
    assert "Someone Else" in changed.content.decode()


@pytest.mark.django_db
def test_each_provider_has_its_own_tag_for_the_same_path(client, participant):
    other = APIClient()
    other.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=enrolled_participant().lead_provider)}"
    )
    tag = get(client, PARTICIPANTS)["ETag"]

    assert get(other, PARTICIPANTS, HTTP_IF_NONE_MATCH=tag).status_code == 200


@pytest.mark.django_db
def test_one_record_says_when_it_was_last_modified(client, participant):
    response = get(client, f"{PARTICIPANTS}/{participant.id}")

    updated_at = datetime.fromisoformat(response.json()["data"]["attributes"]["updated_at"].replace("Z", "+00:00"))
    assert parse_http_date(response["Last-Modified"]) == int(updated_at.timestamp())


@pytest.mark.django_db
def test_errors_and_writes_carry_no_tag(client):
    assert "ETag" not in get(client, f"{PARTICIPANTS}/00000000-0000-0000-0000-000000000000")
    assert "ETag" not in client.post("/api/v3/participant-declarations", {}, format="json")


@pytest.mark.django_db
def test_304s_do_not_count_against_the_rate_limit(limited, client, participant):
    first = get(client, PARTICIPANTS)

    unchanged = [get(client, PARTICIPANTS, HTTP_IF_NONE_MATCH=first["ETag"]) for _ in range(LIMIT * 3)]
    full = get(client, PARTICIPANTS)

    assert {response.status_code for response in unchanged} == {304}
    assert {response["RateLimit-Remaining"] for response in unchanged} == {str(LIMIT - 1)}
    assert (full.status_code, full["RateLimit-Remaining"]) == (200, str(LIMIT - 2))


@pytest.mark.django_db
def test_a_stale_tag_is_counted_like_any_full_answer(limited, client, participant):
    answers = [get(client, PARTICIPANTS, HTTP_IF_NONE_MATCH='"stale"') for _ in range(LIMIT + 1)]

    assert [response.status_code for response in answers] == [200] * LIMIT + [429]


@pytest.mark.django_db
def test_over_the_limit_a_conditional_get_is_refused_before_the_view_runs(limited, client, participant):
    tag = get(client, PARTICIPANTS)["ETag"]
    for _ in range(LIMIT - 1):
        get(client, PARTICIPANTS)

    with CaptureQueriesContext(connection) as queries:
        refused = get(client, PARTICIPANTS, HTTP_IF_NONE_MATCH=tag)

    assert refused.status_code == 429
    # Nothing of the list is read for a caller out of requests (the tag needs the rendered body).
    assert not [query for query in queries if "participants_participant" in query["sql"]]


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_every_json_get_documents_the_conditional_headers_and_the_304(version):
    document = json.loads((Path(__file__).resolve().parent.parent / "openapi" / f"{version}.json").read_text())
    gets = {path: item["get"] for path, item in document["paths"].items() if "get" in item}

    undocumented = [
        path
        for path, operation in gets.items()
        if not path.endswith(".csv")
        and not (
            any(parameter["name"] == "If-None-Match" for parameter in operation["parameters"])
            and "ETag" in operation["responses"]["200"]["headers"]
            and "304" in operation["responses"]
        )
    ]
    assert gets and not undocumented

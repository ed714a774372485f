"""API rate limit (api.md §3): N requests per fixed, epoch-aligned window per Authorization header,
counted in the database so the limit holds across every worker and server."""

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from api.models import RateLimitCounter
from api.ratelimit import rate_limit_hit, window_start
from ecf import clock
from participants.models import LeadProvider
from participants.tokens import api_token_create
from tests import served

PING = "/api/v3/ping"
LIMIT = 3
# 100 s into a 300-second window that starts at 10:00:00 (a multiple of 300 s since the epoch).
IN_WINDOW = datetime(2025, 1, 15, 10, 1, 40, tzinfo=UTC)


@pytest.fixture
def limited(settings):
    settings.API_RATE_LIMIT_ENABLED = True
    settings.API_RATE_LIMIT = LIMIT
    settings.API_RATE_LIMIT_WINDOW_SECONDS = 300


def client_for(token: str | None = None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def get_many(client: APIClient, times: int, at: datetime = IN_WINDOW, **headers) -> list:
    with clock.frozen(at):
        return [client.get(PING, **headers) for _ in range(times)]


@pytest.mark.django_db
def test_every_api_response_says_the_limit_what_remains_and_when_the_window_resets(limited, lead_provider):
    client = client_for(api_token_create(lead_provider=lead_provider))

    first, second = get_many(client, 2)

    assert first.status_code == 200
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"], first["RateLimit-Reset"]) == ("3", "2", "200")
    assert second["RateLimit-Remaining"] == "1"


@pytest.mark.django_db
def test_the_request_over_the_limit_gets_429_with_retry_after_in_the_error_envelope(limited, lead_provider):
    client = client_for(api_token_create(lead_provider=lead_provider))

    responses = get_many(client, LIMIT + 2)

    assert [response.status_code for response in responses] == [200, 200, 200, 429, 429]
    refused = responses[LIMIT]
    assert refused["Content-Type"] == "application/vnd.api+json"
    assert refused["Retry-After"] == "200"
    assert (refused["RateLimit-Limit"], refused["RateLimit-Remaining"], refused["RateLimit-Reset"]) == ("3", "0", "200")
    assert refused.json() == {
        "errors": [
            {
                "title": "Too many requests",
                "detail": "More than 3 requests in 300 seconds. Retry in 200 seconds.",
                "code": "request.too_many",
            }
        ]
    }


@pytest.mark.django_db
def test_each_token_has_its_own_count(limited, lead_provider):
    exhausted = client_for(api_token_create(lead_provider=lead_provider))
    other = client_for(api_token_create(lead_provider=lead_provider, label="second"))
    get_many(exhausted, LIMIT + 1)

    (response,) = get_many(other, 1)

    assert response.status_code == 200
    assert response["RateLimit-Remaining"] == "2"


@pytest.mark.django_db
def test_junk_tokens_add_no_counter_rows(limited):
    junk = [get_many(client_for(f"junk-{n}"), 2) for n in range(10)]

    assert {response.status_code for responses in junk for response in responses} == {401}
    assert not RateLimitCounter.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "spelling",
    ["Bearer {}", "Bearer  {}", "Bearer {} ", "Token {}", "Token token={}", 'Token token="{}"', "Token  token={}"],
)
def test_every_spelling_of_one_token_shares_its_count(limited, lead_provider, spelling):
    token = api_token_create(lead_provider=lead_provider)
    get_many(client_for(token), LIMIT)

    (response,) = get_many(APIClient(), 1, HTTP_AUTHORIZATION=spelling.format(token))

    assert response.status_code == 429
    assert RateLimitCounter.objects.get().count == LIMIT + 1


@pytest.mark.django_db
def test_spellings_mixed_get_no_more_than_the_limit_through(limited, lead_provider):
    token = api_token_create(lead_provider=lead_provider)
    spellings = [f"Bearer {token}", f"Bearer  {token}", f'Token token="{token}"', f"Token {token}"] * 5

    with clock.frozen(IN_WINDOW):
        statuses = [APIClient().get(PING, HTTP_AUTHORIZATION=header).status_code for header in spellings]

    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == len(spellings) - LIMIT


@pytest.mark.django_db
def test_requests_without_an_authorization_header_are_not_counted(limited, lead_provider):
    anonymous = get_many(client_for(), LIMIT + 2)
    (with_token,) = get_many(client_for(api_token_create(lead_provider=lead_provider)), 1)

    assert {response.status_code for response in anonymous} == {401}
    assert anonymous[-1]["RateLimit-Remaining"] == "3"
    assert with_token["RateLimit-Remaining"] == "2"
    assert RateLimitCounter.objects.count() == 1


@pytest.mark.django_db
def test_the_count_starts_again_at_the_next_multiple_of_the_window(limited, lead_provider):
    client = client_for(api_token_create(lead_provider=lead_provider))
    last_second = datetime(2025, 1, 15, 10, 4, 59, tzinfo=UTC)
    get_many(client, LIMIT, at=last_second)

    (refused,) = get_many(client, 1, at=last_second)
    (next_window,) = get_many(client, 1, at=last_second + timedelta(seconds=1))

    assert (refused.status_code, refused["Retry-After"]) == (429, "1")
    assert (next_window.status_code, next_window["RateLimit-Remaining"], next_window["RateLimit-Reset"]) == (
        200,
        "2",
        "300",
    )


@pytest.mark.django_db
def test_the_sandbox_date_header_does_not_move_a_caller_out_of_its_window(limited, settings, lead_provider):
    settings.SANDBOX = True
    client = client_for(api_token_create(lead_provider=lead_provider))
    get_many(client, LIMIT)

    (response,) = get_many(client, 1, HTTP_X_WITH_SERVER_DATE="2030-01-01T00:00:00Z")

    assert response.status_code == 429


@pytest.mark.django_db
def test_paths_outside_the_api_are_neither_counted_nor_labelled(limited, lead_provider):
    with clock.frozen(IN_WINDOW):
        response = client_for(api_token_create(lead_provider=lead_provider)).get("/healthcheck")

    assert response.status_code == 200
    assert "RateLimit-Limit" not in response
    assert not RateLimitCounter.objects.exists()


@pytest.mark.django_db
def test_switched_off_the_api_sends_no_rate_limit_headers(settings, provider_client):
    settings.API_RATE_LIMIT_ENABLED = False

    response = provider_client.get(PING)

    assert response.status_code == 200
    assert "RateLimit-Limit" not in response


@pytest.mark.django_db
def test_one_statement_counts_each_hit_per_key_and_window():
    window = window_start(IN_WINDOW, 300)
    later = window + timedelta(seconds=300)

    counts = [rate_limit_hit(key="a", window=window) for _ in range(3)]

    assert counts == [1, 2, 3]
    assert rate_limit_hit(key="b", window=window) == 1
    assert rate_limit_hit(key="a", window=later) == 1
    assert window == datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_purge_deletes_the_counters_of_ended_windows_only(settings, lead_provider):
    settings.API_RATE_LIMIT_WINDOW_SECONDS = 300
    current = window_start(IN_WINDOW, 300)
    for start in (current - timedelta(seconds=600), current - timedelta(seconds=300), current):
        rate_limit_hit(key="a", window=start)

    with clock.frozen(IN_WINDOW):
        call_command("purge_request_logs", stdout=io.StringIO())

    assert list(RateLimitCounter.objects.values_list("window_start", flat=True)) == [current]


# ---------------------------------------------------------------------------------------
# Across processes: two servers, two gunicorn workers each, one shared count.

SERVED_LIMIT = 50
SERVED_REQUESTS = 80
# A window of ~31 years: no window boundary can fall inside the test and reset the count.
HUGE_WINDOW = str(10**9)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_servers_with_two_workers_each_let_exactly_the_limit_through(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the served processes run on PostgreSQL")
    provider = LeadProvider.objects.create(name="Busy Provider")
    with override_settings(SECRET_KEY=served.SERVER_SECRET_KEY):
        token = api_token_create(lead_provider=provider)
    env = served.production_env(
        API_RATE_LIMIT=str(SERVED_LIMIT), API_RATE_LIMIT_WINDOW_SECONDS=HUGE_WINDOW, STATIC_ROOT=str(tmp_path)
    )
    ports = [served.free_port(), served.free_port()]
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}

    with (
        served.running(served.gunicorn(port=ports[0], workers=2), env=env, port=ports[0], log=tmp_path / "a.log") as a,
        served.running(served.gunicorn(port=ports[1], workers=2), env=env, port=ports[1], log=tmp_path / "b.log") as b,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        # Alternate between the servers, eight requests in flight at a time.
        urls = [f"{(a, b)[n % 2]}{PING}" for n in range(SERVED_REQUESTS)]
        answers = list(pool.map(lambda url: served.fetch(url, headers), urls))

    statuses = [answer.status for answer in answers]
    assert statuses.count(200) == SERVED_LIMIT
    assert statuses.count(429) == SERVED_REQUESTS - SERVED_LIMIT
    # Every accepted request saw a count of its own: no increment was lost or shared.
    remaining = sorted(int(answer.headers["RateLimit-Remaining"]) for answer in answers if answer.status == 200)
    assert remaining == list(range(SERVED_LIMIT))
    assert {answer.status for answer in answers[0::2]} >= {200} and {answer.status for answer in answers[1::2]} >= {200}
    assert RateLimitCounter.objects.get().count == SERVED_REQUESTS

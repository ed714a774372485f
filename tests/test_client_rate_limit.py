"""Issue 12.1: a caller without a valid token costs no row anywhere, and every client address is limited
(CLIENT_RATE_LIMIT per window, every path) in a counter table that cannot grow past its fixed size."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api.models import ApiRequestLog, RateLimitCounter, ThrottleSlot
from ecf import clock

LIMIT = 3
IN_WINDOW = datetime(2025, 1, 15, 10, 1, 40, tzinfo=UTC)
DECLARATIONS = "/api/v3/participant-declarations"


@pytest.fixture
def limited(settings):
    settings.CLIENT_RATE_LIMIT_ENABLED = True
    settings.CLIENT_RATE_LIMIT = LIMIT
    settings.CLIENT_RATE_LIMIT_WINDOW_SECONDS = 300
    settings.API_RATE_LIMIT_ENABLED = True


def statuses(client: Client, path: str, times: int, at: datetime = IN_WINDOW, **extra) -> list[int]:
    with clock.frozen(at):
        return [client.get(path, **extra).status_code for _ in range(times)]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v3/ping", "/api/v3/participants/ecf", "/admin/login/", "/api/docs/v3/"])
def test_one_address_gets_the_limit_then_429_on_any_path(limited, path):
    answers = statuses(Client(), path, LIMIT + 2)

    assert answers[LIMIT:] == [429, 429]
    assert 429 not in answers[:LIMIT]


@pytest.mark.django_db
def test_the_429_says_when_to_retry_in_the_error_envelope(limited):
    client = Client()
    statuses(client, "/api/v3/ping", LIMIT)

    with clock.frozen(IN_WINDOW):
        refused = client.get("/api/v3/ping")

    assert (refused.status_code, refused["Retry-After"]) == (429, "200")
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
def test_the_count_is_per_address_and_starts_again_next_window(limited):
    client = Client()
    statuses(client, "/api/v3/ping", LIMIT + 1, REMOTE_ADDR="192.0.2.1")

    assert statuses(client, "/api/v3/ping", 1, REMOTE_ADDR="192.0.2.2") == [401]
    assert statuses(client, "/api/v3/ping", 1, at=IN_WINDOW + timedelta(seconds=300), REMOTE_ADDR="192.0.2.1") == [401]


@pytest.mark.django_db
def test_the_health_check_is_never_refused(limited):
    assert set(statuses(Client(), "/healthcheck", LIMIT + 3)) == {200}


@pytest.mark.django_db
def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(limited):
    client = Client()
    # A flood that names a new address in each request is still one address: the peer's.
    answers = [statuses(client, "/api/v3/ping", 1, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")[0] for n in range(LIMIT + 1)]

    assert answers[-1] == 429


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(limited, settings):
    settings.TRUSTED_PROXIES = ["unix", "10.0.0.0/8"]
    client = Client()
    # nginx on a Unix socket (REMOTE_ADDR empty) forwarding one client, which prepends a forged hop.
    proxied = {"REMOTE_ADDR": "", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 198.51.100.7, 10.1.2.3"}
    statuses(client, "/api/v3/ping", LIMIT + 1, **proxied)

    other_client = statuses(client, "/api/v3/ping", 1, REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="198.51.100.8")
    same_client_new_forgery = statuses(
        client, "/api/v3/ping", 1, REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7"
    )

    assert (other_client, same_client_new_forgery) == ([401], [429])


@pytest.mark.django_db
def test_a_million_addresses_would_still_fit_in_the_fixed_number_of_rows(limited, settings):
    settings.THROTTLE_SLOTS = 16
    settings.CLIENT_RATE_LIMIT = 1000
    client = Client()

    for n in range(300):
        statuses(client, "/api/v3/ping", 1, REMOTE_ADDR=f"10.{n // 256}.{n % 256}.1")

    assert ThrottleSlot.objects.count() <= 16


@pytest.mark.django_db
def test_token_less_and_junk_token_floods_add_no_rows(limited, settings):
    settings.CLIENT_RATE_LIMIT = 10_000
    client = Client()
    body = json.dumps({"data": {"attributes": {"padding": "x" * 60_000}}})
    rows_before = ThrottleSlot.objects.count()

    with clock.frozen(IN_WINDOW), CaptureQueriesContext(connection) as queries:
        for n in range(30):
            headers = {"HTTP_AUTHORIZATION": f"Bearer junk-{n}"} if n % 2 else {}
            assert client.post(DECLARATIONS, body, content_type="application/json", **headers).status_code == 401

    writes = [query["sql"] for query in queries if not query["sql"].lstrip().upper().startswith("SELECT")]
    assert writes and all('"api_throttleslot"' in sql for sql in writes), writes
    assert ThrottleSlot.objects.count() == rows_before + 1  # the one address's slot
    assert not ApiRequestLog.objects.exists()
    assert not RateLimitCounter.objects.exists()


@pytest.mark.django_db
def test_an_address_over_the_limit_costs_no_further_query(limited, django_assert_num_queries):
    client = Client()
    statuses(client, "/api/v3/ping", LIMIT + 1)

    with clock.frozen(IN_WINDOW), django_assert_num_queries(0):
        assert client.get("/api/v3/ping").status_code == 429

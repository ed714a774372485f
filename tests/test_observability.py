"""What operators see: GET /metrics (Prometheus, behind its own token) and one JSON log line per
request with errors and their tracebacks on the same stream, found by the request id."""

import io
import json
import logging
import re
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError
from prometheus_client import REGISTRY

from api.views import PingView
from declarations.models import DeclarationAttempt
from ecf import metrics
from ecf.json_logs import JsonFormatter, TextFormatter, logging_config
from jobs.models import JobRun
from participants.tokens import api_token_create
from tests.factories import DeclarationFactory

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "metrics-" + "s3cret" * 6
SCRAPER = {"HTTP_AUTHORIZATION": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def scraping(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN


def scrape(client) -> str:
    response = client.get("/metrics", **SCRAPER)
    assert response.status_code == 200, response.content
    return response.content.decode()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a scrape, or None when the series is absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        found, _, label_text = series.partition("{")
        if found == name and ",".join(sorted(label_text.rstrip("}").split(","))) == wanted:
            return float(value)
    return None


def requests_counted(**labels: str) -> float:
    return REGISTRY.get_sample_value("ecf_http_requests_total", labels) or 0.0


# ---------------------------------------------------------------------------------------
# Who may scrape


def test_metrics_do_not_exist_while_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Bearer {METRICS_TOKEN}x", METRICS_TOKEN])
def test_metrics_refuse_a_request_without_the_metrics_token(client, scraping, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert b"ecf_" not in response.content


def test_a_lead_provider_token_does_not_open_the_metrics(client, scraping, lead_provider):
    token = api_token_create(lead_provider=lead_provider)

    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_metrics_are_served_in_the_prometheus_text_format(client, scraping):
    response = client.get("/metrics", **SCRAPER)

    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"]


# ---------------------------------------------------------------------------------------
# Requests, latency and 429s, per route and version


def test_requests_are_counted_by_route_version_method_and_status(client, scraping, provider_client):
    ping = {"route": "v3:ping", "version": "v3", "method": "GET", "status": "200"}
    unknown = {"route": "unmatched", "version": "v2", "method": "GET", "status": "404"}
    before = requests_counted(**ping), requests_counted(**unknown)

    for _ in range(3):
        provider_client.get("/api/v3/ping")
    provider_client.get("/api/v2/no-such-thing/12345")

    text = scrape(client)
    assert sample(text, "ecf_http_requests_total", **ping) == before[0] + 3
    assert sample(text, "ecf_http_requests_total", **unknown) == before[1] + 1
    latency = {"route": "v3:ping", "version": "v3", "method": "GET"}
    assert sample(text, "ecf_http_request_duration_seconds_count", **latency) >= 3
    assert sample(text, "ecf_http_request_duration_seconds_bucket", **latency, le="30.0") >= 3


def test_detail_routes_are_labelled_by_name_never_by_the_id_in_the_path(client, scraping, provider_client):
    detail = {"route": "v3:participant-detail", "version": "v3", "method": "GET", "status": "404"}
    before = requests_counted(**detail)

    provider_client.get("/api/v3/participants/ecf/6a1a0f4e-9c7b-4f6e-8d50-1f0c7d1e2a3b")

    text = scrape(client)
    assert "6a1a0f4e" not in text
    assert sample(text, "ecf_http_requests_total", **detail) == before + 1


def test_the_rate_limits_429s_are_counted(client, scraping, settings, lead_provider):
    settings.API_RATE_LIMIT_ENABLED, settings.API_RATE_LIMIT = True, 1
    token = api_token_create(lead_provider=lead_provider)
    before = REGISTRY.get_sample_value("ecf_http_rate_limited_total", {"version": "v3"}) or 0.0

    statuses = [client.get("/api/v3/ping", HTTP_AUTHORIZATION=f"Bearer {token}").status_code for _ in range(3)]

    assert statuses == [200, 429, 429]
    text = scrape(client)
    assert sample(text, "ecf_http_rate_limited_total", version="v3") == before + 2
    # Refused before URL resolution, still labelled with the route asked for.
    refused = {"route": "v3:ping", "version": "v3", "method": "GET", "status": "429"}
    assert sample(text, "ecf_http_requests_total", **refused) >= 2


# ---------------------------------------------------------------------------------------
# Read from the database at scrape time


def test_declarations_are_counted_by_state(client, scraping):
    DeclarationFactory(eligible=True)
    DeclarationFactory(eligible=True)
    DeclarationFactory(ineligible=True)

    text = scrape(client)

    assert sample(text, "ecf_declarations", state="eligible") == 2
    assert sample(text, "ecf_declarations", state="ineligible") == 1
    assert sample(text, "ecf_declarations", state="paid") == 0


def test_submissions_are_counted_by_outcome_and_refusals_by_the_attribute_named(client, scraping):
    accepted = DeclarationFactory(eligible=True)
    attempt = {"lead_provider": accepted.lead_provider, "participant": accepted.participant}
    DeclarationAttempt.objects.create(**attempt, declaration=accepted)
    DeclarationAttempt.objects.create(**attempt, errors=[["declaration_date", "is before the milestone"]])
    DeclarationAttempt.objects.create(
        **attempt, errors=[["declaration_date", "is in the future"], ["evidence_held", "is required"]]
    )

    text = scrape(client)

    assert sample(text, "ecf_declaration_attempts_total", outcome="accepted") == 1
    assert sample(text, "ecf_declaration_attempts_total", outcome="refused") == 2
    assert sample(text, "ecf_declaration_refusals_total", attribute="declaration_date") == 2
    assert sample(text, "ecf_declaration_refusals_total", attribute="evidence_held") == 1


def test_each_jobs_last_success_is_a_unix_time(client, scraping):
    at = datetime(2025, 3, 10, 0, 5, 30, tzinfo=UTC)
    JobRun.objects.create(name="mark_statements_payable", finished_at=at, succeeded=True)
    JobRun.objects.create(name="purge_request_logs", finished_at=at, succeeded=False)

    text = scrape(client)

    assert sample(text, "ecf_job_last_success_timestamp_seconds", job="mark_statements_payable") == at.timestamp()
    # Never succeeded: absent, so that an alert on absent(...) fires.
    assert sample(text, "ecf_job_last_success_timestamp_seconds", job="purge_request_logs") is None


def test_an_outbox_that_registers_its_backlog_is_exposed(client, scraping, monkeypatch):
    monkeypatch.setattr(metrics, "_BACKLOGS", {})
    metrics.register_backlog("emails", lambda: 7)

    assert sample(scrape(client), "ecf_outbox_backlog", outbox="emails") == 7


def test_a_scrape_while_the_database_is_down_still_answers_with_the_traffic(client, scraping, monkeypatch):
    def unreachable():
        raise DatabaseError("connection refused")

    monkeypatch.setattr(metrics, "_declarations_by_state", unreachable)

    text = scrape(client)

    assert sample(text, "ecf_metrics_database_up") == 0
    assert "ecf_http_requests_total" in text


# ---------------------------------------------------------------------------------------
# One JSON line per request, errors with tracebacks on the same stream


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_each_request_writes_one_json_line_with_its_figures_and_never_the_token(
    client, log_lines, lead_provider, settings
):
    settings.API_RATE_LIMIT_ENABLED = True  # its query is counted with the rest
    token = api_token_create(lead_provider=lead_provider)

    response = client.get("/api/v3/ping?x=1", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_REQUEST_ID="complaint-42")

    (line,) = [entry for entry in log_lines() if entry["logger"] == "ecf.request"]
    assert response["X-Request-Id"] == "complaint-42"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line.pop("time"))
    duration, queries = line.pop("duration_ms"), line.pop("queries")
    assert isinstance(duration, float) and duration > 0
    assert queries >= 2  # the rate-limit count and the token look-up, at least
    assert line == {
        "level": "INFO",
        "logger": "ecf.request",
        "message": "GET /api/v3/ping 200",
        "request_id": "complaint-42",
        "method": "GET",
        "path": "/api/v3/ping",
        "route": "v3:ping",
        "version": "v3",
        "status": 200,
        "provider_id": str(lead_provider.pk),
    }
    assert token not in json.dumps(log_lines())


def test_a_request_without_a_valid_token_is_logged_without_a_provider(client, log_lines):
    client.get("/api/v1/participants/ecf", HTTP_AUTHORIZATION="Bearer not-a-token")

    (line,) = [entry for entry in log_lines() if entry["logger"] == "ecf.request"]
    assert (line["status"], line["provider_id"], line["route"], line["version"]) == (
        401,
        None,
        "v1:participant-list",
        "v1",
    )
    assert "not-a-token" not in json.dumps(line)


def test_an_error_and_its_traceback_carry_the_request_id_of_its_request(provider_client, log_lines, monkeypatch):
    def explode(self, request, *args, **kwargs):
        raise RuntimeError("boom in ping")

    monkeypatch.setattr(PingView, "get", explode)

    response = provider_client.get("/api/v3/ping", HTTP_X_REQUEST_ID="complaint-43")

    assert response.status_code == 500
    mine = [entry for entry in log_lines() if entry.get("request_id") == "complaint-43"]
    error, request = (
        [entry for entry in mine if entry["level"] == "ERROR"],
        [entry for entry in mine if entry["logger"] == "ecf.request"],
    )
    assert len(error) == 1 and len(request) == 1
    assert error[0]["traceback"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom in ping" in error[0]["traceback"]
    assert request[0]["status"] == 500


def test_a_streamed_csv_is_logged_once_its_last_byte_is_sent(provider_client, log_lines):
    response = provider_client.get("/api/v1/participants/ecf.csv")
    assert response.streaming
    before = [entry for entry in log_lines() if entry["logger"] == "ecf.request"]

    b"".join(response.streaming_content)
    response.close()

    after = [entry for entry in log_lines() if entry["logger"] == "ecf.request"]
    assert (len(before), len(after)) == (0, 1)
    assert (after[0]["route"], after[0]["status"]) == ("v1:participant-csv", 200)


def test_a_streamed_response_closed_unread_is_still_logged(provider_client, log_lines):
    response = provider_client.get("/api/v1/participants/ecf.csv")
    response.close()

    assert len([entry for entry in log_lines() if entry["logger"] == "ecf.request"]) == 1


def test_streamed_responses_never_closed_leave_no_wrapper_behind(provider_client):
    """`make fuzz` left 18,000 responses unclosed in one process: one query wrapper each, nested, until a
    RecursionError on every query. However many are left open, the connection holds one counter."""
    from django.db import connection

    for _ in range(5):
        provider_client.get("/api/v1/participants/ecf.csv")  # never read, never closed

    counters = [wrapper for wrapper in connection.execute_wrappers if wrapper.__module__ == "ecf.observability"]
    assert len(counters) == 1
    assert provider_client.get("/api/v3/participants/ecf").status_code == 200


def test_a_wrapper_installed_around_the_first_request_is_the_one_its_exit_removes(provider_client):
    """The request counter joins a connection's wrappers on its first request. Django's
    `execute_wrapper()` removes the LAST wrapper on exit: when the counter went in after a caller's
    (the bench's query plans and query counts wrap requests so), the caller's own wrapper stayed
    installed for good, and the plans tool replaying queries fed its own list, never to finish."""
    from django.db import connection

    from ecf.observability import count_query

    if count_query in connection.execute_wrappers:  # as on a connection's first request
        connection.execute_wrappers.remove(count_query)
    seen = []

    def caller_wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(caller_wrapper):
        assert provider_client.get("/api/v3/ping").status_code == 200
    assert caller_wrapper not in connection.execute_wrappers
    assert count_query in connection.execute_wrappers
    queries_seen = len(seen)
    provider_client.get("/api/v3/ping")
    assert len(seen) == queries_seen


def test_each_request_counts_only_its_own_queries(provider_client, log_lines):
    unclosed = provider_client.get("/api/v1/participants/ecf.csv")  # its counter must not keep counting
    provider_client.get("/api/v3/ping")
    unclosed.close()

    lines = [entry for entry in log_lines() if entry["logger"] == "ecf.request"]
    ping = next(entry for entry in lines if entry["path"] == "/api/v3/ping")
    csv = next(entry for entry in lines if entry["path"] == "/api/v1/participants/ecf.csv")
    assert 0 < ping["queries"] < 10
    assert csv["queries"] >= 1


def test_make_run_logs_as_text_and_make_serve_as_json():
    assert logging_config(format="text", level="INFO")["formatters"]["default"] == {"()": "ecf.json_logs.TextFormatter"}
    assert logging_config(format="json", level="INFO")["formatters"]["default"] == {"()": "ecf.json_logs.JsonFormatter"}
    record = logging.LogRecord("ecf.request", logging.INFO, __file__, 1, "GET /x 200", None, None)
    record.fields = {"duration_ms": 1.5, "queries": 2, "provider_id": None, "request_id": "abc"}
    assert TextFormatter().format(record).endswith("ecf.request: GET /x 200 duration_ms=1.5 queries=2 request_id=abc")

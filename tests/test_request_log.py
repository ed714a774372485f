"""Request ids on every response, a stored record of every failed API request (never the token),
the back office to read it, and the retention command."""

import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from api.models import ApiRequestLog
from api.views import PingView
from ecf import clock
from participants.tokens import api_token_create

DECLARATIONS = "/api/v3/participant-declarations"
PARTICIPANTS = "/api/v3/participants/ecf"
UNKNOWN_PARTICIPANT = f"{PARTICIPANTS}/00000000-0000-0000-0000-000000000000"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def token(lead_provider):
    return api_token_create(lead_provider=lead_provider)


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("support", "support@example.com", "pw"))
    return client


# ---------------------------------------------------------------------------------------
# X-Request-Id


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v3/ping", "/api/v3/nothing-here", "/healthcheck", "/admin/login/"])
def test_every_response_carries_a_generated_request_id(client, path):
    response = client.get(path)

    assert GENERATED_ID.fullmatch(response["X-Request-Id"])


@pytest.mark.django_db
def test_each_request_gets_a_new_id(client):
    assert client.get("/healthcheck")["X-Request-Id"] != client.get("/healthcheck")["X-Request-Id"]


@pytest.mark.django_db
def test_a_well_formed_caller_request_id_is_echoed(client):
    response = client.get("/healthcheck", HTTP_X_REQUEST_ID="lp-42.retry_1")

    assert response["X-Request-Id"] == "lp-42.retry_1"


@pytest.mark.django_db
@pytest.mark.parametrize("offered", ["", "has space", "semi;colon", "x" * 129, "é"])
def test_a_malformed_caller_request_id_is_replaced(client, offered):
    response = client.get("/healthcheck", HTTP_X_REQUEST_ID=offered)

    assert GENERATED_ID.fullmatch(response["X-Request-Id"])


# ---------------------------------------------------------------------------------------
# The error log


@pytest.mark.django_db
def test_a_failed_api_request_is_stored_with_what_was_sent_and_answered(client, lead_provider, token):
    body = json.dumps({"nothing": "useful"})

    with clock.frozen(NOW):
        response = client.post(
            f"{DECLARATIONS}?trace=1",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_X_REQUEST_ID="req-1",
        )

    assert response.status_code == 400
    entry = ApiRequestLog.objects.get()
    assert (entry.created_at, entry.request_id, entry.lead_provider, entry.method) == (
        NOW,
        "req-1",
        lead_provider,
        "POST",
    )
    assert (entry.path, entry.query_string, entry.request_body) == (DECLARATIONS, "trace=1", body)
    assert (entry.response_status, json.loads(entry.response_body)) == (400, response.json())


@pytest.mark.django_db
def test_the_token_is_never_stored(client, token):
    client.post(DECLARATIONS, "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(PARTICIPANTS, {"filter[updated_since]": "bad"}, HTTP_AUTHORIZATION=f"Bearer {token}")

    entries = list(ApiRequestLog.objects.values())
    assert len(entries) == 2
    assert token not in repr(entries)


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer wrong"}])
def test_a_request_without_a_valid_token_is_not_stored(client, headers):
    body = json.dumps({"padding": "x" * 60_000})

    responses = [client.post(DECLARATIONS, body, content_type="application/json", **headers) for _ in range(5)]

    assert {response.status_code for response in responses} == {401}
    assert not ApiRequestLog.objects.exists()


@pytest.mark.django_db
def test_one_provider_stores_at_most_its_cap_of_entries_per_window(client, settings, token):
    settings.REQUEST_LOG_PER_PROVIDER = 3

    with clock.frozen(NOW):
        for _ in range(6):
            client.get(PARTICIPANTS, {"filter[updated_since]": "bad"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    with clock.frozen(NOW + timedelta(seconds=settings.API_RATE_LIMIT_WINDOW_SECONDS)):
        client.get(PARTICIPANTS, {"filter[updated_since]": "bad"}, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert ApiRequestLog.objects.count() == 3 + 1


@pytest.mark.django_db
def test_successful_api_requests_and_errors_outside_the_api_are_not_stored(client, token):
    assert client.get("/api/v3/ping", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client.get("/nowhere").status_code == 404

    assert not ApiRequestLog.objects.exists()


@pytest.mark.django_db
def test_a_rate_limited_request_is_stored(client, settings, token):
    settings.API_RATE_LIMIT_ENABLED = True
    settings.API_RATE_LIMIT = 1
    client.get("/api/v3/ping", HTTP_AUTHORIZATION=f"Bearer {token}")

    client.get("/api/v3/ping", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert list(ApiRequestLog.objects.values_list("response_status", flat=True)) == [429]


@pytest.mark.django_db
def test_an_unhandled_error_is_stored(client, monkeypatch, lead_provider, token):
    def explode(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(PingView, "get", explode)

    response = client.get("/api/v3/ping", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 500
    entry = ApiRequestLog.objects.get()
    assert (entry.response_status, entry.lead_provider, entry.response_body) == (
        500,
        lead_provider,
        '{"error":"Internal server error"}',
    )


@pytest.mark.django_db
def test_large_bodies_are_stored_truncated_to_16_kb(client, token):
    body = json.dumps({"data": "x" * 60_000})

    client.post(DECLARATIONS, body, content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {token}")

    entry = ApiRequestLog.objects.get()
    assert entry.request_body == body[: 16 * 1024]


@pytest.mark.django_db
def test_purge_deletes_entries_older_than_the_given_days(client, token):
    for age in (40, 31, 29, 1):
        with clock.frozen(NOW - timedelta(days=age)):
            client.get(UNKNOWN_PARTICIPANT, HTTP_X_REQUEST_ID=f"age-{age}", HTTP_AUTHORIZATION=f"Bearer {token}")
    output = io.StringIO()

    with clock.frozen(NOW):
        call_command("purge_request_logs", stdout=output)
        assert sorted(ApiRequestLog.objects.values_list("request_id", flat=True)) == ["age-1", "age-29"]
        call_command("purge_request_logs", "--days", "7", stdout=output)

    assert list(ApiRequestLog.objects.values_list("request_id", flat=True)) == ["age-1"]
    assert "Deleted 2 API error log entries older than 30 days" in output.getvalue()


# ---------------------------------------------------------------------------------------
# The back office


@pytest.mark.django_db
def test_staff_find_a_failed_request_by_the_id_the_provider_quotes(client, staff_client, token):
    client.get(UNKNOWN_PARTICIPANT, HTTP_X_REQUEST_ID="quoted-by-provider", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(UNKNOWN_PARTICIPANT, HTTP_X_REQUEST_ID="another", HTTP_AUTHORIZATION=f"Bearer {token}")

    page = staff_client.get("/admin/api/apirequestlog/", {"q": "quoted-by-provider"})

    assert page.status_code == 200
    assert list(page.context["cl"].result_list.values_list("request_id", flat=True)) == ["quoted-by-provider"]


@pytest.mark.django_db
def test_staff_filter_the_log_by_status(client, staff_client, token):
    client.get(UNKNOWN_PARTICIPANT, HTTP_AUTHORIZATION=f"Bearer {token}")
    client.post(DECLARATIONS, "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")

    page = staff_client.get("/admin/api/apirequestlog/", {"response_status": "400"})

    assert [entry.response_status for entry in page.context["cl"].result_list] == [400]


@pytest.mark.django_db
def test_the_log_can_be_read_but_not_added_edited_or_deleted(client, staff_client, token):
    client.get(UNKNOWN_PARTICIPANT, {"filter[cohort]": "2024"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    entry = ApiRequestLog.objects.get()

    page = staff_client.get(f"/admin/api/apirequestlog/{entry.pk}/change/")

    assert page.status_code == 200
    assert b"filter%5Bcohort%5D=2024" in page.content
    assert b'name="_save"' not in page.content
    assert staff_client.get("/admin/api/apirequestlog/add/").status_code == 403
    assert staff_client.post(f"/admin/api/apirequestlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ApiRequestLog.objects.filter(pk=entry.pk).exists()

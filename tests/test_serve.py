"""`make serve` runs the service as production does: gunicorn workers on PostgreSQL, DEBUG off,
static files by whitenoise, HTTPS protections, and a deploy check with nothing to report."""

import json
import re
import secrets
import socket
import subprocess
import sys

import pytest
from django.db import connection

from tests import served

SERVE = str(served.ROOT / "scripts" / "serve.sh")
HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS proxy in front adds
METRICS_TOKEN = "serve-test-metrics-token-" + "0123456789" * 2


def production(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in served.production_env(DATABASE_URL="postgres://ecf:secret@db.internal:5432/ecf").items()
        if key not in ("SECRET_KEY", "ALLOWED_HOSTS")
    }
    env.update(SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="example.org", DJANGO_SETTINGS_MODULE="ecf.settings")
    env.update(overrides)
    return env


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=served.ROOT, env=env, capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------------------------
# What `make serve` refuses, and the settings it runs with


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"DATABASE_URL": ""},
            "DATABASE_URL is not set; point it at PostgreSQL, e.g. postgres://user:password@host:5432/ecf",
        ),
        (
            {"DATABASE_URL": "sqlite:///db.sqlite3"},
            "DATABASE_URL must point at PostgreSQL (postgres://...), not sqlite",
        ),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set; use a random value of at least 50 characters"),
    ],
)
def test_serve_refuses_to_start_without_postgresql_and_a_secret_key(overrides, message):
    result = run([SERVE], production(**overrides))

    assert (result.returncode, result.stderr, result.stdout) == (2, f"make serve: {message}\n", "")


def test_the_deploy_check_reports_nothing_under_production_settings():
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"], production())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_production_settings_keep_connections_serve_compressed_static_files_and_limit_the_api():
    script = (
        "import django, json; from django.conf import settings; django.setup(); "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({'debug': settings.DEBUG, 'conn_max_age': db['CONN_MAX_AGE'], "
        "'health_checks': db['CONN_HEALTH_CHECKS'], 'static': settings.STORAGES['staticfiles']['BACKEND'], "
        "'middleware': settings.MIDDLEWARE[:6], 'rate': [settings.API_RATE_LIMIT_ENABLED, "
        "settings.API_RATE_LIMIT, settings.API_RATE_LIMIT_WINDOW_SECONDS], "
        "'per_address': [settings.CLIENT_RATE_LIMIT_ENABLED, settings.CLIENT_RATE_LIMIT, "
        "settings.CLIENT_RATE_LIMIT_WINDOW_SECONDS, settings.TRUSTED_PROXIES], "
        "'body_limit': [settings.MAX_REQUEST_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE], "
        "'cookies': [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, settings.CSRF_COOKIE_SECURE], "
        "'frames': settings.X_FRAME_OPTIONS}))"
    )

    result = run([sys.executable, "-c", script], production())

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "debug": False,
        "conn_max_age": 60,
        "health_checks": True,
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "middleware": [
            "api.request_log.RequestLogMiddleware",
            "ecf.observability.ObservabilityMiddleware",
            "api.body_limit.BodyLimitMiddleware",
            "api.ratelimit.ClientRateLimitMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
        ],
        "rate": [True, 1000, 300],
        # X-Forwarded-For is believed from no one unless configured (serve.sh: nginx on the socket).
        "per_address": [True, 1500, 300, []],
        "body_limit": [65536, 65536],
        "cookies": [True, True, True],
        "frames": "DENY",
    }


def test_rate_limit_and_connection_age_come_from_the_environment():
    script = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.API_RATE_LIMIT, settings.API_RATE_LIMIT_WINDOW_SECONDS, "
        "settings.DATABASES['default']['CONN_MAX_AGE'])"
    )
    env = production(API_RATE_LIMIT="20", API_RATE_LIMIT_WINDOW_SECONDS="60", DB_CONN_MAX_AGE="0")

    result = run([sys.executable, "-c", script], env)

    assert result.stdout.split() == ["20", "60", "0"]


# ---------------------------------------------------------------------------------------
# The served instance: scripts/serve.sh (migrate, collectstatic, gunicorn) on the test database


@pytest.fixture(scope="module")
def serve_directory(tmp_path_factory):
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def site(django_db_setup, serve_directory):
    if connection.vendor != "postgresql":
        pytest.skip("make serve runs on PostgreSQL only")
    port = served.free_port()
    directory = serve_directory
    env = served.production_env(
        PORT=str(port),
        WEB_CONCURRENCY="2",
        STATIC_ROOT=str(directory / "static"),
        METRICS_TOKEN=METRICS_TOKEN,
        CLIENT_BODY_TIMEOUT=str(SLOW_CLIENT_TIMEOUT),
    )
    with served.running([SERVE], env=env, port=port, log=directory / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def serve_log(site, serve_directory):
    return serve_directory / "serve.log"


SLOW_CLIENT_TIMEOUT = 3


def test_served_healthcheck_answers_over_plain_http_for_the_load_balancer(site):
    answer = served.fetch(f"{site}/healthcheck")

    assert (answer.status, json.loads(answer.body)) == (200, {"status": "ok"})


def test_served_api_redirects_plain_http_to_https(site):
    answer = served.fetch(f"{site}/api/v3/ping")

    assert answer.status == 301
    assert answer.headers["Location"] == f"https://127.0.0.1:{site.rsplit(':', 1)[1]}/api/v3/ping"


def test_served_api_answers_with_request_id_and_rate_limit_headers(site):
    answer = served.fetch(f"{site}/api/v3/ping", {**HTTPS, "Authorization": "Bearer unknown-token"})

    assert answer.status == 401
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"])
    assert (answer.headers["RateLimit-Limit"], answer.headers["RateLimit-Remaining"]) == ("1000", "1000")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_served_admin_login_cannot_be_framed_and_its_cookie_is_secure_and_http_only(site):
    answer = served.fetch(f"{site}/admin/login/", HTTPS)

    assert answer.status == 200
    assert answer.headers["X-Frame-Options"] == "DENY"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("csrftoken=")
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_served_admin_styles_come_hashed_compressed_and_cached_forever(site):
    page = served.fetch(f"{site}/admin/login/", HTTPS).body.decode()
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page).group(1)

    answer = served.fetch(f"{site}{stylesheet}", {**HTTPS, "Accept-Encoding": "gzip"})

    assert answer.status == 200
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Cache-Control"] == "max-age=315360000, public, immutable"


def test_served_swagger_ui_loads_its_own_scripts(site):
    page = served.fetch(f"{site}/api/docs/v3/", HTTPS)
    script = re.search(r'src="(/static/drf_spectacular_sidecar/[^"]+\.js)"', page.body.decode()).group(1)

    answer = served.fetch(f"{site}{script}", HTTPS)

    assert page.status == 200
    assert answer.status == 200
    assert "javascript" in answer.headers["Content-Type"]


def test_served_metrics_answer_the_scraper_over_plain_http_and_no_one_else(site):
    served.fetch(f"{site}/api/v3/ping", {**HTTPS, "Authorization": "Bearer unknown-token"})

    scrape = served.fetch(f"{site}/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    refused = served.fetch(f"{site}/metrics", {**HTTPS, "Authorization": "Bearer guess"})

    assert scrape.status == 200
    assert 'ecf_http_requests_total{method="GET",route="v3:ping",status="401",version="v3"}' in scrape.body.decode()
    assert refused.status == 401


def test_served_requests_are_logged_as_json_lines(site, serve_log):
    served.fetch(f"{site}/api/v3/ping", {**HTTPS, "Authorization": "Bearer unknown-token", "X-Request-Id": "serve-1"})

    # The log lines (migrate's and collectstatic's own output before them is not logging).
    entries = [json.loads(line) for line in serve_log.read_text().splitlines() if line.startswith("{")]
    (line,) = [entry for entry in entries if entry.get("request_id") == "serve-1"]
    assert (line["logger"], line["status"], line["route"], line["version"]) == ("ecf.request", 401, "v3:ping", "v3")
    assert "unknown-token" not in serve_log.read_text()


# ---------------------------------------------------------------------------------------
# nginx in front (issue 12.9): slow clients and big bodies stop at the edge


def port_of(site: str) -> int:
    return int(site.rsplit(":", 1)[1])


def slow_post(site: str) -> socket.socket:
    """A token-less client that promises a body and sends almost none of it."""
    connection = socket.create_connection(("127.0.0.1", port_of(site)), timeout=30)
    connection.sendall(
        b"POST /api/v3/participant-declarations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"
    )
    return connection


def test_served_slow_clients_do_not_block_the_health_check(site):
    # Twice as many slow clients as gunicorn has workers: without a buffering proxy each holds a
    # worker until gunicorn's 30 s timeout, and the health check below could not be answered.
    slow = [slow_post(site) for _ in range(4)]
    try:
        answers = [served.fetch(f"{site}/healthcheck", timeout=SLOW_CLIENT_TIMEOUT - 1) for _ in range(3)]
    finally:
        for connection in slow:
            connection.close()

    assert [answer.status for answer in answers] == [200, 200, 200]


def test_served_slow_body_is_cut_off_at_the_client_body_timeout(site):
    connection = slow_post(site)
    connection.settimeout(SLOW_CLIENT_TIMEOUT * 5)
    try:
        answer = connection.recv(65536)
    finally:
        connection.close()

    # nginx ends the request (408) without troubling gunicorn.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_served_body_over_the_limit_is_refused_at_the_edge_in_the_envelope(site):
    connection = socket.create_connection(("127.0.0.1", port_of(site)), timeout=30)
    try:
        connection.sendall(
            b"POST /api/v3/participant-declarations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
            b"Content-Type: application/json\r\nContent-Length: 47185920\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    finally:
        connection.close()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"Server: nginx" in head and b"Content-Type: application/vnd.api+json" in head
    assert json.loads(body) == {
        "errors": [
            {
                "title": "Request body too large",
                "detail": "The request body is larger than 65536 bytes, the most this service accepts.",
                "code": "request.body_too_large",
            }
        ]
    }


def test_served_gunicorn_is_reachable_only_through_nginx(site):
    answer = served.fetch(f"{site}/healthcheck")

    assert answer.headers["Server"] == "nginx"

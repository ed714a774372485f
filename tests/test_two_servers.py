"""Two app servers (gunicorn, two workers each) on one PostgreSQL, as production runs them
(docs/deployment.md): the rate limit holds once across both, each server's metrics add up its
workers, both log JSON lines, and a scheduled job started by every server's runner runs once."""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.test import override_settings

from declarations.models import DeclarationState, DeclarationStateChange
from jobs.models import JobRun
from participants.models import LeadProvider
from participants.tokens import api_token_create
from statements.models import StatementStatus
from tests import served
from tests.factories import DeclarationFactory, StatementFactory

PING = "/api/v3/ping"
LIMIT, REQUESTS = 50, 80
METRICS_TOKEN = "two-servers-metrics-token-" + "0123456789" * 2
# A window of ~31 years: no window boundary can fall inside the test and reset the count.
HUGE_WINDOW = str(10**9)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the served processes run on PostgreSQL")


def ports() -> list[int]:
    # ECF_TEST_SERVER_PORTS=8190,8191 pins them (a shared machine hands each developer a range).
    pinned = os.environ.get("ECF_TEST_SERVER_PORTS")
    return [int(port) for port in pinned.split(",")][:2] if pinned else [served.free_port(), served.free_port()]


def server_env(tmp_path: Path, name: str) -> dict[str, str]:
    return served.production_env(
        API_RATE_LIMIT=str(LIMIT),
        API_RATE_LIMIT_WINDOW_SECONDS=HUGE_WINDOW,
        STATIC_ROOT=str(tmp_path / "static"),
        METRICS_TOKEN=METRICS_TOKEN,
        # Each server its own: the workers of one server add up there, never another server's.
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / f"metrics-{name}"),
    )


def gunicorn(port: int) -> list[str]:
    return [*served.gunicorn(port=port, workers=2), "--config", "python:ecf.gunicorn_conf"]


def scraped(base: str) -> dict[tuple[str, str], float]:
    """(metric name, label text) → value, from one server's /metrics."""
    answer = served.fetch(f"{base}/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status == 200, answer.body
    samples = {}
    for line in answer.body.decode().splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            name, _, labels = series.partition("{")
            samples[(name, labels.rstrip("}"))] = float(value)
    return samples


def pings(samples: dict, status: str) -> float:
    return sum(
        value
        for (name, labels), value in samples.items()
        if name == "ecf_http_requests_total" and 'route="v3:ping"' in labels and f'status="{status}"' in labels
    )


def test_two_servers_share_the_limit_count_their_own_workers_and_log_json(tmp_path):
    provider = LeadProvider.objects.create(name="Busy Provider")
    with override_settings(SECRET_KEY=served.SERVER_SECRET_KEY):
        token = api_token_create(lead_provider=provider)
    port_a, port_b = ports()

    with (
        served.running(gunicorn(port_a), env=server_env(tmp_path, "a"), port=port_a, log=tmp_path / "a.log") as a,
        served.running(gunicorn(port_b), env=server_env(tmp_path, "b"), port=port_b, log=tmp_path / "b.log") as b,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        # Alternate between the servers, eight requests in flight at a time; even ids go to a.
        def ping(n: int) -> served.Answer:
            headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https", "X-Request-Id": f"load-{n}"}
            return served.fetch(f"{(a, b)[n % 2]}{PING}", headers)

        answers = list(pool.map(ping, range(REQUESTS)))
        metrics_a, metrics_b = scraped(a), scraped(b)

    statuses = [answer.status for answer in answers]
    per_server = [pings(metrics_a, "200") + pings(metrics_a, "429"), pings(metrics_b, "200") + pings(metrics_b, "429")]
    limited = [metrics.get(("ecf_http_rate_limited_total", 'version="v3"'), 0) for metrics in (metrics_a, metrics_b)]
    print(
        f"\ntwo servers: {statuses.count(200)} x 200 and {statuses.count(429)} x 429 of {REQUESTS}; "
        f"metrics: requests {per_server}, 429s {limited}"
    )
    # The limit holds once across both servers and all four workers.
    assert (statuses.count(200), statuses.count(429)) == (LIMIT, REQUESTS - LIMIT)
    # Each server's scrape adds up both of its workers: every request it answered, once.
    assert per_server == [REQUESTS / 2, REQUESTS / 2]
    assert pings(metrics_a, "200") + pings(metrics_b, "200") == LIMIT
    assert sum(limited) == REQUESTS - LIMIT
    # Every line either server wrote is JSON, and a request id finds its request on its server.
    lines = {name: [json.loads(line) for line in (tmp_path / f"{name}.log").read_text().splitlines()] for name in "ab"}
    found = [entry for entry in lines["a"] if entry.get("request_id") == "load-0"]
    (line,) = [entry for entry in found if entry["logger"] == "ecf.request"]
    assert (line["route"], line["version"], line["provider_id"]) == ("v3:ping", "v3", str(provider.pk))
    assert line["status"] in (200, 429)
    assert not [entry for entry in lines["b"] if entry.get("request_id") == "load-0"]
    assert token not in (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()


# ---------------------------------------------------------------------------------------
# The job runner on every server


def runner(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_jobs", "--once"],
        cwd=served.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def session() -> psycopg.Connection:
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    return psycopg.connect(**params)


def wait_until_blocked(watcher: psycopg.Connection, process: subprocess.Popen) -> None:
    """Until the runner is inside the job, waiting for the statement's row lock."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the first runner never reached the statement")


def test_a_job_started_by_the_runner_of_every_server_runs_once(tmp_path):
    statement = StatementFactory(year=2025, month=2)  # cut-off 31 January 2025: due
    lines = [DeclarationFactory(eligible=True, statement=statement) for _ in range(3)]
    env = served.production_env(STATIC_ROOT=str(tmp_path), EMAIL_URL="console://")  # send_emails needs a server

    # Server a's runner takes the job's lock and then waits on the statement, which this test holds:
    # server b's runner starts while the job is running on a.
    with session() as holder, session() as watcher:
        holder.execute("SELECT id FROM statements_statement WHERE id = %s FOR UPDATE", [statement.pk])
        first = runner(env)
        wait_until_blocked(watcher, first)
        second = runner(env)
        try:
            second_out, second_err = second.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # it waits on the statement too: it is running the job as well
            second_out = second_err = None
        holder.rollback()
    first_out, first_err = first.communicate(timeout=120)
    if second_out is None:
        second_out, second_err = second.communicate(timeout=120)

    print(f"\nrunner a:\n{first_out}runner b:\n{second_out}")
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "mark_statements_payable: ran: 1 statement(s) became payable" in first_out
    assert "mark_statements_payable: running elsewhere" in second_out
    runs = list(JobRun.objects.filter(succeeded=True).order_by("name").values_list("name", flat=True))
    # each once, on one server or the other
    assert runs == ["mark_statements_payable", "purge_idempotency_keys", "purge_request_logs", "send_emails"]
    statement.refresh_from_db()
    assert statement.status == StatementStatus.PAYABLE
    to_payable = DeclarationStateChange.objects.filter(state=DeclarationState.PAYABLE)
    assert sorted(to_payable.values_list("declaration_id", flat=True)) == sorted(line.pk for line in lines)

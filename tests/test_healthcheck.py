"""GET /healthcheck: 200 while the database answers, 503 JSON while it does not, and back to 200
after a database restart without restarting the application."""

import json

import pytest
from django.db import OperationalError

from tests import served


class UnreachableDatabase:
    def cursor(self):
        raise OperationalError("connection refused")


@pytest.mark.django_db
def test_healthcheck_answers_ok_when_the_database_answers(client):
    response = client.get("/healthcheck")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthcheck_answers_503_json_when_the_database_does_not(client, monkeypatch):
    monkeypatch.setattr("ecf.health.connection", UnreachableDatabase())

    response = client.get("/healthcheck")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "detail": "The database is unreachable."}


@pytest.mark.django_db
def test_healthcheck_needs_no_token_and_is_not_under_the_api(client):
    assert client.get("/healthcheck", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 200
    assert client.get("/api/healthcheck").status_code == 404


@pytest.mark.django_db
def test_healthcheck_only_reads(client):
    assert client.post("/healthcheck").status_code == 405
    assert client.head("/healthcheck").status_code == 200


def test_a_served_instance_survives_a_database_restart(tmp_path):
    bindir = served.postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    port = served.free_port()

    with served.throwaway_cluster(bindir) as cluster:
        # Production defaults: persistent connections (DB_CONN_MAX_AGE=60) with health checks.
        env = served.production_env(DATABASE_URL=cluster.url, STATIC_ROOT=str(tmp_path))
        command = served.gunicorn(port=port, workers=1)
        with served.running(command, env=env, port=port, log=tmp_path / "server.log") as base:
            before = served.fetch(f"{base}/healthcheck")
            cluster.stop()
            during = served.fetch(f"{base}/healthcheck")
            cluster.start()
            after = served.fetch(f"{base}/healthcheck")
            # A restart between two requests: the kept connection is dead, checked, and replaced.
            cluster.stop()
            cluster.start()
            after_quiet_restart = served.fetch(f"{base}/healthcheck")

    assert (before.status, json.loads(before.body)) == (200, {"status": "ok"})
    assert (during.status, json.loads(during.body)["status"]) == (503, "unavailable")
    assert during.headers["Content-Type"] == "application/json"
    assert (after.status, json.loads(after.body)) == (200, {"status": "ok"})
    assert (after_quiet_restart.status, json.loads(after_quiet_restart.body)) == (200, {"status": "ok"})


@pytest.mark.django_db
def test_healthcheck_stays_ok_when_the_job_history_cannot_be_read_yet(client, monkeypatch):
    """A database that answers but is not migrated yet (the table of job runs is missing)."""
    from django.db import ProgrammingError

    def missing_table(*, now):
        raise ProgrammingError('relation "jobs_jobrun" does not exist')

    monkeypatch.setattr("ecf.health.stale_jobs", missing_table)

    response = client.get("/healthcheck")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})

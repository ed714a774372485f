"""`manage.py run_jobs`: every scheduled job runs once per period, once across every runner (a
PostgreSQL advisory lock), catches up missed days, records its runs, and /healthcheck and the
metrics report a job that has not succeeded for more than a day."""

from datetime import UTC, datetime, time, timedelta
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from declarations.models import DeclarationState
from ecf import clock
from jobs import registry
from jobs.models import JobRun
from jobs.registry import Job, registered_jobs
from jobs.runner import FAILED, NOT_DUE, RAN, RUNNING_ELSEWHERE, job_lock_key, job_run_if_due, jobs_run_due
from statements.models import StatementStatus
from tests.factories import DeclarationFactory, LeadProviderFactory, StatementFactory

pytestmark = pytest.mark.django_db

# 10 March 2025, 12:00 UTC: both daily jobs (00:05 and 03:00) fell due today.
NOON = datetime(2025, 3, 10, 12, tzinfo=UTC)
DAILY = [job.name for job in registered_jobs()]


def run_jobs(*args: str) -> str:
    out = StringIO()
    call_command("run_jobs", *args, stdout=out)
    return out.getvalue()


def succeeded(name: str, at: datetime) -> JobRun:
    return JobRun.objects.create(name=name, started_at=at - timedelta(minutes=1), finished_at=at, succeeded=True)


@pytest.fixture
def noon():
    with clock.frozen(NOON) as instant:
        yield instant


def test_the_schedule_holds_the_daily_jobs():
    assert run_jobs("--list").splitlines() == [
        "mark_statements_payable: every 1 day, 0:00:00 at 00:05 UTC",
        "purge_request_logs: every 1 day, 0:00:00 at 03:00 UTC",
        "send_emails: every 0:05:00 at 00:00 UTC",
        "purge_idempotency_keys: every 1 day, 0:00:00 at 03:15 UTC",
    ]


def test_one_pass_runs_every_due_job_and_records_its_success(noon):
    output = run_jobs("--once")

    assert output.splitlines() == [
        "mark_statements_payable: ran: 0 statement(s) became payable",
        "purge_request_logs: ran: deleted 0 API error log entries older than 30 days and 0 ended rate-limit windows",
        "send_emails: ran: emails: 0 sent, 0 to retry, 0 failed",
        "purge_idempotency_keys: ran: deleted 0 idempotency keys past their 24-hour replay window",
    ]
    runs = list(JobRun.objects.order_by("name").values_list("name", "succeeded", "finished_at"))
    assert runs == [
        ("mark_statements_payable", True, NOON),
        ("purge_idempotency_keys", True, NOON),
        ("purge_request_logs", True, NOON),
        ("send_emails", True, NOON),
    ]


def test_a_job_that_succeeded_since_it_fell_due_does_not_run_again(noon):
    run_jobs("--once")

    assert run_jobs("--once") == ""
    assert JobRun.objects.count() == 4


@pytest.mark.parametrize(
    ("last_success", "now", "due"),
    [
        (datetime(2025, 3, 9, 0, 6, tzinfo=UTC), datetime(2025, 3, 10, 0, 4, tzinfo=UTC), False),  # not yet 00:05
        (datetime(2025, 3, 9, 0, 6, tzinfo=UTC), datetime(2025, 3, 10, 0, 5, tzinfo=UTC), True),
        (datetime(2025, 3, 10, 0, 5, tzinfo=UTC), datetime(2025, 3, 10, 23, 59, tzinfo=UTC), False),
        (datetime(2025, 3, 6, 0, 6, tzinfo=UTC), datetime(2025, 3, 10, 0, 4, tzinfo=UTC), True),  # days missed
    ],
)
def test_a_daily_job_falls_due_at_its_time_each_day(last_success, now, due):
    succeeded("mark_statements_payable", last_success)

    with clock.frozen(now):
        outcome = job_run_if_due(registry.job_named("mark_statements_payable"))

    assert (outcome.result == RAN) is due
    assert outcome.result in (RAN, NOT_DUE)


def test_days_missed_by_the_runner_are_caught_up_in_one_run(noon):
    """The runner was down from 6 to 10 March: both statements whose cut-off passed meanwhile move."""
    succeeded("mark_statements_payable", datetime(2025, 2, 6, 0, 6, tzinfo=UTC))
    provider = LeadProviderFactory()
    with clock.frozen(datetime(2025, 1, 20, tzinfo=UTC)):
        february = StatementFactory(lead_provider=provider, year=2025, month=2)  # cut-off 31 January
        march = StatementFactory(lead_provider=provider, year=2025, month=3)  # cut-off 28 February
        lines = [DeclarationFactory(eligible=True, statement=s) for s in (february, march)]

    output = run_jobs("--once")

    assert "mark_statements_payable: ran: 2 statement(s) became payable" in output
    for obj in (february, march, *lines):
        obj.refresh_from_db()
    assert (february.status, march.status) == (StatementStatus.PAYABLE, StatementStatus.PAYABLE)
    assert [line.state for line in lines] == [DeclarationState.PAYABLE, DeclarationState.PAYABLE]


def other_session():
    """A second PostgreSQL session on the test database: another app server's runner."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=True)


def test_a_job_locked_by_another_runner_is_skipped_here(noon):
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    job = registry.job_named("purge_request_logs")
    with other_session() as other:
        (held,) = other.execute("SELECT pg_try_advisory_lock(%s)", [job_lock_key(job.name)]).fetchone()
        outcome = job_run_if_due(job)

    assert held is True
    assert outcome.result == RUNNING_ELSEWHERE
    assert not JobRun.objects.exists()
    # Released with the other session: the job runs on this runner's next pass.
    assert job_run_if_due(job).result == RAN


def test_the_runner_releases_the_lock_after_the_job(noon):
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    run_jobs("--once")

    with other_session() as other:
        free = [other.execute("SELECT pg_try_advisory_lock(%s)", [job_lock_key(name)]).fetchone()[0] for name in DAILY]

    assert free == [True] * len(DAILY)


def test_a_failing_job_is_recorded_and_the_next_job_still_runs(noon, monkeypatch):
    def broken() -> str:
        raise RuntimeError("the mail server said no")

    jobs = [Job(name="broken", run=broken), registry.job_named("purge_request_logs")]
    monkeypatch.setattr("jobs.runner.registered_jobs", lambda: jobs)

    outcomes = jobs_run_due()

    assert [(outcome.job, outcome.result) for outcome in outcomes] == [("broken", FAILED), ("purge_request_logs", RAN)]
    failed = JobRun.objects.get(name="broken")
    assert (failed.succeeded, failed.summary) == (False, "RuntimeError: the mail server said no")
    with pytest.raises(CommandError, match="1 job\\(s\\) failed"):
        run_jobs("--once")  # still due (it never succeeded): tried again on every pass


def test_an_every_n_minutes_job_falls_due_at_each_multiple_of_its_period():
    job = Job(name="send", run=str, every=timedelta(minutes=5), at=time(0, 0))

    assert job.due_since(datetime(2025, 3, 10, 12, 7, 30, tzinfo=UTC)) == datetime(2025, 3, 10, 12, 5, tzinfo=UTC)
    assert job.due_since(datetime(2025, 3, 10, 12, 5, tzinfo=UTC)) == datetime(2025, 3, 10, 12, 5, tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# What operators see


def test_healthcheck_names_a_job_without_success_for_more_than_a_day(client, noon):
    succeeded("mark_statements_payable", NOON - timedelta(hours=23))
    succeeded("purge_request_logs", NOON - timedelta(hours=25))

    response = client.get("/healthcheck")

    # 200: a late job must not take every app server out of the load balancer.
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "jobs_without_success_for_a_day": {"purge_request_logs": "2025-03-09T11:00:00+00:00"},
    }


def test_healthcheck_names_a_job_that_has_failed_since_its_first_run_a_day_ago(client, noon):
    succeeded("purge_request_logs", NOON)
    JobRun.objects.create(name="mark_statements_payable", started_at=NOON - timedelta(days=2), succeeded=False)

    response = client.get("/healthcheck")

    assert response.json() == {
        "status": "degraded",
        "jobs_without_success_for_a_day": {"mark_statements_payable": None},
    }


def test_healthcheck_is_ok_when_every_job_succeeded_within_a_day(client, noon):
    for name in DAILY:
        succeeded(name, NOON - timedelta(hours=23, minutes=59))

    assert client.get("/healthcheck").json() == {"status": "ok"}

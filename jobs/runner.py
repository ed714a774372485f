"""Runs the scheduled jobs that are due, each at most once across every server.

Every app server may start `manage.py run_jobs`. Before running a job a runner takes a PostgreSQL
session-level advisory lock named after the job (pg_try_advisory_lock: never waits), then checks
again, under the lock, that the job still has no success since it fell due. A runner that cannot
take the lock skips the job (another is running it); one that gets the lock after another finished
sees the success and skips it. A lock dies with its connection, so a runner killed mid-job never
blocks the others. SQLite (the embedded development database) has no such lock: one runner only.
"""

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from ecf import clock
from jobs.models import JobRun
from jobs.registry import Job, registered_jobs

logger = logging.getLogger(__name__)

RAN, FAILED, NOT_DUE, RUNNING_ELSEWHERE = "ran", "failed", "not due", "running elsewhere"
# A job that has not succeeded for longer than this is reported by /healthcheck.
STALE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Outcome:
    job: str
    result: str  # RAN, FAILED, NOT_DUE or RUNNING_ELSEWHERE
    summary: str = ""


def job_lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock, the same in every process."""
    return int.from_bytes(hashlib.sha256(f"ecf.jobs:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Yields whether this process holds the job's lock; releases it afterwards."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = job_lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (held,) = cursor.fetchone()
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def last_success(name: str) -> datetime | None:
    run = JobRun.objects.filter(name=name, succeeded=True).order_by("-finished_at").first()
    return run.finished_at if run else None


def job_is_due(job: Job, *, now: datetime) -> bool:
    succeeded = last_success(job.name)
    return succeeded is None or succeeded < job.due_since(now)


def job_run_if_due(job: Job) -> Outcome:
    if not job_is_due(job, now=clock.now()):
        return Outcome(job.name, NOT_DUE)
    with job_lock(job.name) as held:
        if not held:
            return Outcome(job.name, RUNNING_ELSEWHERE)
        # Another runner may have finished it between our first look and taking the lock.
        if not job_is_due(job, now=clock.now()):
            return Outcome(job.name, NOT_DUE)
        return _run(job)


def _run(job: Job) -> Outcome:
    run = JobRun.objects.create(name=job.name, started_at=clock.now())
    try:
        summary = job.run()
    except Exception as error:  # a failed job is recorded and reported; the runner goes on with the next
        logger.exception("Scheduled job %s failed", job.name)
        _finish(run, succeeded=False, summary=f"{type(error).__name__}: {error}")
        return Outcome(job.name, FAILED, run.summary)
    _finish(run, succeeded=True, summary=summary)
    logger.info("Scheduled job %s succeeded: %s", job.name, summary)
    return Outcome(job.name, RAN, summary)


def _finish(run: JobRun, *, succeeded: bool, summary: str) -> None:
    run.finished_at, run.succeeded, run.summary = clock.now(), succeeded, summary
    run.save(update_fields=["finished_at", "succeeded", "summary"])


def jobs_run_due() -> list[Outcome]:
    """One pass of the runner: every registered job that is due, in registration order."""
    return [job_run_if_due(job) for job in registered_jobs()]


def stale_jobs(*, now: datetime) -> dict[str, datetime | None]:
    """Jobs whose last success is older than STALE_AFTER (or that have run and never succeeded
    since their first run started more than STALE_AFTER ago): name → last success (or None).

    A job that never ran at all is not reported: no runner has started yet (a fresh deployment);
    the metrics (absent last-success series) catch a runner that was never started.
    """
    cutoff = now - STALE_AFTER
    stale = {}
    for job in registered_jobs():
        succeeded = last_success(job.name)
        if succeeded is not None:
            if succeeded < cutoff:
                stale[job.name] = succeeded
        elif JobRun.objects.filter(name=job.name, started_at__lt=cutoff).exists():
            stale[job.name] = None
    return stale

"""The registry of scheduled jobs: a name, the function to run, and when it falls due.

A job falls due at every multiple of `every` (aligned to the Unix epoch, UTC) shifted by `at`:
a daily job with at=02:00 is due at 02:00 UTC each day. A job is run when it has no success
since the instant it last fell due, so a runner that was down for days runs it once when it comes
back. Every job must therefore be idempotent and catch up everything due up to now (as
`statements_mark_payable` does): the runner never replays missed days one by one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.core.exceptions import ImproperlyConfigured

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], str]  # does the work; returns one line saying what it did
    every: timedelta = DAY
    at: time = time(0, 0)  # the offset (UTC) into each period

    def due_since(self, now: datetime) -> datetime:
        """The latest instant, at or before `now`, at which this job fell due."""
        period = self.every.total_seconds()
        offset = timedelta(hours=self.at.hour, minutes=self.at.minute, seconds=self.at.second).total_seconds()
        seconds = now.timestamp() - offset
        return datetime.fromtimestamp(seconds - seconds % period + offset, tz=UTC)


_JOBS: dict[str, Job] = {}


def scheduled(name: str, *, every: timedelta = DAY, at: time = time(0, 0)):
    """Register the decorated function as the job `name` (jobs/schedule.py holds every registration)."""

    def register(function: Callable[[], str]) -> Callable[[], str]:
        if name in _JOBS:
            raise ImproperlyConfigured(f"Two scheduled jobs are named {name!r}")
        if every < timedelta(minutes=1):
            raise ImproperlyConfigured(f"Scheduled job {name!r} runs more often than once a minute")
        _JOBS[name] = Job(name=name, run=function, every=every, at=at)
        return function

    return register


def registered_jobs() -> list[Job]:
    return list(_JOBS.values())


def job_named(name: str) -> Job:
    try:
        return _JOBS[name]
    except KeyError:
        raise ImproperlyConfigured(f"No scheduled job is named {name!r}; known: {', '.join(_JOBS)}") from None

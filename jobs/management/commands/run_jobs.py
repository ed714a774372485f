import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from jobs.registry import registered_jobs
from jobs.runner import FAILED, NOT_DUE, jobs_run_due


class Command(BaseCommand):
    help = (
        "Run every scheduled job that is due (jobs/schedule.py), then check again every --interval seconds. "
        "Safe to start on every app server: a PostgreSQL advisory lock runs each job once. --once: one pass."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run what is due now, then exit.")
        parser.add_argument("--interval", type=int, default=60, help="Seconds between passes (default 60).")
        parser.add_argument("--list", dest="list_jobs", action="store_true", help="List the scheduled jobs and exit.")

    def handle(self, *args, once, interval, list_jobs, **options):
        if interval < 1:
            raise CommandError("--interval must be at least 1 second.")
        if list_jobs:
            for job in registered_jobs():
                self.stdout.write(f"{job.name}: every {job.every} at {job.at:%H:%M} UTC")
            return
        stop = threading.Event()
        if not once:
            # SIGTERM (systemd, a container stop) ends the loop between passes, never inside a job.
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        while True:
            failed = self._pass()
            if once:
                if failed:
                    raise CommandError(f"{failed} job(s) failed")
                return
            # Outside a request nobody else recycles a connection that is too old or broken.
            close_old_connections()
            if stop.wait(interval):
                return

    def _pass(self) -> int:
        failed = 0
        for outcome in jobs_run_due():
            if outcome.result != NOT_DUE:
                summary = f": {outcome.summary}" if outcome.summary else ""
                self.stdout.write(f"{outcome.job}: {outcome.result}{summary}")
            failed += outcome.result == FAILED
        self.stdout.flush()
        return failed

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from api.ratelimit import rate_limit_windows_purge
from api.request_log import request_logs_purge
from ecf import clock


class Command(BaseCommand):
    help = "Delete API error log entries older than --days days, and the counters of ended rate-limit windows."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Keep this many days of error log (default 30).")

    def handle(self, *args, days, **options):
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        now = clock.now()
        logs = request_logs_purge(older_than=now - timedelta(days=days))
        windows = rate_limit_windows_purge(now=now)
        self.stdout.write(
            f"Deleted {logs} API error log entries older than {days} days and {windows} ended rate-limit windows."
        )

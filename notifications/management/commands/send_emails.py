import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from notifications.services import emails_send_due


class Command(BaseCommand):
    help = (
        "Deliver the emails that are due from the outbox (each at most once; failures retried with back-off). "
        "Run it from cron or the job runner, or with --loop to keep delivering."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="Most messages to send in one pass.")
        parser.add_argument("--loop", type=float, metavar="SECONDS", help="Keep going, a pass every SECONDS.")

    def handle(self, *args, limit, loop, **options):
        if settings.PRODUCTION and not settings.EMAIL_URL:
            raise CommandError("EMAIL_URL is not set: nothing can be delivered (messages stay in the outbox).")
        while True:
            report = emails_send_due(limit=limit)
            if report.sent or report.retrying or report.failed or not loop:
                self.stdout.write(f"Emails: {report}")
            if not loop:
                return
            time.sleep(loop)

from django.core.management.base import BaseCommand

from api.idempotency import REPLAY_WINDOW, idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete the Idempotency-Key records older than the 24-hour replay window (run daily)."

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        hours = int(REPLAY_WINDOW.total_seconds() // 3600)
        self.stdout.write(f"Deleted {deleted} idempotency keys older than {hours} hours.")

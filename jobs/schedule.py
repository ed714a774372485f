"""Every scheduled job of the service, in one place (run by `manage.py run_jobs`, see docs/deployment.md).

To add one: a function returning a line that says what it did, decorated with `@scheduled`. It must
be idempotent and catch up whatever fell due while nobody ran it (jobs/registry.py says why).
"""

from datetime import time, timedelta

from django.conf import settings

from api.idempotency import idempotency_keys_purge
from api.ratelimit import rate_limit_windows_purge
from api.request_log import request_logs_purge
from declarations.payments import statements_mark_payable
from ecf import clock
from jobs.registry import scheduled
from notifications.services import emails_send_due

REQUEST_LOG_DAYS = 30  # as `manage.py purge_request_logs` keeps by default


@scheduled("mark_statements_payable", at=time(0, 5))
def mark_statements_payable() -> str:
    # Just after midnight UTC: a statement whose cut-off was yesterday becomes payable first thing today.
    moved = statements_mark_payable()
    return f"{len(moved)} statement(s) became payable"


@scheduled("purge_request_logs", at=time(3, 0))
def purge_request_logs() -> str:
    now = clock.now()
    logs = request_logs_purge(older_than=now - timedelta(days=REQUEST_LOG_DAYS))
    windows = rate_limit_windows_purge(now=now)
    return (
        f"deleted {logs} API error log entries older than {REQUEST_LOG_DAYS} days "
        f"and {windows} ended rate-limit windows"
    )


@scheduled("send_emails", every=timedelta(minutes=5))
def send_emails() -> str:
    # Every five minutes: a withdraw or a partnership is told to the school within minutes.
    if settings.PRODUCTION and not settings.EMAIL_URL:
        raise RuntimeError("EMAIL_URL is not set: nothing can be delivered (messages stay in the outbox)")
    report = emails_send_due(limit=500)
    return f"emails: {report}"


@scheduled("purge_idempotency_keys", at=time(3, 15))
def purge_idempotency_keys() -> str:
    return f"deleted {idempotency_keys_purge()} idempotency keys past their 24-hour replay window"

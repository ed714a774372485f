"""Every scheduled job of the service, in one place (run by `manage.py run_jobs`, see docs/deployment.md).

To add one: a function returning a line that says what it did, decorated with `@scheduled`. It must
be idempotent and catch up whatever fell due while nobody ran it (jobs/registry.py says why).
Still to come here, from the work in progress elsewhere:
  * `send_emails` — sends the email outbox (every few minutes, `every=timedelta(minutes=5)`);
    also register its backlog with `ecf.metrics.register_backlog("emails", ...)` for the metrics.
  * `purge_idempotency_keys` — deletes expired Idempotency-Key records (daily).
"""

from datetime import time, timedelta

from api.ratelimit import rate_limit_windows_purge
from api.request_log import request_logs_purge
from declarations.payments import statements_mark_payable
from ecf import clock
from jobs.registry import scheduled

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

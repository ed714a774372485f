"""`GET /healthcheck` for load balancers and orchestrators: can this instance answer requests?

It asks the database for `SELECT 1`. Persistent connections are health-checked by Django
(CONN_HEALTH_CHECKS), so after a database restart the next request reconnects and this goes
back to 200 without restarting the application.

It also reports a scheduled job that has not succeeded for more than a day (jobs/runner.py):
the body says "degraded" and names it, but the status stays 200. A late payment run is a reason
to page someone, not to take every app server out of the load balancer, which would stop the API
for a problem the API does not have. Monitoring reads the body (and the metrics).
"""

import logging

from django.db import DatabaseError, ProgrammingError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ecf import clock
from jobs.runner import stale_jobs

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthcheck(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        stale = _stale_jobs()
    except DatabaseError:  # OperationalError when unreachable, InterfaceError when the connection died
        logger.warning("Health check failed: the database is unreachable", exc_info=True)
        return JsonResponse({"status": "unavailable", "detail": "The database is unreachable."}, status=503)
    if stale:
        late = {name: succeeded.isoformat() if succeeded else None for name, succeeded in stale.items()}
        return JsonResponse({"status": "degraded", "jobs_without_success_for_a_day": late})
    return JsonResponse({"status": "ok"})


def _stale_jobs() -> dict:
    try:
        return stale_jobs(now=clock.now())
    except ProgrammingError:
        # The database answers but has no job history yet (not migrated): nothing to report, and
        # this instance can still answer. Other database errors are the database failing: 503.
        logger.warning("Health check: the job history could not be read", exc_info=True)
        return {}

"""`GET /healthcheck` for load balancers and orchestrators: can this instance answer requests?

It asks the database for `SELECT 1`. Persistent connections are health-checked by Django
(CONN_HEALTH_CHECKS), so after a database restart the next request reconnects and this goes
back to 200 without restarting the application.
"""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthcheck(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:  # OperationalError when unreachable, InterfaceError when the connection died
        logger.warning("Health check failed: the database is unreachable", exc_info=True)
        return JsonResponse({"status": "unavailable", "detail": "The database is unreachable."}, status=503)
    return JsonResponse({"status": "ok"})

"""Prometheus metrics at GET /metrics, for the operators' scraper only (docs/deployment.md).

Two sources, chosen per metric by what it must mean:

* HTTP traffic (requests, latency, 429s) is counted in the process that answered, with
  prometheus-client. Under gunicorn every worker is a process, so `make serve` runs in
  prometheus-client's multiprocess mode: each worker writes its counts to files in
  PROMETHEUS_MULTIPROC_DIR (set and emptied at start by ecf/gunicorn_conf.py) and a scrape of any
  worker adds up every worker of that server. Prometheus scrapes each server; sum() over instances
  gives the service.
* Business counts (declarations by state, refused submissions by attribute, outbox backlog, each
  job's last success) are read from the database at scrape time. They must be exact whichever
  server is scraped and survive restarts, which a per-process counter cannot promise.

The endpoint answers only a request bearing METRICS_TOKEN (401 otherwise) and does not exist
(404) while no token is configured.
"""

import hmac
import logging
import os
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Max, Q
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from declarations.models import Declaration, DeclarationAttempt
from jobs.models import JobRun
from jobs.registry import registered_jobs

logger = logging.getLogger(__name__)

# Up to 30 s: a 3000-row CSV page of a large provider is the slowest request there is.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "ecf_http_requests",
    "HTTP requests answered, by route (URL name), API version, method and status.",
    ["route", "version", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "ecf_http_request_duration_seconds",
    "Time from the request reaching Django to the last byte of its response, by route and API version.",
    ["route", "version", "method"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "ecf_http_rate_limited",
    "API requests refused with 429 by the rate limit, by API version.",
    ["version"],
)


def record_request(*, route: str, version: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, version, method, str(status)).inc()
    HTTP_LATENCY.labels(route, version, method).observe(seconds)
    if status == 429:
        RATE_LIMITED.labels(version).inc()


# --- Backlogs (the outbox) -------------------------------------------------------------------------

_BACKLOGS: dict[str, Callable[[], int]] = {}


def register_backlog(name: str, count: Callable[[], int]) -> None:
    """Expose `count()` as ecf_outbox_backlog{outbox=name}: the email outbox registers its unsent
    messages here (notifications/apps.py)."""
    _BACKLOGS[name] = count


# --- Read from the database at scrape time ---------------------------------------------------------


class DatabaseCollector:
    """Counts that must be exact across servers, read when Prometheus scrapes (five small queries)."""

    def collect(self):
        up = GaugeMetricFamily("ecf_metrics_database_up", "1 when the database answered this scrape's queries.")
        try:
            families = [
                _declarations_by_state(),
                *_declaration_attempts(),
                _outbox_backlog(),
                _job_last_success(),
            ]
        except DatabaseError:
            logger.warning("Metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _declarations_by_state() -> GaugeMetricFamily:
    family = GaugeMetricFamily("ecf_declarations", "Declarations now in each state.", labels=["state"])
    counts = dict(Declaration.objects.order_by().values_list("state").annotate(n=Count("pk")))
    for state in Declaration._meta.get_field("state").choices:
        family.add_metric([state[0]], counts.get(state[0], 0))
    return family


def _declaration_attempts() -> list[CounterMetricFamily]:
    """Every POST of a declaration for a known participant, accepted or refused (DeclarationAttempt),
    and the refusals by the attribute each error named (one refusal may name several)."""
    attempts = CounterMetricFamily(
        "ecf_declaration_attempts", "Declaration submissions for a known participant, by outcome.", labels=["outcome"]
    )
    rows = DeclarationAttempt.objects.order_by().aggregate(
        accepted=Count("pk", filter=Q(declaration__isnull=False)), refused=Count("pk", filter=Q(errors__isnull=False))
    )
    for outcome in ("accepted", "refused"):
        attempts.add_metric([outcome], rows[outcome])
    refusals = CounterMetricFamily(
        "ecf_declaration_refusals",
        "Refused declaration submissions, by the attribute an error named.",
        labels=["attribute"],
    )
    for attribute, count in _refusals_by_attribute():
        refusals.add_metric([attribute], count)
    return [attempts, refusals]


def _refusals_by_attribute() -> list[tuple[str, int]]:
    table = connection.ops.quote_name(DeclarationAttempt._meta.db_table)
    # `errors` holds the refusal as [[attribute, message], ...] (declarations.services).
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT error->>0, count(*) FROM {table} AS attempt, jsonb_array_elements(attempt.errors) AS error "
            "WHERE attempt.errors IS NOT NULL AND jsonb_typeof(attempt.errors) = 'array' GROUP BY 1 ORDER BY 1"
        )
    else:
        sql = (
            f"SELECT json_extract(error.value, '$[0]'), count(*) "
            f"FROM {table} AS attempt, json_each(attempt.errors) AS error "
            "WHERE attempt.errors IS NOT NULL AND json_type(attempt.errors) = 'array' GROUP BY 1 ORDER BY 1"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [(str(attribute), count) for attribute, count in cursor.fetchall() if attribute is not None]


def _outbox_backlog() -> GaugeMetricFamily:
    family = GaugeMetricFamily("ecf_outbox_backlog", "Messages waiting in an outbox, by outbox.", labels=["outbox"])
    for name, count in sorted(_BACKLOGS.items()):
        family.add_metric([name], count())
    return family


def _job_last_success() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "ecf_job_last_success_timestamp_seconds",
        "Unix time of each scheduled job's last success (absent: it never succeeded).",
        labels=["job"],
    )
    latest = dict(JobRun.objects.filter(succeeded=True).order_by().values_list("name").annotate(at=Max("finished_at")))
    for job in registered_jobs():
        if latest.get(job.name) is not None:
            family.add_metric([job.name], latest[job.name].timestamp())
    return family


# --- The endpoint ----------------------------------------------------------------------------------


def scrape() -> bytes:
    """This server's HTTP counts (every worker's, in multiprocess mode) followed by the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return generate_latest(processes) + generate_latest(database)


def _authorised(request) -> bool:
    offered = request.headers.get("Authorization", "")
    expected = f"Bearer {settings.METRICS_TOKEN}"
    return hmac.compare_digest(offered.encode(), expected.encode())


@never_cache
@require_safe
def metrics(request):
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are switched off: METRICS_TOKEN is not set")
    if not _authorised(request):
        response = HttpResponse("Unauthorised\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)

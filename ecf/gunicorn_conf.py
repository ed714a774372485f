"""gunicorn settings for `make serve` (scripts/serve.sh passes `--config python:ecf.gunicorn_conf`).

* Metrics: prometheus-client's multiprocess mode. Every worker writes its counts into
  PROMETHEUS_MULTIPROC_DIR, which must be empty when the server starts (stale files would be added
  in) and is the server's own (never shared between servers). A dead worker's live gauges are
  dropped; its counters are kept, so totals never go backwards. With `--preload` the application
  (and prometheus-client) would load before on_starting: set PROMETHEUS_MULTIPROC_DIR in the
  environment then, or the workers would count in memory each on its own.
* Logs: gunicorn's own messages (worker timeouts, boot errors) as JSON lines on stderr like
  Django's; gunicorn's access log stays off: ecf.observability writes the richer line per request.
"""

import os
import tempfile
from pathlib import Path

from ecf.json_logs import logging_config


def on_starting(server):
    # Before any worker is forked (and so before prometheus_client is imported in one).
    directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="ecf-metrics."))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # only prometheus-client's files, whatever the directory holds
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


_format = os.environ.get("LOG_FORMAT") or ("json" if os.environ.get("ECF_ENV") == "production" else "text")
logconfig_dict = logging_config(format=_format, level=os.environ.get("LOG_LEVEL", "INFO"))
logconfig_dict["loggers"].update(
    {
        "gunicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
        "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False},
    }
)
accesslog = None

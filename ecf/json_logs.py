"""JSON log lines: one object per line on one stream, for requests and errors alike.

`make serve` (ECF_ENV=production) logs this way (LOG_FORMAT=json); `make run` keeps the
human-readable text format. A record logged while a request is being answered carries that
request's `request_id` (ecf.observability sets it), so one id from a provider's complaint finds
the request line and every error with its traceback.
"""

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime

# The id of the request being answered in this thread (or task), for every record logged meanwhile.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

# Fields a caller passes as logger.info(..., extra={"fields": {...}}) are merged into the line.
FIELDS = "fields"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            # The record's own wall-clock time, never ecf.clock (a sandbox request may move that).
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, FIELDS, None) or {})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The development format: readable, with the request id when there is one."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, FIELDS, None)
        if fields:  # a request line: its figures after the message
            keys = ("duration_ms", "queries", "provider_id", "request_id")
            return line + "".join(f" {key}={fields[key]}" for key in keys if fields.get(key) is not None)
        request_id = current_request_id.get()
        return f"{line} [request {request_id}]" if request_id else line


def configure(config: dict) -> None:
    """settings.LOGGING_CONFIG: apply LOGGING, and send Python warnings through it too, so that
    nothing reaches stderr as a line of another format."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def logging_config(*, format: str, level: str) -> dict:
    """The LOGGING setting: everything through the root logger to stderr, JSON or text."""
    formatter = {"()": "ecf.json_logs.JsonFormatter"} if format == "json" else {"()": "ecf.json_logs.TextFormatter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own console handler (DEBUG only) would print each error a second time.
            "django": {"handlers": [], "level": level, "propagate": True},
        },
    }

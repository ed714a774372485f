"""What the API layer itself keeps: rate-limit counters and the log of failed requests.

Both live in the database because the service runs as several processes on several servers:
process memory would give each worker its own count and its own log.
"""

from django.db import models

from ecf import clock
from participants.models import LeadProvider


class RateLimitCounter(models.Model):
    """Requests counted for one Authorization header value in one fixed window (api.md §3).

    `key` is a SHA-256 of the header value, never the token itself. Rows are incremented by one
    UPSERT statement (api.ratelimit) and deleted by `manage.py purge_request_logs` once their window ended.
    """

    key = models.CharField(max_length=64)
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The UPSERT's ON CONFLICT target: one row per key and window.
            models.UniqueConstraint(fields=["key", "window_start"], name="api_ratelimitcounter_key_window_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key[:8]}… {self.window_start:%Y-%m-%d %H:%M:%S}: {self.count}"


class ApiRequestLog(models.Model):
    """An API request answered with an error status, kept so support staff can see what a provider sent.

    Never holds the token: request headers are not stored at all.
    """

    created_at = models.DateTimeField(default=clock.now, db_index=True)
    request_id = models.CharField(max_length=128, db_index=True)
    lead_provider = models.ForeignKey(LeadProvider, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=10)
    path = models.TextField()
    query_string = models.TextField(blank=True)
    request_body = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(db_index=True)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API error log entry"
        verbose_name_plural = "API error log"

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.response_status} ({self.request_id})"


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` a lead provider sent with a POST or PUT, and the answer it got (api/idempotency.py).

    In the database, not process memory, so a retry reaching another worker or server replays the
    same answer, and two requests with one key racing on two servers do the work once. While the
    first request runs, `locked_until` is set and `response_status` is empty; `purge_idempotency_keys`
    deletes rows older than the 24-hour replay window.
    """

    lead_provider = models.ForeignKey(LeadProvider, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path, query and body.")
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True, help_text="Set while the first request is running.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(default=b"", blank=True)

    class Meta:
        constraints = [
            # Keys are per provider: the same key from two providers are two keys.
            models.UniqueConstraint(fields=["lead_provider", "key"], name="api_idempotencykey_provider_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.response_status or 'in progress'}"


class ThrottleSlot(models.Model):
    """One of a fixed number of counters, for counting callers that may be anyone (api.throttle).

    A key (a client address, a login name) is hashed to a slot, so this table never holds more than
    `THROTTLE_SLOTS` rows per scope whatever an attacker sends: a flood from a million addresses
    rewrites the same rows instead of adding new ones. Two keys that share a slot share a count, which
    can only make a limit stricter, never looser.
    """

    slot = models.PositiveIntegerField(primary_key=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"slot {self.slot} {self.window_start:%Y-%m-%d %H:%M:%S}: {self.count}"

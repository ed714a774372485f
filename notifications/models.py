import uuid

from django.db import models


class EmailState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent (or the sender stopped while sending: not retried, check by hand)"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up after every retry)"
    CANCELLED = "cancelled", "Cancelled (no longer true before it was due)"


class OutboxEmail(models.Model):
    """One message, written by the service that made the change, in that change's transaction, and
    delivered later by `manage.py send_emails`. Its subject and body are rendered when it is written,
    so the row is the record of exactly what was (or will be) sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.SlugField(max_length=64, help_text="Which template it came from.")
    reference = models.CharField(
        max_length=64, blank=True, help_text="The record it is about (for cancelling a reminder that no longer holds)."
    )
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    state = models.CharField(max_length=16, choices=EmailState.choices, default=EmailState.PENDING)
    created_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="Not sent before this time.")
    next_attempt_at = models.DateTimeField(help_text="When the sender tries next (moves back after a failure).")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_due")]
        verbose_name = "email"

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"

"""The email outbox: enqueue in the caller's transaction, deliver later, at most once.

Delivery claims a message (state `sending`, committed) before handing it to the mail backend, and
records the outcome afterwards. Two senders never send one message twice: the claim is taken under
`SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent runners (every app server may run the job) each
take different messages. A sender that dies between the claim and the outcome leaves the message in
`sending`; it is never retried automatically, because it may already have gone out (the back office
shows it). A refusal by the mail server is retried with back-off, then marked `failed`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from ecf import clock
from notifications.models import EmailState, OutboxEmail

# After the n-th failed attempt the next one waits RETRY_DELAYS[n - 1]; after the last, it has failed.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6))


def email_enqueue(*, kind: str, to: str, context: dict, reference: str = "", due_at: datetime | None = None):
    """Write one message to the outbox, rendered from templates/emails/<kind>.txt (first line: the
    subject). Call it inside the transaction that makes the change the message reports."""
    now = clock.now()
    subject, _, body = render_to_string(f"emails/{kind}.txt", context).strip().partition("\n")
    due = due_at or now
    return OutboxEmail.objects.create(
        kind=kind,
        reference=str(reference),
        to=to,
        subject=subject.strip(),
        body=body.strip() + "\n",
        created_at=now,
        due_at=due,
        next_attempt_at=due,
    )


def emails_cancel(*, kind: str, reference: str) -> int:
    """Cancel messages of a kind about a record that are not sent yet (a reminder that no longer holds)."""
    return OutboxEmail.objects.filter(kind=kind, reference=str(reference), state=EmailState.PENDING).update(
        state=EmailState.CANCELLED
    )


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def emails_send_due(*, limit: int = 100) -> SendReport:
    """Deliver up to `limit` due messages, oldest first; each one claimed, sent and recorded on its own."""
    report = SendReport()
    for _ in range(limit):
        message = _claim_next_due()
        if message is None:
            break
        _deliver(message, report)
    return report


@transaction.atomic
def _claim_next_due() -> OutboxEmail | None:
    message = (
        OutboxEmail.objects.select_for_update(skip_locked=True)
        .filter(state=EmailState.PENDING, next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at", "created_at")
        .first()
    )
    if message is not None:
        message.state = EmailState.SENDING
        message.attempts += 1
        message.save(update_fields=["state", "attempts"])
    return message


def _deliver(message: OutboxEmail, report: SendReport) -> None:
    try:
        EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to]).send()
    except Exception as error:  # whatever the backend raised, the message's row says so
        _record_failure(message, error, report)
    else:
        message.state, message.sent_at, message.last_error = EmailState.SENT, clock.now(), ""
        message.save(update_fields=["state", "sent_at", "last_error"])
        report.sent += 1


def _record_failure(message: OutboxEmail, error: Exception, report: SendReport) -> None:
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts > len(RETRY_DELAYS):
        message.state = EmailState.FAILED
        report.failed += 1
    else:
        message.state = EmailState.PENDING
        message.next_attempt_at = clock.now() + RETRY_DELAYS[message.attempts - 1]
        report.retrying += 1
    message.save(update_fields=["state", "last_error", "next_attempt_at"])

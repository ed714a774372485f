"""Emails through the transactional outbox (rules §3.2 withdraw, §7.1 partnerships; issue 14).

The service that makes a change writes its message in the same transaction; `send_emails`
delivers what is due, at most once, retrying refusals with back-off.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from ecf import clock
from ecf.env import email_settings
from notifications.models import EmailState, OutboxEmail
from notifications.services import RETRY_DELAYS, email_enqueue, emails_send_due
from participants.models import ChallengeReason
from participants.services import partnership_challenge
from tests.factories import (
    DeliveryPartnerFactory,
    ParticipantFactory,
    ProviderRelationshipFactory,
    SchoolFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db
SET_UP = datetime(2024, 9, 2, 10, 0, tzinfo=UTC)
NOW = datetime(2024, 12, 10, 12, 0, tzinfo=UTC)


def withdraw(client, participant_id, reason="moved-school"):
    body = {
        "data": {"type": "participant-withdraw", "attributes": {"course_identifier": "ecf-induction", "reason": reason}}
    }
    with clock.frozen(NOW):
        return client.put(f"/api/v3/participants/ecf/{participant_id}/withdraw", body, format="json")


def send(now=NOW):
    with clock.frozen(now):
        return emails_send_due()


@pytest.fixture
def ect(lead_provider):
    with clock.frozen(SET_UP):
        school = SchoolFactory(
            name="Oakfield Primary", induction_tutor_name="Sam O'Neill", induction_tutor_email="sam@oakfield.example"
        )
        return enrolled_participant(
            lead_provider=lead_provider, school=school, participant=ParticipantFactory(full_name="Alex Jones")
        )


# --- Withdraw ----------------------------------------------------------------------------------


def test_withdraw_writes_a_message_to_the_induction_tutor_that_send_emails_delivers_once(provider_client, ect):
    assert withdraw(provider_client, ect.participant.id).status_code == 200

    (queued,) = OutboxEmail.objects.all()
    assert (queued.to, queued.state, mail.outbox) == ("sam@oakfield.example", EmailState.PENDING, [])
    call_command("send_emails", stdout=__import__("io").StringIO())
    (message,) = mail.outbox
    assert message.to == ["sam@oakfield.example"]
    assert message.subject == "Alex Jones has been withdrawn from training"
    assert "Dear Sam O'Neill," in message.body  # plain text: no HTML escaping of names
    assert "Ambition Institute has told us that Alex Jones, early career teacher at Oakfield Primary" in message.body
    assert "on 10 December 2024. The reason given was that they have moved school." in message.body
    queued.refresh_from_db()
    assert (queued.state, queued.sent_at is not None, queued.attempts) == (EmailState.SENT, True, 1)

    assert send().sent == 0
    assert len(mail.outbox) == 1


def test_refused_withdraw_writes_no_message(provider_client, ect):
    assert withdraw(provider_client, ect.participant.id, reason="no-such-reason").status_code == 422

    assert OutboxEmail.objects.count() == 0


def test_withdraw_at_a_school_without_an_induction_tutor_writes_no_message(provider_client, lead_provider):
    with clock.frozen(SET_UP):
        ect = enrolled_participant(lead_provider=lead_provider, school=SchoolFactory(induction_tutor_email=""))

    assert withdraw(provider_client, ect.participant.id).status_code == 200
    assert OutboxEmail.objects.count() == 0


# --- Partnerships ------------------------------------------------------------------------------


@pytest.fixture
def partner(lead_provider):
    with clock.frozen(SET_UP):
        partner = DeliveryPartnerFactory(name="North Teaching Hub")
        ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=partner, cohort=2024)
    return partner


def confirm(client, school, partner, now):
    body = {
        "data": {
            "type": "ecf-partnership",
            "attributes": {"cohort": "2024", "school_id": str(school.id), "delivery_partner_id": str(partner.id)},
        }
    }
    with clock.frozen(now):
        return client.post("/api/v3/partnerships/ecf", body, format="json")


CONFIRMED_AT = datetime(2024, 9, 20, 12, 30, tzinfo=UTC)


@pytest.fixture
def school():
    with clock.frozen(SET_UP):
        return SchoolFactory(
            name="Elm Academy", urn="654321", induction_tutor_email="", primary_contact_email="office@elm.example"
        )


def test_confirmed_partnership_tells_the_school_now_and_reminds_it_a_week_later(provider_client, school, partner):
    assert confirm(provider_client, school, partner, CONFIRMED_AT).status_code == 200

    assert send(CONFIRMED_AT).sent == 1
    (confirmation,) = mail.outbox
    assert confirmation.to == ["office@elm.example"]  # no induction tutor: the primary contact
    assert confirmation.subject == "Ambition Institute has confirmed a partnership with Elm Academy"
    assert "for the 2024 to 2025 academic year, with North Teaching Hub as its delivery partner" in confirmation.body
    assert "challenge the partnership until 31 October 2024" in confirmation.body

    assert send(CONFIRMED_AT + timedelta(days=6)).sent == 0
    assert send(CONFIRMED_AT + timedelta(days=7)).sent == 1
    assert mail.outbox[1].subject.startswith("Reminder: Ambition Institute has confirmed a partnership")


def test_a_challenge_before_the_reminder_cancels_it(provider_client, school, partner):
    response = confirm(provider_client, school, partner, CONFIRMED_AT)
    send(CONFIRMED_AT)
    from participants.models import Partnership

    with clock.frozen(CONFIRMED_AT + timedelta(days=2)):
        partnership_challenge(
            partnership=Partnership.objects.get(pk=response.json()["data"]["id"]), reason=ChallengeReason.MISTAKE
        )

    assert send(CONFIRMED_AT + timedelta(days=8)).sent == 0
    assert OutboxEmail.objects.get(kind="partnership_reminder").state == EmailState.CANCELLED


# --- Delivery: back-off, giving up, concurrency ------------------------------------------------


class RefusingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_a_refused_message_is_retried_with_back_off_then_marked_failed(settings):
    settings.EMAIL_BACKEND = "tests.test_emails.RefusingBackend"
    with clock.frozen(NOW):
        email_enqueue(kind="participant_withdrawn", to="x@example.com", context={})
    at = NOW
    for delay in RETRY_DELAYS:
        report = send(at)
        assert (report.sent, report.retrying) == (0, 1)
        message = OutboxEmail.objects.get()
        assert message.next_attempt_at == at + delay
        assert send(at + delay - timedelta(seconds=1)).retrying == 0  # not before its time
        at += delay

    assert send(at).failed == 1
    message = OutboxEmail.objects.get()
    assert (message.state, message.attempts) == (EmailState.FAILED, len(RETRY_DELAYS) + 1)
    assert message.last_error == "ConnectionRefusedError: mail server down"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_senders_at_once_send_each_message_exactly_once():
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    with clock.frozen(NOW):
        for number in range(30):
            email_enqueue(kind="participant_withdrawn", to=f"tutor{number}@example.com", context={})
    start = threading.Barrier(2)

    def sender():
        start.wait()
        try:
            send()
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    recipients = [message.to[0] for message in mail.outbox]
    assert sorted(recipients) == sorted(f"tutor{number}@example.com" for number in range(30))
    assert OutboxEmail.objects.filter(state=EmailState.SENT).count() == 30


# --- Settings ----------------------------------------------------------------------------------


def test_email_url_configures_smtp(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://mailer:p%40ss@smtp.example.org")
    assert email_settings("EMAIL_URL", "unused") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.org",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "p@ss",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


@pytest.mark.parametrize("value", ["http://smtp.example.org", "smtp://", "smtp://host:port"])
def test_a_bad_email_url_stops_the_service_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("EMAIL_URL", value)
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        email_settings("EMAIL_URL", "unused")


def test_the_back_office_lists_messages_and_their_state(admin_client):
    with clock.frozen(NOW):
        email_enqueue(kind="participant_withdrawn", to="tutor@example.com", context={"participant_name": "Alex Jones"})

    page = admin_client.get("/admin/notifications/outboxemail/")
    assert page.status_code == 200
    assert b"Alex Jones has been withdrawn from training" in page.content
    assert b"Waiting to be sent" in page.content

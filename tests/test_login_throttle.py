"""Issue 12.6: failed back-office logins are throttled per account and per address; while locked,
even the right password is refused, and junk user names add no rows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from api.models import ThrottleSlot
from ecf import clock

LOGIN = "/admin/login/"
PASSWORD = "the-right-password-42"
NOW = datetime(2025, 3, 1, 12, 1, 0, tzinfo=UTC)  # one minute into a 15-minute window
LOCKED = "Too many failed logins for this account or from this address. Try again in 14 minutes."


@pytest.fixture
def staff(db):
    return User.objects.create_user("fiona", "fiona@example.com", PASSWORD, is_staff=True)


def log_in(client: Client, username: str, password: str, at: datetime = NOW, address: str = "192.0.2.10"):
    with clock.frozen(at):
        return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


@pytest.mark.django_db
def test_after_five_wrong_passwords_even_the_right_one_is_refused(staff):
    client = Client()
    wrong = [log_in(client, "fiona", f"guess-{n}") for n in range(5)]

    locked = log_in(client, "fiona", PASSWORD)

    assert [response.status_code for response in wrong] == [200] * 5
    assert not logged_in(locked)
    assert LOCKED in locked.content.decode()


@pytest.mark.django_db
def test_the_account_is_locked_from_every_address(staff):
    for n in range(5):
        log_in(Client(), "fiona", f"guess-{n}", address=f"198.51.100.{n}")

    assert not logged_in(log_in(Client(), "Fiona", PASSWORD, address="203.0.113.1"))


@pytest.mark.django_db
def test_the_lock_ends_with_the_window(staff):
    for n in range(5):
        log_in(Client(), "fiona", f"guess-{n}")

    assert logged_in(log_in(Client(), "fiona", PASSWORD, at=NOW + timedelta(minutes=14)))


@pytest.mark.django_db
def test_one_address_trying_many_accounts_is_locked_too(staff):
    for n in range(20):
        log_in(Client(), f"user-{n}", "guess")

    assert not logged_in(log_in(Client(), "fiona", PASSWORD))
    assert logged_in(log_in(Client(), "fiona", PASSWORD, address="192.0.2.99"))


@pytest.mark.django_db
def test_a_success_clears_the_account_count(staff):
    for n in range(4):
        log_in(Client(), "fiona", f"typo-{n}")
    assert logged_in(log_in(Client(), "fiona", PASSWORD))

    for n in range(4):
        log_in(Client(), "fiona", f"typo-again-{n}", address="192.0.2.11")

    assert logged_in(log_in(Client(), "fiona", PASSWORD, address="192.0.2.12"))


@pytest.mark.django_db
def test_junk_user_names_add_no_rows_beyond_the_fixed_slots(staff, settings):
    settings.THROTTLE_SLOTS = 8
    for n in range(40):
        log_in(Client(), f"junk-{n}", "guess", address=f"10.0.0.{n}")

    # Two scopes (account, address) of eight slots each, whatever was sent.
    assert ThrottleSlot.objects.count() <= 16

"""`page[cursor]`, the change cursor (issue 16.2): a walk delivers every record once, a resumed walk
every record changed since, and a writer whose transaction commits after a poll began is still
delivered by the next one, where `filter[updated_since]` misses it."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from ecf import clock, rfc3339
from participants.services import participant_change_email
from participants.tokens import api_token_create
from tests.factories import DeclarationFactory, enrolled_participant

PARTICIPANTS = "/api/v3/participants/ecf"
DECLARATIONS = "/api/v3/participant-declarations"
T0 = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)


def _client(lead_provider) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    return client


def walk(client, path: str, start: str | None, per_page: int = 2) -> tuple[list[str], str]:
    """Follow links.next until a short page: (ids in the order sent, the cursor to resume from)."""
    url = f"{path}?page[per_page]={per_page}&page[cursor]={start or ''}"
    ids: list[str] = []
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [record["id"] for record in body["data"]]
        url = body["links"]["next"]
        if len(body["data"]) < per_page:
            return ids, url.split("page%5Bcursor%5D=")[1]


def _people(lead_provider, count: int) -> list:
    with clock.frozen(T0):
        return [enrolled_participant(lead_provider=lead_provider) for _ in range(count)]


# Real commits: on PostgreSQL the cursor compares the writers' transactions with the polls' snapshots,
# which cannot tell changes apart inside the one transaction of an ordinary test.
COMMITTED = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@COMMITTED
def test_a_walk_sends_every_record_once_in_creation_order(lead_provider):
    people = _people(lead_provider, 5)
    client = _client(lead_provider)

    ids, _ = walk(client, PARTICIPANTS, None)

    listed = [record["id"] for record in client.get(PARTICIPANTS).json()["data"]]
    assert ids == listed and sorted(ids) == sorted(str(p.participant.id) for p in people)


@COMMITTED
def test_a_resumed_walk_sends_only_what_changed(lead_provider):
    people = _people(lead_provider, 4)
    client = _client(lead_provider)
    _, resume = walk(client, PARTICIPANTS, None)
    with clock.frozen(T0 + timedelta(hours=1)):
        participant_change_email(participant=people[2].participant, email="changed@example.com")

    changed, resume = walk(client, PARTICIPANTS, resume)
    quiet, _ = walk(client, PARTICIPANTS, resume)

    assert changed == [str(people[2].participant.id)]
    assert quiet == []


@COMMITTED
def test_declarations_walk_and_resume(lead_provider):
    person = _people(lead_provider, 1)[0]
    with clock.frozen(T0):
        first = DeclarationFactory(enrolment=person.enrolment, submitted=True)
    client = _client(lead_provider)
    everything, resume = walk(client, DECLARATIONS, None)
    with clock.frozen(T0 + timedelta(hours=1)):
        second = DeclarationFactory(enrolment=person.enrolment, declaration_type="retained-1", submitted=True)

    changed, _ = walk(client, DECLARATIONS, resume)

    assert everything == [str(first.id)]
    assert changed == [str(second.id)]


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJzIjoiMTsgRFJPUCBUQUJMRSIsInciOm51bGwsImEiOm51bGx9"])
def test_a_cursor_we_did_not_give_is_a_400(provider_client, cursor):
    response = provider_client.get(PARTICIPANTS, {"page[cursor]": cursor})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "The '#/page[cursor]' parameter must be empty (to start) or a cursor given in links.next",
                "code": "page.invalid_cursor",
            }
        ]
    }


@pytest.mark.django_db
def test_without_a_cursor_the_answer_is_unchanged(lead_provider):
    _people(lead_provider, 1)

    body = _client(lead_provider).get(PARTICIPANTS).json()

    assert list(body) == ["data"]


@COMMITTED
def test_a_slow_writer_committing_after_the_poll_is_delivered_by_the_cursor_not_by_updated_since(lead_provider):
    """The writer changes a person at 12:00:10 and commits at 12:00:40; another change commits at
    12:00:20; the provider polls at 12:00:30 (it sees the quick change, not the uncommitted one) and
    again later. `updated_since=12:00:30` misses the
    change for good; the cursor of the 12:00:30 poll delivers it."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions on PostgreSQL")
    person, other = _people(lead_provider, 2)
    client = _client(lead_provider)
    _, resume = walk(client, PARTICIPANTS, None)
    changed, release, failures = threading.Event(), threading.Event(), []

    def slow_writer():
        try:
            with clock.frozen(T0 + timedelta(seconds=10)), transaction.atomic():
                participant_change_email(participant=person.participant, email="slow@example.com")
                changed.set()
                assert release.wait(30)
        except Exception as error:  # reported by the test below
            failures.append(error)
            changed.set()
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert changed.wait(30)
    # Other traffic commits while the slow writer runs, as on any busy day.
    with clock.frozen(T0 + timedelta(seconds=20)):
        participant_change_email(participant=other.participant, email="quick@example.com")
    poll_at = T0 + timedelta(seconds=30)
    with clock.frozen(poll_at):
        during, resume = walk(client, PARTICIPANTS, resume)
    release.set()
    writer.join(30)
    assert not failures

    since = {"filter[updated_since]": rfc3339.format_timestamp(poll_at)}
    by_timestamp = [record["id"] for record in client.get(PARTICIPANTS, since).json()["data"]]
    by_cursor, _ = walk(client, PARTICIPANTS, resume)

    assert during == [str(other.participant.id)]
    assert by_timestamp == []  # the change is older than the poll that could not see it
    assert by_cursor == [str(person.participant.id)]

"""ecf.compiled_query: a query compiled once answers for new values exactly as the ORM does."""

import pytest
from django.db import connection
from django.db.models import signals
from django.test.utils import CaptureQueriesContext

from declarations.models import DeclarationAttempt
from ecf.compiled_query import CompiledQuery, insert_new
from participants.models import Participant
from tests.factories import ParticipantFactory
from tests.visibility_sync import receivers_disconnected

pytestmark = pytest.mark.django_db


def by_trn(*, trn, full_name):
    return Participant.objects.filter(trn=trn).exclude(full_name=full_name).values("id", "trn")[:5]


def test_a_compiled_query_answers_for_new_values_as_the_orm_does():
    people = [ParticipantFactory(trn=f"{2000000 + n}") for n in range(3)]
    query = CompiledQuery(by_trn)

    for person in people:
        assert query.rows(trn=person.trn, full_name="nobody") == list(by_trn(trn=person.trn, full_name="nobody"))
        assert query.rows(trn=person.trn, full_name=person.full_name) == []
    assert query.rows(trn=None, full_name="nobody") == list(by_trn(trn=None, full_name="nobody"))
    if connection.vendor == "postgresql":
        assert len(query._shapes) == 2 and all(query._shapes.values())  # compiled once per shape, and reused


def test_a_value_it_cannot_stand_in_for_is_refused():
    with pytest.raises(TypeError):
        CompiledQuery(by_trn).rows(trn=True, full_name="x")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_compiled_query_is_planned_once_per_connection_not_once_per_run():
    # A declaration POST's lookups cost PostgreSQL more to plan than to run (issue 19): they must run
    # as a server-side prepared statement, which the database keeps for the connection's life.
    person = ParticipantFactory(trn="2000001")
    query = CompiledQuery(by_trn)

    for _ in range(3):
        assert query.rows(trn=person.trn, full_name="nobody") == [{"id": person.id, "trn": person.trn}]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE NOT from_sql AND statement LIKE %s",
            ['%FROM "participants_participant"%'],
        )
        runs = [row[0] for row in cursor.fetchall()]
    assert runs == [3]


def test_new_rows_of_several_models_are_stored_as_save_stores_them(lead_provider):
    person = Participant(full_name="Ada Lovelace", email="ada@example.com", trn="2000002")
    attempts = [
        DeclarationAttempt(lead_provider=lead_provider, participant=person, course_identifier="ecf-induction"),
        DeclarationAttempt(lead_provider=lead_provider, participant=person, errors=[["base", "refused"]]),
    ]

    with receivers_disconnected(), CaptureQueriesContext(connection) as queries:
        insert_new(person, *attempts)

    stored = Participant.objects.get(pk=person.pk)
    assert (stored.full_name, stored.trn, stored.created_at) == ("Ada Lovelace", "2000002", person.created_at)
    # Auto-increment ids are read back, each for its own row.
    assert [attempt.pk for attempt in attempts] == list(
        DeclarationAttempt.objects.order_by("pk").values_list("pk", flat=True)
    )
    assert DeclarationAttempt.objects.get(pk=attempts[1].pk).errors == [["base", "refused"]]
    assert DeclarationAttempt.objects.get(pk=attempts[0].pk).course_identifier == "ecf-induction"
    assert not any(obj._state.adding for obj in (person, *attempts))
    if connection.vendor == "postgresql":
        assert len(queries) == 1  # one round trip for the three rows


def test_a_model_with_save_signals_is_saved_through_the_orm(lead_provider):
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.full_name, created))

    signals.post_save.connect(receiver, sender=Participant)
    try:
        insert_new(Participant(full_name="Grace Hopper", email="grace@example.com"))
    finally:
        signals.post_save.disconnect(receiver, sender=Participant)

    assert heard == [("Grace Hopper", True)]
    assert Participant.objects.filter(full_name="Grace Hopper").exists()

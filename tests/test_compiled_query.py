"""ecf.compiled_query: a query compiled once answers for new values exactly as the ORM does."""

import pytest
from django.db import connection

from ecf.compiled_query import CompiledQuery
from participants.models import Participant
from tests.factories import ParticipantFactory

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

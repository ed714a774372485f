"""Once paid, a declaration's statements, amounts and history are append-only in the database itself
(issue 13.5; declarations migration 0004). Each forbidden change is tried with the ORM's bare
UPDATE/DELETE or with SQL, as code or a person bypassing the services would, and is refused by the
database; the legitimate paths that touch paid declarations still work."""

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from declarations.models import ActorKind, Declaration, DeclarationState, DeclarationStateChange
from declarations.services import Actor, declaration_void
from ecf import clock
from participants.services import participant_merge
from statements.models import Statement, StatementStatus
from tests.factories import DeclarationFactory, ParticipantFactory, StatementFactory

pytestmark = pytest.mark.django_db

S = DeclarationState
TODAY = datetime(2025, 3, 10, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def today():
    with clock.frozen(TODAY) as instant:
        yield instant


def refused():
    """The database refuses the change; the savepoint keeps the test's transaction usable."""
    return pytest.raises(IntegrityError)


def another_statement(declaration, **fields) -> Statement:
    return StatementFactory(lead_provider=declaration.lead_provider, cohort=declaration.cohort, **fields)


@pytest.fixture(params=["paid", "awaiting_clawback", "clawed_back"])
def paid(request):
    return DeclarationFactory(**{request.param: True})


# --- Refused ----------------------------------------------------------------------------------


def test_a_paid_declaration_cannot_move_to_another_statement(paid):
    elsewhere = another_statement(paid)
    with refused(), transaction.atomic():
        Declaration.objects.filter(pk=paid.pk).update(statement=elsewhere)
    with refused(), transaction.atomic():
        Declaration.objects.filter(pk=paid.pk).update(statement=None)


@pytest.mark.parametrize(
    "change",
    [
        {"declaration_type": "retained-1"},
        {"course_identifier": "ecf-mentor"},
        {"declaration_date": datetime(2024, 11, 1, tzinfo=UTC)},
        {"pupil_premium_uplift": True, "sparsity_uplift": True},
        {"cohort_id": 2023},
    ],
    ids=lambda change: ",".join(change),
)
def test_what_a_paid_amount_was_calculated_from_cannot_change(paid, change):
    with refused(), transaction.atomic():
        Declaration.objects.filter(pk=paid.pk).update(**change)


def test_a_paid_declaration_cannot_move_to_another_provider(paid):
    other = DeclarationFactory(submitted=True)
    with refused(), transaction.atomic():
        Declaration.objects.filter(pk=paid.pk).update(lead_provider=other.lead_provider, enrolment=other.enrolment)


def test_a_clawback_statement_once_set_cannot_move_or_go():
    clawing = DeclarationFactory(awaiting_clawback=True)
    elsewhere = another_statement(clawing)
    with refused(), transaction.atomic():
        Declaration.objects.filter(pk=clawing.pk).update(clawback_statement=elsewhere)
    with refused(), transaction.atomic():
        Declaration.objects.filter(pk=clawing.pk).update(clawback_statement=None)


def test_a_paid_declaration_cannot_be_deleted(paid):
    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM declarations_declaration WHERE id = %s", [paid.pk.hex])
    assert Declaration.objects.filter(pk=paid.pk).exists()


def test_a_paid_declarations_history_cannot_be_deleted_or_edited(paid):
    history = list(paid.state_changes.order_by("created_at", "id").values_list("from_state", "state", "reason"))
    assert history
    with refused(), transaction.atomic():
        paid.state_changes.all().delete()
    with refused(), transaction.atomic():
        paid.state_changes.update(reason="never happened")
    with refused(), transaction.atomic():
        paid.state_changes.filter(state=S.PAID).update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert list(paid.state_changes.order_by("created_at", "id").values_list("from_state", "state", "reason")) == history


def test_a_paid_statement_keeps_what_it_paid():
    statement = StatementFactory(paid=True, paid_amounts={"total": "100.00"})
    for change in (
        {"paid_amounts": {"total": "1.00"}},
        {"status": StatementStatus.PAYABLE},
        {"marked_as_paid_at": None},
        {"output_fee": False},
    ):
        with refused(), transaction.atomic():
            Statement.objects.filter(pk=statement.pk).update(**change)
    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM statements_statement WHERE id = %s", [statement.pk.hex])
    statement.refresh_from_db()
    assert (statement.status, statement.paid_amounts) == (StatementStatus.PAID, {"total": "100.00"})


# --- Still allowed ------------------------------------------------------------------------------


def test_voiding_a_paid_declaration_sets_its_clawback_statement():
    declaration = DeclarationFactory(paid=True)
    clawback = StatementFactory(
        lead_provider=declaration.lead_provider,
        cohort=declaration.cohort,
        year=2025,
        month=5,
        deadline_date=date(2025, 4, 30),
        payment_date=date(2025, 5, 25),
    )

    declaration_void(declaration=declaration, actor=Actor.provider(declaration.lead_provider))

    declaration.refresh_from_db()
    assert (declaration.state, declaration.clawback_statement_id) == (S.AWAITING_CLAWBACK, clawback.pk)
    assert declaration.state_changes.filter(state=S.AWAITING_CLAWBACK).exists()


def test_a_merge_moves_a_paid_declaration_to_the_surviving_participant():
    declaration = DeclarationFactory(paid=True)
    statement_id = declaration.statement_id
    survivor = ParticipantFactory()

    participant_merge(from_participant=declaration.participant, to_participant=survivor)

    declaration.refresh_from_db()
    assert (declaration.participant_id, declaration.statement_id) == (survivor.pk, statement_id)


def test_paid_history_can_be_inserted_and_appended_to():
    declaration = DeclarationFactory(paid=True, history=False)
    DeclarationStateChange.objects.bulk_create(
        DeclarationStateChange(
            declaration=declaration, from_state=before, state=after, actor_kind=ActorKind.PAYMENT_RUN
        )
        for before, after in [
            ("", S.SUBMITTED),
            (S.SUBMITTED, S.ELIGIBLE),
            (S.ELIGIBLE, S.PAYABLE),
            (S.PAYABLE, S.PAID),
        ]
    )
    assert declaration.state_changes.count() == 4


def test_an_unpaid_declaration_may_still_move_and_be_deleted():
    declaration = DeclarationFactory(eligible=True)
    elsewhere = another_statement(declaration)
    Declaration.objects.filter(pk=declaration.pk).update(statement=elsewhere)
    declaration.state_changes.all().delete()
    Declaration.objects.filter(pk=declaration.pk).delete()
    assert not Declaration.objects.filter(pk=declaration.pk).exists()

"""The declaration state machine (rules §5.2): legal moves recorded, illegal ones impossible."""

import importlib

import pytest
from django.db import DatabaseError, transaction

from declarations import state_machine
from declarations.models import ActorKind, Declaration, DeclarationState
from declarations.state_machine import ALLOWED, Actor, transition, transition_all
from ecf.errors import InvalidAction
from tests.factories import DeclarationFactory, LeadProviderFactory

pytestmark = pytest.mark.django_db
S = DeclarationState
ALL_PAIRS = [(old, new) for old in S.values for new in S.values if old != new]
TRAIT = {
    S.SUBMITTED: "submitted",
    S.ELIGIBLE: "eligible",
    S.PAYABLE: "payable",
    S.PAID: "paid",
    S.VOIDED: "voided",
    S.INELIGIBLE: "ineligible",
    S.AWAITING_CLAWBACK: "awaiting_clawback",
    S.CLAWED_BACK: "clawed_back",
}
# Fields a target state needs so the row's other constraints hold (the statement links).
NEEDS_STATEMENT = {S.ELIGIBLE, S.PAYABLE, S.PAID, S.AWAITING_CLAWBACK, S.CLAWED_BACK}


def declaration_in(state: str) -> Declaration:
    return DeclarationFactory(**{TRAIT[state]: True})


def test_the_database_guard_allows_exactly_the_state_machine():
    migration = importlib.import_module("declarations.migrations.0002_declaration_state_guard")
    in_code = {(old, new) for old, targets in ALLOWED.items() for new in targets}

    assert set(migration.ALLOWED_PAIRS) == in_code


@pytest.mark.parametrize(("old", "new"), [pair for pair in ALL_PAIRS if pair[1] not in ALLOWED[pair[0]]])
def test_illegal_transition_is_refused_by_the_service(old, new):
    declaration = declaration_in(old)

    with pytest.raises(InvalidAction):
        transition(declaration, new, actor=Actor.system())

    declaration.refresh_from_db()
    assert declaration.state == old


@pytest.mark.parametrize(("old", "new"), [pair for pair in ALL_PAIRS if pair[1] not in ALLOWED[pair[0]]])
def test_illegal_transition_is_refused_by_the_database(old, new):
    declaration = declaration_in(old)

    with pytest.raises(DatabaseError), transaction.atomic():
        Declaration.objects.filter(pk=declaration.pk).update(state=new)


def test_legal_transition_records_who_why_and_when():
    declaration = declaration_in(S.PAYABLE)
    provider = LeadProviderFactory()

    transition(declaration, S.VOIDED, actor=Actor.provider(provider), reason="voided by provider")

    change = declaration.state_changes.order_by("-created_at", "-id").first()
    assert (change.from_state, change.state, change.reason) == (S.PAYABLE, S.VOIDED, "voided by provider")
    assert change.actor_kind == ActorKind.LEAD_PROVIDER
    assert change.actor_lead_provider == provider
    declaration.refresh_from_db()
    assert declaration.state == S.VOIDED


def test_payment_run_moves_only_declarations_in_the_from_state():
    eligible = [declaration_in(S.ELIGIBLE) for _ in range(3)]
    voided = declaration_in(S.VOIDED)

    moved = transition_all(Declaration.objects.all(), S.ELIGIBLE, S.PAYABLE, actor=Actor.payment_run())

    assert moved == 3
    assert set(Declaration.objects.filter(state=S.PAYABLE).values_list("pk", flat=True)) == {d.pk for d in eligible}
    voided.refresh_from_db()
    assert voided.state == S.VOIDED
    assert all(d.state_changes.filter(state=S.PAYABLE, actor_kind=ActorKind.PAYMENT_RUN).exists() for d in eligible)


def test_payment_run_refuses_an_illegal_move():
    with pytest.raises(InvalidAction):
        transition_all(Declaration.objects.all(), S.PAID, S.ELIGIBLE, actor=Actor.payment_run())


def test_terminal_states_have_no_way_out():
    assert state_machine.ALLOWED[S.VOIDED] == frozenset()
    assert state_machine.ALLOWED[S.CLAWED_BACK] == frozenset()

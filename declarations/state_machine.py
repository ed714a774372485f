"""The declaration state machine (rules §5.2), enforced here and only here.

Every state change goes through `transition` (one declaration) or `transition_all` (a payment
run over many), which refuse a move the rules do not allow and append the history row in the
same transaction. The database refuses the same illegal moves (migration 0002's trigger), so a
change that bypassed this module would fail too.
"""

from dataclasses import dataclass

from django.db import transaction

from declarations.models import ActorKind, Declaration, DeclarationState, DeclarationStateChange
from ecf import clock
from ecf.errors import InvalidAction

S = DeclarationState

# The states a new declaration may start in (rules §4.7).
INITIAL_STATES = frozenset({S.SUBMITTED, S.ELIGIBLE, S.INELIGIBLE})

ALLOWED = {
    S.SUBMITTED: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.VOIDED}),
    S.ELIGIBLE: frozenset({S.SUBMITTED, S.PAYABLE, S.VOIDED}),
    S.PAYABLE: frozenset({S.PAID, S.VOIDED}),
    S.PAID: frozenset({S.AWAITING_CLAWBACK}),
    S.INELIGIBLE: frozenset({S.VOIDED}),
    S.AWAITING_CLAWBACK: frozenset({S.CLAWED_BACK}),
    S.VOIDED: frozenset(),
    S.CLAWED_BACK: frozenset(),
}


@dataclass(frozen=True)
class Actor:
    """Who caused a change: a provider through the API, a finance user, or a payment run."""

    kind: str
    lead_provider_id: object = None
    user: object = None

    @classmethod
    def provider(cls, lead_provider) -> "Actor":
        return cls(kind=ActorKind.LEAD_PROVIDER, lead_provider_id=lead_provider.pk)

    @classmethod
    def finance_user(cls, user) -> "Actor":
        return cls(kind=ActorKind.FINANCE_USER, user=user)

    @classmethod
    def payment_run(cls) -> "Actor":
        return cls(kind=ActorKind.PAYMENT_RUN)

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind=ActorKind.SYSTEM)


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in ALLOWED.get(from_state, frozenset())


def _history(declaration_id, from_state: str, to_state: str, actor: Actor, reason: str, at) -> DeclarationStateChange:
    return DeclarationStateChange(
        declaration_id=declaration_id,
        from_state=from_state,
        state=to_state,
        reason=reason,
        actor_kind=actor.kind,
        actor_lead_provider_id=actor.lead_provider_id,
        actor_user=actor.user,
        created_at=at,
    )


@transaction.atomic(savepoint=False)  # part of the creating transaction: a savepoint would only cost a round trip
def record_creation(declaration: Declaration, *, actor: Actor, reason: str = "") -> None:
    """History of a new declaration: `submitted`, then its initial state if different (rules §4.7)."""
    if declaration.state not in INITIAL_STATES:
        raise InvalidAction(f"A declaration cannot start as {declaration.state}")
    now = clock.now()
    rows = [_history(declaration.pk, "", S.SUBMITTED, actor, "", now)]
    if declaration.state != S.SUBMITTED:
        rows.append(_history(declaration.pk, S.SUBMITTED, declaration.state, actor, reason, now))
    DeclarationStateChange.objects.bulk_create(rows)


@transaction.atomic
def transition(declaration: Declaration, to_state: str, *, actor: Actor, reason: str = "", **changes) -> Declaration:
    """Move one declaration to `to_state` (with any other field `changes`) and record it."""
    from_state = declaration.state
    if not can_transition(from_state, to_state):
        raise InvalidAction(f"A {from_state} declaration cannot become {to_state}")
    now = clock.now()
    for field, value in changes.items():
        setattr(declaration, field, value)
    declaration.state = to_state
    declaration.updated_at = now
    declaration.save(update_fields=["state", "updated_at", *changes])
    DeclarationStateChange.objects.create(
        declaration=declaration,
        from_state=from_state,
        state=to_state,
        reason=reason,
        actor_kind=actor.kind,
        actor_lead_provider_id=actor.lead_provider_id,
        actor_user=actor.user,
        created_at=now,
    )
    return declaration


@transaction.atomic
def transition_all(declarations, from_state: str, to_state: str, *, actor: Actor, reason: str = "") -> int:
    """Move every declaration of the queryset that is in `from_state` (a payment run); returns how many.

    Two statements (the history insert and the update) whatever the number of declarations.
    """
    if not can_transition(from_state, to_state):
        raise InvalidAction(f"A {from_state} declaration cannot become {to_state}")
    now = clock.now()
    selected = declarations.filter(state=from_state).select_for_update()
    ids = list(selected.values_list("pk", flat=True))
    if not ids:
        return 0
    DeclarationStateChange.objects.bulk_create(
        [_history(pk, from_state, to_state, actor, reason, now) for pk in ids], batch_size=5000
    )
    return Declaration.objects.filter(pk__in=ids, state=from_state).update(state=to_state, updated_at=now)

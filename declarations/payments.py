"""The payment runs: statements become payable after their deadline, then are authorised and paid.

They live with the declarations because they change declaration states, which only this app does
(through the state machine). A statement goes open → payable (daily, after its deadline) → paid
(a finance user authorises it); finance.md §2.4-§2.6, decisions §13-§15.
"""

from datetime import date

from django.db import transaction

from declarations.models import DeclarationState
from declarations.state_machine import Actor, transition_all
from ecf import clock
from ecf.errors import InvalidAction
from statements.calculation import calculate_statement
from statements.freezing import frozen_figures
from statements.models import Statement, StatementStatus
from visibility.changes import visibility_changed

S = DeclarationState


def statements_mark_payable(*, today: date | None = None) -> list[Statement]:
    """Every open output-fee statement whose deadline has passed becomes payable, with its eligible
    declarations. Catches up however many days were missed and changes nothing when run again
    (decisions §13). Service-fee statements stay open: they are never authorised. One transaction
    per statement, oldest deadline first, so one failure does not undo the others."""
    today = today or clock.today()
    due = (
        Statement.objects.output()
        .filter(status=StatementStatus.OPEN, deadline_date__lt=today)
        .order_by("deadline_date", "payment_date", "id")
        .values_list("pk", flat=True)
    )
    moved = []
    for statement_id in list(due):
        statement = _mark_payable(statement_id, today=today)
        if statement is not None:
            moved.append(statement)
    return moved


@transaction.atomic
def _mark_payable(statement_id, *, today: date) -> Statement | None:
    statement = Statement.objects.select_for_update().get(pk=statement_id)
    # Another run may have got here first.
    if statement.status != StatementStatus.OPEN or statement.deadline_date >= today:
        return None
    transition_all(
        statement.declarations.all(),
        S.ELIGIBLE,
        S.PAYABLE,
        actor=Actor.payment_run(),
        reason=f"{statement.name} statement became payable",
    )
    visibility_changed(participant_ids=statement.declarations.values_list("participant_id", flat=True))
    statement.status = StatementStatus.PAYABLE
    statement.save(update_fields=["status"])
    return statement


def authorisation_refusals(statement: Statement, *, today: date | None = None) -> list[str]:
    """Why the statement cannot be authorised for payment now; empty when it can (finance.md §2.5)."""
    today = today or clock.today()
    if not statement.output_fee:
        return ["Only output-fee statements can be authorised for payment."]
    refusals = []
    if statement.status == StatementStatus.OPEN:
        refusals.append("It is not payable yet: it is still open.")
    elif statement.status == StatementStatus.PAID:
        refusals.append("It has already been paid.")
    if statement.marked_as_paid_at is not None:
        refusals.append(f"It was already authorised for payment at {statement.marked_as_paid_at:%Y-%m-%d %H:%M %Z}.")
    if statement.deadline_date >= today:
        deadline = f"{statement.deadline_date.day} {statement.deadline_date:%B %Y}"
        refusals.append(f"Its milestone cut-off date, {deadline}, has not passed yet.")
    if not (statement.declarations.exists() or statement.clawback_declarations.exists()):
        refusals.append("It has no declarations to pay or claw back.")
    return refusals


@transaction.atomic
def statement_authorise_payment(*, statement: Statement, user=None) -> Statement:
    """Pay the statement (finance.md §2.5, decisions §14/§15), all or nothing: its payable
    declarations become paid, its awaiting-clawback ones clawed back, and the amounts calculated
    afterwards are frozen on the statement. `user` is the finance user who authorised it (none for
    a command-line run)."""
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    refusals = authorisation_refusals(statement)
    if refusals:
        raise InvalidAction(f"{statement.name} cannot be authorised for payment. {' '.join(refusals)}")
    actor = Actor.finance_user(user) if user is not None else Actor.payment_run()
    reason = f"{statement.name} statement authorised for payment"
    transition_all(statement.declarations.all(), S.PAYABLE, S.PAID, actor=actor, reason=reason)
    transition_all(
        statement.clawback_declarations.all(), S.AWAITING_CLAWBACK, S.CLAWED_BACK, actor=actor, reason=reason
    )
    visibility_changed(
        participant_ids=[
            *statement.declarations.values_list("participant_id", flat=True),
            *statement.clawback_declarations.values_list("participant_id", flat=True),
        ]
    )
    return _freeze_as_paid(statement, at=clock.now())


@transaction.atomic
def statement_record_paid(*, statement: Statement, paid_at) -> Statement:
    """Record as paid at `paid_at` a statement whose declarations were written already paid (a
    scenario file describes history, it does not make it), frozen exactly as authorisation freezes
    it. It must not be paid yet: a paid statement keeps what it paid (declarations migration 0004)."""
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    if statement.status == StatementStatus.PAID:
        raise InvalidAction(f"{statement.name} has already been paid.")
    return _freeze_as_paid(statement, at=paid_at)


def _freeze_as_paid(statement: Statement, *, at) -> Statement:
    statement.marked_as_paid_at = at
    statement.status = StatementStatus.PAID
    # What was paid, frozen in pennies: later contract or rule changes must not change it.
    statement.paid_amounts = frozen_figures(calculate_statement(statement))
    statement.save(update_fields=["marked_as_paid_at", "status", "paid_amounts"])
    return statement

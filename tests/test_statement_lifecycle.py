"""A statement's life: open → payable after its deadline → paid when authorised (finance.md §2.4-§2.6,
decisions §13-§15), its additional adjustments (finance.md §1.5, §4.7) and the two payment commands."""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from declarations.models import ActorKind, DeclarationState
from declarations.payments import authorisation_refusals, statement_authorise_payment, statements_mark_payable
from ecf import clock
from ecf.errors import InvalidAction, ServiceValidationError
from statements.calculation import calculate_statement, statement_figures
from statements.models import Adjustment, StatementStatus
from statements.services import PAID_MESSAGE, adjustment_create, adjustment_delete, adjustment_update
from tests.factories import (
    AdjustmentFactory,
    DeclarationFactory,
    EctContractFactory,
    LeadProviderFactory,
    StatementFactory,
)

pytestmark = pytest.mark.django_db

S = DeclarationState
TODAY = datetime(2025, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def today():
    with clock.frozen(TODAY) as instant:
        yield instant


@pytest.fixture
def finance_user():
    return get_user_model().objects.create_user(username="finance", password="not-used")


def last_change(declaration):
    return declaration.state_changes.order_by("-created_at", "-id").first()


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


# ---------------------------------------------------------------------------------------
# Payable


def test_statement_becomes_payable_the_day_after_its_deadline():
    """PV-24 (rules §12): eligible → payable, ineligible and voided untouched; not on deadline day."""
    with clock.frozen(datetime(2021, 12, 31, 9, tzinfo=UTC)):
        statement = StatementFactory(cohort=2021, year=2022, month=1)
        eligible = DeclarationFactory(eligible=True, statement=statement)
        ineligible = DeclarationFactory(ineligible=True, statement=statement)
        voided = DeclarationFactory(voided=True, statement=statement)
        on_deadline_day = statements_mark_payable()
        statement.refresh_from_db()
        status_on_deadline_day = statement.status

    with clock.frozen(datetime(2022, 1, 1, 0, 1, tzinfo=UTC)):
        moved = statements_mark_payable()

    assert statement.deadline_date == date(2021, 12, 31)
    assert (on_deadline_day, status_on_deadline_day) == ([], StatementStatus.OPEN)
    assert moved == [statement]
    refreshed(statement, eligible, ineligible, voided)
    assert statement.status == StatementStatus.PAYABLE
    assert (eligible.state, ineligible.state, voided.state) == (S.PAYABLE, S.INELIGIBLE, S.VOIDED)
    change = last_change(eligible)
    assert (change.from_state, change.state, change.actor_kind) == (S.ELIGIBLE, S.PAYABLE, ActorKind.PAYMENT_RUN)


def test_missed_days_are_caught_up_and_only_open_output_statements_move(today):
    provider = LeadProviderFactory()
    october = StatementFactory(lead_provider=provider, year=2024, month=11)  # deadline 31 October 2024
    november = StatementFactory(lead_provider=provider, year=2024, month=12)
    service_only = StatementFactory(lead_provider=provider, year=2025, month=1, output_fee=False)
    future = StatementFactory(lead_provider=provider, year=2025, month=4)  # deadline 31 March
    lines = [DeclarationFactory(eligible=True, statement=s) for s in (october, november, future)]

    moved = statements_mark_payable()

    assert moved == [october, november]  # oldest deadline first
    refreshed(october, november, service_only, future, *lines)
    assert [s.status for s in (october, november, service_only, future)] == ["payable", "payable", "open", "open"]
    assert [line.state for line in lines] == [S.PAYABLE, S.PAYABLE, S.ELIGIBLE]


def test_running_the_payable_job_twice_changes_nothing(today):
    statement = StatementFactory(year=2025, month=2)
    line = DeclarationFactory(eligible=True, statement=statement)
    statements_mark_payable()
    history = line.state_changes.count()

    assert statements_mark_payable() == []

    refreshed(statement, line)
    assert (statement.status, line.state, line.state_changes.count()) == (StatementStatus.PAYABLE, S.PAYABLE, history)


# ---------------------------------------------------------------------------------------
# Authorise for payment


def payable_statement(**fields):
    return StatementFactory(payable=True, **fields)


REFUSALS = {
    "a service-fee statement": (
        lambda: StatementFactory(payable=True, output_fee=False),
        "Only output-fee statements can be authorised",
    ),
    "an open statement": (lambda: StatementFactory(year=2025, month=3), "not payable yet"),
    "an already authorised statement": (
        lambda: payable_statement(marked_as_paid_at=TODAY - timedelta(hours=1)),
        "already authorised for payment",
    ),
    "a statement before its deadline": (
        lambda: payable_statement(deadline_date=TODAY.date()),
        "cut-off date, 10 March 2025, has not passed",
    ),
    "a paid statement": (lambda: StatementFactory(paid=True), "already been paid"),
}


@pytest.mark.parametrize(("make", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_authorisation_is_refused_and_changes_nothing(today, make, message):
    statement = make()
    line = DeclarationFactory(payable=True, statement=statement)
    before = (statement.status, statement.marked_as_paid_at)

    with pytest.raises(InvalidAction, match=message):
        statement_authorise_payment(statement=statement)

    refreshed(statement, line)
    assert (statement.status, statement.marked_as_paid_at) == before
    assert line.state == S.PAYABLE and statement.paid_amounts is None


def test_authorisation_of_a_statement_without_line_items_is_refused(today):
    statement = payable_statement()

    with pytest.raises(InvalidAction, match="has no declarations to pay or claw back"):
        statement_authorise_payment(statement=statement)

    assert authorisation_refusals(statement) == ["It has no declarations to pay or claw back."]


def test_a_statement_with_only_a_clawback_can_be_authorised(today):
    statement = payable_statement()
    clawback = DeclarationFactory(awaiting_clawback=True, clawback_statement=statement)

    assert authorisation_refusals(statement) == []
    statement_authorise_payment(statement=statement)

    refreshed(clawback)
    assert clawback.state == S.CLAWED_BACK


def test_authorisation_pays_payable_lines_and_claws_back_waiting_ones(today, finance_user):
    statement = payable_statement()
    payable = [DeclarationFactory(payable=True, statement=statement) for _ in range(2)]
    clawback = DeclarationFactory(awaiting_clawback=True, clawback_statement=statement)
    voided = DeclarationFactory(voided=True, statement=statement)

    returned = statement_authorise_payment(statement=statement, user=finance_user)

    refreshed(statement, *payable, clawback, voided)
    assert returned == statement
    assert (statement.status, statement.marked_as_paid_at) == (StatementStatus.PAID, TODAY)
    assert [d.state for d in payable] == [S.PAID, S.PAID]
    assert (clawback.state, voided.state) == (S.CLAWED_BACK, S.VOIDED)
    for declaration, from_state in ((payable[0], S.PAYABLE), (payable[1], S.PAYABLE), (clawback, S.AWAITING_CLAWBACK)):
        change = last_change(declaration)
        assert (change.from_state, change.state) == (from_state, declaration.state)
        assert (change.actor_kind, change.actor_user, change.created_at) == (
            ActorKind.FINANCE_USER,
            finance_user,
            TODAY,
        )
    assert last_change(voided).state == S.VOIDED  # no new history


def test_authorisation_from_the_command_line_is_recorded_as_the_payment_run(today):
    statement = payable_statement()
    line = DeclarationFactory(payable=True, statement=statement)

    statement_authorise_payment(statement=statement)

    assert last_change(line).actor_kind == ActorKind.PAYMENT_RUN


def test_paid_statement_keeps_the_amounts_it_was_authorised_with(today):
    provider = LeadProviderFactory()
    contract = EctContractFactory(lead_provider=provider)
    statement = payable_statement(lead_provider=provider, ect_contract=contract)
    DeclarationFactory(payable=True, statement=statement)
    adjustment_create(statement=statement, payment_type="Back-dated service fee", amount=Decimal("-20.50"))
    expected = calculate_statement(statement)

    statement_authorise_payment(statement=statement)
    contract.monthly_service_fee = Decimal("1.00")
    contract.save()
    contract.bands.update(per_participant=Decimal("1"))
    statement.refresh_from_db()

    figures = statement_figures(statement)
    assert figures == statement.paid_amounts
    assert figures["total"] == str(expected.total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))  # in pennies
    assert Decimal(figures["banded"]["output_payment"]) == Decimal("119.40")
    assert figures["adjustments"][0]["payment_type"] == "Back-dated service fee"
    assert calculate_statement(statement).total != expected.total  # what a recalculation would now say


def test_figures_of_an_unpaid_statement_are_recalculated(today):
    statement = payable_statement(ect_contract=EctContractFactory())
    before = statement_figures(statement)

    statement.ect_contract.monthly_service_fee = Decimal("10.00")
    statement.ect_contract.save()

    assert Decimal(before["service_fee"]) != Decimal("10.00")
    assert Decimal(statement_figures(statement)["service_fee"]) == Decimal("10.00")


# ---------------------------------------------------------------------------------------
# Additional adjustments


def test_adjustment_is_added_with_its_name_tidied_and_moves_the_statement(today):
    statement = StatementFactory(updated_at=TODAY - timedelta(days=3))

    adjustment = adjustment_create(statement=statement, payment_type="  Back-dated \n  service   fee ", amount="-150")

    statement.refresh_from_db()
    assert (adjustment.payment_type, adjustment.amount) == ("Back-dated service fee", Decimal("-150"))
    assert statement.updated_at == TODAY


INVALID = {
    "no name": ("   ", Decimal("10"), [("payment_type", "Enter a name for the adjustment")]),
    "zero": ("Fee", Decimal("0"), [("amount", "Enter an amount other than 0")]),
    "both": (
        "",
        "0.00",
        [("payment_type", "Enter a name for the adjustment"), ("amount", "Enter an amount other than 0")],
    ),
    "too long a name": (
        "x" * 501,
        Decimal("10"),
        [("payment_type", "The name of the adjustment must be 500 characters or fewer")],
    ),
    "above a million": (
        "Fee",
        Decimal("1000000.01"),
        [("amount", "Enter an amount between -£1,000,000.00 and £1,000,000.00")],
    ),
    "below minus a million": (
        "Fee",
        "-1000000.01",
        [("amount", "Enter an amount between -£1,000,000.00 and £1,000,000.00")],
    ),
    "not a number": ("Fee", "lots", [("amount", "Enter the amount as a number, for example 150.00 or -150.00")]),
    "no amount": ("Fee", None, [("amount", "Enter the amount as a number, for example 150.00 or -150.00")]),
    "fractions of a penny": (
        "Fee",
        "10.005",
        [("amount", "Enter an amount in pounds and pence, with no more than 2 decimal places")],
    ),
}


@pytest.mark.parametrize(("payment_type", "amount", "errors"), INVALID.values(), ids=INVALID.keys())
def test_invalid_adjustment_is_refused_with_every_reason(today, payment_type, amount, errors):
    statement = StatementFactory()

    with pytest.raises(ServiceValidationError) as refused:
        adjustment_create(statement=statement, payment_type=payment_type, amount=amount)

    assert refused.value.errors == errors
    assert not Adjustment.objects.exists()


@pytest.mark.parametrize("amount", ["1000000", "-1000000", "0.01", "-0.01"])
def test_adjustment_amounts_up_to_a_million_either_way_are_accepted(today, amount):
    adjustment = adjustment_create(statement=StatementFactory(), payment_type="Fee", amount=amount)

    assert adjustment.amount == Decimal(amount)


def test_adjustment_is_changed_and_removed_while_the_statement_is_unpaid(today):
    statement = payable_statement(updated_at=TODAY - timedelta(days=3))
    adjustment = AdjustmentFactory(statement=statement)

    adjustment_update(adjustment=adjustment, payment_type=" Correction ", amount=Decimal("-99.99"))
    adjustment.refresh_from_db()
    assert (adjustment.payment_type, adjustment.amount) == ("Correction", Decimal("-99.99"))

    adjustment_delete(adjustment=adjustment)
    statement.refresh_from_db()
    assert not Adjustment.objects.exists()
    assert statement.updated_at == TODAY


def test_adjustments_of_a_paid_statement_cannot_change(today):
    statement = StatementFactory(paid=True)
    adjustment = AdjustmentFactory(statement=statement)
    refusal = [("statement", PAID_MESSAGE)]

    for attempt in (
        lambda: adjustment_create(statement=statement, payment_type="Late", amount=Decimal("1")),
        lambda: adjustment_update(adjustment=adjustment, payment_type="Late", amount=Decimal("1")),
        lambda: adjustment_delete(adjustment=adjustment),
    ):
        with pytest.raises(ServiceValidationError) as refused:
            attempt()
        assert refused.value.errors == refusal

    adjustment.refresh_from_db()
    assert adjustment.amount == Decimal("150.00")


def test_a_service_fee_statement_takes_no_adjustments(today):
    with pytest.raises(ServiceValidationError) as refused:
        adjustment_create(statement=StatementFactory(non_output=True), payment_type="Fee", amount=Decimal("1"))

    assert refused.value.errors == [("statement", "Only output-fee statements have additional adjustments")]


# ---------------------------------------------------------------------------------------
# Commands


def test_mark_statements_payable_command_says_what_it_moved(today):
    statement = StatementFactory(year=2025, month=2)
    DeclarationFactory(eligible=True, statement=statement)
    first, second = StringIO(), StringIO()

    call_command("mark_statements_payable", stdout=first)
    call_command("mark_statements_payable", stdout=second)

    assert f"{statement.lead_provider.name} February 2025" in first.getvalue()
    assert "1 declaration(s) now payable" in first.getvalue()
    assert "nothing to do" in second.getvalue()


def test_authorise_statement_payment_command_pays_the_statement(today):
    statement = payable_statement(ect_contract=EctContractFactory(monthly_service_fee=Decimal("0")))
    DeclarationFactory(payable=True, statement=statement)
    out = StringIO()

    call_command("authorise_statement_payment", str(statement.pk), stdout=out)

    statement.refresh_from_db()
    assert statement.status == StatementStatus.PAID
    assert "authorised for payment" in out.getvalue()
    assert "total £143.28" in out.getvalue()  # 119.40 + 20 % VAT


@pytest.mark.parametrize("statement_id", ["3f1c5a47-0000-4000-8000-000000000000", "not-a-uuid"])
def test_authorise_statement_payment_command_fails_for_an_unknown_statement(today, statement_id):
    with pytest.raises(CommandError, match="No statement with id") as failed:
        call_command("authorise_statement_payment", statement_id)

    assert failed.value.returncode == 1


def test_authorise_statement_payment_command_fails_when_authorisation_is_refused(today):
    statement = StatementFactory(year=2025, month=3)
    DeclarationFactory(eligible=True, statement=statement)

    with pytest.raises(CommandError, match="cannot be authorised for payment.*not payable yet") as failed:
        call_command("authorise_statement_payment", str(statement.pk))

    assert failed.value.returncode == 1
    statement.refresh_from_db()
    assert statement.status == StatementStatus.OPEN

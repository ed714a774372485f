"""Writes of the statements domain: a finance user's additional adjustments (finance.md §1.5, §4.7).

An adjustment is a named, signed amount added to a statement's total. Adjustments can change only
while the statement takes them (an output-fee statement not yet paid); every change moves the
statement's updated_at. The statement row is locked first, so an adjustment cannot slip in while
the statement is being authorised for payment.
"""

import re
from decimal import Decimal, InvalidOperation

from django.db import transaction

from ecf import clock
from ecf.errors import ServiceValidationError
from statements.models import Adjustment, Statement

MAX_PAYMENT_TYPE_LENGTH = 500
AMOUNT_LIMIT = Decimal("1000000")
AMOUNT_DECIMAL_PLACES = 2

PAID_MESSAGE = "The statement has been authorised for payment, so its adjustments cannot change"
NOT_OUTPUT_MESSAGE = "Only output-fee statements have additional adjustments"


@transaction.atomic
def adjustment_create(*, statement: Statement, payment_type: str, amount: Decimal | str) -> Adjustment:
    statement = _lock_editable(statement)
    payment_type, amount = _validated(payment_type, amount)
    adjustment = Adjustment.objects.create(statement=statement, payment_type=payment_type, amount=amount)
    _touch(statement)
    return adjustment


@transaction.atomic
def adjustment_update(*, adjustment: Adjustment, payment_type: str, amount: Decimal | str) -> Adjustment:
    statement = _lock_editable(adjustment.statement)
    payment_type, amount = _validated(payment_type, amount)
    adjustment.payment_type, adjustment.amount = payment_type, amount
    adjustment.save(update_fields=["payment_type", "amount"])
    _touch(statement)
    return adjustment


@transaction.atomic
def adjustment_delete(*, adjustment: Adjustment) -> None:
    statement = _lock_editable(adjustment.statement)
    adjustment.delete()
    _touch(statement)


def _lock_editable(statement: Statement) -> Statement:
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    if not statement.output_fee:
        raise ServiceValidationError([("statement", NOT_OUTPUT_MESSAGE)])
    if not statement.allows_adjustments or statement.marked_as_paid_at is not None:
        raise ServiceValidationError([("statement", PAID_MESSAGE)])
    return statement


def _validated(payment_type: str | None, amount) -> tuple[str, Decimal]:
    """Both fields checked, every error reported at once, in the order of the form."""
    errors = []
    name = re.sub(r"\s+", " ", payment_type or "").strip()
    if not name:
        errors.append(("payment_type", "Enter a name for the adjustment"))
    elif len(name) > MAX_PAYMENT_TYPE_LENGTH:
        errors.append(
            ("payment_type", f"The name of the adjustment must be {MAX_PAYMENT_TYPE_LENGTH} characters or fewer")
        )
    value = _decimal(amount)
    if value is None:
        errors.append(("amount", "Enter the amount as a number, for example 150.00 or -150.00"))
    elif value == 0:
        errors.append(("amount", "Enter an amount other than 0"))
    elif abs(value) > AMOUNT_LIMIT:
        errors.append(("amount", "Enter an amount between -£1,000,000.00 and £1,000,000.00"))
    elif value.normalize().as_tuple().exponent < -AMOUNT_DECIMAL_PLACES:
        errors.append(("amount", "Enter an amount in pounds and pence, with no more than 2 decimal places"))
    if errors:
        raise ServiceValidationError(errors)
    return name, value


def _decimal(amount) -> Decimal | None:
    if amount is None or isinstance(amount, bool | float):  # floats are never money
        return None
    try:
        value = Decimal(str(amount).strip().replace(",", "").replace("£", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _touch(statement: Statement) -> None:
    Statement.objects.filter(pk=statement.pk).update(updated_at=clock.now())

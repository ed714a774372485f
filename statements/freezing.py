"""The figures a paid statement keeps (decisions §15), in pennies.

The calculation keeps full precision (finance.md §3.13: "no rounding inside the calculation"; the
service fee is a ÷29 repeating decimal). What was paid is what the page showed when the statement
was authorised: each amount rounded half-up to the penny on its own (the display rule of §3.13),
so the total is the rounded exact total, not a sum of rounded parts (hence the page's note about
rounding errors in the sub-calculations). Freezing stores exactly those pennies, so a paid
statement's stored figures and its page agree to the digit.
"""

from decimal import ROUND_HALF_UP, Decimal

from statements.calculation import PENNY, StatementCalculation

# Every Decimal in the calculation is money except these, which are fractions (a VAT rate of 0.175,
# an uplift target of 0.33) and keep their precision. tests/test_frozen_figures.py checks that every
# Decimal field of the calculation is in exactly one of the two sets.
MONEY_FIELDS = frozenset(
    {
        "adjustments_total",
        "amount",
        "clawback",
        "clawbacks",
        "fee",
        "fees",
        "monthly_service_fee",
        "net",
        "output_clawbacks",
        "output_payment",
        "payment",
        "payment_per_participant",
        "per_participant",
        "service_fee",
        "set_up_fee",
        "total",
        "uplift_amount",
        "uplift_fees",
        "vat",
    }
)
RATE_FIELDS = frozenset({"uplift_target", "vat_rate"})


def frozen_figures(calculation: StatementCalculation) -> dict:
    """The snapshot to store when the statement is paid: `as_dict()` with every amount in pennies."""
    return round_money(calculation.as_dict())


def round_money(figures: dict) -> dict:
    """A snapshot (as `as_dict()` writes it: Decimals as strings) with its amounts rounded half-up to
    the penny, as `format_money` shows them."""
    return {key: _rounded(key, value) for key, value in figures.items()}


def _rounded(key: str, value):
    if isinstance(value, dict):
        return round_money(value)
    if isinstance(value, list):
        return [_rounded(key, item) for item in value]
    if key in MONEY_FIELDS and isinstance(value, str):
        return str(Decimal(value).quantize(PENNY, rounding=ROUND_HALF_UP) + 0)  # + 0: no "-0.00"
    return value

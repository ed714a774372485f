"""A paid statement keeps its figures in pennies, rounded where finance.md §3.13 rounds (display:
half-up, each amount on its own), and its page shows exactly those figures (issue 13.4)."""

import dataclasses
import re
import typing
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse

from declarations.payments import statement_authorise_payment, statements_mark_payable
from ecf import clock
from statements import calculation
from statements.calculation import PENNY, calculate_statement
from statements.freezing import MONEY_FIELDS, RATE_FIELDS
from statements.permissions import ensure_finance_group
from tests.factories import DeclarationFactory, EctContractFactory, LeadProviderFactory, StatementFactory

pytestmark = pytest.mark.django_db

PAYMENT_DAY = datetime(2025, 3, 5, 15, 4, tzinfo=UTC)


def pennies(amount: Decimal) -> str:
    return str(amount.quantize(PENNY, rounding=ROUND_HALF_UP))


def money_in(figures, key=None):
    """(key, value) for every money amount of a stored snapshot, however deep."""
    if isinstance(figures, dict):
        for name, value in figures.items():
            yield from money_in(value, name)
    elif isinstance(figures, list):
        for item in figures:
            yield from money_in(item, key)
    elif key in MONEY_FIELDS and isinstance(figures, str):  # a band's `net` is a count (an int)
        yield key, figures


@pytest.fixture
def paid_statement():
    """A 2024 statement of Contract F (its service fee is the set-up fee ÷ 29, a repeating decimal)
    with three started ECTs and a VAT-able adjustment, authorised for payment."""
    with clock.frozen(datetime(2025, 2, 10, 12, tzinfo=UTC)):
        provider = LeadProviderFactory(name="Teach First")
        statement = StatementFactory(
            lead_provider=provider,
            cohort=2024,
            year=2025,
            month=3,
            ect_contract=EctContractFactory(lead_provider=provider, cohort=2024),
        )
        DeclarationFactory.create_batch(3, eligible=True, statement=statement)
    with clock.frozen(PAYMENT_DAY):
        statements_mark_payable()
        statement.refresh_from_db()
        exact = calculate_statement(statement)
        statement_authorise_payment(statement=statement)
    statement.refresh_from_db()
    return statement, exact


def test_every_frozen_amount_is_in_pennies_rounded_half_up_on_its_own(paid_statement):
    statement, exact = paid_statement
    assert exact.service_fee != exact.service_fee.quantize(PENNY)  # the world has an amount to round

    stored = statement.paid_amounts
    amounts = list(money_in(stored))
    assert amounts and all(re.fullmatch(r"-?\d+\.\d\d", value) for _, value in amounts), amounts
    assert stored["service_fee"] == pennies(exact.service_fee)
    assert stored["vat"] == pennies(exact.vat)
    # The total is the exact total rounded, as the page has always shown it (not a sum of rounded parts).
    assert stored["total"] == pennies(exact.total)
    assert [row["amount"] for row in stored["summary_rows"]] == [pennies(row.amount) for row in exact.summary_rows]
    # Rates are not money: they keep their precision.
    assert stored["vat_rate"] == str(exact.vat_rate)
    assert stored["contract"]["uplift_target"] == str(exact.contract.uplift_target)


def test_a_paid_statements_page_shows_exactly_the_frozen_figures(client, paid_statement):
    statement, _ = paid_statement
    user = User.objects.create_user(username="finance", password="x", is_staff=True)
    user.groups.add(ensure_finance_group())
    client.force_login(user)
    with clock.frozen(PAYMENT_DAY):
        page = client.get(reverse("admin:statements_statement_page", args=[statement.pk])).content.decode()

    shown_total = re.search(r'id="statement-total"[^>]*>\s*([^<]+?)\s*<', page).group(1)
    assert Decimal(shown_total.replace("£", "").replace(",", "")) == Decimal(statement.paid_amounts["total"])
    for row in statement.paid_amounts["summary_rows"]:
        amount = Decimal(row["amount"])
        assert f"£{abs(amount):,.2f}" in page
        assert Decimal(f"{amount:.2f}") == amount  # what is shown is what is stored, to the digit


def _decimal_fields():
    for _, cls in vars(calculation).items():
        if dataclasses.is_dataclass(cls) and isinstance(cls, type):
            hints = typing.get_type_hints(cls)
            for name, hint in hints.items():
                if Decimal in (hint, *typing.get_args(hint)) or any(
                    Decimal in typing.get_args(a) for a in typing.get_args(hint)
                ):
                    yield name


def test_every_decimal_of_the_calculation_is_either_money_or_a_rate():
    assert not MONEY_FIELDS & RATE_FIELDS
    assert set(_decimal_fields()) == MONEY_FIELDS | RATE_FIELDS


def test_figures_frozen_unrounded_before_are_rounded_by_the_migration():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("statements.migrations.0002_frozen_figures_in_pennies")
    statement = StatementFactory(
        paid=True, paid_amounts={"total": "93504.80275862068965517241380", "vat_rate": "0.175", "banded": {"net": 3}}
    )

    # The rounding ran before paid statements became unchangeable (declarations 0004 depends on it):
    # as then, without that trigger (ALTER TABLE is rolled back with the test's transaction).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check pending on the table
        cursor.execute("ALTER TABLE statements_statement DISABLE TRIGGER statement_paid_guard")
    migration.round_frozen_figures(apps, None)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE statements_statement ENABLE TRIGGER statement_paid_guard")

    statement.refresh_from_db()
    assert statement.paid_amounts == {"total": "93504.80", "vat_rate": "0.175", "banded": {"net": 3}}

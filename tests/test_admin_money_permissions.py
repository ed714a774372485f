"""Issue 12.6: every money write in the admin requires the finance group (or a superuser), as
the finance statement pages do. A model permission alone (e.g. `add_adjustment` given to a
support user) must not let anyone add, change or remove money through the standard admin pages."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User

from statements.models import Adjustment, ContractBand, EctContract, MentorContract
from statements.permissions import ensure_finance_group
from tests.factories import (
    AdjustmentFactory,
    ContractBandFactory,
    EctContractFactory,
    MentorContractFactory,
    StatementFactory,
)

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password"


def _staff_with(client, *codenames: str, finance: bool = False) -> User:
    user = User.objects.create_user("support", password=PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    if finance:
        user.groups.add(ensure_finance_group())
    client.force_login(user)
    return user


def test_a_staff_user_outside_finance_cannot_add_an_adjustment_with_the_model_permission(client):
    statement = StatementFactory()
    _staff_with(client, "add_adjustment", "view_adjustment", "view_statement")

    page = client.get("/admin/statements/adjustment/add/")
    posted = client.post(
        "/admin/statements/adjustment/add/",
        {"statement": statement.pk, "payment_type": "Bonus", "amount": "999999.99"},
    )

    assert page.status_code == 403
    assert posted.status_code == 403
    assert not Adjustment.objects.exists()


def test_a_staff_user_outside_finance_cannot_change_or_delete_an_adjustment(client):
    adjustment = AdjustmentFactory(amount=Decimal("10.00"))
    _staff_with(client, "change_adjustment", "delete_adjustment", "view_adjustment", "view_statement")
    url = f"/admin/statements/adjustment/{adjustment.pk}/"

    client.post(url + "change/", {"payment_type": "Bonus", "amount": "999999.99"})
    client.post(url + "delete/", {"post": "yes"})

    adjustment.refresh_from_db()
    assert adjustment.amount == Decimal("10.00")


def test_a_staff_user_outside_finance_cannot_add_adjustments_inline_on_a_statement(client):
    statement = StatementFactory()
    _staff_with(client, "add_adjustment", "change_adjustment", "view_adjustment", "change_statement")

    client.post(
        f"/admin/statements/statement/{statement.pk}/change/",
        {
            "adjustments-TOTAL_FORMS": "1",
            "adjustments-INITIAL_FORMS": "0",
            "adjustments-0-payment_type": "Bonus",
            "adjustments-0-amount": "999999.99",
        },
    )

    assert not Adjustment.objects.exists()


@pytest.mark.parametrize(
    ("model", "factory", "fields"),
    [
        (EctContract, EctContractFactory, {"monthly_service_fee": "999999.99"}),
        (MentorContract, MentorContractFactory, {"payment_per_participant": "999999.99"}),
        (ContractBand, ContractBandFactory, {"per_participant": "999999.99"}),
    ],
)
def test_a_staff_user_outside_finance_cannot_change_a_contract_price(client, model, factory, fields):
    record = factory()
    name = model._meta.model_name
    _staff_with(client, f"change_{name}", f"add_{name}", f"delete_{name}", f"view_{name}")
    before = {key: getattr(record, key) for key in fields}

    change = client.post(f"/admin/statements/{name}/{record.pk}/change/", fields)
    add = client.get(f"/admin/statements/{name}/add/")
    client.post(f"/admin/statements/{name}/{record.pk}/delete/", {"post": "yes"})

    record.refresh_from_db()
    assert change.status_code == 403
    assert add.status_code == 403
    assert {key: getattr(record, key) for key in fields} == before


def test_a_finance_user_still_adds_an_adjustment_through_the_standard_add_page(client):
    statement = StatementFactory()
    _staff_with(client, finance=True)

    response = client.post(
        "/admin/statements/adjustment/add/",
        {"statement": statement.pk, "payment_type": "Late service fee", "amount": "250.00"},
    )

    assert response.status_code == 302
    assert Adjustment.objects.get().amount == Decimal("250.00")

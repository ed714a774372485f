"""Issue 16.6: money over the API. A payable or paid statement shows its amounts, the same as the
back office (the frozen ones once paid); declarations filter on `statement_id` so that a provider
reconciles a payment line by line (v3, and v1/v2)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from declarations.payments import statement_authorise_payment, statements_mark_payable
from ecf import clock
from participants.models import ContractFlavour, LeadProvider
from participants.tokens import api_token_create
from statements.calculation import calculate_statement
from statements.models import Statement
from tests.factories import DeclarationFactory, EctContractFactory, StatementFactory

pytestmark = pytest.mark.django_db

BEFORE_DEADLINE = datetime(2025, 2, 10, 12, tzinfo=UTC)  # March 2025's deadline is 28 February
AFTER_DEADLINE = datetime(2025, 3, 5, 12, tzinfo=UTC)


def march_statement(lead_provider) -> tuple[Statement, list]:
    """Contract F, three starts (£119.40 each) and one retained-1 (£89.55), payable."""
    with clock.frozen(BEFORE_DEADLINE):
        contract = EctContractFactory(lead_provider=lead_provider, cohort=2024)
        statement = StatementFactory(
            lead_provider=lead_provider, cohort=2024, year=2025, month=3, ect_contract=contract
        )
        declarations = [DeclarationFactory(eligible=True, statement=statement) for _ in range(3)]
        declarations.append(DeclarationFactory(eligible=True, statement=statement, declaration_type="retained-1"))
    with clock.frozen(AFTER_DEADLINE):
        statements_mark_payable()
    statement.refresh_from_db()
    return statement, declarations


def amounts(client, statement) -> dict | None:
    response = client.get(f"/api/v3/statements/{statement.pk}")
    assert response.status_code == 200, response.content
    return response.json()["data"]["attributes"]["amounts"]


def test_a_payable_statement_shows_the_amounts_of_its_page(provider_client, lead_provider):
    statement, _ = march_statement(lead_provider)
    with clock.frozen(AFTER_DEADLINE):
        calculation = calculate_statement(statement)

    shown = amounts(provider_client, statement)

    assert shown == {
        "output_payment": "447.75",  # 3 × 119.40 + 89.55
        "service_fee": "75943.07",
        "uplift_fees": "0.00",
        "clawbacks": "0.00",
        "additional_adjustments": "0.00",
        "total_before_vat": "76390.82",
        "vat": "15278.16",
        "total": "91668.98",  # 76,390.81897 × 1.2, rounded once
    }
    assert Decimal(shown["total"]) == calculation.total.quantize(Decimal("0.01"))


def test_an_open_statement_has_no_amounts_yet(provider_client, lead_provider):
    with clock.frozen(BEFORE_DEADLINE):
        statement = StatementFactory(lead_provider=lead_provider, cohort=2024, year=2025, month=3)

    assert amounts(provider_client, statement) is None


def test_a_paid_statement_shows_what_was_authorised_even_after_its_contract_changes(provider_client, lead_provider):
    statement, _ = march_statement(lead_provider)
    with clock.frozen(AFTER_DEADLINE):
        statement_authorise_payment(statement=statement, user=User.objects.create_user("fiona", is_staff=True))
    authorised = amounts(provider_client, statement)
    statement.ect_contract.monthly_service_fee = Decimal("1.00")
    statement.ect_contract.save()

    assert amounts(provider_client, statement) == authorised
    assert authorised["service_fee"] == "75943.07"


def test_declarations_filter_on_a_statement_lists_the_lines_that_make_its_output_payment(
    provider_client, lead_provider
):
    statement, declarations = march_statement(lead_provider)
    with clock.frozen(BEFORE_DEADLINE):
        DeclarationFactory(eligible=True, lead_provider=lead_provider)  # on another statement
        other = StatementFactory(cohort=2024, year=2025, month=3)  # another provider's
        DeclarationFactory(eligible=True, statement=other)

    v3 = provider_client.get("/api/v3/participant-declarations", {"filter[statement_id]": str(statement.pk)})
    v2 = provider_client.get("/api/v2/participant-declarations", {"filter[statement_id]": str(statement.pk)})
    v1 = provider_client.get("/api/v1/participant-declarations", {"filter[statement_id]": str(statement.pk)})
    theirs = provider_client.get("/api/v3/participant-declarations", {"filter[statement_id]": str(other.pk)})

    expected = sorted(str(d.pk) for d in declarations)
    for response in (v3, v2, v1):
        assert response.status_code == 200, response.content
        assert sorted(item["id"] for item in response.json()["data"]) == expected
    assert {item["attributes"]["statement_id"] for item in v3.json()["data"]} == {str(statement.pk)}
    assert theirs.json()["data"] == []


def test_a_clawed_back_declaration_is_listed_on_the_statement_that_claws_it_back(provider_client, lead_provider):
    with clock.frozen(BEFORE_DEADLINE):
        clawed = DeclarationFactory(awaiting_clawback=True, lead_provider=lead_provider)
        unpaid = DeclarationFactory(eligible=True, lead_provider=lead_provider)  # to be paid by the same one

    clawing = provider_client.get(
        "/api/v3/participant-declarations", {"filter[statement_id]": str(clawed.clawback_statement_id)}
    )
    paying = provider_client.get("/api/v3/participant-declarations", {"filter[statement_id]": str(clawed.statement_id)})

    assert unpaid.statement_id == clawed.clawback_statement_id
    assert sorted(item["id"] for item in clawing.json()["data"]) == sorted([str(clawed.pk), str(unpaid.pk)])
    assert [item["id"] for item in paying.json()["data"]] == [str(clawed.pk)]


def test_a_statement_id_that_is_not_a_uuid(provider_client):
    v3 = provider_client.get("/api/v3/participant-declarations", {"filter[statement_id]": "nope"})
    v1 = provider_client.get("/api/v1/participant-declarations", {"filter[statement_id]": "nope"})

    assert (v3.status_code, v3.json()["data"]) == (200, [])  # v3: ids that are not UUIDs match nothing
    assert v1.status_code == 400
    assert v1.json()["errors"][0]["detail"] == "The filter '#/statement_id' must be a valid UUID"


def test_a_rewrite_flavoured_provider_reads_the_same_amounts_and_filters_on_its_statement():
    """The rewrite's contract has no amounts: the rect flavour adds them as the original's v3 does
    (documented in openapi/v3-rect.json), in the rewrite's statement (no `type`)."""
    provider = LeadProvider.objects.create(name="Rewrite Institute", contract_flavour=ContractFlavour.REWRITE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=provider)}")
    statement, declarations = march_statement(provider)

    shown = client.get(f"/api/v3/statements/{statement.pk}").json()["data"]["attributes"]
    lines = client.get("/api/v3/participant-declarations", {"filter[statement_id]": str(statement.pk)})

    assert "type" not in shown
    assert shown["amounts"]["output_payment"] == "447.75"
    assert shown["amounts"]["total"] == "91668.98"
    assert sorted(item["id"] for item in lines.json()["data"]) == sorted(str(d.pk) for d in declarations)

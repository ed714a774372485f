"""Issue 17: a statement page a finance officer can reconcile without a spreadsheet.

Contract M (finance.md §5), 2024 cohort. February 2025 paid three starts (two in band A, one in
band B). April 2025 adds six more: one takes band B's last place, two take C, two take D, one is
beyond the last band's maximum; it also claws back one of February's, priced at band D.
"""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from declarations.payments import statement_authorise_payment, statements_mark_payable
from declarations.services import declaration_void
from declarations.state_machine import Actor
from ecf import clock
from statements.calculation import calculate_statement, format_money
from statements.models import EctContract, Statement
from tests.factories import (
    CONTRACT_M_BANDS,
    EctContractFactory,
    LeadProviderFactory,
    StatementFactory,
    enrolled_participant,
)
from tests.test_back_office import (  # noqa: F401 (fixtures)
    finance_client,
    finance_user,
    lines,
    page_url,
    read_page,
    statement_url,
    t6_statement,
    text,
)

pytestmark = pytest.mark.django_db

OPEN_DAY = datetime(2025, 3, 10, 12, tzinfo=UTC)  # before April 2025's deadline (31 March)


@pytest.fixture
def statements(finance_user):  # noqa: F811
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        provider = LeadProviderFactory(name="Ambition Institute")
        contract = EctContractFactory(lead_provider=provider, cohort=2024, bands=CONTRACT_M_BANDS)
        february = StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=2, ect_contract=contract)
        april = StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=4, ect_contract=contract)
        paid = lines(3, "eligible", statement=february)
    with clock.frozen(datetime(2025, 2, 5, 12, tzinfo=UTC)):
        statements_mark_payable()
        statement_authorise_payment(statement=Statement.objects.get(pk=february.pk), user=finance_user)
    # The one that took band A's first place: lines take places in declaration order (date, creation,
    # id; declarations.back_office.line_amounts), and the three share a date and a creation time.
    first = min(paid, key=lambda d: (d.declaration_date, d.created_at, str(d.pk)))
    with clock.frozen(OPEN_DAY):
        lines(6, "eligible", statement=april)
        declaration_void(declaration=first, actor=Actor.finance_user(finance_user))
    return {"february": february, "april": april, "clawed_back": first}


def open_page(client, statement):
    with clock.frozen(OPEN_DAY):
        return client.get(page_url(statement))


def test_the_service_fee_shows_its_derivation_with_the_contracts_figures(finance_client, statements):  # noqa: F811
    page = read_page(open_page(finance_client, statements["april"]))

    assert page.tables["service-fee-derivation"][1:] == [
        ["Band A", "2", "£400.00", "40%", "£160.00", "-£149,651.00", "-£149,331.00"],
        ["Band B", "2", "£300.00", "40%", "£120.00", "£0.00", "£240.00"],
        ["Band C", "2", "£200.00", "40%", "£80.00", "£0.00", "£160.00"],
        ["Band D", "2", "£100.00", "40%", "£40.00", "£0.00", "£80.00"],
        ["Service fee over the contract", "", "", "", "", "", "-£148,851.00"],
    ]
    shown = text(open_page(finance_client, statements["april"]))
    assert "-£148,851.00 ÷ 29 monthly payments = -£5,132.79 on every statement" in shown
    assert ("Service fee", "-£5,132.79") in page.lists["summary-rows"]


def test_a_service_fee_set_on_the_contract_says_so(finance_client):  # noqa: F811
    with clock.frozen(OPEN_DAY):
        statement = StatementFactory(
            cohort=2024, ect_contract=EctContractFactory(monthly_service_fee=Decimal("123.45"))
        )
        shown = text(finance_client.get(page_url(statement)))

    assert "Set on the contract: £123.45 on every statement of this contract version." in shown


def test_the_fee_per_declaration_shows_how_a_band_price_becomes_it(finance_client):  # noqa: F811
    with clock.frozen(datetime(2026, 1, 15, 12, tzinfo=UTC)):
        page = read_page(finance_client.get(page_url(t6_statement())))

    assert page.tables["fee-explanation"][1] == [
        "Band A",
        "£995.00 × 60% output × 20% = £119.40",
        "£995.00 × 60% output × 15% = £89.55",
    ]


def test_clawbacks_say_how_they_are_priced_and_link_the_line_that_paid_them(finance_client, statements):  # noqa: F811
    april, february, clawed_back = statements["april"], statements["february"], statements["clawed_back"]
    response = open_page(finance_client, april)
    page = read_page(response)

    assert page.tables["Clawbacks"][2] == [
        "Clawback for Started (Band: D)"
        "Priced at Band D, the highest band holding declarations, not at what the declaration was paid",
        "1",
        "-£12.00",
        "-£12.00",
    ]
    (row,) = page.tables["clawed-back-declarations"][1:]
    assert row[1:] == [
        clawed_back.participant.full_name,
        "started (ECT)",
        "February 2025",
        "Band A: £48.00",
        "Band D: -£12.00",
    ]
    html = response.content.decode()
    assert reverse("admin:statements_statement_page", args=[february.pk]) in html
    assert reverse("admin:declarations_declaration_change", args=[clawed_back.pk]) in html


def test_earlier_statements_that_fill_the_bands_are_listed(finance_client, statements):  # noqa: F811
    page = read_page(open_page(finance_client, statements["april"]))

    assert page.tables["earlier-statements"][1:] == [["February 2025", "Paid", "3", "0"]]
    february = read_page(open_page(finance_client, statements["february"]))
    assert "earlier-statements" not in february.tables


def test_declarations_beyond_the_last_band_and_the_total_before_vat_are_beside_the_totals(
    finance_client,  # noqa: F811
    statements,
):
    with clock.frozen(OPEN_DAY):
        calculation = calculate_statement(statements["april"])
    response = open_page(finance_client, statements["april"])
    page = read_page(response)

    assert "1 declaration beyond the last band's maximum: no output payment" in text(response)
    rows = page.lists["summary-rows"]
    assert rows[-2:] == [("Total before VAT", format_money(calculation.net)), ("VAT", format_money(calculation.vat))]


def test_the_statement_is_one_click_from_a_printable_page_and_a_csv_of_its_lines(finance_client, statements):  # noqa: F811
    april = statements["april"]
    with clock.frozen(OPEN_DAY):
        calculation = calculate_statement(april)
        statement_page = finance_client.get(page_url(april)).content.decode()
        printable = finance_client.get(statement_url("print", april))
        download = finance_client.get(statement_url("statement_csv", april))
        body = b"".join(download.streaming_content).decode()

    assert statement_url("print", april) in statement_page and statement_url("statement_csv", april) in statement_page
    shown = text(printable)
    assert f"Total {format_money(calculation.total)}" in shown
    assert "How the service fee is calculated" in shown and "Contract information" in shown
    assert "Band D is the new target" in shown
    assert download["Content-Disposition"] == (
        'attachment; filename="Ambition Institute April 2025 ECTE Statement (2024 Cohort).csv"'
    )
    rows = list(csv.DictReader(io.StringIO(body)))
    output = [r for r in rows if r["Section"] == "Output payments"]
    assert [(r["Item"], r["Band"], r["Participants"], r["Fee per participant"], r["Amount"]) for r in output] == [
        ("Started", "B", "1", "36.00", "36.00"),
        ("Started", "C", "2", "24.00", "48.00"),
        ("Started", "D", "2", "12.00", "24.00"),
    ]
    assert sum(Decimal(r["Amount"]) for r in output) == calculation.output_payment
    summary = {r["Item"]: r["Amount"] for r in rows if r["Section"] == "Summary"}
    assert summary["Total"] == f"{calculation.total:.2f}"
    assert summary["Clawbacks"] == "-12.00"  # a negative amount stays a number


def test_a_paid_statement_shows_its_frozen_explanations(finance_client, statements):  # noqa: F811
    """The new pieces read the snapshot frozen at authorisation, not today's contract: band A's
    price and the set-up fee changed since February was paid, and its page still shows what was paid."""
    february = statements["february"]
    contract = february.ect_contract
    band_a = contract.bands.get(per_participant=Decimal("400.00"))
    contract.bands.filter(pk=band_a.pk).update(per_participant=Decimal("800.00"))
    EctContract.objects.filter(pk=contract.pk).update(set_up_fee=Decimal("0"))

    page = read_page(open_page(finance_client, february))

    assert page.tables["service-fee-derivation"][-1][-1] == "-£148,851.00"
    assert page.tables["fee-explanation"][1][1] == "£400.00 × 60% output × 20% = £48.00"
    assert page.tables["additional-adjustments"][1] == ["No additional adjustments on this statement", ""]
    # The open statement after it is recalculated from today's contract.
    april = read_page(open_page(finance_client, statements["april"]))
    assert april.tables["fee-explanation"][1][1] == "£800.00 × 60% output × 20% = £96.00"


def test_every_band_has_one_name_and_the_fourth_is_explained(finance_client, statements):  # noqa: F811
    shown = text(open_page(finance_client, statements["april"]))

    assert "New target" not in shown.replace("Band D is the new target", "")
    assert "Band D is the new target: participants over the original band C target up to the new target." in shown


def test_the_back_office_speaks_finance_language(finance_client, statements):  # noqa: F811
    contracts = finance_client.get("/admin/statements/ectcontract/")
    ect = enrolled_participant()
    participant = finance_client.get(reverse("admin:participants_participant_change", args=[ect.participant.pk]))
    clawed_back = statements["clawed_back"]
    payer = finance_client.get(reverse("admin:participants_participant_change", args=[clawed_back.participant_id]))

    assert "ECT contracts" in text(contracts) and "Ect contracts" not in text(contracts)
    assert 'href="/api/docs/v3/"' in contracts.content.decode() and "View site" not in text(contracts)
    assert "updated_since" not in text(participant) and "sync timestamp" not in text(participant)
    assert "No declarations." in text(participant)
    shown = text(payer)
    assert "started (ECT induction)" in shown or "started (" in shown
    assert "February 2025 statement" in shown and "clawed back on April 2025 statement" in shown
    search = reverse("admin:declarations_declaration_participant_search") + f"?q={clawed_back.participant_id}"
    assert search in payer.content.decode()

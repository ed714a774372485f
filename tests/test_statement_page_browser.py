"""Issue 17 in a real browser (Chromium through playwright, as tests/test_back_office_browser.py):
a finance officer reads the statement page of both layouts, open and paid, follows the links the
page gives (earlier statement, printable statement, statement CSV) and authorises a 2025+ statement.

Screenshots of every page are saved under SCREENSHOT_DIR (printed by the test) to be looked at;
the printable page is also printed to PDF by Chromium, as a finance officer's "Save as PDF" does.
"""

import csv
import io
import os
import tempfile
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from declarations.payments import statement_authorise_payment, statements_mark_payable
from declarations.services import declaration_void
from declarations.state_machine import Actor
from ecf import clock
from statements.calculation import calculate_statement, format_money
from statements.models import Statement
from statements.permissions import ensure_finance_group
from statements.services import adjustment_create
from tests.factories import (
    CONTRACT_M_BANDS,
    EctContractFactory,
    LeadProviderFactory,
    MentorContractFactory,
    StatementFactory,
)
from tests.test_back_office import MENTOR, lines
from tests.test_back_office_browser import PASSWORD, browser_page  # noqa: F401 (fixture)

SCREENSHOT_DIR = Path(
    os.environ.get("STATEMENT_SCREENSHOTS", Path(tempfile.gettempdir()) / "ecf-screenshots" / "statement-page")
)
OPEN_2024 = "2025-03-10T12:00:00Z"  # before April 2025's deadline
OPEN_2025 = "2026-01-15T12:00:00Z"  # before February 2026's deadline
AUTHORISING_2025 = "2026-02-05T12:00:00Z"  # February 2026 is payable


def snap(page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    # From the top: the admin's sticky navigation would otherwise be drawn where the page was scrolled.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)


def at(page, instant: str) -> None:
    """The sandbox clock header (settings.SANDBOX in tests): the server runs as if it were then."""
    page.set_extra_http_headers({"X-With-Server-Date": instant})


def cohort_2024(user) -> dict:
    """Contract M: February 2025 paid three starts; April 2025 adds six (one beyond band D) and claws one back."""
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        provider = LeadProviderFactory(name="Ambition Institute")
        contract = EctContractFactory(lead_provider=provider, cohort=2024, bands=CONTRACT_M_BANDS)
        february = StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=2, ect_contract=contract)
        april = StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=4, ect_contract=contract)
        paid = lines(3, "eligible", statement=february)
    with clock.frozen(datetime(2025, 2, 5, 12, tzinfo=UTC)):
        statements_mark_payable()
        statement_authorise_payment(statement=Statement.objects.get(pk=february.pk), user=user)
    first = min(paid, key=lambda d: (d.declaration_date, d.created_at, str(d.pk)))  # it took band A's first place
    with clock.frozen(datetime(2025, 3, 10, 12, tzinfo=UTC)):
        lines(6, "eligible", statement=april)
        declaration_void(declaration=first, actor=Actor.finance_user(user))
    return {"february": february, "april": april}


def cohort_2025(user) -> Statement:
    """finance.md §5 T6's February 2026, with the declarations it claws back paid for real first:
    December 2025 (same contracts) paid two ECT and two mentor starts, authorised; they are voided
    in January, so February claws them back and the page can show what December paid for each."""
    with clock.frozen(datetime(2025, 11, 10, 12, tzinfo=UTC)):
        provider = LeadProviderFactory(name="Best Practice Network")
        contracts = {
            "ect_contract": EctContractFactory(lead_provider=provider, cohort=2025, uplift_amount=None),
            "mentor_contract": MentorContractFactory(lead_provider=provider, cohort=2025),
        }
        december = StatementFactory(lead_provider=provider, cohort=2025, year=2025, month=12, **contracts)
        paid = lines(2, "eligible", statement=december) + lines(2, "eligible", statement=december, kind=MENTOR)
    with clock.frozen(datetime(2025, 12, 5, 12, tzinfo=UTC)):
        statements_mark_payable()
        statement_authorise_payment(statement=Statement.objects.get(pk=december.pk), user=user)
    with clock.frozen(datetime(2026, 1, 15, 12, tzinfo=UTC)):
        february = StatementFactory(lead_provider=provider, cohort=2025, year=2026, month=2, **contracts)
        lines(2, "eligible", statement=february)
        lines(4, "eligible", statement=february, declaration_type="retained-1")
        lines(4, "eligible", statement=february, declaration_type="extended-1")
        lines(2, "voided", statement=february)
        lines(2, "eligible", statement=february, kind=MENTOR)
        for declaration in paid:
            declaration_void(declaration=declaration, actor=Actor.finance_user(user))
        adjustment_create(statement=february, payment_type="Big amount", amount=Decimal("999.99"))
        adjustment_create(statement=february, payment_type="Another amount", amount=Decimal("300.00"))
    return february


def log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "fiona")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#finance-back-office")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_finance_officer_reads_statements_of_both_layouts_open_and_paid(live_server, browser_page):  # noqa: F811
    print(f"\nStatement page screenshots: {SCREENSHOT_DIR}")
    user = User.objects.create_user("fiona", "fiona@example.com", PASSWORD, is_staff=True)
    user.groups.add(ensure_finance_group())
    year_2024 = cohort_2024(user)
    split = cohort_2025(user)
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 900})
    # The admin's Content-Security-Policy (script-src 'self'): Chromium reports every refusal, e.g. an
    # inline script or on* handler in a template, on the console ("Refused to execute inline script
    # because it violates the following Content Security Policy directive ...").
    refused = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    base = live_server.url
    log_in(page, base)

    # 2024 layout, open: every explanation is on the page.
    at(page, OPEN_2024)
    page.goto(f"{base}/admin/statements/statement/{year_2024['april'].pk}/statement/")
    page.wait_for_selector("#statement-total")
    page.click("#contract-information summary")
    snap(page, "2024-open")
    with clock.frozen(datetime(2025, 3, 10, 12, tzinfo=UTC)):
        april = calculate_statement(year_2024["april"])
    assert page.inner_text("#statement-total") == format_money(april.total)
    assert "-£5,132.79" in page.inner_text("#service-fee-sentence")
    assert "£400.00 × 60% output × 20% = £48.00" in page.inner_text("#fee-explanation")
    assert "Priced at Band D" in page.inner_text("#summary ~ table, body")
    assert "1 declaration beyond the last band's maximum" in page.inner_text("#beyond-last-band")
    assert "Band A: £48.00\tBand D: -£12.00" in page.inner_text("#clawed-back-declarations")

    # The earlier statement it lists opens: 2024 layout, paid, with its frozen amounts.
    page.click("#earlier-statements >> text=February 2025")
    page.wait_for_selector("#frozen-note")
    snap(page, "2024-paid")
    assert page.inner_text("#statement-status") == "Authorised for payment"
    assert page.inner_text("#statement-total") == format_money(
        Statement.objects.get(pk=year_2024["february"].pk).paid_amounts["total"]
    )

    # One click each: the printable statement (printed to PDF by Chromium) and the CSV of its lines.
    page.click("#printable-statement")
    page.wait_for_selector("#print-statement")
    snap(page, "2024-paid-printable")
    page.emulate_media(media="print")
    page.pdf(path=str(SCREENSHOT_DIR / "2024-paid-printable.pdf"))
    snap(page, "2024-paid-printable-as-printed")
    page.emulate_media(media="screen")
    assert "Contract information" in page.inner_text("#content-main")
    page.go_back()
    with page.expect_download() as download:
        page.click("#statement-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[-1]["Item"] == "Total"
    paid_total = Decimal(Statement.objects.get(pk=year_2024["february"].pk).paid_amounts["total"])
    assert rows[-1]["Amount"] == str(paid_total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    # 2025+ layout, open: VAT per part, the total before VAT.
    at(page, OPEN_2025)
    page.goto(f"{base}/admin/statements/statement/{split.pk}/statement/")
    page.wait_for_selector("#statement-total")
    page.click("#contract-information summary")
    snap(page, "2025-open")
    summary = page.inner_text("#summary-rows")
    assert "Total before VAT" in summary and "VAT on ECT payments" in summary and "VAT on mentor payments" in summary
    assert page.inner_text("#statement-total") == "£93,551.35"  # finance.md §5 T6
    clawed_back = page.inner_text("#clawed-back-declarations")
    assert clawed_back.count("Band A: £119.40\tBand A: -£119.40") == 2, clawed_back
    assert clawed_back.count("£500.00\t-£500.00") == 2, clawed_back

    # It becomes payable after its deadline; the officer authorises it: 2025+ layout, paid.
    with clock.frozen(datetime(2026, 2, 5, 12, tzinfo=UTC)):
        statements_mark_payable()
    at(page, AUTHORISING_2025)
    page.reload()
    page.click("#authorise-for-payment")
    page.check("#id_checks_done")
    page.click("#confirm-authorise")
    page.wait_for_selector("#authorisation-tag")
    page.click("#contract-information summary")
    snap(page, "2025-paid")
    assert page.inner_text("#statement-status") == "Authorised for payment"
    assert page.inner_text("#statement-total") == "£93,551.35"
    page.click("#printable-statement")
    page.wait_for_selector("#print-statement")
    snap(page, "2025-paid-printable")

    # The print button's script is a file the policy allows; nothing on any page was refused.
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.click("#print-statement")
    assert page.get_attribute("body", "data-printed") == "yes"
    assert refused == []

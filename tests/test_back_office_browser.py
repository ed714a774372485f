"""A finance user pays a statement in a real browser: logs in, opens the statement, reads its
total, adds an adjustment, sees the new total and authorises payment.

Drives the machine's Chromium (Debian's package; `make browser-deps` installs it) through
playwright, against pytest-django's live server. Playwright's own browser download is never used.
"""

import os
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections

from statements.calculation import calculate_statement, format_money
from statements.models import StatementStatus
from statements.permissions import ensure_finance_group
from tests.factories import DeclarationFactory, EctContractFactory, LeadProviderFactory, StatementFactory

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Root needs --no-sandbox; the rest keeps a headless run quiet and off the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-finance-password"
SCREENSHOTS = os.environ.get("BROWSER_SCREENSHOTS")  # a folder: keep a picture of each page, to look at


@pytest.fixture
def browser_page(monkeypatch):
    """A fresh Chromium page; closed, with its browser, after the test."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium")
    # Playwright's sync API keeps an asyncio loop on this thread, which Django would take for async
    # code and refuse the test's own (synchronous) database reads. The server runs on its own thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()
            # Under that loop the test's queries ran on a connection of their own (Django keeps
            # connections per async context): close it, or the test database cannot be dropped.
            connections.close_all()


def snap(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_finance_user_reads_a_statement_adjusts_it_and_authorises_payment(live_server, browser_page):
    user = User.objects.create_user("fiona", "fiona@example.com", PASSWORD, is_staff=True)
    user.groups.add(ensure_finance_group())
    provider = LeadProviderFactory(name="Capita")
    # Payable: its deadline (the end of last month, by the real clock the server reads) has passed.
    statement = StatementFactory(
        lead_provider=provider,
        cohort=2024,
        payable=True,
        ect_contract=EctContractFactory(lead_provider=provider, cohort=2024),
    )
    for declaration_type in ("started", "started", "retained-1"):
        DeclarationFactory(payable=True, statement=statement, declaration_type=declaration_type)
    page = browser_page

    # Log in.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "fiona")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#finance-back-office")

    # Choose the provider, cohort and month; the statement page opens.
    page.click("text=View financial statements")
    page.select_option("#id_lead_provider", label="Capita")
    page.select_option("#id_cohort", label="2024")
    page.select_option("#id_statement", label=statement.name)
    page.click("input[value=View]")
    page.wait_for_selector("#statement-total")
    snap(page, "1-statement")
    assert page.inner_text("#statement-name").startswith(statement.name)
    before = calculate_statement(statement).total
    assert page.inner_text("#statement-total") == format_money(before)

    # Add an adjustment: answers, check them, confirm, no other one.
    page.click("#add-adjustment")
    page.fill("#id_payment_type", "Late service fee")
    page.fill("#id_amount", "250.00")
    page.click("#adjustment-continue")
    assert "£250.00" in page.inner_text("#adjustment-answers")
    page.click("#adjustment-confirm")
    page.check("input[name=another][value=no]")
    page.click("#another-continue")
    page.wait_for_selector("#statement-total")
    snap(page, "2-adjusted")
    after = calculate_statement(statement).total
    assert after == before + Decimal("250.00") * Decimal("1.2")  # the adjustment plus its VAT
    assert page.inner_text("#statement-total") == format_money(after)
    assert "Late service fee" in page.inner_text("#additional-adjustments")

    # Authorise for payment: refused until the checks are confirmed.
    page.click("#authorise-for-payment")
    page.click("#confirm-authorise")
    assert "Confirm all necessary assurance checks have been done" in page.inner_text("#checks-done-error")
    page.check("#id_checks_done")
    page.click("#confirm-authorise")
    tag = page.wait_for_selector("#authorisation-tag")
    snap(page, "3-authorised")
    assert tag.inner_text().startswith("Authorised for payment at ")
    assert "Statement authorisation processed successfully" in page.inner_text(".messagelist")
    assert page.inner_text("#statement-total") == format_money(after)

    statement.refresh_from_db()
    assert statement.status == StatementStatus.PAID
    assert statement.paid_amounts["total"] == str(after.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    assert set(statement.declarations.values_list("state", flat=True)) == {"paid"}

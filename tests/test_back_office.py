"""The finance back office (issue 7): the statement page with its figures exactly as formatted,
adjustments, authorisation for payment, the assurance CSV, finding a person by any id, voiding on a
provider's behalf, and who may do any of it.

Pages are read the way a person reads them: tables and labelled rows of the rendered HTML.
"""

import csv
import html
import io
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from declarations.models import ActorKind, Declaration, DeclarationState
from declarations.payments import statement_authorise_payment, statements_mark_payable
from ecf import clock
from participants.models import EnrolmentKind
from statements.calculation import calculate_statement, format_money
from statements.models import Adjustment, Statement, StatementStatus
from statements.permissions import ensure_finance_group
from statements.services import PAID_MESSAGE, adjustment_create
from tests.factories import (
    CONTRACT_M_BANDS,
    DeclarationFactory,
    EctContractFactory,
    LeadProviderFactory,
    MentorContractFactory,
    ParticipantIdChangeFactory,
    StatementFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db

S = DeclarationState
MENTOR = EnrolmentKind.MENTOR
T6_DAY = datetime(2026, 1, 15, 12, tzinfo=UTC)  # before the T6 statement's deadline (31 January 2026)
PAYMENT_DAY = datetime(2025, 3, 5, 15, 4, tzinfo=UTC)  # GMT in London: "3:04pm on 5 Mar 2025"


# ---------------------------------------------------------------------------------------
# Reading pages as a person does


class _PageReader(HTMLParser):
    """Collects the text of every table (rows of cells) and of every <dl> (term, description)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.lists: dict[str, list[tuple[str, str]]] = {}
        self._stack: list[tuple[str, str]] = []  # (tag, id) of open tables / dls
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._term: list[str] | None = None
        self._pending_term = ""

    def _key(self, attrs, fallback: str) -> str:
        return dict(attrs).get("id") or fallback

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            key = self._key(attrs, f"table-{len(self.tables)}")
            self._stack.append(("table", key))
            self.tables[key] = []
        elif tag == "dl":
            key = self._key(attrs, f"dl-{len(self.lists)}")
            self._stack.append(("dl", key))
            self.lists[key] = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag in ("dt", "dd"):
            self._term = []

    def handle_endtag(self, tag):
        if tag in ("table", "dl") and self._stack:
            self._stack.pop()
        elif tag == "caption" and self._caption is not None:
            caption = " ".join("".join(self._caption).split())
            key = self._stack[-1][1]
            # A table without an id is found by its caption too.
            if key.startswith("table-"):
                self.tables[caption] = self.tables[key]
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._stack[-1][1]].append(self._row)
            self._row = None
        elif tag == "dt" and self._term is not None:
            self._pending_term = " ".join("".join(self._term).split())
            self._term = None
        elif tag == "dd" and self._term is not None:
            self.lists[self._stack[-1][1]].append((self._pending_term, " ".join("".join(self._term).split())))
            self._term = None

    def handle_data(self, data):
        for buffer in (self._cell, self._caption, self._term):
            if buffer is not None:
                buffer.append(data)


def read_page(response) -> _PageReader:
    assert response.status_code == 200, response.status_code
    reader = _PageReader()
    reader.feed(response.content.decode())
    return reader


def text(response) -> str:
    """The page's words as a person reads them: no tags, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def markup(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


# ---------------------------------------------------------------------------------------
# Users and statements


@pytest.fixture
def finance_user(db):
    user = User.objects.create_user("fiona", "fiona@example.com", "pw", is_staff=True)
    user.groups.add(ensure_finance_group())
    return user


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


def page_url(statement) -> str:
    return reverse("admin:statements_statement_page", args=[statement.pk])


def statement_url(name: str, statement, *args) -> str:
    return reverse(f"admin:statements_statement_{name}", args=[statement.pk, *args])


def lines(count: int, trait: str, **fields) -> list[Declaration]:
    return [DeclarationFactory(**{trait: True}, **fields) for _ in range(count)]


def t6_statement() -> Statement:
    """finance.md §5 T6: 2025 cohort, ECT Contract F without uplift, £1,000 mentor contract."""
    provider = LeadProviderFactory(name="Best Practice Network")
    statement = StatementFactory(
        lead_provider=provider,
        cohort=2025,
        ect_contract=EctContractFactory(lead_provider=provider, cohort=2025, uplift_amount=None),
        mentor_contract=MentorContractFactory(lead_provider=provider, cohort=2025),
    )
    lines(2, "eligible", statement=statement)
    lines(2, "awaiting_clawback", clawback_statement=statement)
    lines(4, "eligible", statement=statement, declaration_type="retained-1")
    lines(4, "eligible", statement=statement, declaration_type="extended-1")
    lines(2, "voided", statement=statement)
    lines(2, "eligible", statement=statement, kind=MENTOR)
    lines(2, "awaiting_clawback", clawback_statement=statement, kind=MENTOR)
    adjustment_create(statement=statement, payment_type="Big amount", amount=Decimal("999.99"))
    adjustment_create(statement=statement, payment_type="Another amount", amount=Decimal("300.00"))
    return statement


def payable_statement(*, started: int = 3, **contract) -> Statement:
    """A 2024-cohort output statement made payable by the daily job, with `started` declarations,
    at PAYMENT_DAY: its deadline (28 February 2025) has passed."""
    with clock.frozen(datetime(2025, 2, 10, 12, tzinfo=UTC)):
        provider = LeadProviderFactory(name="Teach First")
        statement = StatementFactory(
            lead_provider=provider,
            cohort=2024,
            year=2025,
            month=3,
            ect_contract=EctContractFactory(lead_provider=provider, cohort=2024, **contract),
        )
        lines(started, "eligible", statement=statement)
    with clock.frozen(PAYMENT_DAY):
        statements_mark_payable()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.PAYABLE
    return statement


# ---------------------------------------------------------------------------------------
# The statement page


def test_statement_page_shows_the_t6_figures_exactly_as_formatted(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        page = read_page(finance_client.get(page_url(statement)))
        shown = text(finance_client.get(page_url(statement)))

    assert "Early career teacher programme: financial statements" in shown
    assert "Best Practice Network" in shown and "February 2026" in shown
    assert "Total £93,551.35" in shown
    assert page.lists["summary-rows"] == [
        ("ECTs output payment", "£955.20"),
        ("Mentors output payment", "£1,000.00"),
        ("Service fee", "£75,943.07"),
        ("ECT clawbacks", "-£238.80"),
        ("Mentor clawbacks", "-£1,000.00"),
        ("Additional adjustments", "£1,299.99"),
        # Issue 17: the net total before VAT, and the VAT of each part with what it is charged on
        # (finance.md §5 T6: the ECT part carries the service fee and the adjustments).
        ("Total before VAT", "£77,959.46"),
        ("VAT on ECT payments, service fee and adjustments 20% of £77,959.46", "£15,591.89"),
        ("VAT on mentor payments 20% of £0.00", "£0.00"),
        ("VAT", "£15,591.89"),
    ]
    assert page.lists["statement-dates"] == [
        ("Milestone cut off date", "31 January 2026"),
        ("Payment date", "25 February 2026"),
    ]
    assert page.tables["declarations-summary"] == [
        ["", "ECTs", "Mentors"],
        ["Started", "2", "2"],
        ["Retained", "4", "-"],
        ["Completed", "0", "0"],
        ["Extended", "4", "-"],
        ["Clawed back", "0", "0"],
        ["Voided", "2", "0"],
    ]
    output = page.tables["output-payments"]
    assert output[0] == ["Outputs", "Band A", "Band B", "Band C", "Payments"]
    assert output[1:3] == [
        ["Started", "2", "0", "0", ""],
        ["Fee per ECT", "£119.40", "£117.48", "£115.92", "£238.80"],
    ]
    assert ["Extended", "4", "0", "0", ""] in output
    assert output[-1] == ["Output payment total", "", "", "", "£955.20"]
    assert page.tables["mentor-output-payments"] == [
        ["Outputs", "Participants", "Payments"],
        ["Started", "2", ""],
        ["Fee per mentor", "£500.00", "£1,000.00"],
        ["Completed", "0", ""],
        ["Fee per mentor", "£500.00", "£0.00"],
        ["Mentors output payment total", "", "£1,000.00"],
    ]
    assert page.tables["ECT clawbacks"][1:] == [
        [
            "Clawback for Started (Band: A)"
            "Priced at Band A, the highest band holding declarations, not at what the declaration was paid",
            "2",
            "-£119.40",
            "-£238.80",
        ],
        ["Total", "", "", "-£238.80"],
    ]
    assert page.tables["Mentor clawbacks"][1:] == [
        ["Clawback for Started", "2", "-£500.00", "-£1,000.00"],
        ["Total", "", "", "-£1,000.00"],
    ]
    assert page.tables["additional-adjustments"][1:] == [
        ["Big amount", "£999.99"],
        ["Another amount", "£300.00"],
        ["Total", "£1,299.99"],
    ]
    assert "uplift-fees" not in page.tables  # 2025 contracts pay no uplift
    assert page.tables["contract-bands"][1:] == [
        ["Band A", "0", "2,000", "£995.00"],
        ["Band B", "2,001", "4,000", "£979.00"],
        ["Band C", "4,001", "6,000", "£966.00"],
    ]
    assert "Provider targets (per academic year)" in shown
    assert page.lists["contract-rows"][:4] == [
        ("Provider", "Best Practice Network"),
        ("Contract version", "0.0.1"),
        ("ECTs recruitment target", "6,000"),
        ("Revised ECTs recruitment target (+150%)", "9,000"),
    ]
    assert page.lists["mentor-contract-rows"] == [
        ("Mentors recruitment target", "3,000"),
        ("Payment per participant", "£1,000.00"),
    ]


def test_combined_statement_shows_uplifts_clawbacks_and_the_band_fill_picture(finance_client):
    """2024 cohort, Contract M: 3 starts paid on an earlier statement, 3 more (2 uplifted) on this one."""
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        provider = LeadProviderFactory(name="Ambition Institute")
        contract = EctContractFactory(lead_provider=provider, cohort=2024, bands=CONTRACT_M_BANDS)
        earlier = StatementFactory(lead_provider=provider, cohort=2024, ect_contract=contract, paid=True)
        statement = StatementFactory(lead_provider=provider, cohort=2024, ect_contract=contract)
        lines(3, "paid", statement=earlier)
        lines(1, "eligible", statement=statement)
        for _ in range(2):
            uplifted = enrolled_participant(lead_provider=provider, sparsity_uplift=True)
            DeclarationFactory(eligible=True, statement=statement, enrolment=uplifted.enrolment)
        response = finance_client.get(page_url(statement))
        expected_total = format_money(calculate_statement(statement).total)

    page = read_page(response)
    shown = text(response)
    assert "Initial teacher training and early career framework (ITTECF)" in shown
    assert f"Total {expected_total}" in shown
    assert [label for label, _ in page.lists["summary-rows"]] == [
        "Output payment",
        "Service fee",
        "Uplift fees",
        "Clawbacks",
        "Additional adjustments",
        "Total before VAT",
        "VAT",
    ]
    # Band A (2 places) and 1 place of band B were filled before; this statement's 3 take B's last and 2 of C.
    assert page.tables["output-payments"][0] == ["Outputs", "Band A", "Band B", "Band C", "Band D", "Payments"]
    assert page.tables["output-payments"][1:3] == [
        ["Started", "0", "1", "2", "0", ""],
        ["Fee per participant", "£48.00", "£36.00", "£24.00", "£12.00", "£84.00"],
    ]
    assert page.tables["uplift-fees"] == [
        ["Number of participants", "Fee per participant", "Payments"],
        ["2", "£100.00", "£200.00"],
    ]
    assert page.tables["Clawbacks"][1:] == [["Uplift clawbacks", "0", "-£100.00", "£0.00"], ["Total", "", "", "£0.00"]]
    assert page.tables["additional-adjustments"][1:] == [
        ["No additional adjustments on this statement", ""],
        ["Total", "£0.00"],
    ]
    assert ("Total starts", "3") in page.lists["declaration-counts"]
    # The picture of the bands, in words beside each bar.
    fill = [
        row
        for key, rows in page.tables.items()
        if key.startswith("band-fill")
        for row in rows
        if len(row) == 3 and row[0].startswith("Band")
    ]
    assert fill == [
        ["Band A", "", "2 before this statement, 0 on this statement, 0 free of 2"],
        ["Band B", "", "1 before this statement, 1 on this statement, 0 free of 2"],
        ["Band C", "", "0 before this statement, 2 on this statement, 0 free of 2"],
        ["Band D", "", "0 before this statement, 0 on this statement, 2 free of 2"],
    ]


def test_paid_statement_shows_what_was_paid_even_after_its_contract_changes(finance_client, finance_user):
    statement = payable_statement()
    with clock.frozen(PAYMENT_DAY):
        statement_authorise_payment(statement=statement, user=finance_user)
        paid_total = format_money(calculate_statement(statement).total)
        statement.ect_contract.monthly_service_fee = Decimal("1.00")
        statement.ect_contract.save()
        response = finance_client.get(page_url(statement))

    shown = text(response)
    assert f"Total {paid_total}" in shown
    assert format_money(calculate_statement(statement).total) != paid_total
    assert "frozen when the statement was authorised" in shown
    assert "Authorised for payment at 3:04pm on 5 Mar 2025" in shown
    assert 'id="add-adjustment"' not in markup(response)


def test_voided_declarations_page_lists_the_statements_voided_declarations(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        voided = Declaration.objects.filter(statement=statement, state=S.VOIDED).order_by("created_at", "id")
        ects = read_page(finance_client.get(statement_url("voided", statement), {"course": "ect"}))
        mentors = finance_client.get(statement_url("voided", statement), {"course": "mentor"})

    assert ects.tables["voided-declarations"][0] == ["Declaration ID", "Participant ID", "Type", "Course"]
    assert ects.tables["voided-declarations"][1:] == [
        [str(d.id), str(d.participant_id), "started", "ecf-induction"] for d in voided
    ]
    assert "Mentor voided declarations" in text(mentors)
    assert "No declarations on this statement have been voided." in text(mentors)


def test_choosing_a_provider_opens_its_current_statement_and_a_month_opens_that_one(finance_client):
    with clock.frozen(datetime(2025, 2, 10, 12, tzinfo=UTC)):
        provider = LeadProviderFactory()
        past = StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=1)
        current = StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=3)
        StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=4)
        choose = reverse("admin:statements_statement_choose")

        by_provider = finance_client.get(choose, {"lead_provider": provider.pk})
        by_month = finance_client.get(choose, {"lead_provider": provider.pk, "cohort": 2024, "statement": "2025-01"})
        missing = finance_client.get(choose, {"lead_provider": provider.pk, "cohort": 2023, "statement": "2025-01"})

    assert by_provider.url == page_url(current)
    assert by_month.url == page_url(past)
    assert "There is no statement for that lead provider, cohort and month" in text(missing)


# ---------------------------------------------------------------------------------------
# Additional adjustments


def test_adding_an_adjustment_checks_the_answers_then_adds_it_to_the_total(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        add = statement_url("adjustment_add", statement)
        form = finance_client.get(add)
        check = finance_client.post(add, {"step": "check", "payment_type": "  Late   service fee ", "amount": "-150"})
        confirmed = finance_client.post(add, {"step": "confirm", "payment_type": "Late service fee", "amount": "-150"})
        another = finance_client.post(confirmed.url, {"another": "no"})
        page = read_page(finance_client.get(another.url))

    assert "What is the name of the adjustment?" in text(form) and "How much is the payment?" in text(form)
    assert read_page(check).lists["adjustment-answers"] == [
        ("Adjustment name", "Late service fee"),
        ("Adjustment amount", "-£150.00"),
    ]
    assert confirmed.url == statement_url("adjustment_another", statement)
    assert another.url == page_url(statement)
    assert page.tables["additional-adjustments"][1:] == [
        ["Big amount", "£999.99"],
        ["Another amount", "£300.00"],
        ["Late service fee", "-£150.00"],
        ["Total", "£1,149.99"],
    ]
    # £93,551.35 less 150 × 1.2 (VAT).
    assert format_money(calculate_statement(statement).total) == "£93,371.35"


def test_adjustment_answers_are_validated_by_the_service(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        response = finance_client.post(
            statement_url("adjustment_add", statement), {"step": "check", "payment_type": " ", "amount": "0"}
        )
        not_a_number = finance_client.post(
            statement_url("adjustment_add", statement), {"step": "confirm", "payment_type": "Fee", "amount": "ten"}
        )

    shown = text(response)
    assert "Enter a name for the adjustment" in shown
    assert "Enter an amount other than 0" in shown
    assert "Enter the amount as a number, for example 150.00 or -150.00" in text(not_a_number)
    assert statement.adjustments.count() == 2


def test_another_adjustment_needs_an_answer_and_yes_starts_again(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        another = statement_url("adjustment_another", statement)
        unanswered = finance_client.post(another, {})
        yes = finance_client.post(another, {"another": "yes"})

    assert "Select yes if you need to add another adjustment" in text(unanswered)
    assert yes.url == statement_url("adjustment_add", statement)


def test_changing_and_removing_an_adjustment(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        big = statement.adjustments.get(payment_type="Big amount")
        change = statement_url("adjustment_change", statement, big.pk)
        prefilled = finance_client.get(change)
        changed = finance_client.post(change, {"step": "confirm", "payment_type": "Bigger amount", "amount": "1000"})
        remove = statement_url("adjustment_remove", statement, big.pk)
        question = finance_client.get(remove)
        removed = finance_client.post(remove)
        listing = read_page(finance_client.get(statement_url("adjustments", statement)))

    assert 'value="Big amount"' in prefilled.content.decode() and 'value="999.99"' in prefilled.content.decode()
    assert changed.url == page_url(statement)
    assert "Are you sure you want to remove the 'Bigger amount' adjustment?" in text(question)
    assert removed.url == page_url(statement)
    assert listing.tables["adjustments"][1:] == [["Another amount", "£300.00", "Change · Remove"]]


def test_a_paid_statements_adjustments_cannot_be_added_changed_or_removed(finance_client, finance_user):
    statement = payable_statement()
    with clock.frozen(PAYMENT_DAY):
        adjustment = adjustment_create(statement=statement, payment_type="Correction", amount=Decimal("10"))
        statement_authorise_payment(statement=statement, user=finance_user)
        add = finance_client.get(statement_url("adjustment_add", statement), follow=True)
        confirm = finance_client.post(
            statement_url("adjustment_add", statement),
            {"step": "confirm", "payment_type": "Late", "amount": "5"},
            follow=True,
        )
        change = finance_client.post(
            statement_url("adjustment_change", statement, adjustment.pk),
            {"step": "confirm", "payment_type": "Changed", "amount": "99"},
        )
        remove = finance_client.post(statement_url("adjustment_remove", statement, adjustment.pk))

    assert PAID_MESSAGE in messages_of(add)
    assert PAID_MESSAGE in messages_of(confirm)
    assert (change.url, remove.url) == (page_url(statement), page_url(statement))
    assert list(statement.adjustments.values_list("payment_type", "amount")) == [("Correction", Decimal("10.00"))]


# ---------------------------------------------------------------------------------------
# Authorisation for payment


def test_authorise_needs_the_checks_confirmed(finance_client):
    statement = payable_statement()
    with clock.frozen(PAYMENT_DAY):
        page = markup(finance_client.get(page_url(statement)))
        confirm_page = text(finance_client.get(statement_url("authorise", statement)))
        unticked = finance_client.post(statement_url("authorise", statement), {})

    assert 'id="authorise-for-payment"' in page
    assert "Check March 2025 statement details before authorising for payment" in confirm_page
    assert "Have all necessary assurance checks been done?" in confirm_page
    assert "Yes, I'm ready to authorise this for payment" in confirm_page
    assert unticked.status_code == 200
    assert (
        "Confirm all necessary assurance checks have been done before authorising this statement for payment"
        in text(unticked)
    )
    statement.refresh_from_db()
    assert (statement.status, statement.marked_as_paid_at) == (StatementStatus.PAYABLE, None)


def test_authorising_pays_the_statement_and_shows_when(finance_client, finance_user):
    statement = payable_statement(started=3)
    with clock.frozen(PAYMENT_DAY):
        total = format_money(calculate_statement(statement).total)
        response = finance_client.post(statement_url("authorise", statement), {"checks_done": "on"}, follow=True)

    shown = text(response)
    assert "Statement authorisation processed successfully" in messages_of(response)
    assert "Authorised for payment at 3:04pm on 5 Mar 2025" in shown
    assert f"Total {total}" in shown
    assert 'id="authorise-for-payment"' not in markup(response)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.PAID
    assert statement.marked_as_paid_at == PAYMENT_DAY
    declarations = statement.declarations.all()
    assert {d.state for d in declarations} == {S.PAID}
    last_change = declarations[0].state_changes.order_by("-created_at", "-id").first()
    assert (last_change.actor_kind, last_change.actor_user) == (ActorKind.FINANCE_USER, finance_user)


def test_the_authorisation_time_is_shown_in_london_time(finance_client):
    statement = payable_statement()
    summer = datetime(2025, 6, 10, 9, 30, tzinfo=UTC)  # British Summer Time: 10:30am
    Statement.objects.filter(pk=statement.pk).update(marked_as_paid_at=summer, status=StatementStatus.PAID)

    assert "Authorised for payment at 10:30am on 10 Jun 2025" in text(finance_client.get(page_url(statement)))


def test_an_open_statement_cannot_be_authorised(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        page = markup(finance_client.get(page_url(statement)))
        confirm_page = finance_client.get(statement_url("authorise", statement), follow=True)
        ticked = finance_client.post(statement_url("authorise", statement), {"checks_done": "on"}, follow=True)

    assert 'id="authorise-for-payment"' not in page
    assert "It is not payable yet: it is still open." in page
    assert any("cannot be authorised for payment" in m for m in messages_of(confirm_page))
    assert any("It is not payable yet" in m for m in messages_of(ticked))
    statement.refresh_from_db()
    assert (statement.status, statement.marked_as_paid_at) == (StatementStatus.OPEN, None)


# ---------------------------------------------------------------------------------------
# The assurance CSV (finance.md §4.11, decisions §16)

CSV_COLUMNS = [
    "Participant ID",
    "Participant Name",
    "TRN",
    "Type",
    "Mentor Profile ID",
    "Schedule",
    "Eligible For Funding",
    "Eligible For Funding Reason",
    "Sparsity Uplift",
    "Pupil Premium Uplift",
    "Sparsity And Pp",
    "Lead Provider Name",
    "Delivery Partner Name",
    "School Urn",
    "School Name",
    "Training Status",
    "Training Status Reason",
    "Declaration ID",
    "Declaration Status",
    "Declaration Type",
    "Declaration Date",
    "Declaration Created At",
    "Statement Name",
    "Statement ID",
    "Uplift Payable",
    "Line Type",
    "Band",
    "Output Amount",
    "Uplift Amount",
]


def download(client, statement) -> tuple[object, list[dict]]:
    response = client.get(statement_url("assurance_csv", statement))
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    reader = csv.reader(io.StringIO(body))
    header = next(reader)
    assert header == CSV_COLUMNS
    return response, [dict(zip(header, row, strict=True)) for row in reader]


def test_assurance_csv_has_every_line_of_the_statement_with_what_it_paid(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        response, rows = download(finance_client, statement)
        calc = calculate_statement(statement)

    assert response["Content-Disposition"] == (
        'attachment; filename="ECF-Declarations-BestPracticeNetwork-Cohort2025-February2026.csv"'
    )
    # 16 paying lines (2 + 4 + 4 + 2 voided + 2 mentors + ...) and 4 clawback lines: every state.
    states = sorted((row["Line Type"], row["Declaration Status"], row["Type"]) for row in rows)
    assert states == sorted(
        [("payment", "eligible", "ParticipantProfile::ECT")] * 10
        + [("payment", "voided", "ParticipantProfile::ECT")] * 2
        + [("payment", "eligible", "ParticipantProfile::Mentor")] * 2
        + [("clawback", "awaiting_clawback", "ParticipantProfile::ECT")] * 2
        + [("clawback", "awaiting_clawback", "ParticipantProfile::Mentor")] * 2
    )
    assert [row["Participant Name"] for row in rows] == sorted(row["Participant Name"] for row in rows)
    assert {row["Statement ID"] for row in rows} == {str(statement.pk)}
    assert {row["Statement Name"] for row in rows} == {"February 2026"}
    assert {row["Lead Provider Name"] for row in rows} == {"Best Practice Network"}
    # What the lines paid and took back adds up to the statement's figures.
    paid = sum(Decimal(r["Output Amount"]) for r in rows if r["Line Type"] == "payment")
    clawed = sum(Decimal(r["Output Amount"]) for r in rows if r["Line Type"] == "clawback")
    assert paid == calc.output_payment == Decimal("1955.20")
    assert clawed == calc.clawbacks == Decimal("-1238.80")
    started_ect = [r for r in rows if r["Declaration Type"] == "started" and r["Type"].endswith("ECT")]
    assert {(r["Declaration Status"], r["Band"], r["Output Amount"]) for r in started_ect} == {
        ("eligible", "A", "119.40"),
        ("voided", "", "0.00"),
        ("awaiting_clawback", "A", "-119.40"),
    }


def test_assurance_csv_describes_the_participant_and_their_training(finance_client):
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        ect = enrolled_participant(sparsity_uplift=True)
        declaration = DeclarationFactory(eligible=True, enrolment=ect.enrolment)
        statement = declaration.statement
        _, (row,) = download(finance_client, statement)

    assert row["Participant ID"] == str(ect.participant.id)
    assert row["Participant Name"] == ect.participant.full_name
    assert row["TRN"] == (ect.participant.trn or "")
    assert row["Schedule"] == "ecf-standard-september"
    assert (row["Eligible For Funding"], row["Eligible For Funding Reason"]) == ("true", "")
    assert (row["Sparsity Uplift"], row["Pupil Premium Uplift"], row["Sparsity And Pp"]) == ("true", "false", "false")
    assert row["Delivery Partner Name"] == ect.delivery_partner.name
    assert (row["School Urn"], row["School Name"]) == (ect.school.urn, ect.school.name)
    assert (row["Training Status"], row["Training Status Reason"]) == ("active", "")
    assert (row["Declaration ID"], row["Declaration Status"], row["Declaration Type"]) == (
        str(declaration.id),
        "eligible",
        "started",
    )
    assert row["Declaration Date"] == declaration.declaration_date.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["Uplift Payable"] == "true"
    # No contract on the statement: nothing paid, but the uplift would be, had it one.
    assert (row["Line Type"], row["Output Amount"], row["Uplift Amount"]) == ("payment", "0.00", "0.00")


# ---------------------------------------------------------------------------------------
# Finding a person by the ids people have


@pytest.fixture
def person():
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        ect = enrolled_participant(lead_provider=LeadProviderFactory(name="UCL Early Career"))
        paid = DeclarationFactory(paid=True, enrolment=ect.enrolment)
        retained = DeclarationFactory(eligible=True, enrolment=ect.enrolment, declaration_type="retained-1")
        retired = ParticipantIdChangeFactory(participant=ect.participant, to_participant_id=ect.participant.id)
        enrolled_participant()  # someone else
    return {"ect": ect, "paid": paid, "retained": retained, "retired": retired}


@pytest.mark.parametrize(
    ("term", "matched_by"),
    [
        (lambda p: str(p["ect"].participant.id), "participant id"),
        (lambda p: str(p["retired"].from_participant_id), "retired participant id"),
        (lambda p: str(p["ect"].enrolment.id), "training record id"),
        (lambda p: str(p["retained"].id), "declaration id"),
        (lambda p: p["ect"].participant.trn, "TRN"),
        (lambda p: p["ect"].participant.email.upper(), "email"),
    ],
    ids=["participant-id", "retired-participant-id", "training-record-id", "declaration-id", "trn", "email"],
)
def test_search_finds_the_person_by_any_id_they_have(finance_client, person, term, matched_by):
    response = finance_client.get(reverse("admin:declarations_declaration_participant_search"), {"q": term(person)})

    shown = text(response)
    assert response.status_code == 200
    assert f"Found by {matched_by}: 1 participant." in shown
    assert [record.participant for record in response.context["records"]] == [person["ect"].participant]
    assert str(person["ect"].enrolment.id) in shown
    assert str(person["paid"].id) in shown and str(person["retained"].id) in shown


def test_search_shows_the_full_state_history_and_who_moved_each_declaration(finance_client, person, finance_user):
    from declarations.services import declaration_void
    from declarations.state_machine import Actor

    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        declaration_void(declaration=person["retained"], actor=Actor.finance_user(finance_user), reason="Duplicate")
    response = finance_client.get(
        reverse("admin:declarations_declaration_participant_search"), {"q": str(person["paid"].id)}
    )

    page = read_page(response)
    history_tables = [
        rows for key, rows in page.tables.items() if rows and rows[0] == ["When", "From", "To", "Who", "Why"]
    ]
    paid_history, voided_history = ([row[1:] for row in rows[1:]] for rows in history_tables)
    assert paid_history == [
        ["-", "submitted", "Lead provider: UCL Early Career", "-"],
        ["submitted", "eligible", "Lead provider: UCL Early Career", "-"],
        ["eligible", "payable", "Payment run", "-"],
        ["payable", "paid", "Payment run", "-"],
    ]
    assert voided_history[-1] == ["eligible", "voided", "Finance user: fiona", "Duplicate"]
    assert "Training history" in text(response)


def test_search_for_an_unknown_id_finds_nobody(finance_client, person):
    term = str(uuid.uuid4())
    response = finance_client.get(reverse("admin:declarations_declaration_participant_search"), {"q": term})

    assert f"No participant or declaration has the id, TRN or email “{term}”." in text(response)


# ---------------------------------------------------------------------------------------
# Voiding on a provider's behalf


def void_url(declaration) -> str:
    return reverse("admin:declarations_declaration_void", args=[declaration.pk])


def test_void_needs_a_reason(finance_client):
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        declaration = DeclarationFactory(eligible=True)
        response = finance_client.post(void_url(declaration), {"reason": "  "})

    assert "Enter why the declaration is being voided" in text(response)
    declaration.refresh_from_db()
    assert declaration.state == S.ELIGIBLE


def test_void_of_an_unpaid_declaration_voids_it_with_the_finance_user_and_reason(finance_client, finance_user):
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        declaration = DeclarationFactory(eligible=True)
        form = text(finance_client.get(void_url(declaration)))
        response = finance_client.post(void_url(declaration), {"reason": "Provider asked by email"}, follow=True)

    assert "Why is the declaration being voided?" in form
    assert "The declaration has been voided." in messages_of(response)
    declaration.refresh_from_db()
    assert (declaration.state, declaration.voided_by_user) == (S.VOIDED, finance_user)
    change = declaration.state_changes.order_by("-created_at", "-id").first()
    assert (change.actor_kind, change.actor_user, change.reason) == (
        ActorKind.FINANCE_USER,
        finance_user,
        "Provider asked by email",
    )


def test_void_of_a_paid_declaration_on_behalf_awaits_clawback_on_the_next_statement(finance_client):
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        declaration = DeclarationFactory(paid=True)
        next_statement = StatementFactory(lead_provider=declaration.lead_provider, cohort=declaration.cohort)
        form = text(finance_client.get(void_url(declaration)))
        response = finance_client.post(void_url(declaration), {"reason": "Participant never started"}, follow=True)

    assert f"voiding it claws the payment back on the {next_statement.name} statement" in form
    assert messages_of(response) == [
        "The declaration was paid, so it is now awaiting clawback "
        f"on the {next_statement.name} statement (2024 cohort)."
    ]
    declaration.refresh_from_db()
    assert (declaration.state, declaration.clawback_statement) == (S.AWAITING_CLAWBACK, next_statement)


def test_void_shows_the_services_refusal(finance_client):
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        declaration = DeclarationFactory(voided=True)
        response = finance_client.post(void_url(declaration), {"reason": "Again"})

    assert response.status_code == 200
    assert "This declaration has already been voided." in text(response)


def test_declaration_page_links_to_void_for_finance_users(finance_client):
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        declaration = DeclarationFactory(eligible=True)

    response = finance_client.get(reverse("admin:declarations_declaration_change", args=[declaration.pk]))

    assert void_url(declaration) in response.content.decode()


# ---------------------------------------------------------------------------------------
# Who may do any of this


def finance_urls(statement, adjustment, declaration) -> list[tuple[str, str]]:
    return [
        ("get", reverse("admin:statements_statement_choose")),
        ("get", page_url(statement)),
        ("get", statement_url("voided", statement)),
        ("get", statement_url("assurance_csv", statement)),
        ("post", statement_url("authorise", statement)),
        ("get", statement_url("adjustments", statement)),
        ("post", statement_url("adjustment_add", statement)),
        ("post", statement_url("adjustment_another", statement)),
        ("post", statement_url("adjustment_change", statement, adjustment.pk)),
        ("post", statement_url("adjustment_remove", statement, adjustment.pk)),
        ("get", reverse("admin:declarations_declaration_participant_search")),
        ("post", void_url(declaration)),
    ]


@pytest.fixture
def protected():
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        declaration = DeclarationFactory(eligible=True)
        adjustment = Adjustment.objects.create(
            statement=declaration.statement, payment_type="Correction", amount=Decimal("5")
        )
    return finance_urls(declaration.statement, adjustment, declaration), declaration, adjustment


def test_staff_outside_the_finance_group_are_refused(client, protected):
    urls, declaration, adjustment = protected
    user = User.objects.create_user("support", "support@example.com", "pw", is_staff=True)
    user.user_permissions.add(*ensure_finance_group().permissions.all())  # even with the same permissions
    client.force_login(user)

    for method, url in urls:
        assert getattr(client, method)(url).status_code == 403, url
    declaration.refresh_from_db()
    assert declaration.state == S.ELIGIBLE
    assert Adjustment.objects.filter(pk=adjustment.pk).exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, protected):
    urls, _, _ = protected

    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("admin:login")), url


def test_superusers_may_use_the_finance_views(client, protected):
    urls, _, _ = protected
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))

    for method, url in urls:
        if method == "get":
            assert client.get(url).status_code in (200, 302), url


def test_finance_users_cannot_change_participants_schools_or_providers(finance_client, protected):
    _, declaration, _ = protected
    participant, provider = declaration.participant, declaration.lead_provider

    change_participant = finance_client.post(
        reverse("admin:participants_participant_change", args=[participant.pk]),
        {"full_name": "Changed", "email": "changed@example.com"},
    )
    change_provider = finance_client.post(
        reverse("admin:participants_leadprovider_change", args=[provider.pk]), {"name": "Changed"}
    )

    assert (change_participant.status_code, change_provider.status_code) == (403, 403)
    participant.refresh_from_db()
    assert participant.full_name != "Changed"


def test_the_admin_index_links_finance_users_to_their_pages(finance_client, client):
    index = text(finance_client.get(reverse("admin:index")))

    assert "View financial statements" in index and "Find a participant or declaration" in index
    other = User.objects.create_user("support", "support@example.com", "pw", is_staff=True)
    client.force_login(other)
    assert "Find a participant or declaration" not in text(client.get(reverse("admin:index")))


# ---------------------------------------------------------------------------------------
# The generic adjustment forms write through the same services


def test_the_adjustment_record_forms_use_the_services_rules(finance_client):
    with clock.frozen(T6_DAY):
        statement = t6_statement()
        add = reverse("admin:statements_adjustment_add")
        refused = finance_client.post(add, {"statement": statement.pk, "payment_type": "Fee", "amount": "0"})
        added = finance_client.post(add, {"statement": statement.pk, "payment_type": "  Late   fee ", "amount": "12.5"})

    assert "Enter an amount other than 0" in text(refused)
    assert added.status_code == 302
    assert statement.adjustments.filter(payment_type="Late fee", amount=Decimal("12.50")).exists()


def test_a_paid_statements_adjustments_cannot_be_bulk_deleted(finance_client, finance_user):
    statement = payable_statement()
    with clock.frozen(PAYMENT_DAY):
        adjustment = adjustment_create(statement=statement, payment_type="Correction", amount=Decimal("10"))
        statement_authorise_payment(statement=statement, user=finance_user)
        response = finance_client.post(
            reverse("admin:statements_adjustment_changelist"),
            {"action": "delete_selected", "_selected_action": [adjustment.pk], "post": "yes"},
            follow=True,
        )

    assert response.status_code == 403
    assert Adjustment.objects.filter(pk=adjustment.pk).exists()

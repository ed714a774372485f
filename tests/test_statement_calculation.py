"""The statement payment calculation against the public test vectors of finance.md §5 (T1-T8).

Amounts are compared to the penny, or to 5 decimal places where the vector gives them
(finance.md §3.13). Line items are real declarations on real statements, except where a vector
stubs counts that no set of line items can produce (T4, see its docstring).
"""

import dataclasses
import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from declarations import models as declaration_models
from declarations.models import Declaration, DeclarationState
from declarations.payments import statement_authorise_payment, statements_mark_payable
from declarations.state_machine import Actor, transition
from ecf import clock
from participants.models import Enrolment, EnrolmentKind, Participant
from statements import calculation
from statements.calculation import (
    ECT,
    LineCounts,
    calculate,
    calculate_statement,
    format_money,
    read_statement_inputs,
)
from statements.services import adjustment_create
from tests.factories import (
    CONTRACT_F_BANDS,
    CONTRACT_M_BANDS,
    DeclarationFactory,
    EctContractFactory,
    LeadProviderFactory,
    MentorContractFactory,
    StatementFactory,
)

pytestmark = pytest.mark.django_db

S = DeclarationState
MENTOR = EnrolmentKind.MENTOR


def at(*args) -> datetime:
    return datetime(*args, 12, tzinfo=UTC)


def dp(value: Decimal, places: int = 5) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def contract_statement(
    *, cohort=2024, bands=CONTRACT_F_BANDS, vat_chargeable=True, mentor_contract=False, statement=None, **contract
):
    """An open output statement of a fresh provider, paid under an ECT contract (Contract F by default)."""
    provider = LeadProviderFactory(vat_chargeable=vat_chargeable)
    ect_contract = EctContractFactory(lead_provider=provider, cohort=cohort, bands=bands, **contract)
    mentors = MentorContractFactory(lead_provider=provider, cohort=cohort) if mentor_contract else None
    return StatementFactory(
        lead_provider=provider, cohort=cohort, ect_contract=ect_contract, mentor_contract=mentors, **(statement or {})
    )


def lines(count: int, trait: str, **fields) -> list[Declaration]:
    """`count` declarations in the state `trait`, each for a participant of its own."""
    return [DeclarationFactory(**{trait: True}, **fields) for _ in range(count)]


def bulk_lines(template: Declaration, count: int) -> None:
    """`count` more declarations like `template` (same provider, statements, type and state), each
    for a new participant, inserted in bulk: for volumes the factory would take minutes to make."""
    enrolment = template.enrolment
    participants = Participant.objects.bulk_create(
        [Participant(full_name=f"Bulk {n}", email=f"bulk{n}@example.com") for n in range(count)], batch_size=5000
    )
    enrolments = Enrolment.objects.bulk_create(
        [
            Enrolment(
                participant=p,
                kind=enrolment.kind,
                schedule_id=enrolment.schedule_id,
                eligibility_status=enrolment.eligibility_status,
            )
            for p in participants
        ],
        batch_size=5000,
    )
    copied = {
        f.attname: getattr(template, f.attname)
        for f in Declaration._meta.concrete_fields
        if f.attname not in ("id", "enrolment_id", "participant_id", "created_at", "updated_at", "mentor_id")
    }
    Declaration.objects.bulk_create(
        [Declaration(enrolment=e, participant_id=e.participant_id, **copied) for e in enrolments], batch_size=5000
    )


def band_results(calc, declaration_type="started") -> dict:
    """{band letter: (additions, subtractions, net)} for the bands the type touched."""
    allocation = next(t for t in calc.banded.types if t.declaration_type == declaration_type)
    return {
        b.band: (b.additions, b.subtractions, b.net) for b in allocation.bands if b.additions or b.subtractions or b.net
    }


def row(rows, label):
    return next(r for r in rows if r.label == label)


# ---------------------------------------------------------------------------------------
# The vocabulary the calculation shares with the declarations app


def test_state_names_agree_with_the_declarations_app():
    """statements may not import declarations, so it names the states itself; they must agree."""
    assert set(calculation.BILLABLE_STATES) == set(declaration_models.BILLABLE_STATES)
    assert set(calculation.REFUNDABLE_STATES) == set(declaration_models.REFUNDABLE_STATES)
    assert set(calculation.LINKED_STATES) == set(DeclarationState.values) - {S.SUBMITTED}


# ---------------------------------------------------------------------------------------
# T1 - T3: bands, fees and the service fee


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [(100, 0, [100, 0, 0]), (2000, 0, [2000, 0, 0]), (2001, 0, [2000, 1, 0]), (2000, 2100, [0, 1900, 100])],
)
def test_participants_fill_the_bands_after_the_previous_ones(current, previous, expected):
    """T1: Contract F bands, the original's distribution helper."""
    terms = read_statement_inputs(contract_statement()).contract

    assert calculation.band_fill(terms.bands, count=current, already=previous) == expected


def test_the_band_allocation_fills_the_same_way_as_the_helper():
    """T1, last row, through the allocator: 2000 billable after 2100 previous fill B 1900 and C 100."""
    capacities = [b.capacity for b in read_statement_inputs(contract_statement()).contract.bands]

    previous, additions, _, net, _ = calculation.allocate(capacities, LineCounts(billable=2000, previous_billable=2100))

    assert (previous, additions, net) == ([2000, 100, 0], [0, 1900, 100], [0, 1900, 100])


@pytest.mark.parametrize(
    ("bands", "started_fees", "retained_fees"),
    [
        (CONTRACT_M_BANDS, ["48", "36", "24", "12"], ["36", "27", "18", "9"]),
        (CONTRACT_F_BANDS, ["119.40", "117.48", "115.92"], ["89.55", "88.11", "86.94"]),
    ],
    ids=["contract M", "contract F"],
)
def test_fee_per_participant_is_the_outputs_share_of_the_band_price(bands, started_fees, retained_fees):
    """T2: started/completed pay 20 % and retained/extended 15 % of the band's 60 % output share."""
    calc = calculate_statement(contract_statement(bands=bands))
    rows = calc.banded.output_rows

    for label in ("Started", "Completed"):
        assert list(row(rows, label).fees) == [Decimal(fee) for fee in started_fees]
    for label in ("Retained 1", "Retained 2", "Retained 3", "Retained 4", "Extended"):
        assert list(row(rows, label).fees) == [Decimal(fee) for fee in retained_fees]


def test_service_fee_is_the_bands_service_share_less_the_set_up_fee_over_29_months():
    """T3: Contract F without a monthly service fee: 2,202,349 / 29."""
    calc = calculate_statement(contract_statement())

    assert dp(calc.service_fee) == Decimal("75943.06897")
    assert calc.banded.service_fee_computed
    assert format_money(calc.service_fee) == "£75,943.07"
    assert row(calc.summary_rows, "Service fee").amount == calc.service_fee


def test_monthly_service_fee_of_the_contract_overrides_the_computed_one():
    """T3: the same contract with monthly_service_fee 123.45."""
    calc = calculate_statement(contract_statement(monthly_service_fee=Decimal("123.45")))

    assert calc.service_fee == Decimal("123.45")
    assert not calc.banded.service_fee_computed


@pytest.mark.parametrize(
    ("recruitment_target", "monthly"),
    [(100, "1086.2068966"), (150, "1500.0000000"), (50, "543.1034483")],
)
def test_service_fee_deducts_the_set_up_fee_in_proportion_to_band_a(recruitment_target, monthly):
    """T8: set-up fee 500; band 1 holds 100 at £800, band 2 at £600; 40 % service share."""
    bands = ((None, 100, Decimal("800")), (101, 200, Decimal("600")))
    statement = contract_statement(bands=bands, recruitment_target=recruitment_target, set_up_fee=Decimal("500"))

    assert dp(calculate_statement(statement).service_fee, 7) == Decimal(monthly)


# ---------------------------------------------------------------------------------------
# T4: the whole total


T4_CASES = {
    "without VAT": (False, [], True, "-4932.79310"),
    "+1234 correction, without VAT": (False, ["1234"], True, "-3698.79310"),
    "-1234 correction, without VAT": (False, ["-1234"], True, "-6166.79310"),
    "+1234 correction, with VAT": (True, ["1234"], True, "-4438.55172"),
    "three adjustments, with VAT": (True, ["999.99", "-500.00", "300.00"], True, "-4959.36372"),
    "contract without uplift": (False, [], False, "-5132.79310"),
}


@pytest.mark.parametrize(("vat", "adjustments", "pays_uplift", "expected"), T4_CASES.values(), ids=T4_CASES.keys())
def test_total_adds_service_fee_uplifts_clawbacks_adjustments_and_vat(vat, adjustments, pays_uplift, expected):
    """T4: Contract M, no output lines, uplift lines 4 billable / 2 refundable.

    The reference stubs the uplift counts on their own, and so do we: every uplift line is a
    `started` line, and a refundable `started` line always takes an output clawback (its paid
    line fills a band on a previous statement), so no real set of lines has uplifts without
    output money. The statement, contract and adjustments are real. The original's hidden
    `reconcile_amount` is a named adjustment here (decisions §11).
    """
    statement = contract_statement(
        bands=CONTRACT_M_BANDS, vat_chargeable=vat, **({} if pays_uplift else {"uplift_amount": None})
    )
    for n, amount in enumerate(adjustments):
        adjustment_create(statement=statement, payment_type=f"Correction {n}", amount=Decimal(amount))
    inputs = read_statement_inputs(statement)
    stubbed = dataclasses.replace(inputs, lines={(ECT, "started"): LineCounts(uplift_billable=4, uplift_refundable=2)})

    calc = calculate(stubbed)

    assert dp(calc.service_fee) == Decimal("-5132.79310")
    assert calc.output_payment == 0
    assert calc.uplift_fees == (Decimal("400") if pays_uplift else 0)
    assert calc.clawbacks == (Decimal("-200") if pays_uplift else 0)
    assert dp(calc.total) == Decimal(expected)
    assert calc.vat == (calc.net * Decimal("0.2") if vat else 0)


def test_uplift_is_paid_per_flagged_start_even_beyond_the_last_band():
    """T4's rules on real lines (finance.md §3.6): bands full, four flagged starts earn no output
    fee but £100 uplift each (one per line even with both flags); a flagged retained line earns
    none; two clawed-back flagged starts take £100 each back, and their output at band D's price."""
    with clock.frozen(at(2024, 12, 15)):
        statement = contract_statement(bands=CONTRACT_M_BANDS)
        previous = StatementFactory(lead_provider=statement.lead_provider, cohort=2024, paid=True)
        lines(6, "paid", statement=previous)
        lines(2, "awaiting_clawback", statement=previous, clawback_statement=statement, sparsity_uplift=True)
        lines(3, "eligible", statement=statement, sparsity_uplift=True)
        lines(1, "eligible", statement=statement, sparsity_uplift=True, pupil_premium_uplift=True)
        lines(1, "eligible", statement=statement, pupil_premium_uplift=True, declaration_type="retained-1")

        calc = calculate_statement(statement)

    started = calc.banded.types[0]
    assert (started.previous_billable, started.billable, started.unpaid) == (8, 4, 4)
    assert calc.banded.uplift.billable == 4 and calc.uplift_fees == Decimal("400")
    assert calc.banded.uplift.refundable == 2 and calc.banded.uplift.clawbacks == Decimal("200")
    assert row(calc.banded.clawback_rows, "Uplift clawbacks").amount == Decimal("-200")
    assert row(calc.banded.clawback_rows, "Clawback for Started (Band: D)").amount == Decimal("-24")
    assert calc.clawbacks == Decimal("-224")
    assert calc.output_payment == 0 + 1 * Decimal("36")  # the retained line, band A


# ---------------------------------------------------------------------------------------
# T5: clawbacks over three consecutive statements


def test_bands_carry_over_and_clawbacks_take_the_top_band_over_three_statements():
    """T5: Contract M, ECTs and mentors together (2024 cohort); each statement is made payable
    and paid before the next is evaluated."""
    with clock.frozen(at(2024, 12, 15)):
        s1 = contract_statement(bands=CONTRACT_M_BANDS, statement={"year": 2025, "month": 1})
        provider = s1.lead_provider
        s2 = StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=2, ect_contract=s1.ect_contract)
        s3 = StatementFactory(lead_provider=provider, cohort=2024, year=2025, month=3, ect_contract=s1.ect_contract)
        first = lines(2, "eligible", statement=s1) + lines(2, "eligible", statement=s1, kind=MENTOR)
        calc1 = calculate_statement(s1)
    with clock.frozen(at(2025, 1, 1)):
        statements_mark_payable()
        statement_authorise_payment(statement=s1)

    with clock.frozen(at(2025, 1, 10)):
        second = lines(2, "eligible", statement=s2) + lines(2, "eligible", statement=s2, kind=MENTOR)
        claw_back(first[0], s2)
        calc2 = calculate_statement(s2)
    with clock.frozen(at(2025, 2, 1)):
        statements_mark_payable()
        statement_authorise_payment(statement=s2)

    with clock.frozen(at(2025, 2, 10)):
        lines(2, "eligible", statement=s3)
        lines(2, "eligible", statement=s3, kind=MENTOR)
        claw_back(first[1], s3)
        claw_back(second[0], s3)
        calc3 = calculate_statement(s3)

    assert band_results(calc1) == {"A": (2, 0, 2), "B": (2, 0, 2)}
    assert (calc1.output_payment, calc1.banded.output_clawbacks) == (Decimal("168.00"), 0)
    started2 = calc2.banded.types[0]
    assert (started2.previous_billable, started2.previous_refundable, started2.billable, started2.refundable) == (
        4,
        0,
        4,
        1,
    )
    assert band_results(calc2) == {"C": (2, 0, 2), "D": (2, 1, 1)}
    assert (calc2.output_payment, calc2.banded.output_clawbacks) == (Decimal("72.00"), Decimal("12.00"))
    started3 = calc3.banded.types[0]
    assert (started3.previous_billable, started3.previous_refundable, started3.billable, started3.refundable) == (
        8,
        1,
        4,
        2,
    )
    assert band_results(calc3) == {"D": (1, 2, -1)}
    assert started3.unpaid == 3  # beyond band D's max of 8
    assert (calc3.output_payment, calc3.banded.output_clawbacks) == (Decimal("12.00"), Decimal("24.00"))
    assert row(calc3.banded.clawback_rows, "Clawback for Started (Band: D)").count == 2
    # The band picture: what the previous statements filled, and what this one adds.
    assert [(b.band, b.previous) for b in started3.bands] == [("A", 2), ("B", 2), ("C", 2), ("D", 1)]


def claw_back(declaration: Declaration, statement) -> None:
    """A paid declaration voided: it awaits clawback on `statement` (finance.md §2.3)."""
    declaration.refresh_from_db()
    transition(declaration, S.AWAITING_CLAWBACK, actor=Actor.system(), clawback_statement=statement)


def test_clawed_back_declaration_is_counted_on_both_of_its_statements():
    """finance.md §4.2: "Total clawed back" counts linked declarations now clawed back."""
    with clock.frozen(at(2024, 12, 15)):
        s1 = contract_statement(statement={"year": 2025, "month": 1})
        s2 = StatementFactory(lead_provider=s1.lead_provider, cohort=2024, year=2025, month=2)
        paid = lines(1, "eligible", statement=s1)[0]
        lines(1, "voided", statement=s1)
    with clock.frozen(at(2025, 1, 1)):
        statements_mark_payable()
        statement_authorise_payment(statement=s1)
    with clock.frozen(at(2025, 1, 10)):
        claw_back(paid, s2)
        waiting = calculate_statement(s2).declaration_counts[0].clawed_back
    with clock.frozen(at(2025, 2, 1)):
        statements_mark_payable()
        statement_authorise_payment(statement=s2)

    assert waiting == 0
    assert calculate_statement(s2).declaration_counts[0].clawed_back == 1
    counts = calculate_statement(s1).declaration_counts[0]
    assert (counts.started, counts.clawed_back, counts.voided) == (1, 1, 1)


def test_a_voided_unpaid_declaration_frees_its_band_place():
    """finance.md §3.3: a voided line is not counted, so later starts take its place in band A."""
    with clock.frozen(at(2024, 12, 15)):
        statement = contract_statement(bands=CONTRACT_M_BANDS)
        previous = StatementFactory(lead_provider=statement.lead_provider, cohort=2024, paid=True)
        lines(2, "voided", statement=previous)
        lines(1, "ineligible", statement=previous)
        lines(2, "eligible", statement=statement)

        calc = calculate_statement(statement)

    assert band_results(calc) == {"A": (2, 0, 2)}


# ---------------------------------------------------------------------------------------
# T6, T7: cohorts with mentor funding


def test_split_statement_pays_ects_in_bands_and_mentors_at_a_flat_rate():
    """T6: 2025 cohort, ECT Contract F (no uplift) and a £1,000 mentor contract; VAT-chargeable."""
    with clock.frozen(at(2026, 1, 15)):
        statement = contract_statement(cohort=2025, mentor_contract=True, uplift_amount=None)
        lines(2, "eligible", statement=statement)
        lines(2, "awaiting_clawback", clawback_statement=statement)
        lines(4, "eligible", statement=statement, declaration_type="retained-1")
        lines(4, "eligible", statement=statement, declaration_type="extended-1")
        lines(2, "voided", statement=statement)
        lines(2, "eligible", statement=statement, kind=MENTOR)
        lines(2, "awaiting_clawback", clawback_statement=statement, kind=MENTOR)
        adjustment_create(statement=statement, payment_type="Big amount", amount=Decimal("999.99"))
        adjustment_create(statement=statement, payment_type="Another amount", amount=Decimal("300.00"))

        calc = calculate_statement(statement)

    assert calc.layout == calculation.SPLIT
    started = row(calc.banded.output_rows, "Started")
    assert started.additions == (2, 0, 0)
    assert [format_money(fee) for fee in started.fees] == ["£119.40", "£117.48", "£115.92"]
    assert format_money(started.payment) == "£238.80"
    mentor_started = row(calc.mentor.output_rows, "Started")
    assert (mentor_started.count, format_money(mentor_started.fee), format_money(mentor_started.payment)) == (
        2,
        "£500.00",
        "£1,000.00",
    )
    assert [(r.label, r.count, format_money(r.fee), format_money(r.amount)) for r in calc.banded.clawback_rows] == [
        ("Clawback for Started (Band: A)", 2, "-£119.40", "-£238.80")
    ]
    assert [(r.label, r.count, format_money(r.fee), format_money(r.amount)) for r in calc.mentor.clawback_rows] == [
        ("Clawback for Started", 2, "-£500.00", "-£1,000.00")
    ]
    ects, mentors = calc.declaration_counts
    assert (ects.started, ects.retained, ects.completed, ects.extended, ects.clawed_back, ects.voided) == (
        2,
        4,
        0,
        4,
        0,
        2,
    )
    assert (mentors.started, mentors.retained, mentors.completed, mentors.extended) == (2, None, 0, None)
    assert (mentors.clawed_back, mentors.voided) == (0, 0)
    # Derived rows of the summary panel.
    assert [(r.label, format_money(r.amount)) for r in calc.summary_rows] == [
        ("ECTs output payment", "£955.20"),
        ("Mentors output payment", "£1,000.00"),
        ("Service fee", "£75,943.07"),
        ("ECT clawbacks", "-£238.80"),
        ("Mentor clawbacks", "-£1,000.00"),
        ("Additional adjustments", "£1,299.99"),
        ("VAT", "£15,591.89"),
    ]
    assert (dp(calc.banded.net), dp(calc.banded.vat)) == (Decimal("77959.45897"), Decimal("15591.89179"))
    assert (calc.mentor.net, calc.mentor.vat) == (0, 0)
    assert dp(calc.total) == Decimal("93551.35076")
    assert format_money(calc.total) == "£93,551.35"


def test_mentor_calculator_totals_and_shows_billable_counts():
    """T7: mentor fee £500 per started and completed; started 5/2, completed 3/1 (billable/refundable)."""
    with clock.frozen(at(2026, 1, 15)):
        statement = contract_statement(
            cohort=2025, mentor_contract=True, uplift_amount=None, monthly_service_fee=Decimal("0")
        )
        lines(5, "eligible", statement=statement, kind=MENTOR)
        lines(2, "awaiting_clawback", clawback_statement=statement, kind=MENTOR)
        lines(3, "eligible", statement=statement, kind=MENTOR, declaration_type="completed")
        lines(1, "awaiting_clawback", clawback_statement=statement, kind=MENTOR, declaration_type="completed")

        calc = calculate_statement(statement)

    mentor = calc.mentor
    assert (mentor.output_payment, mentor.clawbacks) == (Decimal("4000"), Decimal("-1500"))
    assert (mentor.net, mentor.vat, mentor.total) == (Decimal("2500"), Decimal("500"), Decimal("3000"))
    assert [(r.label, r.count) for r in mentor.output_rows] == [("Started", 5), ("Completed", 3)]
    assert calc.total == Decimal("3000")  # the ECT part is empty and its service fee 0


def test_mentors_of_a_cohort_without_mentor_funding_are_paid_in_the_bands():
    """finance.md §3.12: 2021-2024 count ECTs and mentors together at ECT prices, one column."""
    with clock.frozen(at(2024, 12, 15)):
        statement = contract_statement(bands=CONTRACT_M_BANDS)
        lines(1, "eligible", statement=statement)
        lines(2, "eligible", statement=statement, kind=MENTOR)

        calc = calculate_statement(statement)

    assert calc.layout == calculation.COMBINED and calc.mentor is None
    assert band_results(calc) == {"A": (2, 0, 2), "B": (1, 0, 1)}
    assert [r.label for r in calc.summary_rows] == [
        "Output payment",
        "Service fee",
        "Uplift fees",
        "Clawbacks",
        "Additional adjustments",
        "VAT",
    ]


def test_a_provider_that_is_not_vat_chargeable_pays_no_vat():
    statement = contract_statement(vat_chargeable=False)

    calc = calculate_statement(statement)

    assert (calc.vat_rate, calc.vat, calc.total) == (0, 0, calc.net)


# ---------------------------------------------------------------------------------------
# Snapshot, display and queries


def test_snapshot_is_json_with_decimal_strings():
    with clock.frozen(at(2026, 1, 15)):
        statement = contract_statement(cohort=2025, mentor_contract=True, uplift_amount=None)
        lines(1, "eligible", statement=statement)
        snapshot = calculate_statement(statement).as_dict()

    assert json.loads(json.dumps(snapshot)) == snapshot
    assert Decimal(snapshot["service_fee"]) == calculate_statement(statement).service_fee
    fees = snapshot["banded"]["output_rows"][0]["fees"]
    assert all(isinstance(fee, str) for fee in fees)
    assert [Decimal(fee) for fee in fees] == [Decimal("119.40"), Decimal("117.48"), Decimal("115.92")]
    assert snapshot["statement_id"] == str(statement.pk)
    assert snapshot["contract"]["bands"][0]["label"] == "Band A"


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("-1234.565"), "-£1,234.57"),
        (Decimal("1234.564"), "£1,234.56"),
        (Decimal("0"), "£0.00"),
        (Decimal("-0.004"), "£0.00"),
        (Decimal("0.005"), "£0.01"),
        (Decimal("75943.06896551724137931034483"), "£75,943.07"),
        (Decimal("1000000"), "£1,000,000.00"),
        ("-238.8", "-£238.80"),
    ],
)
def test_money_is_shown_in_pounds_rounded_half_up(amount, shown):
    assert format_money(amount) == shown


def queries_to_calculate(statement) -> int:
    with CaptureQueriesContext(connection) as queries:
        calculate_statement(statement)
    return len(queries)


def test_calculation_reads_the_same_number_of_queries_for_5_or_200_declarations():
    """Five queries: the statement with its provider, cohort and contracts; the bands; the
    adjustments; the paying lines and the clawback lines (this statement and previous ones)."""
    with clock.frozen(at(2026, 1, 15)):
        few, many = (
            contract_statement(cohort=2025, mentor_contract=True, uplift_amount=None),
            contract_statement(cohort=2025, mentor_contract=True, uplift_amount=None),
        )
        for statement, extra in ((few, 0), (many, 39)):
            adjustment_create(statement=statement, payment_type="Correction", amount=Decimal("10"))
            templates = [
                DeclarationFactory(eligible=True, statement=statement),
                DeclarationFactory(eligible=True, statement=statement, declaration_type="retained-1"),
                DeclarationFactory(eligible=True, statement=statement, kind=MENTOR),
                DeclarationFactory(voided=True, statement=statement),
                DeclarationFactory(awaiting_clawback=True, clawback_statement=statement),
            ]
            for template in templates:
                bulk_lines(template, extra)

        assert Declaration.objects.filter(statement=few).count() + few.clawback_declarations.count() == 5
        assert Declaration.objects.filter(statement=many).count() + many.clawback_declarations.count() == 200
        assert queries_to_calculate(few) == queries_to_calculate(many) == 5
        assert calculate_statement(many).declaration_counts[0].started == 40

"""What a statement pays (finance.md §3), in every row its page shows (finance.md §4).

Two steps, kept apart so that each can be tested on its own:

* `read_statement_inputs` reads the database in a fixed number of queries, whatever the number
  of declarations: the statement with its contracts, the bands, the adjustments, and two
  aggregates that count the statement's lines (and those of its previous statements) grouped by
  course, declaration type, state and uplift flags.
* `calculate` turns those inputs into a `StatementCalculation` without touching the database.

A statement's lines are the declarations pointing at it (declarations.models): through
`statement` (the line that pays it; a paid declaration later clawed back keeps that `paid` line)
and through `clawback_statement` (the line that claws it back). This app sits below
`declarations`, so it reads them only through the reverse relations `Statement.declarations`
and `Statement.clawback_declarations`, and names their states as plain strings.

Money is Decimal at full precision (finance.md §3.13); only `format_money` rounds, for display.
A paid statement shows what was authorised, not a recalculation (decisions §15):
`statement_figures` returns its frozen snapshot.
"""

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from django.db.models import BooleanField, Case, Count, F, Q, Value, When

from ecf import clock
from participants.models import CourseIdentifier, DeclarationType
from statements.models import Statement

SNAPSHOT_VERSION = 1

# Declaration states as the declarations app names them (a test checks they agree).
BILLABLE_STATES = ("eligible", "payable", "paid")
REFUNDABLE_STATES = ("awaiting_clawback", "clawed_back")
VOIDED = "voided"
INELIGIBLE = "ineligible"
CLAWED_BACK = "clawed_back"
# Every state in which a declaration points at the statement that pays (or paid) it.
LINKED_STATES = (*BILLABLE_STATES, *REFUNDABLE_STATES, VOIDED, INELIGIBLE)

ECT = CourseIdentifier.ECF_INDUCTION.value
MENTOR = CourseIdentifier.ECF_MENTOR.value
ALL_COURSES = (ECT, MENTOR)

T = DeclarationType
TYPES = tuple(t.value for t in T)  # display order (finance.md §0)
RETAINED = (T.RETAINED_1.value, T.RETAINED_2.value, T.RETAINED_3.value, T.RETAINED_4.value)
EXTENDED = (T.EXTENDED_1.value, T.EXTENDED_2.value, T.EXTENDED_3.value)
TYPE_LABELS = {
    T.STARTED: "Started",
    T.RETAINED_1: "Retained 1",
    T.RETAINED_2: "Retained 2",
    T.RETAINED_3: "Retained 3",
    T.RETAINED_4: "Retained 4",
    T.COMPLETED: "Completed",
    T.EXTENDED_1: "Extended 1",
    T.EXTENDED_2: "Extended 2",
    T.EXTENDED_3: "Extended 3",
}
# Share of a band's output payment each output pays (finance.md §3.4): a participant who
# completes earns exactly the output share of the band price; extensions come on top.
PROPORTIONS = {
    T.STARTED: Decimal("0.20"),
    **{t: Decimal("0.15") for t in RETAINED},
    T.COMPLETED: Decimal("0.20"),
    **{t: Decimal("0.15") for t in EXTENDED},
}
# Output table rows: extended-1..3 are shown as one "Extended" row (finance.md §3.5).
OUTPUT_ROWS = (
    ("Started", (T.STARTED.value,)),
    *((TYPE_LABELS[t], (t,)) for t in RETAINED),
    ("Completed", (T.COMPLETED.value,)),
    ("Extended", EXTENDED),
)
# Mentors of cohorts with mentor funding are paid a flat half per started and completed (§3.11).
MENTOR_TYPES = (T.STARTED.value, T.COMPLETED.value)
MENTOR_PROPORTION = Decimal("0.5")

SERVICE_FEE_MONTHS = 29  # the service fee is spread over 29 monthly payments (finance.md §3.7)
REVISED_TARGET_RATIO = Decimal("1.5")  # display only (finance.md §1.3)
DEFAULT_VAT_RATE = Decimal("0.20")  # decisions §12, when a statement has no ECT contract
BAND_LETTERS = "ABCDEFGHIJ"
PENNY = Decimal("0.01")
ZERO = Decimal("0")

COMBINED = "combined"  # 2021-2024: one banded calculator over ECTs and mentors together
SPLIT = "split"  # cohorts with mentor funding: banded ECTs + flat-rate mentors (finance.md §3.11)


# ---------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class LineCounts:
    """The lines of one course and declaration type that a calculation counts (finance.md §3.2)."""

    billable: int = 0  # CB: eligible/payable/paid lines on the statement
    refundable: int = 0  # CR: awaiting_clawback/clawed_back lines on the statement
    previous_billable: int = 0  # PB: billable lines on the previous statements
    previous_refundable: int = 0  # PR: refundable lines on the previous statements
    uplift_billable: int = 0  # billable lines flagged for sparsity or pupil premium
    uplift_refundable: int = 0

    def __add__(self, other: "LineCounts") -> "LineCounts":
        return LineCounts(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))


@dataclass(frozen=True)
class LinkedCounts:
    """Declarations of one course linked to the statement, by current state (summary panel, §4.2)."""

    voided: int = 0
    ineligible: int = 0
    clawed_back: int = 0


@dataclass(frozen=True)
class BandTerms:
    letter: str
    label: str  # "Band A"... "Band D" (the original's "New target", finance.md §4.8)
    min: int | None
    max: int | None
    capacity: int | None  # None: no upper limit
    per_participant: Decimal
    output_payment_percentage: int
    service_fee_percentage: int


@dataclass(frozen=True)
class ContractTerms:
    """The ECT contract as the calculation (and the page's contract information) reads it."""

    version: str
    recruitment_target: int
    revised_recruitment_target: int
    set_up_fee: Decimal
    uplift_target: Decimal
    uplift_amount: Decimal | None
    monthly_service_fee: Decimal | None
    vat_rate: Decimal
    bands: tuple[BandTerms, ...]


@dataclass(frozen=True)
class MentorTerms:
    version: str
    recruitment_target: int
    revised_recruitment_target: int
    payment_per_participant: Decimal


@dataclass(frozen=True)
class AdjustmentLine:
    id: int | None
    payment_type: str
    amount: Decimal


@dataclass(frozen=True)
class StatementInputs:
    statement_id: UUID | None
    statement_name: str
    lead_provider: str
    cohort: int
    deadline_date: date
    payment_date: date
    output_fee: bool
    mentor_funding: bool
    vat_chargeable: bool
    contract: ContractTerms | None
    mentor_contract: MentorTerms | None
    adjustments: tuple[AdjustmentLine, ...]
    lines: Mapping[tuple[str, str], LineCounts]  # (course identifier, declaration type) -> counts
    linked: Mapping[str, LinkedCounts]  # course identifier -> counts


# ---------------------------------------------------------------------------------------
# Results: every row of the statement page, with Decimal amounts


@dataclass(frozen=True)
class BandAllocation:
    """One band for one declaration type: how it was filled before and on this statement (§3.3)."""

    band: str
    capacity: int | None
    previous: int  # filled by the previous statements
    additions: int  # paid on this statement
    subtractions: int  # clawed back on this statement
    net: int
    fee: Decimal  # per declaration of this type in this band (finance.md §3.4)
    payment: Decimal  # additions × fee
    clawback: Decimal  # subtractions × fee (positive)


@dataclass(frozen=True)
class TypeAllocation:
    declaration_type: str
    billable: int  # CB
    refundable: int  # CR
    previous_billable: int  # PB
    previous_refundable: int  # PR
    bands: tuple[BandAllocation, ...]
    unpaid: int  # billable lines beyond the last band's max: no output fee
    unmatched_clawbacks: int  # refundable lines with nothing left to take back from
    output_payment: Decimal
    clawbacks: Decimal  # positive


@dataclass(frozen=True)
class OutputRow:
    """Two table rows: the output with its additions per band, and its "Fee per participant" row."""

    label: str
    declaration_types: tuple[str, ...]
    additions: tuple[int, ...]  # per band, in band order
    fees: tuple[Decimal, ...]  # per band
    payment: Decimal


@dataclass(frozen=True)
class ClawbackRow:
    label: str  # "Clawback for Started (Band: A)", "Uplift clawbacks", "Clawback for Completed"
    count: int
    fee: Decimal  # negative, as shown
    amount: Decimal  # negative, as shown


@dataclass(frozen=True)
class Uplift:
    amount: Decimal | None  # fee per participant; None: the contract pays no uplift
    billable: int
    refundable: int
    fees: Decimal
    clawbacks: Decimal  # positive


@dataclass(frozen=True)
class ServiceFeeBand:
    """One band's part of the computed service fee (finance.md §3.7), as the page explains it."""

    band: str
    participants: int  # of the recruitment target, filling the bands in order
    per_participant: Decimal  # the band price
    service_fee_percentage: int
    service_share: Decimal  # per participant: price × service %
    set_up_fee_deducted: Decimal  # band A only: its share of the set-up fee
    amount: Decimal  # participants × service share − set-up fee deducted


@dataclass(frozen=True)
class ServiceFeeDerivation:
    set_on_contract: bool  # the contract's monthly_service_fee, not computed
    bands: tuple[ServiceFeeBand, ...]
    total: Decimal  # over the whole contract, before spreading
    months: int
    monthly: Decimal  # the service fee of every statement of the contract version


@dataclass(frozen=True)
class FeeDerivation:
    """How a band price becomes the fee per declaration of a type (finance.md §3.4)."""

    band: str
    per_participant: Decimal
    output_payment_percentage: int
    declaration_types: tuple[str, ...]  # the types sharing this proportion
    proportion: Decimal  # 0.20 started/completed, 0.15 retained/extended
    fee: Decimal


@dataclass(frozen=True)
class BandedCalculation:
    """The banded calculator: ECTs and mentors together (2021-2024) or ECTs only (split layout)."""

    population: tuple[str, ...]  # course identifiers counted
    bands: tuple[BandTerms, ...]
    types: tuple[TypeAllocation, ...]  # every declaration type, in display order
    output_rows: tuple[OutputRow, ...]
    output_payment: Decimal  # gross: additions only
    uplift: Uplift
    clawback_rows: tuple[ClawbackRow, ...]
    output_clawbacks: Decimal  # positive
    clawbacks: Decimal  # output + uplift clawbacks, negative as shown
    service_fee: Decimal
    service_fee_computed: bool  # False when the contract's monthly_service_fee overrides it
    adjustments_total: Decimal
    net: Decimal
    vat: Decimal
    total: Decimal
    service_fee_derivation: ServiceFeeDerivation | None = None  # None: no ECT contract
    fee_derivations: tuple[FeeDerivation, ...] = ()
    beyond_last_band: int = 0  # billable lines beyond the last band's max: no output payment
    top_band: str | None = None  # the highest band holding declarations: clawbacks are priced at it


@dataclass(frozen=True)
class MentorOutputRow:
    label: str
    declaration_type: str
    count: int  # billable lines (the page shows additions, not net: finance.md §5 T7)
    fee: Decimal
    payment: Decimal


@dataclass(frozen=True)
class MentorCalculation:
    """The flat-rate mentor calculator of cohorts with mentor funding (finance.md §3.11)."""

    payment_per_participant: Decimal
    output_rows: tuple[MentorOutputRow, ...]
    output_payment: Decimal
    clawback_rows: tuple[ClawbackRow, ...]
    clawbacks: Decimal  # negative, as shown
    net: Decimal
    vat: Decimal
    total: Decimal


@dataclass(frozen=True)
class DeclarationCounts:
    """A column of the summary counts (finance.md §4.2, §4.3); None is shown as "-"."""

    label: str
    started: int
    retained: int | None
    completed: int
    extended: int | None
    clawed_back: int
    voided: int
    ineligible: int


@dataclass(frozen=True)
class SummaryRow:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class StatementCalculation:
    statement_id: UUID | None
    statement_name: str
    lead_provider: str
    cohort: int
    deadline_date: date
    payment_date: date
    output_fee: bool
    layout: str  # COMBINED or SPLIT
    vat_rate: Decimal  # the rate applied: the contract's when the provider is VAT-chargeable, else 0
    contract: ContractTerms | None
    mentor_contract: MentorTerms | None
    banded: BandedCalculation  # ECTs and mentors (combined layout) or ECTs only (split layout)
    mentor: MentorCalculation | None  # split layout only
    adjustments: tuple[AdjustmentLine, ...]
    adjustments_total: Decimal
    service_fee: Decimal
    output_payment: Decimal  # banded + mentor, gross
    uplift_fees: Decimal
    clawbacks: Decimal  # everything clawed back, negative
    summary_rows: tuple[SummaryRow, ...]  # the summary panel, in page order, without Total
    declaration_counts: tuple[DeclarationCounts, ...]  # one column (combined) or ECTs, Mentors
    net: Decimal
    vat: Decimal
    total: Decimal
    calculated_at: datetime = field(default_factory=clock.now)

    def as_dict(self) -> dict:
        """A JSON-serialisable snapshot: Decimals, dates and ids as strings (for freezing)."""
        return {"snapshot_version": SNAPSHOT_VERSION, **_jsonable(dataclasses.asdict(self))}


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------
# Entry points


def calculate_statement(statement: Statement) -> StatementCalculation:
    """Recalculate the statement from its lines, contracts and adjustments (finance.md §3)."""
    return calculate(read_statement_inputs(statement))


def statement_figures(statement: Statement) -> dict:
    """What the statement page shows: the amounts as authorised for a paid statement
    (decisions §15), otherwise a fresh calculation, both as `StatementCalculation.as_dict()`."""
    if statement.is_paid and statement.paid_amounts:
        return statement.paid_amounts
    return calculate_statement(statement).as_dict()


def format_money(amount: Decimal | str | int) -> str:
    """£ with 2 decimals rounded half-up, thousands separators, the minus before the £ (§3.13)."""
    pennies = Decimal(str(amount)).quantize(PENNY, rounding=ROUND_HALF_UP)
    if pennies == 0:
        return "£0.00"
    return f"{'-' if pennies < 0 else ''}£{abs(pennies):,.2f}"


# ---------------------------------------------------------------------------------------
# Reading the database


def read_statement_inputs(statement: Statement) -> StatementInputs:
    """Everything the calculation needs, in five queries whatever the number of declarations."""
    # 1. The statement itself, fresh, with its provider, cohort and contracts.
    statement = Statement.objects.select_related("lead_provider", "cohort", "ect_contract", "mentor_contract").get(
        pk=statement.pk
    )
    ect_contract = statement.ect_contract
    # 2. The ECT contract's bands.
    contract = _contract_terms(ect_contract, ect_contract.bands.all()) if ect_contract else None
    # 3. The adjustments, in the order they were added.
    adjustments = tuple(
        AdjustmentLine(id=a.pk, payment_type=a.payment_type, amount=a.amount)
        for a in statement.adjustments.order_by("created_at", "pk")
    )
    # 4 and 5. The lines of this statement and of the previous ones (finance.md §1.1).
    lines, linked = _count_lines(statement)
    return StatementInputs(
        statement_id=statement.pk,
        statement_name=statement.name,
        lead_provider=statement.lead_provider.name,
        cohort=statement.cohort_id,
        deadline_date=statement.deadline_date,
        payment_date=statement.payment_date,
        output_fee=statement.output_fee,
        mentor_funding=statement.cohort.mentor_funding,
        vat_chargeable=statement.lead_provider.vat_chargeable,
        contract=contract,
        mentor_contract=_mentor_terms(statement.mentor_contract) if statement.mentor_contract else None,
        adjustments=adjustments,
        lines=lines,
        linked=linked,
    )


def _count_lines(statement: Statement) -> tuple[dict, dict]:
    """Two aggregates: the paying lines and the clawback lines of the statement and of its
    previous statements (same provider and cohort, earlier payment date, any type or status)."""
    window = Statement.objects.filter(
        lead_provider_id=statement.lead_provider_id, cohort_id=statement.cohort_id
    ).filter(Q(pk=statement.pk) | Q(payment_date__lt=statement.payment_date))
    is_current = Case(When(pk=statement.pk, then=Value(True)), default=Value(False), output_field=BooleanField())

    def grouped(relation: str, states: Sequence[str]) -> Iterable[dict]:
        return (
            window.filter(**{f"{relation}__state__in": states})
            .annotate(current=is_current)
            .values(
                "current",
                state=F(f"{relation}__state"),
                course=F(f"{relation}__course_identifier"),
                declaration_type=F(f"{relation}__declaration_type"),
                sparsity=F(f"{relation}__sparsity_uplift"),
                pupil_premium=F(f"{relation}__pupil_premium_uplift"),
            )
            .annotate(lines=Count(f"{relation}__id"))
            .order_by()
        )

    lines: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    linked: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # A declaration's paying line: billable, or `paid` when it is being (or was) clawed back.
    for row in grouped("declarations", LINKED_STATES):
        key, n, current, state = (row["course"], row["declaration_type"]), row["lines"], row["current"], row["state"]
        if state in BILLABLE_STATES or state in REFUNDABLE_STATES:
            lines[key]["billable" if current else "previous_billable"] += n
            if current and _uplifted(row):
                lines[key]["uplift_billable"] += n
        if current and state in (VOIDED, INELIGIBLE, CLAWED_BACK):
            linked[row["course"]][state] += n
    for row in grouped("clawback_declarations", REFUNDABLE_STATES):
        key, n, current, state = (row["course"], row["declaration_type"]), row["lines"], row["current"], row["state"]
        lines[key]["refundable" if current else "previous_refundable"] += n
        if current and _uplifted(row):
            lines[key]["uplift_refundable"] += n
        if current and state == CLAWED_BACK:
            linked[row["course"]][CLAWED_BACK] += n
    return (
        {key: LineCounts(**counts) for key, counts in lines.items()},
        {course: LinkedCounts(**counts) for course, counts in linked.items()},
    )


def _uplifted(row: dict) -> bool:
    """One uplift per started line flagged for sparsity or pupil premium, never two (§3.6)."""
    return row["declaration_type"] == T.STARTED and (row["sparsity"] or row["pupil_premium"])


def _revised_target(target: int) -> int:
    return int((Decimal(target) * REVISED_TARGET_RATIO).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _contract_terms(contract, bands) -> ContractTerms:
    # Bands are lettered by ascending max; a band without a max has no upper limit, so it is last.
    ordered = sorted(bands, key=lambda b: (b.max is None, b.max or 0, b.min or 0))
    return ContractTerms(
        version=contract.version,
        recruitment_target=contract.recruitment_target,
        revised_recruitment_target=_revised_target(contract.recruitment_target),
        set_up_fee=contract.set_up_fee,
        uplift_target=contract.uplift_target,
        uplift_amount=contract.uplift_amount,
        monthly_service_fee=contract.monthly_service_fee,
        vat_rate=contract.vat_rate,
        bands=tuple(_band_terms(index, band) for index, band in enumerate(ordered)),
    )


def _band_terms(index: int, band) -> BandTerms:
    low = max(1, band.min or 0)
    return BandTerms(
        letter=BAND_LETTERS[index],
        # One name everywhere (issue 17): the fourth band is "Band D", described once on the page as
        # the new target (participants over the original band C target up to the new target).
        label=f"Band {BAND_LETTERS[index]}",
        min=band.min,
        max=band.max,
        capacity=None if band.max is None else max(band.max - low + 1, 0),
        per_participant=band.per_participant,
        output_payment_percentage=band.output_payment_percentage,
        service_fee_percentage=band.service_fee_percentage,
    )


def _mentor_terms(contract) -> MentorTerms:
    return MentorTerms(
        version=contract.version,
        recruitment_target=contract.recruitment_target,
        revised_recruitment_target=_revised_target(contract.recruitment_target),
        payment_per_participant=contract.payment_per_participant,
    )


# ---------------------------------------------------------------------------------------
# The calculation (no database access)


def calculate(inputs: StatementInputs) -> StatementCalculation:
    contract = inputs.contract
    vat_rate = (contract.vat_rate if contract else DEFAULT_VAT_RATE) if inputs.vat_chargeable else ZERO
    layout = SPLIT if inputs.mentor_funding else COMBINED
    population = (ECT,) if layout == SPLIT else ALL_COURSES
    adjustments_total = sum((a.amount for a in inputs.adjustments), ZERO)

    banded = _banded(inputs, population, vat_rate, adjustments_total)
    mentor = _mentor(inputs, vat_rate) if layout == SPLIT else None
    mentor_output = mentor.output_payment if mentor else ZERO
    mentor_clawbacks = mentor.clawbacks if mentor else ZERO

    if layout == COMBINED:
        summary = (
            SummaryRow("Output payment", banded.output_payment),
            SummaryRow("Service fee", banded.service_fee),
            SummaryRow("Uplift fees", banded.uplift.fees),
            SummaryRow("Clawbacks", banded.clawbacks),
            SummaryRow("Additional adjustments", adjustments_total),
            SummaryRow("VAT", banded.vat),
        )
        counts = (_banded_counts("Participants", banded, inputs, population),)
    else:
        summary = (
            SummaryRow("ECTs output payment", banded.output_payment),
            SummaryRow("Mentors output payment", mentor_output),
            SummaryRow("Service fee", banded.service_fee),
            # The 2025 contracts pay no uplift; a contract that does still adds up on the page.
            *((SummaryRow("Uplift fees", banded.uplift.fees),) if banded.uplift.amount is not None else ()),
            SummaryRow("ECT clawbacks", banded.clawbacks),
            SummaryRow("Mentor clawbacks", mentor_clawbacks),
            SummaryRow("Additional adjustments", adjustments_total),
            SummaryRow("VAT", banded.vat + mentor.vat),
        )
        counts = (_banded_counts("ECTs", banded, inputs, population), _mentor_counts(mentor, inputs))

    return StatementCalculation(
        statement_id=inputs.statement_id,
        statement_name=inputs.statement_name,
        lead_provider=inputs.lead_provider,
        cohort=inputs.cohort,
        deadline_date=inputs.deadline_date,
        payment_date=inputs.payment_date,
        output_fee=inputs.output_fee,
        layout=layout,
        vat_rate=vat_rate,
        contract=contract,
        mentor_contract=inputs.mentor_contract,
        banded=banded,
        mentor=mentor,
        adjustments=inputs.adjustments,
        adjustments_total=adjustments_total,
        service_fee=banded.service_fee,
        output_payment=banded.output_payment + mentor_output,
        uplift_fees=banded.uplift.fees,
        clawbacks=banded.clawbacks + mentor_clawbacks,
        summary_rows=summary,
        declaration_counts=counts,
        net=banded.net + (mentor.net if mentor else ZERO),
        vat=banded.vat + (mentor.vat if mentor else ZERO),
        total=banded.total + (mentor.total if mentor else ZERO),
    )


def _population_counts(inputs: StatementInputs, population: Sequence[str], declaration_type: str) -> LineCounts:
    return sum((inputs.lines.get((course, declaration_type), LineCounts()) for course in population), LineCounts())


def _banded(
    inputs: StatementInputs, population: tuple[str, ...], vat_rate: Decimal, adjustments_total: Decimal
) -> BandedCalculation:
    """finance.md §3.3-§3.10: bands, output payments, uplifts, clawbacks, service fee, VAT."""
    contract = inputs.contract
    bands = contract.bands if contract else ()
    types = tuple(
        _allocate_type(declaration_type, bands, _population_counts(inputs, population, declaration_type))
        for declaration_type in TYPES
    )
    by_type = {allocation.declaration_type: allocation for allocation in types}
    output_payment = sum((t.output_payment for t in types), ZERO)
    output_clawbacks = sum((t.clawbacks for t in types), ZERO)

    started = _population_counts(inputs, population, T.STARTED)
    uplift_amount = contract.uplift_amount if contract else None
    uplift = Uplift(
        amount=uplift_amount,
        billable=started.uplift_billable,
        refundable=started.uplift_refundable,
        fees=started.uplift_billable * uplift_amount if uplift_amount is not None else ZERO,
        clawbacks=started.uplift_refundable * uplift_amount if uplift_amount is not None else ZERO,
    )

    derivation = service_fee_derivation(contract) if contract else None
    fee = derivation.monthly if derivation else ZERO
    clawbacks = -(output_clawbacks + uplift.clawbacks)
    net = fee + output_payment + uplift.fees + clawbacks + adjustments_total
    vat = net * vat_rate
    return BandedCalculation(
        population=population,
        bands=bands,
        types=types,
        output_rows=tuple(_output_row(label, [by_type[t] for t in group], bands) for label, group in OUTPUT_ROWS),
        output_payment=output_payment,
        uplift=uplift,
        clawback_rows=_banded_clawback_rows(types, bands, uplift),
        output_clawbacks=output_clawbacks,
        clawbacks=clawbacks,
        service_fee=fee,
        service_fee_computed=contract is not None and contract.monthly_service_fee is None,
        adjustments_total=adjustments_total,
        net=net,
        vat=vat,
        total=net + vat,
        service_fee_derivation=derivation,
        fee_derivations=_fee_derivations(bands),
        beyond_last_band=sum(t.unpaid for t in types),
        top_band=_top_band(types, bands),
    )


# Declaration types that share a proportion of the band's output payment, as the page groups them.
FEE_GROUPS = ((T.STARTED.value, T.COMPLETED.value), (*RETAINED, *EXTENDED))


def _fee_derivations(bands: Sequence[BandTerms]) -> tuple[FeeDerivation, ...]:
    return tuple(
        FeeDerivation(
            band=band.letter,
            per_participant=band.per_participant,
            output_payment_percentage=band.output_payment_percentage,
            declaration_types=group,
            proportion=PROPORTIONS[group[0]],
            fee=fee_per_declaration(group[0], band),
        )
        for band in bands
        for group in FEE_GROUPS
    )


def _top_band(types: Sequence[TypeAllocation], bands: Sequence[BandTerms]) -> str | None:
    """The highest band any declaration type occupies after this statement's additions (§3.3 step 3:
    clawbacks are taken from the top down, at that band's price, whatever was paid)."""
    for i in reversed(range(len(bands))):
        if any(t.bands[i].previous + t.bands[i].additions for t in types):
            return bands[i].letter
    return None


def fee_per_declaration(declaration_type: str, band: BandTerms) -> Decimal:
    """finance.md §3.4: the type's share of the band's output payment."""
    return PROPORTIONS[declaration_type] * band.per_participant * band.output_payment_percentage / 100


def _room(capacity: int | None, used: int, pot: int) -> int:
    return pot if capacity is None else max(min(pot, capacity - used), 0)


def allocate(capacities: Sequence[int | None], counts: LineCounts) -> tuple[list[int], ...]:
    """The original's band allocation for one declaration type (finance.md §3.3, decisions §10).

    Returns (previous, additions, subtractions, net) per band, plus [unpaid, unmatched clawbacks].
    """
    size = len(capacities)
    # 1. What the previous statements already fill (their clawbacks netted before filling).
    previous, pot = [0] * size, max(counts.previous_billable - counts.previous_refundable, 0)
    for i, capacity in enumerate(capacities):
        previous[i] = _room(capacity, 0, pot)
        pot -= previous[i]
    # 2. This statement's billable lines fill the room left, bottom up; the rest is not paid.
    additions, pot = [0] * size, counts.billable
    for i, capacity in enumerate(capacities):
        additions[i] = _room(capacity, previous[i], pot)
        pot -= additions[i]
    unpaid = pot
    # 3. Clawbacks take from this statement's additions first, top down...
    net, subtractions, pot = list(additions), [0] * size, counts.refundable
    for i in reversed(range(size)):
        take = min(additions[i], pot)
        net[i] -= take
        subtractions[i] += take
        pot -= take
    # 4. ...then from what the previous statements filled, top down; anything left is ignored.
    for i in reversed(range(size)):
        if previous[i] == 0:
            continue
        take = min(pot, previous[i])
        net[i] -= take
        subtractions[i] += take
        pot -= take
    return previous, additions, subtractions, net, [unpaid, pot]


def _allocate_type(declaration_type: str, bands: Sequence[BandTerms], counts: LineCounts) -> TypeAllocation:
    previous, additions, subtractions, net, (unpaid, unmatched) = allocate([b.capacity for b in bands], counts)
    allocations = []
    for i, band in enumerate(bands):
        fee = fee_per_declaration(declaration_type, band)
        allocations.append(
            BandAllocation(
                band=band.letter,
                capacity=band.capacity,
                previous=previous[i],
                additions=additions[i],
                subtractions=subtractions[i],
                net=net[i],
                fee=fee,
                payment=additions[i] * fee,
                clawback=subtractions[i] * fee,
            )
        )
    if not bands:  # no contract bands: nothing can be paid
        unpaid, unmatched = counts.billable, counts.refundable
    return TypeAllocation(
        declaration_type=declaration_type,
        billable=counts.billable,
        refundable=counts.refundable,
        previous_billable=counts.previous_billable,
        previous_refundable=counts.previous_refundable,
        bands=tuple(allocations),
        unpaid=unpaid,
        unmatched_clawbacks=unmatched,
        output_payment=sum((a.payment for a in allocations), ZERO),
        clawbacks=sum((a.clawback for a in allocations), ZERO),
    )


def _output_row(label: str, group: list[TypeAllocation], bands: Sequence[BandTerms]) -> OutputRow:
    # A combined row (Extended) shows the first type's fee: all three pay the same 15 %.
    return OutputRow(
        label=label,
        declaration_types=tuple(t.declaration_type for t in group),
        additions=tuple(sum(t.bands[i].additions for t in group) for i in range(len(bands))),
        fees=tuple(group[0].bands[i].fee for i in range(len(bands))),
        payment=sum((t.output_payment for t in group), ZERO),
    )


def _banded_clawback_rows(
    types: Sequence[TypeAllocation], bands: Sequence[BandTerms], uplift: Uplift
) -> tuple[ClawbackRow, ...]:
    """finance.md §4.6: the uplift row first, then one row per band and type clawed back."""
    rows = []
    if uplift.amount is not None:
        rows.append(ClawbackRow("Uplift clawbacks", uplift.refundable, -uplift.amount, -uplift.clawbacks))
    for i, band in enumerate(bands):
        for allocation in types:
            cell = allocation.bands[i]
            if cell.subtractions:
                label = f"Clawback for {TYPE_LABELS[allocation.declaration_type]} (Band: {band.letter})"
                rows.append(ClawbackRow(label, cell.subtractions, -cell.fee, -cell.clawback))
    return tuple(rows)


def band_fill(bands: Sequence[BandTerms], *, count: int, already: int = 0) -> list[int]:
    """How `count` participants fill the bands after `already` previous ones (the original's
    participant-band helper, finance.md §3.3 last paragraph): per band, how many fall in it."""
    filled = []
    for band in bands:
        lower, upper = max((band.min or 0) - 1, 0), band.max
        start, end = max(already, lower), already + count
        if upper is not None:
            end = min(end, upper)
        filled.append(max(end - start, 0))
    return filled


def service_fee(contract: ContractTerms) -> Decimal:
    """finance.md §3.7: the contract's monthly fee if set, else the bands' service share of the
    recruitment target less the set-up fee, over 29 months. Not rounded."""
    return service_fee_derivation(contract).monthly


def service_fee_derivation(contract: ContractTerms) -> ServiceFeeDerivation:
    """The service fee with every step of its computation, so the page can show how it was reached."""
    if contract.monthly_service_fee is not None:
        fee = contract.monthly_service_fee
        return ServiceFeeDerivation(set_on_contract=True, bands=(), total=fee, months=1, monthly=fee)
    rows = []
    filled = band_fill(contract.bands, count=contract.recruitment_target)
    for index, (band, participants) in enumerate(zip(contract.bands, filled, strict=True)):
        share = band.per_participant * band.service_fee_percentage / 100
        deducted = ZERO
        if index == 0 and participants:
            # The set-up fee is deducted in proportion to how much of band A the target fills
            # (a band A without a max: all of it).
            deducted = participants * contract.set_up_fee / (band.max or participants)
        rows.append(
            ServiceFeeBand(
                band=band.letter,
                participants=participants,
                per_participant=band.per_participant,
                service_fee_percentage=band.service_fee_percentage,
                service_share=share,
                set_up_fee_deducted=deducted,
                amount=participants * share - deducted,
            )
        )
    total = sum((row.amount for row in rows), ZERO)
    return ServiceFeeDerivation(
        set_on_contract=False,
        bands=tuple(rows),
        total=total,
        months=SERVICE_FEE_MONTHS,
        monthly=total / SERVICE_FEE_MONTHS,
    )


def _mentor(inputs: StatementInputs, vat_rate: Decimal) -> MentorCalculation:
    """finance.md §3.11: a flat half of the mentor payment per started and per completed line."""
    price = inputs.mentor_contract.payment_per_participant if inputs.mentor_contract else ZERO
    fee = MENTOR_PROPORTION * price
    rows, clawback_rows = [], []
    for declaration_type in MENTOR_TYPES:
        counts = inputs.lines.get((MENTOR, declaration_type), LineCounts())
        label = TYPE_LABELS[declaration_type]
        rows.append(MentorOutputRow(label, declaration_type, counts.billable, fee, counts.billable * fee))
        if counts.refundable:
            clawback_rows.append(
                ClawbackRow(f"Clawback for {label}", counts.refundable, -fee, -(counts.refundable * fee))
            )
    output_payment = sum((row.payment for row in rows), ZERO)
    clawbacks = sum((row.amount for row in clawback_rows), ZERO)
    net = output_payment + clawbacks
    vat = net * vat_rate
    return MentorCalculation(
        payment_per_participant=price,
        output_rows=tuple(rows),
        output_payment=output_payment,
        clawback_rows=tuple(clawback_rows),
        clawbacks=clawbacks,
        net=net,
        vat=vat,
        total=net + vat,
    )


def _additions(banded: BandedCalculation, types: Sequence[str]) -> int:
    return sum(sum(band.additions for band in t.bands) for t in banded.types if t.declaration_type in types)


def _linked(inputs: StatementInputs, population: Sequence[str]) -> LinkedCounts:
    found = [inputs.linked.get(course, LinkedCounts()) for course in population]
    return LinkedCounts(
        voided=sum(c.voided for c in found),
        ineligible=sum(c.ineligible for c in found),
        clawed_back=sum(c.clawed_back for c in found),
    )


def _banded_counts(
    label: str, banded: BandedCalculation, inputs: StatementInputs, population: Sequence[str]
) -> DeclarationCounts:
    """Starts, retained, completed and extended are the band additions (§4.2); clawed back and
    voided count the declarations linked to the statement in that state now."""
    linked = _linked(inputs, population)
    return DeclarationCounts(
        label=label,
        started=_additions(banded, (T.STARTED,)),
        retained=_additions(banded, RETAINED),
        completed=_additions(banded, (T.COMPLETED,)),
        extended=_additions(banded, EXTENDED),
        clawed_back=linked.clawed_back,
        voided=linked.voided,
        ineligible=linked.ineligible,
    )


def _mentor_counts(mentor: MentorCalculation, inputs: StatementInputs) -> DeclarationCounts:
    linked = _linked(inputs, (MENTOR,))
    billable = {row.declaration_type: row.count for row in mentor.output_rows}
    return DeclarationCounts(
        label="Mentors",
        started=billable[T.STARTED],
        retained=None,
        completed=billable[T.COMPLETED],
        extended=None,
        clawed_back=linked.clawed_back,
        voided=linked.voided,
        ineligible=linked.ineligible,
    )

"""Reads for the finance back office that need declarations: a statement's voided declarations,
its assurance report (finance.md §4.11, decisions §16) and a participant's whole record.

They live here, not in `statements`, because declarations sit above statements (design.md §1):
this app may read statements and participants, not the other way round.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, Q, QuerySet

from declarations.models import (
    BILLABLE_STATES,
    REFUNDABLE_STATES,
    ActorKind,
    Declaration,
    DeclarationState,
    DeclarationStateChange,
)
from ecf import rfc3339
from ecf.spreadsheet import spreadsheet_csv_lines
from participants.models import (
    CourseIdentifier,
    EligibilityReason,
    EligibilityStatus,
    Enrolment,
    EnrolmentKind,
    Participant,
    ParticipantIdChange,
    TrainingPeriod,
    TrainingStatus,
    TrainingStatusChange,
)
from statements.calculation import SPLIT, statement_figures
from statements.models import Statement

S = DeclarationState
ECT = CourseIdentifier.ECF_INDUCTION.value
MENTOR = CourseIdentifier.ECF_MENTOR.value
PENNY = Decimal("0.01")
ZERO = Decimal("0")

# ---------------------------------------------------------------------------------------
# A statement's voided declarations (finance.md §4.10)

VOIDED_TITLES = {None: "Voided declarations", ECT: "ECT voided declarations", MENTOR: "Mentor voided declarations"}


def statement_voided_declarations(statement: Statement, *, course: str | None = None) -> QuerySet[Declaration]:
    """The declarations voided while this statement was to pay them (their line on it is voided)."""
    voided = Declaration.objects.filter(statement=statement, state=S.VOIDED)
    if course is not None:
        voided = voided.filter(course_identifier=course)
    return voided.order_by("created_at", "id")


# ---------------------------------------------------------------------------------------
# The assurance report (finance.md §4.11, decisions §16)

ASSURANCE_COLUMNS = (
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
    # decisions §16: what the line paid (a payment line) or took back (a clawback line).
    "Line Type",
    "Band",
    "Output Amount",
    "Uplift Amount",
)
PROFILE_TYPES = {EnrolmentKind.ECT: "ParticipantProfile::ECT", EnrolmentKind.MENTOR: "ParticipantProfile::Mentor"}
PAYMENT_LINE, CLAWBACK_LINE = "payment", "clawback"


@dataclass(frozen=True)
class LineAmount:
    band: str = ""
    output: Decimal = ZERO
    uplift: Decimal = ZERO


def _in_declaration_order(rows: Iterable[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["declaration_date"], r["created_at"], str(r["id"])))


def line_amounts(statement: Statement, figures: dict) -> dict[tuple, LineAmount]:
    """What each line of the statement paid or clawed back: {(declaration id, line type): amount}.

    The calculation pays counts per band, not named declarations (finance.md §3.3). To say which
    line took which place, lines of a declaration type take the places of its bands in the order
    they were declared (declaration date, then creation), bottom band first; clawback lines take
    the bands' subtractions from the top band down, as the calculation does. The amounts therefore
    add up to the statement's output payment and clawbacks. Figures are the statement's own (the
    frozen ones once paid), so a paid statement's report matches what was paid.
    """
    banded = figures["banded"]
    population = (ECT,) if figures["layout"] == SPLIT else (ECT, MENTOR)
    uplift_amount = banded["uplift"]["amount"]
    uplift = Decimal(uplift_amount) if uplift_amount is not None else None
    fields = ("id", "course_identifier", "declaration_type", "declaration_date", "created_at")
    flags = ("sparsity_uplift", "pupil_premium_uplift")
    paying = Declaration.objects.filter(statement=statement, state__in=(*BILLABLE_STATES, *REFUNDABLE_STATES))
    clawing = Declaration.objects.filter(clawback_statement=statement, state__in=REFUNDABLE_STATES)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in paying.values(*fields, *flags):
        groups[(PAYMENT_LINE, row["course_identifier"] in population, row["declaration_type"])].append(row)
    for row in clawing.values(*fields, *flags):
        groups[(CLAWBACK_LINE, row["course_identifier"] in population, row["declaration_type"])].append(row)

    by_type = {allocation["declaration_type"]: allocation["bands"] for allocation in banded["types"]}
    mentor_fees = {
        r["declaration_type"]: Decimal(r["fee"]) for r in (figures.get("mentor") or {}).get("output_rows", [])
    }
    amounts: dict[tuple, LineAmount] = {}
    for (line_type, banded_line, declaration_type), rows in groups.items():
        sign = 1 if line_type == PAYMENT_LINE else -1
        rows = _in_declaration_order(rows)
        if banded_line:
            bands = by_type.get(declaration_type, [])
            places = [(b["band"], Decimal(b["fee"]), b["additions" if sign > 0 else "subtractions"]) for b in bands]
            if sign < 0:
                places.reverse()
            slots = [(letter, fee) for letter, fee, count in places for _ in range(count)]
        else:  # a mentor of a cohort with mentor funding: a flat fee per started and completed line
            fee = mentor_fees.get(declaration_type)
            slots = [("", fee)] * len(rows) if fee is not None else []
        for index, row in enumerate(rows):
            letter, fee = slots[index] if index < len(slots) else ("", ZERO)
            flagged = row["sparsity_uplift"] or row["pupil_premium_uplift"]
            uplift_due = (
                uplift if banded_line and uplift is not None and flagged and declaration_type == "started" else ZERO
            )
            amounts[(row["id"], line_type)] = LineAmount(letter, sign * fee, sign * uplift_due)
    return amounts


def _lines_of(declaration: Declaration, statement_id) -> Iterator[tuple[str, str]]:
    """(line type, line state) of each line the declaration has on the statement (finance.md §1.2)."""
    if declaration.statement_id == statement_id:
        state = S.PAID if declaration.state in REFUNDABLE_STATES else declaration.state
        yield PAYMENT_LINE, state
    if declaration.clawback_statement_id == statement_id:
        yield CLAWBACK_LINE, declaration.state


def _yes_no(value: bool) -> str:
    return "true" if value else "false"


def _pounds(amount: Decimal) -> str:
    return str(amount.quantize(PENNY, rounding=ROUND_HALF_UP) + 0)  # + 0: no "-0.00"


def _assurance_declarations(statement: Statement) -> QuerySet[Declaration]:
    provider_periods = (
        TrainingPeriod.objects.filter(partnership__lead_provider_id=statement.lead_provider_id)
        .select_related("school", "schedule", "partnership__delivery_partner")
        .order_by("-start_date", "-created_at", "-id")
    )
    withdrawals = TrainingStatusChange.objects.filter(
        lead_provider_id=statement.lead_provider_id, training_status=TrainingStatus.WITHDRAWN
    ).order_by("-created_at", "-id")
    return (
        Declaration.objects.filter(Q(statement=statement) | Q(clawback_statement=statement))
        .select_related("participant", "enrolment__schedule", "delivery_partner")
        .prefetch_related(
            Prefetch("enrolment__training_periods", queryset=provider_periods, to_attr="provider_periods"),
            Prefetch("enrolment__training_status_changes", queryset=withdrawals, to_attr="provider_withdrawals"),
        )
        .order_by("participant__full_name", "participant_id", "created_at", "id")
    )


def assurance_rows(statement: Statement, figures: dict, *, chunk_size: int = 2000) -> Iterator[list[str]]:
    """The header, then one row per line of the statement, in every state, ordered by the
    participant's name: a constant number of queries per chunk of declarations."""
    yield list(ASSURANCE_COLUMNS)
    amounts = line_amounts(statement, figures)
    provider_name = statement.lead_provider.name
    for declaration in _assurance_declarations(statement).iterator(chunk_size=chunk_size):
        participant, enrolment = declaration.participant, declaration.enrolment
        period = enrolment.provider_periods[0] if enrolment.provider_periods else None
        withdrawal = enrolment.provider_withdrawals[0] if enrolment.provider_withdrawals else None
        eligible = enrolment.eligibility_status == EligibilityStatus.ELIGIBLE
        reason = (
            enrolment.eligibility_reason
            if not eligible and enrolment.eligibility_reason != EligibilityReason.NONE
            else ""
        )
        delivery_partner = declaration.delivery_partner or (
            period.partnership.delivery_partner if period and period.partnership else None
        )
        mentor_id = period.mentor_id if period and enrolment.kind == EnrolmentKind.ECT else None
        common = [
            str(participant.id),
            participant.full_name,
            participant.trn or "",
            PROFILE_TYPES.get(enrolment.kind, enrolment.kind),
            str(mentor_id or ""),
            (period.schedule if period else enrolment.schedule).identifier,
            _yes_no(eligible),
            reason or "",
            _yes_no(enrolment.sparsity_uplift),
            _yes_no(enrolment.pupil_premium_uplift),
            _yes_no(enrolment.sparsity_uplift and enrolment.pupil_premium_uplift),
            provider_name,
            delivery_partner.name if delivery_partner else "",
            period.school.urn if period else "",
            period.school.name if period else "",
            period.training_status if period else enrolment.training_status,
            withdrawal.reason if withdrawal else "",
            str(declaration.id),
        ]
        for line_type, state in _lines_of(declaration, statement.pk):
            amount = amounts.get((declaration.id, line_type), LineAmount())
            yield [
                *common,
                state,
                declaration.declaration_type,
                rfc3339.format_timestamp(declaration.declaration_date),
                rfc3339.format_timestamp(declaration.created_at),
                statement.name,
                str(statement.pk),
                _yes_no(enrolment.sparsity_uplift or enrolment.pupil_premium_uplift),
                line_type,
                amount.band,
                _pounds(amount.output),
                _pounds(amount.uplift),
            ]


def assurance_csv_lines(statement: Statement, figures: dict) -> Iterator[str]:
    """Finance staff open it in a spreadsheet: no cell may be a live formula (issue 12.8)."""
    return spreadsheet_csv_lines(assurance_rows(statement, figures))


def assurance_filename(statement: Statement) -> str:
    """ECF-Declarations-<provider>-Cohort<year>-<statement name>.csv, without non-word characters."""
    provider = "".join(c for c in statement.lead_provider.name if c.isalnum() or c == "_")
    name = "".join(c for c in statement.name if c.isalnum() or c == "_")
    return f"ECF-Declarations-{provider}-Cohort{statement.cohort_id}-{name}.csv"


# ---------------------------------------------------------------------------------------
# Finding a person by the ids people have, and their whole record

MAX_PEOPLE = 20


@dataclass
class SearchResult:
    term: str
    matched_by: str = ""  # what the term turned out to be ("declaration id", "TRN", ...)
    participants: list[Participant] = field(default_factory=list)
    declaration_id: uuid.UUID | None = None  # the declaration searched for, to highlight


def find_participants(term: str) -> SearchResult:
    """By participant id (current or retired by a merge), training record id, declaration id,
    TRN or email (the person's or a training period's), exactly."""
    term = (term or "").strip()
    result = SearchResult(term=term)
    if not term:
        return result
    try:
        value = uuid.UUID(term)
    except ValueError:
        value = None
    if value is not None:
        searches = (
            ("participant id", Participant.objects.filter(pk=value)),
            (
                "retired participant id",
                Participant.objects.filter(
                    pk__in=ParticipantIdChange.objects.filter(from_participant_id=value).values("participant_id")
                ),
            ),
            ("training record id", Participant.objects.filter(enrolments__id=value)),
            ("declaration id", Participant.objects.filter(declarations__id=value)),
        )
    elif "@" in term:
        searches = (
            (
                "email",
                Participant.objects.filter(
                    Q(email__iexact=term)
                    | Q(pk__in=Enrolment.objects.filter(training_periods__email__iexact=term).values("participant_id"))
                ),
            ),
        )
    else:
        searches = (
            (
                "TRN",
                Participant.objects.filter(
                    Q(trn=term) | Q(pk__in=Enrolment.objects.filter(validation_trn=term).values("participant_id"))
                ),
            ),
        )
    for matched_by, people in searches:
        found = list(people.distinct().order_by("full_name", "id")[:MAX_PEOPLE])
        if found:
            result.matched_by, result.participants = matched_by, found
            if matched_by == "declaration id":
                result.declaration_id = value
            break
    return result


def actor_description(change: DeclarationStateChange) -> str:
    """Who moved a declaration: the provider, a named finance user, or a payment run."""
    if change.actor_kind == ActorKind.LEAD_PROVIDER:
        return f"Lead provider: {change.actor_lead_provider.name}" if change.actor_lead_provider else "Lead provider"
    if change.actor_kind == ActorKind.FINANCE_USER:
        return f"Finance user: {change.actor_user.get_username()}" if change.actor_user else "Finance user"
    return change.get_actor_kind_display()


@dataclass
class EnrolmentRecord:
    enrolment: Enrolment
    periods: list[TrainingPeriod]
    status_changes: list[TrainingStatusChange]
    declarations: list[Declaration]


@dataclass
class ParticipantRecord:
    participant: Participant
    retired_ids: list[uuid.UUID]
    enrolments: list[EnrolmentRecord]


VOIDABLE_STATES = (S.SUBMITTED, S.ELIGIBLE, S.PAYABLE, S.INELIGIBLE, S.PAID)


def participant_records(participants: list[Participant]) -> list[ParticipantRecord]:
    """Each person's enrolments with their training history and declarations with their full state
    history (who, when, why), in a fixed number of queries whatever their number."""
    ids = [p.pk for p in participants]
    periods = TrainingPeriod.objects.select_related(
        "school", "cohort", "schedule", "partnership__lead_provider", "partnership__delivery_partner", "mentor"
    ).order_by("start_date", "created_at", "id")
    status_changes = TrainingStatusChange.objects.select_related("lead_provider").order_by("created_at", "id")
    enrolments = (
        Enrolment.objects.filter(participant_id__in=ids)
        .select_related("schedule__cohort")
        .prefetch_related(
            Prefetch("training_periods", queryset=periods),
            Prefetch("training_status_changes", queryset=status_changes),
        )
        .order_by("created_at", "id")
    )
    history = DeclarationStateChange.objects.select_related("actor_lead_provider", "actor_user").order_by(
        "created_at", "id"
    )
    declarations = (
        Declaration.objects.filter(participant_id__in=ids)
        .select_related("lead_provider", "cohort", "statement", "clawback_statement", "voided_by_user")
        .prefetch_related(Prefetch("state_changes", queryset=history))
        .order_by("declaration_date", "created_at", "id")
    )
    retired = defaultdict(list)
    for change in ParticipantIdChange.objects.filter(participant_id__in=ids).order_by("created_at"):
        if change.from_participant_id != change.participant_id:
            retired[change.participant_id].append(change.from_participant_id)
    by_enrolment = defaultdict(list)
    for declaration in declarations:
        declaration.history = [(change, actor_description(change)) for change in declaration.state_changes.all()]
        declaration.voidable = declaration.state in VOIDABLE_STATES
        by_enrolment[declaration.enrolment_id].append(declaration)
    by_participant = defaultdict(list)
    for enrolment in enrolments:
        by_participant[enrolment.participant_id].append(
            EnrolmentRecord(
                enrolment=enrolment,
                periods=list(enrolment.training_periods.all()),
                status_changes=list(enrolment.training_status_changes.all()),
                declarations=by_enrolment.get(enrolment.pk, []),
            )
        )
    return [ParticipantRecord(p, retired.get(p.pk, []), by_participant.get(p.pk, [])) for p in participants]


# ---------------------------------------------------------------------------------------
# A statement's clawbacks, each with the statement and line that paid it (issue 17)


@dataclass(frozen=True)
class ClawbackLine:
    declaration: Declaration
    clawed_back: LineAmount  # what this statement takes back (negative), at the top occupied band
    paid: LineAmount  # what the paying statement's line paid for it


def statement_clawback_lines(statement: Statement, figures: dict) -> list[ClawbackLine]:
    """The declarations this statement claws back, each beside the line of the statement that paid it.

    A clawback is priced at the top occupied band of this statement (finance.md §3.3), which can
    differ from what was paid: both are shown. A paying statement is paid, so its figures are its
    frozen snapshot: one calculation-free read per paying statement.
    """
    declarations = list(
        Declaration.objects.filter(clawback_statement=statement, state__in=REFUNDABLE_STATES)
        .select_related("participant", "statement")
        .order_by("participant__full_name", "declaration_type", "id")
    )
    if not declarations:
        return []
    here = line_amounts(statement, figures)
    paid_by: dict = {}
    for paying in {d.statement for d in declarations if d.statement is not None}:
        paid_by.update(line_amounts(paying, statement_figures(paying)))
    return [
        ClawbackLine(
            declaration=d,
            clawed_back=here.get((d.id, CLAWBACK_LINE), LineAmount()),
            paid=paid_by.get((d.id, PAYMENT_LINE), LineAmount()),
        )
        for d in declarations
    ]

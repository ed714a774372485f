"""What the finance statement page shows (finance.md §4), built from a statement's figures.

The figures are `statement_figures(statement)`: the frozen snapshot of a paid statement
(decisions §15) or a fresh calculation, both in the JSON shape of `StatementCalculation.as_dict()`
(money and dates as strings). Everything here only reads that shape and formats it, so a paid
statement is shown exactly as it was authorised. Money is formatted by `format_money` only.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from statements.calculation import SPLIT, format_money

LONDON = ZoneInfo("Europe/London")

ITTECF_TITLE = "Initial teacher training and early career framework (ITTECF)"
SPLIT_TITLE = "Early career teacher programme: financial statements"
ROUNDING_NOTE = (
    "Due to the way payments per participant are made, there may be rounding errors in some of the "
    "individual sub-calculations. The total output fees displayed are correct."
)


def long_date(value: date | str) -> str:
    """ "30 November 2024": day without a leading zero, full month name (finance.md §4.2)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {day:%B %Y}"


def authorised_at(value: datetime) -> str:
    """ "3:04pm on 5 Mar 2025", London time, 12-hour clock (finance.md §2.5)."""
    local = value.astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M}{'am' if local.hour < 12 else 'pm'} on {local.day} {local:%b %Y}"


def authorisation_tag(statement) -> str | None:
    if statement.marked_as_paid_at is None:
        return None
    return f"Authorised for payment at {authorised_at(statement.marked_as_paid_at)}"


def status_tag(statement) -> tuple[str, str]:
    """(text, colour) of the statement's status tag; a paid output statement reads as authorised."""
    if statement.status == "paid":
        return ("Authorised for payment" if statement.output_fee else "Paid"), "green"
    if statement.status == "payable":
        return "Payable", "yellow"
    return "Open", "blue"


@dataclass
class Cell:
    text: str
    numeric: bool = False


@dataclass
class Table:
    caption: str
    head: list[str]
    rows: list[list[Cell]]
    foot: list[Cell] = field(default_factory=list)


@dataclass
class BandBar:
    """One band of the fill picture: what earlier statements filled, what this one adds, what is left."""

    label: str
    capacity: int | None
    previous: int
    additions: int
    subtractions: int
    previous_width: str  # CSS percentages of the bar
    additions_width: str
    description: str


@dataclass
class BandPicture:
    label: str  # the declaration type
    bars: list[BandBar]
    unpaid: int  # lines beyond the last band's max: no output fee


def _money(amount) -> Cell:
    return Cell(format_money(amount), numeric=True)


def _count(value) -> Cell:
    return Cell("-" if value is None else f"{value:,}", numeric=True)


def _percent(part: int, whole: int) -> str:
    if not whole or not part:
        return "0%"
    # At least a sliver, so one participant in a band of 2,000 still shows.
    return f"{max(Decimal(part) * 100 / whole, Decimal('0.5')):.2f}%"


def output_table(figures: dict) -> Table:
    """finance.md §4.4: per output, its additions per band, then the fee per band and the payment."""
    banded, split = figures["banded"], figures["layout"] == SPLIT
    bands = banded["bands"]
    rows = []
    for row in banded["output_rows"]:
        if row["label"] == "Extended" and not any(row["additions"]):
            continue  # shown only when something was paid for an extension
        rows.append([Cell(row["label"]), *(_count(n) for n in row["additions"]), Cell("")])
        fee_label = "Fee per ECT" if split else "Fee per participant"
        rows.append([Cell(fee_label), *(_money(fee) for fee in row["fees"]), _money(row["payment"])])
    return Table(
        caption="Early career teacher (ECT) output payments" if split else "Output payments",
        head=["Outputs", *(band["label"] for band in bands), "Payments"],
        rows=rows,
        foot=[Cell("Output payment total"), *(Cell("") for _ in bands), _money(banded["output_payment"])],
    )


def mentor_table(figures: dict) -> Table | None:
    mentor = figures.get("mentor")
    if not mentor:
        return None
    rows = []
    for row in mentor["output_rows"]:
        rows.append([Cell(row["label"]), _count(row["count"]), Cell("")])
        rows.append([Cell("Fee per mentor"), _money(row["fee"]), _money(row["payment"])])
    return Table(
        caption="Mentor output payments",
        head=["Outputs", "Participants", "Payments"],
        rows=rows,
        foot=[Cell("Mentors output payment total"), Cell(""), _money(mentor["output_payment"])],
    )


def uplift_table(figures: dict) -> Table | None:
    """finance.md §4.5: only when the contract pays uplift fees."""
    uplift = figures["banded"]["uplift"]
    if uplift["amount"] is None:
        return None
    return Table(
        caption="Uplift fees",
        head=["Number of participants", "Fee per participant", "Payments"],
        rows=[[_count(uplift["billable"]), _money(uplift["amount"]), _money(uplift["fees"])]],
    )


def _clawback_table(caption: str, rows: list[dict], total) -> Table:
    return Table(
        caption=caption,
        head=["Payment type", "Number of participants", "Fee per participant", "Payments"],
        rows=[[Cell(r["label"]), _count(r["count"]), _money(r["fee"]), _money(r["amount"])] for r in rows],
        foot=[Cell("Total"), Cell(""), Cell(""), _money(total)],
    )


def clawback_tables(figures: dict) -> list[Table]:
    """finance.md §4.6: one "Clawbacks" table, or "ECT clawbacks" and "Mentor clawbacks"."""
    banded = figures["banded"]
    if figures["layout"] != SPLIT:
        return [_clawback_table("Clawbacks", banded["clawback_rows"], banded["clawbacks"])]
    mentor = figures["mentor"]
    return [
        _clawback_table("ECT clawbacks", banded["clawback_rows"], banded["clawbacks"]),
        _clawback_table("Mentor clawbacks", mentor["clawback_rows"], mentor["clawbacks"]),
    ]


def adjustments_table(figures: dict) -> Table:
    """finance.md §4.7: a single £0.00 row when there are none."""
    adjustments = figures["adjustments"]
    rows = [[Cell(a["payment_type"]), _money(a["amount"])] for a in adjustments] or [[Cell(""), _money(0)]]
    return Table(
        caption="Additional adjustments",
        head=["Payment type", "Payments"],
        rows=rows,
        foot=[Cell("Total"), _money(figures["adjustments_total"])],
    )


def summary_rows(figures: dict) -> list[tuple[str, str]]:
    return [(row["label"], format_money(row["amount"])) for row in figures["summary_rows"]]


def counts_table(figures: dict) -> Table:
    """The declaration counts: "Total starts"... (§4.2) or the ECTs / Mentors summary (§4.3)."""
    columns = figures["declaration_counts"]
    labels = (
        ("Started", "started"),
        ("Retained", "retained"),
        ("Completed", "completed"),
        ("Extended", "extended"),
        ("Clawed back", "clawed_back"),
        ("Voided", "voided"),
    )
    return Table(
        caption="Declarations summary",
        head=["", *(column["label"] for column in columns)],
        rows=[[Cell(label), *(_count(column[key]) for column in columns)] for label, key in labels],
    )


def contract_rows(figures: dict) -> list[tuple[str, str]]:
    """finance.md §4.8, 2021-2024 "Contract Information" (the ECT part in the 2025+ layout)."""
    contract = figures["contract"]
    if not contract:
        return []
    split = figures["layout"] == SPLIT
    target = "ECTs recruitment target" if split else "recruitment target"
    rows = [
        ("Provider", figures["lead_provider"]),
        ("Contract version", contract["version"]),
        (target[:1].upper() + target[1:], f"{contract['recruitment_target']:,}"),
        (f"Revised {target} (+150%)", f"{contract['revised_recruitment_target']:,}"),
    ]
    if contract["uplift_amount"] is not None:
        target = Decimal(contract["uplift_target"]) * 100
        rows.append(("Uplift target", f"{target.normalize():f}%"))
        rows.append(("Uplift amount", format_money(contract["uplift_amount"])))
    rows.append(("Set-up Fee", format_money(contract["set_up_fee"])))
    if contract["monthly_service_fee"] is not None:
        rows.append(("Monthly service fee", format_money(contract["monthly_service_fee"])))
    rows.append(("VAT rate applied", f"{(Decimal(figures['vat_rate']) * 100).normalize():f}%"))
    return rows


def bands_table(figures: dict) -> Table | None:
    contract = figures["contract"]
    if not contract:
        return None
    return Table(
        caption="ECT payment bands" if figures["layout"] == SPLIT else "Payment bands",
        head=["Band", "Min", "Max", "Payment amount per participant"],
        rows=[
            [
                Cell(band["label"]),
                _count(band["min"] or 0),
                Cell("Unlimited") if band["max"] is None else _count(band["max"]),
                _money(band["per_participant"]),
            ]
            for band in contract["bands"]
        ],
    )


def mentor_contract_rows(figures: dict) -> list[tuple[str, str]]:
    mentor = figures.get("mentor_contract")
    if figures["layout"] != SPLIT or not mentor:
        return []
    return [
        ("Mentors recruitment target", f"{mentor['recruitment_target']:,}"),
        ("Payment per participant", format_money(mentor["payment_per_participant"])),
    ]


def band_pictures(figures: dict) -> list[BandPicture]:
    """How participants fill each band, per declaration type that has any: the places earlier
    statements of the cohort took, the ones this statement takes, and the room left (§3.3)."""
    banded = figures["banded"]
    labels = {band["letter"]: band["label"] for band in banded["bands"]}
    pictures = []
    for allocation in banded["types"]:
        cells = allocation["bands"]
        if not any(c["previous"] or c["additions"] or c["subtractions"] for c in cells) and not allocation["unpaid"]:
            continue
        bars = []
        for cell in cells:
            capacity, previous, additions = cell["capacity"], cell["previous"], cell["additions"]
            scale = capacity if capacity is not None else max(previous + additions, 1)
            parts = [f"{previous:,} before this statement", f"{additions:,} on this statement"]
            if cell["subtractions"]:
                parts.append(f"{cell['subtractions']:,} clawed back")
            if capacity is None:
                parts.append("no upper limit")
            else:
                parts.append(f"{max(capacity - previous - additions, 0):,} free of {capacity:,}")
            bars.append(
                BandBar(
                    label=labels.get(cell["band"], f"Band {cell['band']}"),
                    capacity=capacity,
                    previous=previous,
                    additions=additions,
                    subtractions=cell["subtractions"],
                    previous_width=_percent(previous, scale),
                    additions_width=_percent(additions, scale),
                    description=", ".join(parts),
                )
            )
        pictures.append(BandPicture(_type_label(allocation["declaration_type"]), bars, allocation["unpaid"]))
    return pictures


def _type_label(declaration_type: str) -> str:
    words = declaration_type.replace("-", " ")
    return words[:1].upper() + words[1:]


def page_context(statement, figures: dict) -> dict:
    """Everything the statement template shows, in page order."""
    split = figures["layout"] == SPLIT
    tag_text, tag_colour = status_tag(statement)
    return {
        "heading": SPLIT_TITLE if split else ITTECF_TITLE,
        "split": split,
        "figures": figures,
        "total": format_money(figures["total"]),
        "summary_rows": summary_rows(figures),
        "deadline": long_date(figures["deadline_date"]),
        "payment_date": long_date(figures["payment_date"]),
        "counts": counts_table(figures),
        "counts_by_label": {c["label"]: c for c in figures["declaration_counts"]},
        "output_table": output_table(figures),
        "mentor_table": mentor_table(figures),
        "uplift_table": uplift_table(figures),
        "clawback_tables": clawback_tables(figures),
        "adjustments_table": adjustments_table(figures),
        "contract_rows": contract_rows(figures),
        "bands_table": bands_table(figures),
        "mentor_contract_rows": mentor_contract_rows(figures),
        "band_pictures": band_pictures(figures),
        "rounding_note": ROUNDING_NOTE,
        "status_text": tag_text,
        "status_colour": tag_colour,
        "authorisation_tag": authorisation_tag(statement),
        "frozen": statement.is_paid and bool(statement.paid_amounts),
        "pdf_name": f"{statement.lead_provider.name} {statement.name} ECTE Statement ({statement.cohort_id} Cohort)",
    }

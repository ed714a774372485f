"""What the finance statement page shows (finance.md §4), built from a statement's figures.

The figures are `statement_figures(statement)`: the frozen snapshot of a paid statement
(decisions §15) or a fresh calculation, both in the JSON shape of `StatementCalculation.as_dict()`
(money and dates as strings). Everything here only reads that shape and formats it, so a paid
statement is shown exactly as it was authorised. Money is formatted by `format_money` only.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from statements.calculation import ECT, SPLIT, TYPE_LABELS, format_money

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
    note: str = ""  # a quieter second line, e.g. how a clawback is priced
    url: str = ""  # the cell links there


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


BAND_D_NOTE = "Band D is the new target: participants over the original band C target up to the new target."


def band_label(letter: str) -> str:
    """One name per band everywhere on the page, whatever an older snapshot called it."""
    return f"Band {letter}"


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
        head=["Outputs", *(band_label(band["letter"]) for band in bands), "Payments"],
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


BANDED_CLAWBACK_NOTE = (
    "Priced at Band {band}, the highest band holding declarations, not at what the declaration was paid"
)


def _clawback_label(row: dict, banded: bool) -> Cell:
    """finance.md §3.3: a clawback takes the top occupied band's price; the row says which."""
    label = row["label"]
    if banded and "(Band: " in label:
        band = label.rsplit("(Band: ", 1)[1].rstrip(")")
        return Cell(label, note=BANDED_CLAWBACK_NOTE.format(band=band))
    return Cell(label)  # a mentor's flat fee is the same whatever was paid


def _clawback_table(caption: str, rows: list[dict], total, *, banded: bool) -> Table:
    return Table(
        caption=caption,
        head=["Payment type", "Number of participants", "Fee per participant", "Payments"],
        rows=[[_clawback_label(r, banded), _count(r["count"]), _money(r["fee"]), _money(r["amount"])] for r in rows],
        foot=[Cell("Total"), Cell(""), Cell(""), _money(total)],
    )


def clawback_tables(figures: dict) -> list[Table]:
    """finance.md §4.6: one "Clawbacks" table, or "ECT clawbacks" and "Mentor clawbacks"."""
    banded = figures["banded"]
    if figures["layout"] != SPLIT:
        return [_clawback_table("Clawbacks", banded["clawback_rows"], banded["clawbacks"], banded=True)]
    mentor = figures["mentor"]
    return [
        _clawback_table("ECT clawbacks", banded["clawback_rows"], banded["clawbacks"], banded=True),
        _clawback_table("Mentor clawbacks", mentor["clawback_rows"], mentor["clawbacks"], banded=False),
    ]


def adjustments_table(figures: dict) -> Table:
    """finance.md §4.7; when there are none, a row says so (not a blank £0.00 line)."""
    adjustments = figures["adjustments"]
    rows = [[Cell(a["payment_type"]), _money(a["amount"])] for a in adjustments] or [
        [Cell("No additional adjustments on this statement"), Cell("")]
    ]
    return Table(
        caption="Additional adjustments",
        head=["Payment type", "Payments"],
        rows=rows,
        foot=[Cell("Total"), _money(figures["adjustments_total"])],
    )


# The 2025+ layout's two VAT parts (issue 17): the ECT part also carries the service fee and the
# additional adjustments, as the calculation adds them to the banded (ECT) net.
ECT_VAT_LABEL = "VAT on ECT payments, service fee and adjustments"
MENTOR_VAT_LABEL = "VAT on mentor payments"


def summary_rows(figures: dict) -> list[tuple[str, str, str]]:
    """The summary panel as (label, amount, note): the calculation's rows, with the total before VAT
    above VAT, and in the 2025+ layout the VAT of each part with what it is charged on (issue 17)."""
    rows = []
    for row in figures["summary_rows"]:
        if row["label"] == "VAT":
            rows.append(("Total before VAT", format_money(figures["net"]), ""))
            mentor = figures.get("mentor")
            if mentor:
                rows.append(_vat_part(ECT_VAT_LABEL, figures["banded"], figures["vat_rate"]))
                rows.append(_vat_part(MENTOR_VAT_LABEL, mentor, figures["vat_rate"]))
        rows.append((row["label"], format_money(row["amount"]), ""))
    return rows


def _vat_part(label: str, part: dict, vat_rate) -> tuple[str, str, str]:
    rate = (Decimal(str(vat_rate)) * 100).normalize()
    return label, format_money(part["vat"]), f"{rate:f}% of {format_money(part['net'])}"


def beyond_last_band(figures: dict) -> int:
    """Declarations this statement could not pay: beyond the last band's maximum (§3.3)."""
    return figures["banded"].get("beyond_last_band") or sum(t["unpaid"] for t in figures["banded"]["types"])


def _percentage(value) -> str:
    return f"{(Decimal(str(value))).normalize():f}%"


def service_fee_explanation(figures: dict) -> dict | None:
    """How the service fee was reached (finance.md §3.7): set on the contract, or each band's service
    share of the recruitment target, less the set-up fee, over 29 monthly payments."""
    derivation = figures["banded"].get("service_fee_derivation")
    if not derivation:
        return None
    fee = format_money(derivation["monthly"])
    if derivation["set_on_contract"]:
        return {"set_on_contract": True, "monthly": fee, "table": None}
    rows = [
        [
            Cell(band_label(row["band"])),
            _count(row["participants"]),
            _money(row["per_participant"]),
            Cell(_percentage(row["service_fee_percentage"]), numeric=True),
            _money(row["service_share"]),
            _money(-Decimal(row["set_up_fee_deducted"])),
            _money(row["amount"]),
        ]
        for row in derivation["bands"]
    ]
    table = Table(
        caption="How the service fee is calculated",
        head=[
            "Band",
            "Participants of the recruitment target",
            "Price per participant",
            "Service fee share",
            "Service fee per participant",
            "Set-up fee deducted",
            "Amount",
        ],
        rows=rows,
        foot=[
            Cell("Service fee over the contract"),
            *(Cell("") for _ in range(5)),
            _money(derivation["total"]),
        ],
    )
    sentence = (
        f"{format_money(derivation['total'])} ÷ {derivation['months']} monthly payments = {fee} "
        "on every statement of this contract version."
    )
    if Decimal(derivation["total"]) < 0:
        sentence += NEGATIVE_SERVICE_FEE_NOTE
    return {"set_on_contract": False, "monthly": fee, "table": table, "sentence": sentence}


# A service fee below zero puzzles a reader of the page; the table shows why (finance.md §3.7).
NEGATIVE_SERVICE_FEE_NOTE = (
    " It is negative because the set-up fee deducted is more than the service fee share of the"
    " recruitment target's participants."
)


def fee_explanation(figures: dict) -> Table | None:
    """How each band price becomes the fee per declaration (finance.md §3.4): price × output share
    × the declaration type's proportion, e.g. £995.00 × 60% × 20% = £119.40 for started."""
    derivations = figures["banded"].get("fee_derivations")
    if not derivations:
        return None
    by_band: dict[str, list[dict]] = {}
    for row in derivations:
        by_band.setdefault(row["band"], []).append(row)
    rows = []
    for letter, group in by_band.items():
        cells = [Cell(band_label(letter))]
        for row in group:
            proportion = _percentage(Decimal(row["proportion"]) * 100)
            cells.append(
                Cell(
                    f"{format_money(row['per_participant'])} × {row['output_payment_percentage']}% output × "
                    f"{proportion} = {format_money(row['fee'])}",
                    numeric=True,
                )
            )
        rows.append(cells)
    return Table(
        caption="How a band price becomes the fee per declaration",
        head=["Band", "Started, Completed (20% each)", "Retained 1-4, Extended 1-3 (15% each)"],
        rows=rows,
    )


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
                Cell(band_label(band["letter"])),
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
                    label=band_label(cell["band"]),
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
        "beyond_last_band": beyond_last_band(figures),
        "service_fee_explanation": service_fee_explanation(figures),
        "fee_explanation": fee_explanation(figures),
        "band_d_note": BAND_D_NOTE if len(figures["banded"]["bands"]) >= 4 else "",
        "top_band": figures["banded"].get("top_band"),
        "status_text": tag_text,
        "status_colour": tag_colour,
        "authorisation_tag": authorisation_tag(statement),
        "frozen": statement.is_paid and bool(statement.paid_amounts),
        "pdf_name": f"{statement.lead_provider.name} {statement.name} ECTE Statement ({statement.cohort_id} Cohort)",
    }


# ---------------------------------------------------------------------------------------
# The statement as a CSV of its lines (issue 17): what a contract manager sends a provider


STATEMENT_CSV_COLUMNS = ("Section", "Item", "Band", "Participants", "Fee per participant", "Amount")


def _pounds(amount) -> str:
    """Pounds and pence as a plain number a spreadsheet adds up (rounded half-up, as displayed)."""
    pennies = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{pennies + 0:.2f}"  # + 0: no "-0.00"


def statement_csv_rows(statement, figures: dict) -> list[list]:
    """Every line of the statement with its count, fee and amount, then the summary and total, all
    read from the statement's figures (the frozen ones once paid)."""
    banded = figures["banded"]
    rows: list[list] = [list(STATEMENT_CSV_COLUMNS)]
    for allocation in banded["types"]:
        for cell in allocation["bands"]:
            if cell["additions"]:
                label = TYPE_LABELS.get(allocation["declaration_type"], allocation["declaration_type"])
                rows.append(
                    [
                        "Output payments",
                        label,
                        cell["band"],
                        cell["additions"],
                        _pounds(cell["fee"]),
                        _pounds(cell["payment"]),
                    ]
                )
    for row in (figures.get("mentor") or {}).get("output_rows", []):
        if row["count"]:
            rows.append(
                ["Mentor output payments", row["label"], "", row["count"], _pounds(row["fee"]), _pounds(row["payment"])]
            )
    uplift = banded["uplift"]
    if uplift["amount"] is not None and uplift["billable"]:
        rows.append(
            ["Uplift fees", "Uplift fees", "", uplift["billable"], _pounds(uplift["amount"]), _pounds(uplift["fees"])]
        )
    clawback_sections = [("Clawbacks", banded["clawback_rows"])]
    if figures.get("mentor"):
        clawback_sections = [
            ("ECT clawbacks", banded["clawback_rows"]),
            ("Mentor clawbacks", figures["mentor"]["clawback_rows"]),
        ]
    for section, clawbacks in clawback_sections:
        for row in clawbacks:
            if row["count"]:
                band = row["label"].rsplit("(Band: ", 1)[1].rstrip(")") if "(Band: " in row["label"] else ""
                rows.append([section, row["label"], band, row["count"], _pounds(row["fee"]), _pounds(row["amount"])])
    for adjustment in figures["adjustments"]:
        rows.append(["Additional adjustments", adjustment["payment_type"], "", "", "", _pounds(adjustment["amount"])])
    rows.append(["Service fee", "Service fee", "", "", "", _pounds(figures["service_fee"])])
    for row in figures["summary_rows"]:
        rows.append(["Summary", row["label"], "", "", "", _pounds(row["amount"])])
    rows.append(["Summary", "Total before VAT", "", "", "", _pounds(figures["net"])])
    if figures.get("mentor"):
        rows.append(["Summary", ECT_VAT_LABEL, "", "", "", _pounds(banded["vat"])])
        rows.append(["Summary", MENTOR_VAT_LABEL, "", "", "", _pounds(figures["mentor"]["vat"])])
    rows.append(["Summary", "Total", "", "", "", _pounds(figures["total"])])
    return rows


def statement_csv_filename(statement) -> str:
    """<provider> <statement> ECTE Statement (<year> Cohort).csv, with only word characters and spaces."""
    name = f"{statement.lead_provider.name} {statement.name} ECTE Statement ({statement.cohort_id} Cohort)"
    return "".join(c for c in name if c.isalnum() or c in " ()_-") + ".csv"


@dataclass
class ClawbackLineRow:
    declaration: object
    course: str
    paid: str  # "Band A: £119.40" on the statement that paid it
    clawed_back: str  # "Band C: -£115.92" here


def _line_text(line) -> str:
    amount = format_money(line.output + line.uplift)
    return f"{band_label(line.band)}: {amount}" if line.band else amount


def clawback_line_rows(lines) -> list[ClawbackLineRow]:
    """Each clawed-back declaration beside the line that paid it (declarations.back_office)."""
    return [
        ClawbackLineRow(
            declaration=line.declaration,
            course="ECT" if line.declaration.course_identifier == ECT else "mentor",
            paid=_line_text(line.paid),
            clawed_back=_line_text(line.clawed_back),
        )
        for line in lines
    ]

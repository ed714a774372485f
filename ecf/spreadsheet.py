"""CSV files that people open in a spreadsheet (issue 12.8: CSV formula injection).

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is taken by Excel, LibreOffice
and Google Sheets as a formula: a participant named `=HYPERLINK("http://evil","Click")` would
become a live link, or worse, in a finance officer's spreadsheet. Such a cell is written with a
leading apostrophe, which spreadsheets show as text and never evaluate (OWASP's advice).

Plain numbers are left alone, so that money columns stay numbers: `-119.40` is not a formula,
while `-1+1` or `-2.5E3` with anything after the number is.

Only the back office's CSVs (what finance staff download and open) go through here. The API's
CSVs (api/v1/csv.py) are machine-read by providers' systems and written exactly as the contract
defines them (docs/back_office.md, "CSV files").
"""

import csv
import re
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def spreadsheet_csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """Each row as one CSV line, every cell made safe to open in a spreadsheet."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])

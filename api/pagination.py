"""`page[page]` / `page[per_page]`: default 100, at most 3000, no meta, empty data past the end (api.md §6.1)."""

import re
from dataclasses import dataclass

from api.errors import BadRequest

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 3000
# Far past any data, and keeps OFFSET well inside PostgreSQL's bigint (a page of 10**18 was a 500).
MAX_PAGE_NUMBER = 10**9
PAGE_ERROR = "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number (equal and more than 1)"
_LEADING_DIGITS = re.compile(r"\s*(\d+)")


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    def slice(self, queryset):
        return queryset[self.offset : self.offset + self.per_page]


def _lenient_int(raw: str) -> int:
    """Leading digits count (`10abc` is 10); anything else is 0, as the original parses."""
    match = _LEADING_DIGITS.match(raw)
    if not match:
        return 0
    digits = match.group(1).lstrip("0") or "0"
    # Python refuses to parse thousands of digits (a 500); a number that long is past every page.
    return int(digits) if len(digits) <= 18 else 10**18


def parse_page(query_params) -> Page:
    raw_page = query_params.get("page[page]")
    raw_per_page = query_params.get("page[per_page]")
    number = 1 if raw_page is None else _lenient_int(raw_page)
    per_page = DEFAULT_PER_PAGE if raw_per_page is None else _lenient_int(raw_per_page)
    if number < 1 or per_page < 1:
        raise BadRequest(PAGE_ERROR)
    return Page(number=min(number, MAX_PAGE_NUMBER), per_page=min(per_page, MAX_PER_PAGE))

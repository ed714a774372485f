"""The one parser and formatter for the API's timestamps.

Accepted input: `YYYY-MM-DDTHH:MM:SS`, optional fraction, optional zone (`Z`, `±HH`, `±HHMM`,
`±HH:MM`), case-insensitive `T`/`Z`, surrounding whitespace allowed. A value without a zone is
UTC. Date-only values are rejected (api.md §6.2, §11.1).
"""

import re
from datetime import UTC, date, datetime, timedelta, timezone

_PATTERN = re.compile(
    r"""^\s*
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    [Tt]
    (?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})
    (?:\.(?P<fraction>\d+))?
    (?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    \s*$""",
    re.VERBOSE,
)


def parse(value: str) -> datetime | None:
    """Return an aware datetime, or None when the value is not a valid RFC 3339 timestamp."""
    match = _PATTERN.match(value or "")
    if not match:
        return None
    parts = match.groupdict()
    microsecond = int((parts["fraction"] or "0")[:6].ljust(6, "0"))
    try:
        result = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"]),
            microsecond,
            tzinfo=_zone(parts["zone"]),
        )
    except ValueError:  # month 19, 30 February, hour 25 ...
        return None
    return result


def _zone(zone: str | None) -> timezone:
    if not zone or zone in "Zz":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or "0")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def format_timestamp(value: datetime | None) -> str | None:
    """`2024-09-01T10:15:22Z`: UTC, whole seconds (api.md §5.2)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_timestamp_ms(value: datetime | None) -> str | None:
    """`2024-09-01T10:15:22.123Z`: only partnership `challenged_at` carries milliseconds."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def format_date(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return value.isoformat()

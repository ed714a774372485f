"""The one parser and formatter for the API's timestamps.

Accepted input: `YYYY-MM-DDTHH:MM:SS`, optional fraction, optional zone (`Z`, `±HH`, `±HHMM`,
`±HH:MM`), case-insensitive `T`/`Z`, surrounding whitespace allowed. A value without a zone is
UTC. Date-only values are rejected (api.md §6.2, §11.1).

The result is always in UTC. An offset more than 14 hours from UTC (no clock on Earth is further:
Kiribati is +14:00), minutes past 59, or an instant that leaves the calendar once moved to UTC
(`0001-01-01T00:00:00+01:00`) is not a timestamp: PostgreSQL refuses offsets of ±16:00 and more,
and Python cannot hold a year 0 or 10000, so passing them on would end in a 500.
"""

import re
from datetime import UTC, date, datetime, timedelta, timezone

MAX_OFFSET = timedelta(hours=14)

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
    """Return an aware datetime in UTC, or None when the value is not a valid RFC 3339 timestamp."""
    match = _PATTERN.match(value) if isinstance(value, str) else None
    if not match:
        return None
    parts = match.groupdict()
    microsecond = int((parts["fraction"] or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"]),
            microsecond,
            tzinfo=_zone(parts["zone"]),
        )
        return local.astimezone(UTC)
    # Month 19, 30 February, hour 25, an offset of +14:01 or +05:60; or (OverflowError) an instant
    # before year 1 or after year 9999 once in UTC.
    except (ValueError, OverflowError):
        return None


def _zone(zone: str | None) -> timezone:
    if not zone or zone in "Zz":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or "0")
    offset = timedelta(hours=hours, minutes=minutes)
    if minutes > 59 or offset > MAX_OFFSET:
        raise ValueError(f"no clock is {zone} from UTC")
    return timezone(sign * offset)


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

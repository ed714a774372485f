"""Hypothesis strategies for the values that broke the service before (issue 12.5), so the property
tests keep generating them: NUL characters, lone surrogates, digits that are not ASCII, and RFC 3339
timestamps at and past every edge (offsets of ±16:00 and more, years 0 and 9999, month 13, hour 25).

`with_hostile_values(schema)` adds them to a schemathesis schema: a generated query or body keeps
its shape, and sometimes one of its strings is swapped for a hostile one (a timestamp where the
name says date, time or since).
"""

import re

from hypothesis import strategies as st

NUL = "\x00"
# Not characters at all: JSON can spell them (`"\ud800"`); a URL cannot carry them.
LONE_SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
# str.isdigit() says yes, int() may say yes or no; none is an ASCII year.
NOT_ASCII_DIGITS = ("²⁰²⁴", "٢٠٢٤", "２０２４", "𝟚𝟘𝟚𝟜")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*(\[[a-z_]+\])*")
CONTROLS = ("\x01", "\x1f", "\x7f", "\u0085", "\u2028", "\ufeff")


def _edgy(low: int, high: int, *extra: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(sorted({low, high, *extra})), st.integers(low, high))


def offsets(*, hours: int = 99, minutes: int = 99) -> st.SearchStrategy[str]:
    """`Z`, nothing, or ±HH[:]MM (PostgreSQL refuses ±16:00 and more; no clock is past ±14:00)."""
    numeric = st.builds(
        "{}{:02d}{}{:02d}".format,
        st.sampled_from("+-"),
        _edgy(0, hours, 14, 15, 16, 23),
        st.sampled_from([":", ""]),
        _edgy(0, minutes, 30, 59),
    )
    return st.one_of(st.sampled_from(["Z", "z", ""]), numeric)


def _timestamps(years, months, days, hours, minutes, seconds, zones) -> st.SearchStrategy[str]:
    return st.builds(
        "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{}".format,
        years,
        months,
        days,
        hours,
        minutes,
        seconds,
        st.one_of(st.just(""), st.integers(0, 10**12).map(".{}".format)),
        zones,
    )


def extreme_offsets() -> st.SearchStrategy[str]:
    """Real dates and times with an offset between 14 and 24 hours, or at the calendar's two ends."""
    far = st.builds(
        "{}{:02d}:{:02d}".format,
        st.sampled_from("+-"),
        st.sampled_from([14, 15, 16, 17, 23]),
        st.sampled_from([0, 1, 59]),
    )
    return st.one_of(
        st.builds("2024-{:02d}-15T10:00:00{}".format, st.integers(1, 12), far),
        st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00Z"]),
    )


def rfc3339_like() -> st.SearchStrategy[str]:
    """Timestamps in the API's shape: real dates and times at the calendar's ends with any offset a
    clock could or could not show, and fields past their edges (month 13, hour 25, second 61)."""
    plausible = _timestamps(
        _edgy(1, 9999, 1970, 2024, 2025, 9998),
        _edgy(1, 12),
        _edgy(1, 28),
        _edgy(0, 23),
        _edgy(0, 59),
        _edgy(0, 59),
        offsets(hours=23, minutes=59),
    )
    broken = _timestamps(
        _edgy(0, 9999),
        _edgy(0, 13),
        _edgy(0, 32, 29, 30, 31),
        _edgy(0, 25, 24),
        _edgy(0, 60),
        _edgy(0, 61, 60),
        offsets(),
    )
    return st.one_of(extreme_offsets(), plausible, broken)


def hostile_texts(base: str, *, in_url: bool) -> st.SearchStrategy[str]:
    """`base` with a NUL (or a lone surrogate, in a body) put in, or a stranger string in its place."""
    surrogates = [] if in_url else list(LONE_SURROGATES)
    position = st.integers(0, len(base))

    def inserted(choices) -> st.SearchStrategy[str]:
        return st.builds(lambda at, bad: base[:at] + bad + base[at:], position, st.sampled_from(choices))

    # A NUL most often: it is what PostgreSQL refuses whatever the column.
    return st.one_of(
        inserted([NUL]),
        st.just(NUL),
        inserted(surrogates or [NUL]),
        inserted([*NOT_ASCII_DIGITS, *CONTROLS, *surrogates]),
        st.sampled_from([*NOT_ASCII_DIGITS, *CONTROLS, *surrogates]),
    )


def _looks_like_a_timestamp(name: str) -> bool:
    return any(word in name for word in ("date", "since", "_at", "time"))


def _string_leaves(value, path=()) -> list[tuple[tuple, str, str]]:
    """(path, name, text) of every string in a JSON-like value; `name` is the nearest key."""
    if isinstance(value, str):
        return [(path, str(path[-1]) if path else "", value)]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [leaf for key, item in items for leaf in _string_leaves(item, (*path, key))]


def _replaced(value, path: tuple, new):
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replaced(value[head], tuple(rest), new)
    return copy


def sometimes_hostile(value, *, in_url: bool, always: bool = False) -> st.SearchStrategy:
    """`value` as it is, or (`always`: only) with one of its strings swapped for a hostile one."""
    # The strings the API reads (`data.attributes.declaration_type`, `filter.updated_since`) first:
    # a positive case also carries random extra members, and a bad value there is never looked at.
    leaves = _string_leaves(value)
    named = [leaf for leaf in leaves if all(_IDENTIFIER.fullmatch(str(part)) for part in leaf[0])]
    leaves = named or leaves
    if not leaves:
        return st.just(value)

    def swap(leaf):
        path, name, text = leaf
        replacement = (
            st.one_of(rfc3339_like(), rfc3339_like(), hostile_texts(text, in_url=in_url))
            if _looks_like_a_timestamp(name)
            else hostile_texts(text, in_url=in_url)
        )
        return replacement.map(lambda new: _replaced(value, path, new))

    swapped = st.sampled_from(leaves).flatmap(swap)
    return swapped if always else st.one_of(st.just(value), swapped)


def with_hostile_values(schema, *, always: bool = False) -> None:
    """Sometimes (`always`: in every case) one string of a generated query and body is hostile.

    `always` is for valid (positive) requests: one bad value in an otherwise valid request reaches
    the deepest code, where the 500s were. In invalid requests an earlier check usually answers."""

    @schema.hook
    def flatmap_query(context, query):
        return sometimes_hostile(query, in_url=True, always=always)

    @schema.hook
    def flatmap_body(context, body):
        return sometimes_hostile(body, in_url=False, always=always)

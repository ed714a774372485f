"""CSV lists of v1 and v2 (api.md §10.4), streamed so memory does not grow with the rows.

A CSV is the JSON list without paging: each row is the JSON item's `id` then its attributes in
order, so the two can never disagree. Rows are read through a server-side cursor in chunks and
written as they come; a provider may download tens of thousands of them.
"""

import re
from collections.abc import Callable, Iterable, Iterator

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from ecf.planner import index_lookups

# Rows fetched from the database per round trip (one cursor read each, no other query).
CHUNK_SIZE = 2000
# Rows joined into one piece of the response body: fewer, larger writes to the socket.
ROWS_PER_PIECE = 500
_NEEDS_QUOTES = re.compile(r'[,"\n\r]')


def cell(value) -> str:
    """One value as the original writes it: null empty, an empty string `""`, booleans in lower case.

    Called for every cell of a file of tens of thousands of rows: strings, the common case, first.
    """
    if value.__class__ is not str:
        if value is None:
            return ""
        if value is True:
            return "true"
        if value is False:
            return "false"
        value = str(value)
    if value == "":
        return '""'
    if _NEEDS_QUOTES.search(value) is not None:
        return '"' + value.replace('"', '""') + '"'
    return value


def line(values: Iterable) -> str:
    return ",".join(map(cell, values)) + "\n"


def csv_lines(items: Iterable[dict]) -> Iterator[str]:
    """Header then one line per JSON item; nothing at all when there are no items (api.md §16.11)."""
    header_written = False
    for item in items:
        attributes = item["attributes"]
        if not header_written:
            yield line(["id", *attributes])
            header_written = True
        yield line([item["id"], *attributes.values()])


def _pieces(lines: Iterator[str]) -> Iterator[bytes]:
    piece: list[str] = []
    for text in lines:
        piece.append(text)
        if len(piece) >= ROWS_PER_PIECE:
            yield "".join(piece).encode()
            piece.clear()
    if piece:
        yield "".join(piece).encode()


def csv_response(rows, render: Callable[[dict], dict]) -> StreamingHttpResponse:
    """Stream a `.values(...)` queryset as CSV, rendering each row with the JSON item renderer.

    The queryset runs when the body is read, through a server-side cursor (PostgreSQL), in chunks
    of CHUNK_SIZE rows: one query whatever the number of rows, and only a chunk in memory.
    """
    items = (render(row) for row in _read_by_index_lookups(rows))
    return StreamingHttpResponse(_pieces(csv_lines(items)), content_type="text/csv")


def _read_by_index_lookups(rows):
    """The rows through the server-side cursor, planned as index lookups (ecf.planner): the plan is
    made when the cursor opens, with the first chunk, so only that needs the planner settings."""
    with index_lookups():
        chunks = rows.iterator(chunk_size=CHUNK_SIZE)
        first = next(chunks, None)
    if first is None:
        return
    yield first
    yield from chunks


def csv_schema_response(description: str, example: str) -> OpenApiResponse:
    return OpenApiResponse(
        OpenApiTypes.STR,
        description=f"{description} Unpaginated: every row. No body at all when there are no rows.\n\n"
        f"Example:\n\n```\n{example}```",
    )

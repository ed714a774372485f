"""`page[cursor]`: a change cursor that never misses a change (issue 16.2, docs/sync.md).

A walk starts with `page[cursor]=` (empty) and follows `links.next` page after page; the page that
comes back shorter than `page[per_page]` ends the walk, and its `links.next` is the cursor to
resume from later: that next walk returns every record changed since the previous walk began
(visibility.selectors), at least once, in creation order. The cursor is opaque to integrators:
base64url of a small JSON object holding the marks (database snapshots) and the last key sent.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from rest_framework.response import Response

from api.errors import BadRequest
from visibility.selectors import changed_since, current_mark, is_mark

PARAMETER = "page[cursor]"
CURSOR_ERROR = "The '#/page[cursor]' parameter must be empty (to start) or a cursor given in links.next"


@dataclass(frozen=True)
class Cursor:
    since: str | None = None  # the mark of the walk before this one: only rows changed after it
    walk: str | None = None  # the mark of this walk, taken before its first page was read
    after: tuple[datetime, str] | None = None  # the key (created_at, id) of the last record sent

    def encode(self) -> str:
        after = None if self.after is None else [self.after[0].isoformat(), self.after[1]]
        body = json.dumps({"s": self.since, "w": self.walk, "a": after}, separators=(",", ":"))
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def parse_cursor(query_params) -> Cursor | None:
    """None when the request does not ask for a cursor walk; a 400 for a cursor we did not give."""
    raw = query_params.get(PARAMETER)
    if raw is None:
        return None
    raw = raw.strip()
    if raw == "":
        return Cursor()
    try:
        body = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        since, walk, after = body["s"], body["w"], body["a"]
        if any(mark is not None and not is_mark(mark) for mark in (since, walk)):
            raise ValueError("not a mark")
        if after is not None:
            after = (datetime.fromisoformat(after[0]), str(after[1]))
            if walk is None or after[0].tzinfo is None:
                raise ValueError("a position belongs to a walk")
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError):
        raise BadRequest(CURSOR_ERROR) from None
    return Cursor(since=since, walk=walk, after=after)


def cursor_page(rows: QuerySet, cursor: Cursor, *, key: tuple[str, str], per_page: int) -> tuple[list, Cursor]:
    """The ids of the next page of a walk over `rows` (read-model rows; `key` = (created_at column,
    id column)), and the cursor that follows it."""
    walk = cursor.walk or current_mark()
    created, identity = key
    if cursor.since is not None:
        rows = changed_since(rows, cursor.since)
    if cursor.after is not None:
        at, last_id = cursor.after
        rows = rows.filter(Q(**{f"{created}__gt": at}) | Q(**{created: at, f"{identity}__gt": last_id}))
    page = list(rows.order_by(created, identity).values_list(identity, created)[:per_page])
    if len(page) < per_page:
        return [pk for pk, _ in page], Cursor(since=walk)
    last_id, at = page[-1]
    return [pk for pk, _ in page], Cursor(since=cursor.since, walk=walk, after=(at, str(last_id)))


def respond_with_next(data: list, request, cursor: Cursor) -> Response:
    """A walk's page: the records and `links.next`, the cursor to follow (or resume from later)."""
    return Response({"data": data, "links": {"next": next_link(request, cursor)}})


def next_link(request, cursor: Cursor) -> str:
    """This request's path and query with the following cursor (a relative URL)."""
    params = [(name, value) for name, values in request.query_params.lists() if name != PARAMETER for value in values]
    return f"{request.path}?{urlencode([*params, (PARAMETER, cursor.encode())])}"

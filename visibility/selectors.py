"""Reads of the change cursor (issue 16.2): which read-model rows changed since a poll.

On PostgreSQL a poll's mark is its snapshot (`pg_current_snapshot()`): a row changed since the
poll is one whose writing transaction (`xid`, stamped by a trigger) was not visible in that
snapshot, i.e. had not committed when the poll read. A transaction that started before the poll
and commits after it is therefore found by the next poll, however long it ran; `updated_since`,
which compares timestamps taken when the writer started, misses it.

On SQLite (one writer at a time) the mark is the highest stamp written so far.
"""

import re

from django.db import connection
from django.db.models import Max, QuerySet

from visibility.models import DeclarationVisibility, ParticipantVisibility, TrainingRecordVisibility

SNAPSHOT = re.compile(r"^(\d{1,20}):(\d{1,20}):((?:\d{1,20},)*\d{1,20})?$")
STAMP = re.compile(r"^\d{1,20}$")


def current_mark() -> str:
    """The mark of a poll starting now: take it before reading the first page."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_snapshot()::text")
            return cursor.fetchone()[0]
    stamps = [
        model.objects.aggregate(top=Max("xid"))["top"] or 0
        for model in (ParticipantVisibility, TrainingRecordVisibility, DeclarationVisibility)
    ]
    return str(max(stamps))


def is_mark(value: str) -> bool:
    pattern = SNAPSHOT if connection.vendor == "postgresql" else STAMP
    return isinstance(value, str) and pattern.match(value) is not None


def changed_since(rows: QuerySet, mark: str) -> QuerySet:
    """The read-model rows (of any visibility table) written by a transaction the poll with this
    mark could not see. `mark` must satisfy is_mark."""
    column = f'"{rows.model._meta.db_table}"."xid"'
    if connection.vendor == "postgresql":
        lowest_unseen = int(SNAPSHOT.match(mark).group(1))  # xmin: every older transaction was seen
        return rows.filter(xid__gte=lowest_unseen).extra(
            where=[f"NOT pg_visible_in_snapshot({column}::text::xid8, %s::pg_snapshot)"], params=[mark]
        )
    return rows.filter(xid__gt=int(mark))

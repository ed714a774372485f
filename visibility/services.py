"""Keeping the read model of visibility (visibility.models) equal to what the base tables say.

`visibility_refresh(participant_ids=...)` recomputes every row of these people, for every provider,
in the caller's transaction: the services that change visibility or a listed column call it once,
after their writes (tests/test_updated_since.py names every such change; tests/test_visibility.py
checks the read model against a full recomputation after each). Only rows that differ are
written, so a row's `xid` moves only when what a provider sees of it changed.

`visibility_rebuild()` recomputes all of it: for bulk writers (the sandbox seed) and the backfill.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Max, Q

from declarations.models import Declaration
from declarations.selectors import SHARED_STATES, TRAINING_HERE
from participants.models import InductionStatus, Participant, TrainingPeriod
from visibility.models import DeclarationVisibility, ParticipantVisibility, TrainingRecordVisibility

CHUNK = 1000

PERSON_FIELDS = ("created_at", "updated_at", "max_cohort")
RECORD_FIELDS = (
    "participant_id",
    "period_id",
    "cohort_id",
    "training_status",
    "person_created_at",
    "person_updated_at",
    "enrolment_created_at",
)
DECLARATION_FIELDS = (
    "participant_id",
    "cohort_id",
    "delivery_partner_id",
    "created_at",
    "updated_at",
    "in_v1",
)
# What a declaration's rows are computed from.
DECLARATION_COLUMNS = (
    "id",
    "participant_id",
    "lead_provider_id",
    "state",
    "declaration_date",
    *DECLARATION_FIELDS[1:5],
)
# (model, key fields, compared fields)
TABLES = (
    (ParticipantVisibility, ("lead_provider_id", "participant_id"), PERSON_FIELDS),
    (TrainingRecordVisibility, ("lead_provider_id", "enrolment_id"), RECORD_FIELDS),
    (DeclarationVisibility, ("lead_provider_id", "declaration_id"), DECLARATION_FIELDS),
)


@transaction.atomic
def visibility_refresh(*, participant_ids: Iterable) -> None:
    """Recompute the read model of these people (ids of people that exist or no longer do)."""
    ids = sorted({_as_uuid(pk) for pk in participant_ids if pk is not None})
    for start in range(0, len(ids), CHUNK):
        _refresh(ids[start : start + CHUNK])


@transaction.atomic
def visibility_rebuild() -> None:
    """Recompute the whole read model from the base tables."""
    for model, _, _ in TABLES:
        model.objects.all().delete()
    ids = list(Participant.objects.order_by("id").values_list("id", flat=True))
    stamp = _next_stamp()
    for start in range(0, len(ids), CHUNK):
        desired = compute(ids[start : start + CHUNK])
        for (model, _, _), rows in zip(TABLES, desired, strict=True):
            model.objects.bulk_create([model(**row, xid=stamp) for row in rows.values()], batch_size=CHUNK)


# --- The recomputation -----------------------------------------------------------------------


def compute(participant_ids: list) -> tuple[dict, dict, dict]:
    """The rows these people should have: ({key: row} per table, keys as in TABLES). Three queries."""
    people = {
        row["id"]: row
        for row in Participant.objects.filter(id__in=participant_ids).values("id", "created_at", "updated_at")
    }
    periods = _periods(participant_ids)
    declarations = Declaration.objects.filter(participant_id__in=participant_ids).values(*DECLARATION_COLUMNS)
    records = _records(periods, people)
    persons: dict = {}
    for record in records.values():
        key = (record["lead_provider_id"], record["participant_id"])
        person = persons.get(key)
        if person is None:
            persons[key] = {
                "lead_provider_id": key[0],
                "participant_id": key[1],
                "created_at": record["person_created_at"],
                "updated_at": record["person_updated_at"],
                "max_cohort": record["cohort_id"],
            }
        else:
            person["max_cohort"] = max(person["max_cohort"], record["cohort_id"])
    return persons, records, _declarations(declarations, periods)


def visibility_add_declarations(*, participant_id, declaration_ids: list) -> None:
    """The rows of new declarations of one person whose other rows are unchanged (see
    visibility.changes.visibility_declarations_added): three queries, in the caller's transaction."""
    declarations = Declaration.objects.filter(id__in=declaration_ids).values(*DECLARATION_COLUMNS)
    rows = _declarations(declarations, _periods([participant_id]))
    stamp = _next_stamp()
    # A row already there was computed from the same rows by visibility_refresh (the test suite's
    # save receivers refresh on every save): the same row, so it is kept.
    DeclarationVisibility.objects.bulk_create(
        [DeclarationVisibility(**row, xid=stamp) for row in rows.values()], ignore_conflicts=True
    )


def _periods(participant_ids: list) -> list[dict]:
    """The periods in a partnership of these people, with what visibility is decided by."""
    return list(
        TrainingPeriod.objects.filter(enrolment__participant_id__in=participant_ids, partnership__isnull=False).values(
            "id",
            "enrolment_id",
            "start_date",
            "end_date",
            "created_at",
            "induction_status",
            "training_status",
            "schedule__cohort_id",
            "enrolment__participant_id",
            "enrolment__created_at",
            "partnership__lead_provider_id",
            "partnership__challenge_reason",
            "partnership__challenged_at",
        )
    )


def _latest_first_key(period: dict):
    """rules §2.1's "latest" as the max of this key: no end date, then latest start, creation, id."""
    return (period["end_date"] is None, period["start_date"], period["created_at"], period["id"])


def _records(periods: list[dict], people: dict) -> dict:
    by_enrolment: dict = defaultdict(list)
    for period in periods:
        if period["partnership__challenge_reason"] is None and period["partnership__challenged_at"] is None:
            by_enrolment[(period["partnership__lead_provider_id"], period["enrolment_id"])].append(period)
    records = {}
    for (lead_provider_id, enrolment_id), candidates in by_enrolment.items():
        latest = max(candidates, key=_latest_first_key)
        person = people[latest["enrolment__participant_id"]]
        records[(lead_provider_id, enrolment_id)] = {
            "lead_provider_id": lead_provider_id,
            "enrolment_id": enrolment_id,
            "participant_id": latest["enrolment__participant_id"],
            "period_id": latest["id"],
            "cohort_id": latest["schedule__cohort_id"],
            "training_status": latest["training_status"],
            "person_created_at": person["created_at"],
            "person_updated_at": person["updated_at"],
            "enrolment_created_at": latest["enrolment__created_at"],
        }
    return records


def _declarations(declarations, periods: list[dict]) -> dict:
    """rules §4.11: the provider's own; in a shared state, those of a person it trains (sets 1-2,
    `in_v1`), or of a person leaving it, declared up to the leaving date (set 3, v3 only).
    Challenged partnerships count here, as in the original's query (declarations.selectors)."""
    training_here: dict = defaultdict(set)  # person -> providers training them
    leaving_ends: dict = defaultdict(list)  # (person, provider) -> end dates of leaving periods
    for period in periods:
        person, provider = period["enrolment__participant_id"], period["partnership__lead_provider_id"]
        if period["induction_status"] in TRAINING_HERE:
            training_here[person].add(provider)
        elif period["induction_status"] == InductionStatus.LEAVING:
            leaving_ends[(person, provider)].append(period["end_date"])
    leaving_providers: dict = defaultdict(set)
    for person, provider in leaving_ends:
        leaving_providers[person].add(provider)
    rows = {}
    for declaration in declarations:
        person = declaration["participant_id"]
        shared = declaration["state"] in SHARED_STATES
        for provider in {declaration["lead_provider_id"], *training_here[person], *leaving_providers[person]}:
            in_v1 = provider == declaration["lead_provider_id"] or (shared and provider in training_here[person])
            left_after = shared and any(
                end is None or end >= declaration["declaration_date"]
                for end in leaving_ends.get((person, provider), ())
            )
            if in_v1 or left_after:
                rows[(provider, declaration["id"])] = {
                    "lead_provider_id": provider,
                    "declaration_id": declaration["id"],
                    **{field: declaration[field] for field in DECLARATION_FIELDS[:-1]},
                    "in_v1": in_v1,
                }
    return rows


# --- Writing the difference ------------------------------------------------------------------


def _refresh(participant_ids: list) -> None:
    persons, records, declarations = compute(participant_ids)
    stamp = _next_stamp()
    record_model, person_model, declaration_model = (
        TrainingRecordVisibility,
        ParticipantVisibility,
        DeclarationVisibility,
    )
    changed = _write(record_model, records, participant_ids, "enrolment_id", RECORD_FIELDS, stamp)
    # A person's row moves with any of their records, so that the change cursor finds the person.
    touched = {(row["lead_provider_id"], row["participant_id"]) for row in changed}
    _write(person_model, persons, participant_ids, "participant_id", PERSON_FIELDS, stamp, touched=touched)
    _write(declaration_model, declarations, participant_ids, "declaration_id", DECLARATION_FIELDS, stamp)


def _write(model, rows: dict, participant_ids: list, key_field: str, fields: tuple, stamp: int, touched=()) -> list:
    """Make the table's rows of these people (and any row with a desired key) equal `rows`; returns
    the rows inserted or changed."""
    desired_keys = [key for _, key in rows]
    current = model.objects.filter(Q(participant_id__in=participant_ids) | Q(**{f"{key_field}__in": desired_keys}))
    existing = {
        (row["lead_provider_id"], row[key_field]): row
        for row in current.values("id", "lead_provider_id", key_field, *fields)
    }
    gone = [row["id"] for key, row in existing.items() if key not in rows]
    new = [key for key in rows if key not in existing]
    moved = [
        key
        for key, row in rows.items()
        if key in existing and (key in touched or any(existing[key][f] != row[f] for f in fields))
    ]
    if gone:
        model.objects.filter(id__in=gone).delete()
    if new:
        model.objects.bulk_create([model(**rows[key], xid=stamp) for key in new])
    if moved:
        model.objects.bulk_update(
            [model(id=existing[key]["id"], **rows[key], xid=stamp) for key in moved], [*fields, "xid"]
        )
    return [rows[key] for key in [*new, *moved]]


def _next_stamp() -> int:
    """The `xid` written outside PostgreSQL (whose trigger writes the transaction id instead):
    one more than any so far; SQLite has a single writer, so stamps follow commit order."""
    if connection.vendor == "postgresql":
        return 0
    stamps = [model.objects.aggregate(top=Max("xid"))["top"] or 0 for model, _, _ in TABLES]
    return max(stamps) + 1


def _as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))

"""Reads of the participants domain, scoped to the lead provider asking.

Visibility (rules §2.1): a provider sees an enrolment when one of its training periods sits in a
partnership of that provider that is not challenged (relationship partnerships count). Of those
periods the provider sees exactly one, the "latest": no end date first, then latest start, then
latest creation. Every per-enrolment field the API shows comes from that period, so training
status is per provider.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, RowNumber

from ecf import lookups  # noqa: F401  (registers `__one_of`, used below)
from ecf.compiled_query import CompiledQuery
from ecf.db_functions import IsoDate, Rfc3339, UuidText
from ecf.planner import index_lookups
from participants.models import (
    KIND_FOR_COURSE,
    SCHOOL_ELIGIBLE,
    UNCHALLENGED,
    Cohort,
    DeliveryPartner,
    Enrolment,
    EnrolmentKind,
    InductionStatus,
    Participant,
    ParticipantIdChange,
    Partnership,
    ProviderRelationship,
    School,
    TrainingPeriod,
    TrainingStatusChange,
)
from visibility.models import ParticipantVisibility, TrainingRecordVisibility

LATEST_FIRST = [
    Case(When(end_date__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()).asc(),
    F("start_date").desc(),
    F("created_at").desc(),
    F("id").desc(),
]


def visible_periods(lead_provider_id) -> QuerySet[TrainingPeriod]:
    return TrainingPeriod.objects.filter(
        partnership__lead_provider_id=lead_provider_id,
        partnership__challenge_reason__isnull=True,
        partnership__challenged_at__isnull=True,
    )


def latest_periods(lead_provider_id) -> QuerySet[TrainingPeriod]:
    """The provider's latest period of each enrolment it can see (one row per enrolment), ordered by
    enrolment id on PostgreSQL (re-order in memory, or filter `id__in` it: see enrolment_views).

    PostgreSQL keeps the first row of each enrolment in LATEST_FIRST order (DISTINCT ON): one sort,
    where the window function ranked every period and then needed a join back to filter the ranks,
    which the planner under-estimated into nested loops (docs/benchmarks.md). SQLite has no
    DISTINCT ON and ranks with the window function.
    """
    periods = visible_periods(lead_provider_id)
    if connection.vendor == "postgresql":
        return periods.order_by("enrolment_id", *LATEST_FIRST).distinct("enrolment_id")
    return periods.annotate(
        latest_rank=Window(RowNumber(), partition_by=[F("enrolment_id")], order_by=LATEST_FIRST)
    ).filter(latest_rank=1)


def visible_participants(lead_provider_id, **latest_period_conditions) -> QuerySet[Participant]:
    """People with at least one enrolment visible to the provider; the conditions, if any, apply
    to the provider's latest period (e.g. `schedule__cohort_id__in=[2024]`, api.md §16.24)."""
    return Participant.objects.filter(
        id__in=visible_participant_ids(lead_provider_id, order=["id"], **latest_period_conditions)
    )


# Latest-period conditions the read model answers, by the column that holds them there.
RECORD_CONDITION_COLUMNS = {"schedule__cohort_id": "cohort_id", "training_status": "training_status"}
# The people list's sort keys, as columns of the read model.
PERSON_ORDER_COLUMNS = {"id": "participant_id", "created_at": "created_at", "updated_at": "updated_at"}


def visible_records(lead_provider_id, **latest_period_conditions) -> QuerySet[TrainingRecordVisibility]:
    """The provider's training records (one per visible enrolment, visibility.models) whose latest
    period meets the conditions (`schedule__cohort_id...`, `training_status...`)."""
    conditions = {}
    for lookup, value in latest_period_conditions.items():
        for field, column in RECORD_CONDITION_COLUMNS.items():
            if lookup == field or lookup.startswith(field + "__"):
                conditions[column + lookup.removeprefix(field)] = value
                break
        else:
            raise ValueError(f"visible_records: no read-model column for {lookup!r}")
    return TrainingRecordVisibility.objects.filter(lead_provider_id=lead_provider_id, **conditions)


def visible_participant_ids(
    lead_provider_id,
    *,
    order: list[str],
    updated_since: datetime | None = None,
    from_participant_ids: list | None = None,
    **latest_period_conditions,
) -> QuerySet:
    """The ids of the people the provider sees, in `order` (terms on the person: `created_at`,
    `-updated_at`, `id`), as one index range scan of the read model: slice it for a page.

    `updated_since` is inclusive, on the person's sync timestamp; `from_participant_ids` keeps the
    people one of these retired ids was merged into; the conditions apply to an enrolment's latest
    period, as in visible_participants.
    """
    people = ParticipantVisibility.objects.filter(lead_provider_id=lead_provider_id)
    if list(latest_period_conditions) == ["schedule__cohort_id__gt"]:
        # The lists' default: some record is in a later cohort exactly when the latest one is, a
        # column of the row, so the page stays one index range scan.
        people = people.filter(max_cohort__gt=latest_period_conditions["schedule__cohort_id__gt"])
    elif latest_period_conditions:
        matching = visible_records(lead_provider_id, **latest_period_conditions).filter(
            participant_id=OuterRef("participant_id")
        )
        people = people.filter(Exists(matching))
    if updated_since is not None:
        people = people.filter(updated_at__gte=updated_since)
    if from_participant_ids is not None:
        merged = ParticipantIdChange.objects.filter(from_participant_id__in=from_participant_ids)
        people = people.filter(participant_id__in=merged.values("participant_id"))
    terms = [("-" if term.startswith("-") else "") + PERSON_ORDER_COLUMNS[term.lstrip("-")] for term in order]
    return people.order_by(*terms).values_list("participant_id", flat=True)


# The columns a provider's view of an enrolment is built from: one row per visible enrolment. Its
# ids come as text (ENROLMENT_VIEW_TEXTS), the form they are shown in and keyed by.
ENROLMENT_VIEW_COLUMNS = (
    "enrolment__kind",
    "enrolment__eligibility_status",
    "enrolment__eligibility_reason",
    "enrolment__validation_trn",
    "enrolment__pupil_premium_uplift",
    "enrolment__sparsity_uplift",
    "enrolment__induction_completion_date",
    "enrolment__mentor_completion_date",
    "enrolment__mentor_completion_reason",
    "enrolment__cohort_changed_after_payments_frozen",
    "enrolment__participant__email",
    "enrolment__participant__trn",
    "email",
    "school__urn",
    "cohort_id",
    "schedule__identifier",
    "schedule__cohort_id",
    "training_status",
)


# The ids, dates and timestamps the API shows, as text from the database (ecf.db_functions): a page of
# 3000 enrolments spent more on strftime than on the rest of the representation. The person's
# columns ride along on each of their enrolments, so a page needs no query of its own.
ENROLMENT_VIEW_TEXTS = {
    "enrolment_id_text": UuidText("enrolment_id"),
    "participant_id_text": UuidText("enrolment__participant_id"),
    "mentor_id_text": UuidText("mentor__participant_id"),
    "delivery_partner_id_text": UuidText("partnership__delivery_partner_id"),
    "created_at_text": Rfc3339("enrolment__created_at"),
    "induction_completion_date_text": IsoDate("enrolment__induction_completion_date"),
    "mentor_completion_date_text": IsoDate("enrolment__mentor_completion_date"),
    "person_updated_at_text": Rfc3339("enrolment__participant__updated_at"),
}
# The people's order terms (`created_at`, `-updated_at`, `id`) on a period's columns.
PERSON_ORDER_ON_PERIOD = {
    "id": "enrolment__participant_id",
    "created_at": "enrolment__participant__created_at",
    "updated_at": "enrolment__participant__updated_at",
}


def participant_status(now: datetime) -> Case:
    """School-reported status of the latest period, evaluated at `now` (rules §2.3), NULL when none."""
    return Case(
        When(end_date__isnull=False, end_date__gt=now, then=Value("leaving")),
        When(end_date__isnull=False, then=Value("left")),
        When(start_date__gt=now, then=Value("joining")),
        When(induction_status__in=[InductionStatus.ACTIVE, InductionStatus.COMPLETED], then=Value("active")),
        When(induction_status__in=[InductionStatus.WITHDRAWN, InductionStatus.CHANGED], then=Value("withdrawn")),
        default=None,
        output_field=CharField(),
    )


def enrolment_views(lead_provider_id, *, participant_ids, now: datetime, order: list[str]) -> list[dict]:
    """The provider's latest period of every enrolment of these people, flattened (one query), the
    people in `order` (terms on the person: `created_at`, `-updated_at`, `id`; end with `id`) and
    each person's enrolments oldest first, with its `participant_status` at `now`, the person's
    columns (full name, `person_updated_at_text`) and whether the person has id changes
    (`has_id_changes`).

    `participant_ids` is a list of ids or a page of the read model's ids (a sliced queryset of
    visible_participant_ids, read first). The latest periods are the read model's
    (visibility.models), and they and their rows are one statement, so the query reads these
    people's rows only. Every person visible to the provider has at least one row.
    """
    # The page's ids as a list: as a subquery, the planner walked every person in the page's order.
    people = list(participant_ids) if isinstance(participant_ids, QuerySet) else participant_ids
    records = TrainingRecordVisibility.objects.filter(lead_provider_id=lead_provider_id, participant_id__one_of=people)
    has_id_changes = Exists(ParticipantIdChange.objects.filter(participant_id=OuterRef("enrolment__participant_id")))
    person_order = [("-" if term.startswith("-") else "") + PERSON_ORDER_ON_PERIOD[term.lstrip("-")] for term in order]
    rows = (
        TrainingPeriod.objects.filter(id__in=records.values("period_id"))
        # Sorted by the database: a person's rows together, in the page's order (ids are unique, so
        # `order`'s last term settles ties between people), then their enrolments oldest first.
        .order_by(*person_order, "enrolment__created_at", "enrolment_id")
        .values(
            *ENROLMENT_VIEW_COLUMNS,
            "enrolment__participant__full_name",
            **ENROLMENT_VIEW_TEXTS,
            participant_status=participant_status(now),
            has_id_changes=has_id_changes,
        )
    )
    # Ids known (the page's, an index range scan), so every row is an index lookup, never a hashed
    # base table (ecf.planner): with its own estimate the planner hashed whole tables for a page of one.
    with index_lookups():
        return list(rows)


def provider_status_changes(lead_provider_id, *, enrolment_ids) -> dict:
    """{enrolment id as text: {training_status: newest change by this provider}} for withdrawal/deferral
    objects (keyed as enrolment_views' `enrolment_id_text`)."""
    newest: dict = {}
    changes = (
        TrainingStatusChange.objects.filter(lead_provider_id=lead_provider_id, enrolment_id__one_of=enrolment_ids)
        .order_by("created_at", "id")
        .values(
            "training_status",
            "reason",
            enrolment_id_text=UuidText("enrolment_id"),
            created_at_text=Rfc3339("created_at"),
        )
    )
    for change in changes:
        newest.setdefault(change["enrolment_id_text"], {})[change["training_status"]] = change
    return newest


def id_changes(*, participant_ids) -> dict:
    """{participant id as text: [id change rows, oldest first]}, the ids as text (`*_text`)."""
    by_participant: dict = {}
    rows = (
        ParticipantIdChange.objects.filter(participant_id__one_of=participant_ids)
        .order_by("created_at", "id")
        .values(
            participant_id_text=UuidText("participant_id"),
            from_participant_id_text=UuidText("from_participant_id"),
            to_participant_id_text=UuidText("to_participant_id"),
            created_at_text=Rfc3339("created_at"),
        )
    )
    for row in rows:
        by_participant.setdefault(row["participant_id_text"], []).append(row)
    return by_participant


# --- Schools, delivery partners and partnerships (rules §7.3, §8.1, §8.3) ---------------------


def schools_for_cohort(cohort_id: int) -> QuerySet[School]:
    """The schools every provider sees for a cohort (rules §8.1), annotated with what the API shows.

    The set is not provider-scoped: schools eligible for funding (never CIP-only, which needs
    ineligibility) plus any school with an unchallenged, non-relationship partnership for the
    cohort, so a school that lost eligibility stays listed where it is partnered. An unknown
    cohort has no schools. Annotations: `in_partnership` (any unchallenged partnership of the
    cohort, any provider, relationship ones included), `programme_choice` and `cohort_updated_at`
    from the school cohort (None without one), and `last_updated_at`, the later of the school's
    and its school cohort's `updated_at`.
    """
    partnered = Partnership.objects.filter(UNCHALLENGED, cohort_id=cohort_id, school_id=OuterRef("pk"))
    return School.objects.filter(
        Exists(Cohort.objects.filter(start_year=cohort_id)),
        Q(SCHOOL_ELIGIBLE) | Q(Exists(partnered.filter(relationship=False))),
    ).annotate(
        this_cohort=FilteredRelation("school_cohorts", condition=Q(school_cohorts__cohort_id=cohort_id)),
        in_partnership=Exists(partnered),
        programme_choice=F("this_cohort__induction_programme_choice"),
        cohort_updated_at=F("this_cohort__updated_at"),
        # Coalesce: SQLite's MAX() of a NULL is NULL where PostgreSQL's GREATEST skips it.
        last_updated_at=Greatest("updated_at", Coalesce("this_cohort__updated_at", "updated_at")),
    )


def provider_delivery_partners(lead_provider_id, **relationship_conditions) -> QuerySet[DeliveryPartner]:
    """Delivery partners the provider has a relationship with (rules §8.3); the conditions, if any,
    apply to the relationship (e.g. `cohort_id__in=[2024]`)."""
    related = ProviderRelationship.objects.filter(lead_provider_id=lead_provider_id, **relationship_conditions)
    return DeliveryPartner.objects.filter(id__in=related.values("delivery_partner_id"))


def relationship_cohorts(lead_provider_id, *, delivery_partner_ids) -> dict:
    """{delivery_partner_id: [start years of its relationships with the provider, ascending]}."""
    years: dict = {}
    rows = (
        ProviderRelationship.objects.filter(
            lead_provider_id=lead_provider_id, delivery_partner_id__in=delivery_partner_ids
        )
        .order_by("cohort_id")
        .values_list("delivery_partner_id", "cohort_id")
    )
    for delivery_partner_id, year in rows:
        years.setdefault(delivery_partner_id, []).append(year)
    return years


def provider_partnerships(lead_provider_id) -> QuerySet[Partnership]:
    """The provider's own partnerships, challenged ones included, relationship records never
    (rules §7.3, §7.5); `last_updated_at` is the latest of the partnership, its school and its
    delivery partner."""
    return Partnership.objects.filter(lead_provider_id=lead_provider_id, relationship=False).annotate(
        last_updated_at=Greatest("updated_at", "school__updated_at", "delivery_partner__updated_at")
    )


def partnerships_updated_since(partnerships: QuerySet[Partnership], since) -> QuerySet[Partnership]:
    """A change to the partnership, its school or its delivery partner brings it back into a sync."""
    return partnerships.filter(
        Q(updated_at__gte=since) | Q(school__updated_at__gte=since) | Q(delivery_partner__updated_at__gte=since)
    )


# --- Transfers (rules §6) ----------------------------------------------------------------------


class TransferType(TextChoices):
    NEW_PROVIDER = "new_provider"
    NEW_SCHOOL = "new_school"
    UNKNOWN = "unknown"


class TransferStatus(TextChoices):
    INCOMPLETE = "incomplete"
    COMPLETE = "complete"


# One row per training period, as the pairing needs it (plain dicts, see provider_transfers).
TRANSFER_PERIOD_COLUMNS = {
    "participant_id": F("enrolment__participant_id"),
    "school_urn": F("school__urn"),
    "lead_provider_id": F("partnership__lead_provider_id"),
    "lead_provider_name": F("partnership__lead_provider__name"),
}
TRANSFER_PERIOD_FIELDS = (
    "id",
    "enrolment_id",
    "school_id",
    "induction_status",
    "school_transfer",
    "start_date",
    "end_date",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Transfer:
    """A leaving period and the period at the new school, when one has been reported (rules §6.1).

    `leaving` and `joining` are rows of TRANSFER_PERIOD_FIELDS + TRANSFER_PERIOD_COLUMNS.
    """

    enrolment_id: uuid.UUID
    leaving: dict
    joining: dict | None

    @property
    def transfer_type(self) -> str:
        if self.joining is None:
            return TransferType.UNKNOWN
        old, new = self.leaving["lead_provider_id"], self.joining["lead_provider_id"]
        # A side without a partnership (school-led) is not a change of provider.
        if old is not None and new is not None and old != new:
            return TransferType.NEW_PROVIDER
        return TransferType.NEW_SCHOOL

    def status(self, today: date) -> str:
        """Complete once the later of the leaving and joining dates has passed (rules §6.3)."""
        days = [_utc_date(self.leaving["end_date"])]
        if self.joining is not None:
            days.append(_utc_date(self.joining["start_date"]))
        known = [day for day in days if day is not None]
        # A leaver with no date yet has not moved: the move cannot be complete.
        if not known or max(known) > today:
            return TransferStatus.INCOMPLETE
        return TransferStatus.COMPLETE

    @property
    def updated_at(self) -> datetime:
        sides = [self.leaving] if self.joining is None else [self.leaving, self.joining]
        return max(side["updated_at"] for side in sides)

    def reported_to(self, lead_provider_id) -> bool:
        """Either side's provider sees a pair; only the leaving provider sees a leaver alone (rules §6.2 step 3)."""
        if self.leaving["lead_provider_id"] == lead_provider_id:
            return True
        return self.joining is not None and self.joining["lead_provider_id"] == lead_provider_id


def _utc_date(value: datetime | None) -> date | None:
    return None if value is None else value.astimezone(UTC).date()


def transfer_participants(lead_provider_id) -> QuerySet[Participant]:
    """The people in the provider's transfers list (rules §6.3, api.md §10.3).

    An enrolment counts when one of its periods under this provider's partnerships is a school
    transfer or is leaving, and it has a leaving period (anyone's), so both the provider that lost
    the participant and the one that received them find the person. Challenged partnerships are
    not excluded: the original's query does not exclude them and the spec names none.
    """
    touched = TrainingPeriod.objects.filter(
        Q(school_transfer=True) | Q(induction_status=InductionStatus.LEAVING),
        partnership__lead_provider_id=lead_provider_id,
    )
    leaving = TrainingPeriod.objects.filter(
        induction_status=InductionStatus.LEAVING, enrolment_id__in=touched.values("enrolment_id")
    )
    return Participant.objects.filter(id__in=leaving.values("enrolment__participant_id"))


def pair_transfers(periods: list[dict]) -> list[Transfer]:
    """Pair an enrolment's periods, given in creation order, into transfers (rules §6.2 steps 1-2).

    Each leaving period takes the first period not yet paired (earlier ones included) that is
    not itself leaving, is at a different school and is flagged as a school transfer.
    """
    used: set = set()
    transfers = []
    for leaving in periods:
        if leaving["induction_status"] != InductionStatus.LEAVING:
            continue
        used.add(leaving["id"])
        joining = next(
            (
                period
                for period in periods
                if period["id"] not in used
                and period["induction_status"] != InductionStatus.LEAVING
                and period["school_id"] != leaving["school_id"]
                and period["school_transfer"]
            ),
            None,
        )
        if joining is not None:
            used.add(joining["id"])
        transfers.append(Transfer(enrolment_id=leaving["enrolment_id"], leaving=leaving, joining=joining))
    return transfers


def provider_transfers(lead_provider_id, *, participant_ids) -> dict:
    """{participant_id: [Transfer, ...]}: the transfers of these people the provider is told about.

    One query fetches every period of these people (any provider: the other side of a transfer
    is shown too); the pairing is done in memory, enrolment by enrolment in creation order.
    """
    periods = (
        TrainingPeriod.objects.filter(enrolment__participant_id__in=participant_ids)
        # Creation order; periods made in the same instant fall back to their start.
        .order_by("enrolment__created_at", "enrolment_id", "created_at", "start_date", "id")
        .values(*TRANSFER_PERIOD_FIELDS, **TRANSFER_PERIOD_COLUMNS)
    )
    by_enrolment: dict = {}
    for period in periods:
        by_enrolment.setdefault((period["participant_id"], period["enrolment_id"]), []).append(period)
    reported: dict = {}
    for (participant_id, _), enrolment_periods in by_enrolment.items():
        for transfer in pair_transfers(enrolment_periods):
            if transfer.reported_to(lead_provider_id):
                reported.setdefault(participant_id, []).append(transfer)
    return reported


# --- Unfunded mentors (rules §8.2) --------------------------------------------------------------


def unfunded_mentor_enrolments(lead_provider_id) -> QuerySet[Enrolment]:
    """Mentor enrolments assigned on the provider's latest period of one of its ECTs that the
    provider does not train itself (no period under its unchallenged partnerships)."""
    # Conditions go outside the ranked query: inside it they would pick a different "latest".
    records = TrainingRecordVisibility.objects.filter(lead_provider_id=lead_provider_id)
    assigned = TrainingPeriod.objects.filter(
        id__in=records.values("period_id"), enrolment__kind=EnrolmentKind.ECT, mentor__isnull=False
    )
    # An enrolment the provider trains has a record (a visible period) of its own.
    return Enrolment.objects.filter(id__in=assigned.values("mentor_id")).exclude(id__in=records.values("enrolment_id"))


def unfunded_mentors(lead_provider_id) -> QuerySet[Participant]:
    return Participant.objects.filter(id__in=unfunded_mentor_enrolments(lead_provider_id).values("participant_id"))


def unfunded_mentor_details(lead_provider_id, *, participant_ids) -> dict:
    """{participant_id: {"latest_email", "validation_trn"}} of these people's unfunded mentor enrolments.

    `latest_email` is the preferred email of the enrolment's latest period with any provider
    (blank or None when there is none). One query; a person with two such enrolments is shown
    through the older one.
    """
    latest_email = (
        TrainingPeriod.objects.filter(enrolment_id=OuterRef("pk")).order_by(*LATEST_FIRST).values("email")[:1]
    )
    rows = (
        unfunded_mentor_enrolments(lead_provider_id)
        .filter(participant_id__in=participant_ids)
        .annotate(latest_email=Subquery(latest_email))
        .order_by("created_at", "id")
        .values("participant_id", "latest_email", "validation_trn")
    )
    details: dict = {}
    for row in rows:
        details.setdefault(row["participant_id"], row)
    return details


# --- Resolving a participant_id sent to a write endpoint (rules §1.4, api.md §11) -------------


def participant_by_any_id(participant_id) -> Participant | None:
    """The person with this id now, or the one an id retired by a merge moved to."""
    person = Participant.objects.filter(pk=participant_id).first()
    if person is not None:
        return person
    change = ParticipantIdChange.objects.filter(from_participant_id=participant_id).select_related("participant")
    change = change.order_by("-created_at").first()
    return change.participant if change else None


def participant_known_to(lead_provider_id, participant_id: uuid.UUID) -> dict | None:
    """The person a (possibly retired) id names, as {"id", "trn", "trained"}, or None for an unknown id.

    `trained` is whether the provider has ever trained them (an unchallenged period of any of their
    enrolments): a write for a person it has not trained must answer as for an unknown id (issue
    12.4), so this is one query whatever the answer is, and nothing more is read for such a person.
    """
    return _PARTICIPANT_KNOWN_TO.first(lead_provider_id=lead_provider_id, participant_id=participant_id)


def _participant_known_to_query(*, lead_provider_id, participant_id) -> QuerySet:
    trained = Exists(visible_periods(lead_provider_id).filter(enrolment__participant_id=OuterRef("pk")))
    columns = ("id", "trn", "trained", "rank")
    # `.order_by()`: the parts drop the model's default ordering, which SQLite (`make run`) refuses
    # inside a UNION (tests/test_embedded_database.py); the union is ordered as a whole.
    named = (
        Participant.objects.filter(pk=participant_id)
        .annotate(rank=Value(0), trained=trained)
        .values(*columns)
        .order_by()
    )
    retired = (
        Participant.objects.filter(id_changes__from_participant_id=participant_id)
        .annotate(rank=Value(1), trained=trained)
        .values(*columns)
        .order_by()
    )
    return named.union(retired, all=True).order_by("rank")[:1]


_PARTICIPANT_KNOWN_TO = CompiledQuery(_participant_known_to_query)


def trained_enrolments(lead_provider_id, *, participant_id) -> QuerySet[Enrolment]:
    """The person's active enrolments that the provider trains (an unchallenged period), ECT first."""
    trained = Exists(visible_periods(lead_provider_id).filter(enrolment_id=OuterRef("pk")))
    return (
        Enrolment.objects.filter(trained, participant_id=participant_id, is_active=True)
        .select_related("schedule")
        .order_by("kind", "created_at")
    )


def enrolment_for_course(participant: Participant, course_identifier: str, *, lead_provider_id=None):
    """The person's active enrolment for a course (`ecf-induction` → ECT, `ecf-mentor` → mentor).

    After a merge a person can hold two enrolments of one kind: the one the provider trains
    (visible to it) wins, then the newest.
    """
    kind = KIND_FOR_COURSE.get(course_identifier)
    if kind is None:
        return None
    candidates = Enrolment.objects.filter(participant=participant, kind=kind, is_active=True).select_related(
        "schedule__cohort"
    )
    if lead_provider_id is not None:
        # Correlated, so the database checks this person's periods only (an IN over every period of
        # a large provider cost a declaration POST 10 ms, docs/benchmarks.md).
        visible = candidates.filter(Exists(visible_periods(lead_provider_id).filter(enrolment_id=OuterRef("pk"))))
        found = visible.order_by("-created_at").first()
        if found is not None:
            return found
    return candidates.order_by("-created_at").first()


# --- v1/v2 training records (api.md §9.1, §10.1) -------------------------------------------------


def training_records(lead_provider_id, **latest_period_conditions) -> QuerySet[TrainingPeriod]:
    """The provider's latest period of every enrolment it can see: one row per training record, so a
    person who is both ECT and mentor has two. The conditions, if any, apply to that latest period
    (e.g. `schedule__cohort_id__in=[2024]`). Read it with the keys of ENROLMENT_VIEW_COLUMNS."""
    records = TrainingRecordVisibility.objects.filter(lead_provider_id=lead_provider_id)
    return TrainingPeriod.objects.filter(id__in=records.values("period_id"), **latest_period_conditions)


def visible_training_record_periods(
    lead_provider_id, *, updated_since: datetime | None = None, **latest_period_conditions
) -> QuerySet:
    """The latest-period ids of the provider's training records (v1/v2 participants), in the lists'
    order, read by an index range scan of the read model: by the person's creation (or, with
    `updated_since`, inclusive, by the person's sync timestamp), then the enrolment's creation."""
    records = visible_records(lead_provider_id, **latest_period_conditions)
    person_key = "person_created_at"
    if updated_since is not None:
        records = records.filter(person_updated_at__gte=updated_since)
        person_key = "person_updated_at"
    ordered = records.order_by(person_key, "participant_id", "enrolment_created_at", "enrolment_id")
    return ordered.values_list("period_id", flat=True)

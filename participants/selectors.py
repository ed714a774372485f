"""Reads of the participants domain, scoped to the lead provider asking.

Visibility (rules §2.1): a provider sees an enrolment when one of its training periods sits in a
partnership of that provider that is not challenged (relationship partnerships count). Of those
periods the provider sees exactly one, the "latest": no end date first, then latest start, then
latest creation. Every per-enrolment field the API shows comes from that period, so training
status is per provider.
"""

from django.db.models import Case, F, IntegerField, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber

from participants.models import Participant, ParticipantIdChange, TrainingPeriod, TrainingStatusChange

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
    """The provider's latest period of each enrolment it can see (one row per enrolment)."""
    return (
        visible_periods(lead_provider_id)
        .annotate(latest_rank=Window(RowNumber(), partition_by=[F("enrolment_id")], order_by=LATEST_FIRST))
        .filter(latest_rank=1)
    )


def visible_participants(lead_provider_id, **latest_period_conditions) -> QuerySet[Participant]:
    """People with at least one enrolment visible to the provider; the conditions, if any, apply
    to the provider's latest period (e.g. `schedule__cohort_id__in=[2024]`, api.md §16.24)."""
    if not latest_period_conditions:
        return Participant.objects.filter(id__in=visible_periods(lead_provider_id).values("enrolment__participant_id"))
    # Filter after ranking: a condition inside the ranked query would pick a different "latest".
    latest = TrainingPeriod.objects.filter(
        id__in=latest_periods(lead_provider_id).values("id"), **latest_period_conditions
    )
    return Participant.objects.filter(id__in=latest.values("enrolment__participant_id"))


# The columns a provider's view of an enrolment is built from: one row per visible enrolment.
ENROLMENT_VIEW_COLUMNS = (
    "enrolment_id",
    "enrolment__participant_id",
    "enrolment__kind",
    "enrolment__created_at",
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
    "mentor__participant_id",
    "school__urn",
    "cohort_id",
    "schedule__identifier",
    "schedule__cohort_id",
    "partnership__delivery_partner_id",
    "training_status",
    "induction_status",
    "start_date",
    "end_date",
)


def enrolment_views(lead_provider_id, *, participant_ids) -> list[dict]:
    """The provider's latest period of every enrolment of these people, flattened (one query)."""
    return list(
        latest_periods(lead_provider_id)
        .filter(enrolment__participant_id__in=participant_ids)
        .order_by("enrolment__created_at", "enrolment_id")
        .values(*ENROLMENT_VIEW_COLUMNS)
    )


def provider_status_changes(lead_provider_id, *, enrolment_ids) -> dict:
    """{enrolment_id: {training_status: newest change by this provider}} for withdrawal/deferral objects."""
    newest: dict = {}
    changes = (
        TrainingStatusChange.objects.filter(lead_provider_id=lead_provider_id, enrolment_id__in=enrolment_ids)
        .order_by("created_at", "id")
        .values("enrolment_id", "training_status", "reason", "created_at")
    )
    for change in changes:
        newest.setdefault(change["enrolment_id"], {})[change["training_status"]] = change
    return newest


def id_changes(*, participant_ids) -> dict:
    """{participant_id: [id change rows, oldest first]}."""
    by_participant: dict = {}
    rows = (
        ParticipantIdChange.objects.filter(participant_id__in=participant_ids)
        .order_by("created_at", "id")
        .values("participant_id", "from_participant_id", "to_participant_id", "created_at")
    )
    for row in rows:
        by_participant.setdefault(row["participant_id"], []).append(row)
    return by_participant

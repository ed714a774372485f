"""The read model of visibility (visibility.models) stays equal to a full recomputation from the base
tables after every kind of change (issue 19): each change of tests/test_updated_since.py's table is
made through its service, with only the services' own calls keeping the read model, and then every
table of the read model is compared with what the visibility rules, run as queries on the base
tables, say each provider sees (the selectors' queries before the read model existed)."""

import pytest
from django.db.models import Exists, OuterRef, Q

from declarations.models import Declaration, DeclarationState
from ecf import clock
from participants.models import InductionStatus, LeadProvider, TrainingPeriod
from participants.selectors import latest_periods
from tests.test_updated_since import CHANGES, T0, T1, world  # noqa: F401  (the world fixture)
from tests.visibility_sync import services_only
from visibility.models import DeclarationVisibility, ParticipantVisibility, TrainingRecordVisibility
from visibility.services import visibility_rebuild

pytestmark = pytest.mark.django_db

SHARED_STATES = (DeclarationState.SUBMITTED, DeclarationState.ELIGIBLE, DeclarationState.PAYABLE, DeclarationState.PAID)


def _declarations_by_query(lead_provider_id, *, include_leaving: bool):
    """rules §4.11 as one query on the base tables (declarations.selectors before the read model)."""
    provider_periods = TrainingPeriod.objects.filter(partnership__lead_provider_id=lead_provider_id)
    training_here = provider_periods.filter(
        induction_status__in=(InductionStatus.ACTIVE, InductionStatus.COMPLETED)
    ).values("enrolment__participant_id")
    leaving = provider_periods.filter(induction_status=InductionStatus.LEAVING)
    left_after_declaration = leaving.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=OuterRef("declaration_date")),
        enrolment__participant_id=OuterRef("participant_id"),
    )
    shared = Q(participant_id__in=training_here)
    if include_leaving:
        shared |= Q(participant_id__in=leaving.values("enrolment__participant_id")) & Exists(left_after_declaration)
    return Declaration.objects.filter(Q(lead_provider_id=lead_provider_id) | (Q(state__in=SHARED_STATES) & shared))


def recomputed() -> dict[str, set]:
    """Every row the read model should hold, as tuples, from the base tables."""
    cohorts, records, declarations = {}, set(), set()
    for provider in LeadProvider.objects.values_list("id", flat=True):
        for row in latest_periods(provider).values(
            "id",
            "enrolment_id",
            "enrolment__participant_id",
            "schedule__cohort_id",
            "training_status",
            "enrolment__participant__created_at",
            "enrolment__participant__updated_at",
            "enrolment__created_at",
        ):
            person = row["enrolment__participant_id"]
            records.add(
                (
                    provider,
                    row["enrolment_id"],
                    person,
                    row["id"],
                    row["schedule__cohort_id"],
                    row["training_status"],
                    row["enrolment__participant__created_at"],
                    row["enrolment__participant__updated_at"],
                    row["enrolment__created_at"],
                )
            )
            created, updated = row["enrolment__participant__created_at"], row["enrolment__participant__updated_at"]
            key = (provider, person, created, updated)
            cohorts.setdefault(key, set()).add(row["schedule__cohort_id"])
        in_v1 = set(_declarations_by_query(provider, include_leaving=False).values_list("id", flat=True))
        for row in _declarations_by_query(provider, include_leaving=True).values(
            "id", "participant_id", "cohort_id", "delivery_partner_id", "created_at", "updated_at"
        ):
            declarations.add(
                (
                    provider,
                    row["id"],
                    row["participant_id"],
                    row["cohort_id"],
                    row["delivery_partner_id"],
                    row["created_at"],
                    row["updated_at"],
                    row["id"] in in_v1,
                )
            )
    people = {(*key, max(years)) for key, years in cohorts.items()}
    return {"people": people, "records": records, "declarations": declarations}


def read_model() -> dict[str, set]:
    return {
        "people": set(
            ParticipantVisibility.objects.values_list(
                "lead_provider_id", "participant_id", "created_at", "updated_at", "max_cohort"
            )
        ),
        "records": set(
            TrainingRecordVisibility.objects.values_list(
                "lead_provider_id",
                "enrolment_id",
                "participant_id",
                "period_id",
                "cohort_id",
                "training_status",
                "person_created_at",
                "person_updated_at",
                "enrolment_created_at",
            )
        ),
        "declarations": set(
            DeclarationVisibility.objects.values_list(
                "lead_provider_id",
                "declaration_id",
                "participant_id",
                "cohort_id",
                "delivery_partner_id",
                "created_at",
                "updated_at",
                "in_v1",
            )
        ),
    }


@pytest.mark.parametrize("case", CHANGES, ids=[case.name for case in CHANGES])
def test_the_read_model_equals_a_full_recomputation_after_each_change(world, case):  # noqa: F811
    if case.prepare is not None:
        with clock.frozen(T0):
            case.prepare(world)
    before = read_model()
    assert before == recomputed()  # the world itself (built through factories) is consistent

    with services_only(), clock.frozen(T1):
        case.change(world)

    after = read_model()
    assert after == recomputed()


def test_the_world_has_rows_in_every_table(world):  # noqa: F811
    """Guard against a vacuous comparison."""
    assert all(read_model().values())


def test_a_rebuild_gives_the_same_rows(world):  # noqa: F811
    before = read_model()

    visibility_rebuild()

    assert read_model() == before

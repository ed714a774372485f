"""Reads beside participants.selectors for the details only some endpoints show: the rewrite's
contract flavour (api/rect/) shows these. Each takes the ids of one page and costs one query."""

from datetime import datetime

from django.db.models import Count, Q

from ecf import lookups  # noqa: F401  (registers `__one_of`, used below)
from ecf.planner import index_lookups
from participants.models import Enrolment, Partnership, School, SchoolCohort, TrainingPeriod, TrainingStatus


def enrolment_details(*, enrolment_ids) -> dict:
    """{enrolment_id: {working_pattern, most_recent_induction_period_end_date, induction_start_date}}."""
    rows = Enrolment.objects.filter(id__one_of=list(enrolment_ids)).values(
        "id", "working_pattern", "most_recent_induction_period_end_date", "induction_start_date"
    )
    # A page's enrolments by primary key: as a plain IN, 3000 of them made the planner scan every
    # enrolment (docs/benchmarks.md, scan nodes).
    with index_lookups():
        return {row["id"]: row for row in rows}


def participants_currently_training(*, partnership_ids, now: datetime) -> dict:
    """{partnership_id: how many enrolments train in it now}: a period of the partnership that has
    started, has not ended and is neither withdrawn nor deferred (the rewrite's "ongoing" periods)."""
    rows = (
        TrainingPeriod.objects.filter(partnership_id__in=partnership_ids, start_date__lte=now)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=now))
        .exclude(training_status__in=[TrainingStatus.WITHDRAWN, TrainingStatus.DEFERRED])
        .values("partnership_id")
        .annotate(count=Count("enrolment_id", distinct=True))
    )
    return {row["partnership_id"]: row["count"] for row in rows}


def schools_expecting_provider(lead_provider_id, *, cohort_id: int, school_ids) -> set:
    """Ids of the schools that, for the cohort, are partnered with the provider (unchallenged) or
    said they expect to train with it (SchoolCohort.expression_of_interest_lead_provider)."""
    partnered = Partnership.objects.filter(
        lead_provider_id=lead_provider_id,
        cohort_id=cohort_id,
        school_id__in=school_ids,
        relationship=False,
        challenge_reason__isnull=True,
        challenged_at__isnull=True,
    ).values_list("school_id", flat=True)
    interested = SchoolCohort.objects.filter(
        expression_of_interest_lead_provider_id=lead_provider_id, cohort_id=cohort_id, school_id__in=school_ids
    ).values_list("school_id", flat=True)
    return set(partnered.union(interested))


def induction_tutors(*, school_ids) -> dict:
    """{school_id: (induction tutor name or None, email: the tutor's, else the primary, else the secondary contact)}."""

    rows = School.objects.filter(id__in=school_ids).values(
        "id", "induction_tutor_name", "induction_tutor_email", "primary_contact_email", "secondary_contact_email"
    )
    return {
        row["id"]: (
            row["induction_tutor_name"] or None,
            row["induction_tutor_email"] or row["primary_contact_email"] or row["secondary_contact_email"] or None,
        )
        for row in rows
    }

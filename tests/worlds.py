"""Worlds for tests that run over every endpoint: one of each kind of record an endpoint shows."""

from datetime import UTC, datetime, timedelta

from ecf import clock
from participants.models import InductionStatus
from tests.factories import (
    DeclarationFactory,
    LeadProviderFactory,
    ParticipantIdChangeFactory,
    PartnershipFactory,
    ProviderRelationshipFactory,
    SchoolFactory,
    StatementFactory,
    TrainingPeriodFactory,
    enrolled_participant,
)

WORLD_NOW = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)


def build_world(lead_provider, now: datetime = WORLD_NOW) -> datetime:
    """Every kind of record the GET endpoints show, for `lead_provider`; returns the world's "now"."""
    with clock.frozen(now):
        mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
        ect = enrolled_participant(
            lead_provider=lead_provider, school=mentor.school, mentor=mentor.enrolment, pupil_premium_uplift=True
        )
        withdrawn = enrolled_participant(lead_provider=lead_provider, training_status="withdrawn")
        enrolled_participant(lead_provider=lead_provider, training_status="deferred", fundable=False)
        ParticipantIdChangeFactory(participant=ect.participant, to_participant_id=ect.participant.id)
        # An unfunded mentor: assigned to one of our ECTs, trained by another provider.
        outside_mentor = enrolled_participant(kind="mentor")
        enrolled_participant(lead_provider=lead_provider, school=ect.school, mentor=outside_mentor.enrolment)
        # A transfer to another provider's school.
        leaving = enrolled_participant(lead_provider=lead_provider)
        leaving.training_period.induction_status = InductionStatus.LEAVING
        leaving.training_period.end_date = now - timedelta(days=2)
        leaving.training_period.save()
        TrainingPeriodFactory(
            enrolment=leaving.enrolment, partnership=PartnershipFactory(), school_transfer=True, start_date=now
        )
        # Partnerships, one challenged, and a delivery partner related to us.
        PartnershipFactory(lead_provider=lead_provider, challenged=True)
        ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=ect.delivery_partner, cohort=2024)
        SchoolFactory()
        # Statements and declarations in every state.
        StatementFactory(lead_provider=lead_provider, cohort=2024, non_output=True)
        StatementFactory(lead_provider=lead_provider, cohort=2023)  # another output statement per world
        DeclarationFactory(enrolment=withdrawn.enrolment, submitted=True)
        for state, declaration_type in (
            ("eligible", "started"),
            ("voided", "started"),
            ("payable", "retained-1"),
            ("paid", "retained-2"),
            ("awaiting_clawback", "retained-3"),
            ("clawed_back", "retained-4"),
        ):
            DeclarationFactory(enrolment=ect.enrolment, declaration_type=declaration_type, **{state: True})
        DeclarationFactory(enrolment=mentor.enrolment, ineligible=True)
        StatementFactory(lead_provider=LeadProviderFactory(), cohort=2024)
    return now

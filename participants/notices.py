"""What the participant and partnership services tell people by email (rules §3.2, §7.1): who gets
which message, with what in it. Messages go to the outbox in the caller's transaction, so they are
written exactly when the change is, and never for a change that rolled back."""

from datetime import timedelta

from ecf import clock
from notifications.services import email_enqueue, emails_cancel
from participants.models import EnrolmentKind, LeadProvider, Partnership, School, TrainingPeriod, WithdrawalReason

PARTNERSHIP_REMINDER_AFTER = timedelta(days=7)
_ROLES = {EnrolmentKind.ECT: "early career teacher", EnrolmentKind.MENTOR: "mentor"}
_REASONS = {
    WithdrawalReason.LEFT_TEACHING_PROFESSION: "they have left the teaching profession",
    WithdrawalReason.MOVED_SCHOOL: "they have moved school",
    WithdrawalReason.MENTOR_NO_LONGER_BEING_MENTOR: "they are no longer a mentor",
    WithdrawalReason.SWITCHED_TO_SCHOOL_LED: "the school has switched to school-led training",
    WithdrawalReason.OTHER: "another reason",
}


def notify_withdrawal(*, period: TrainingPeriod, lead_provider: LeadProvider, reason: str, at) -> None:
    """The school's induction tutor hears that the provider withdrew one of its teachers (if it has one)."""
    school = period.school
    if not school.induction_tutor_email:
        return
    email_enqueue(
        kind="participant_withdrawn",
        to=school.induction_tutor_email,
        reference=period.enrolment_id,
        context={
            "tutor_name": school.induction_tutor_name,
            "participant_name": period.enrolment.participant.full_name,
            "role": _ROLES.get(period.enrolment.kind, "participant"),
            "school_name": school.name,
            "lead_provider_name": lead_provider.name,
            "withdrawn_on": _day(at),
            "reason": _REASONS.get(reason, reason),
        },
    )


def notify_partnership_reported(*, partnership: Partnership) -> None:
    """The school hears that a provider confirmed (or changed) a partnership with it, and is reminded a week
    later while it can still challenge; an earlier reminder about the same partnership no longer holds."""
    cancel_partnership_reminder(partnership=partnership)
    to = _school_contact(partnership.school)
    if not to:
        return
    context = {
        "tutor_name": partnership.school.induction_tutor_name,
        "school_name": partnership.school.name,
        "urn": partnership.school.urn,
        "lead_provider_name": partnership.lead_provider.name,
        "delivery_partner_name": partnership.delivery_partner.name,
        "academic_year": f"{partnership.cohort_id} to {partnership.cohort_id + 1}",
        "challenge_deadline": _day(partnership.challenge_deadline),
    }
    email_enqueue(kind="partnership_confirmed", to=to, reference=partnership.pk, context=context)
    email_enqueue(
        kind="partnership_reminder",
        to=to,
        reference=partnership.pk,
        context=context,
        due_at=clock.now() + PARTNERSHIP_REMINDER_AFTER,
    )


def cancel_partnership_reminder(*, partnership: Partnership) -> None:
    emails_cancel(kind="partnership_reminder", reference=partnership.pk)


def _school_contact(school: School) -> str:
    """Rules §7.3's contact: the induction tutor, else the school's primary, else its secondary contact."""
    return school.induction_tutor_email or school.primary_contact_email or school.secondary_contact_email


def _day(value) -> str:
    """1 September 2025: how a date reads in a letter."""
    return f"{value.day} {value:%B %Y}"

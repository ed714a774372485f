"""Derived values the API shows, the same in every version (rules §2.2, §2.3, api.md §9).

Each takes a row of `participants.selectors.enrolment_views` (plain dicts), so a whole page is
computed in memory after a constant number of queries.
"""

from participants.models import EligibilityReason, EligibilityStatus, EnrolmentKind, InductionStatus

# Stored before the 2025 rename; always shown under its new name (api.md §8).
LEGACY_WITHDRAWAL_REASONS = {"school-left-fip": "switched-to-school-led"}


def v1_status(row: dict) -> str:
    """v1/v2 `status`: a leaving or completed record is still active (api.md §8)."""
    if row["induction_status"] in (InductionStatus.WITHDRAWN, InductionStatus.CHANGED):
        return "withdrawn"
    return "active"


def eligible_for_funding(row: dict) -> bool | None:
    status = row["enrolment__eligibility_status"]
    if status == EligibilityStatus.ELIGIBLE:
        return True
    if status == EligibilityStatus.INELIGIBLE:
        return False
    return None


def teacher_reference_number(row: dict) -> str | None:
    """v1 and the validation rule fall back to the TRN captured at validation (api.md §9.1)."""
    return row["enrolment__participant__trn"] or row["enrolment__validation_trn"]


def teacher_reference_number_validated(row: dict) -> bool | None:
    if not teacher_reference_number(row):
        return None
    return (
        row["enrolment__eligibility_status"] is not None
        and row["enrolment__eligibility_reason"] != EligibilityReason.DIFFERENT_TRN
    )


def email(row: dict) -> str:
    return row["email"] or row["enrolment__participant__email"]


def mentor_id(row: dict):
    return row["mentor__participant_id"] if row["enrolment__kind"] == EnrolmentKind.ECT else None


def status_object(row: dict, changes_by_status: dict, training_status: str) -> dict | None:
    """`withdrawal` / `deferral`: only while in that status and only if this provider recorded it."""
    if row["training_status"] != training_status:
        return None
    change = changes_by_status.get(training_status)
    if change is None:
        return None
    reason = change["reason"]
    return {"reason": LEGACY_WITHDRAWAL_REASONS.get(reason, reason), "date": change["created_at_text"]}

"""Stable, machine-readable error codes (issue 16.3): every error item the API sends carries one.

Services raise errors in the contract's own words (module constants such as
`declarations.services.ALREADY_SUBMITTED`); this module is the one place that says which code each
message has. Raise sites never change: a new message needs one line in `MESSAGE_CODES` (and its
code in `CODES` and in docs/error-codes.md, which a test checks). In tests and development the
exception handler refuses to send an error whose message has no code (settings.ERROR_CODES_STRICT),
so an uncoded error cannot reach a provider unnoticed.

Messages built from a template (`WITHDRAWN_ON.format(at=...)`) are registered by their template:
`{name}` fields match any text, and the matched values are kept, so a flavour that words the same
error differently (api/rect/errors.py) can put them back into its own text.
"""

import re
from dataclasses import dataclass
from functools import cache

from django.conf import settings


class UncodedError(Exception):
    """An error reached the API without a registered code: register it in api/error_codes.py."""


# Codes, with their meaning as docs/error-codes.md explains it (a test keeps the two equal).
CODES: dict[str, str] = {
    # Requests
    "request.invalid_body": "The body is not JSON, or has no `data` object (JSON:API envelope).",
    "request.method_not_allowed": "The path exists but not for this HTTP method.",
    "request.too_many": "Rate limit exceeded; retry after the `Retry-After` seconds.",
    "request.body_too_large": "The request body is over the size limit (64 KB by default); nothing was read.",
    "request.bad_parameter": "A query parameter is malformed (the message says which).",
    "request.nul_character": "A text value of the body contains the NUL character (U+0000), which no field accepts.",
    "filter.nul_character": "A filter's value contains the NUL character (`%00`).",
    "request.dry_run_invalid": "`dry_run` is neither `true` nor `false`.",
    "request.idempotency_key_invalid": "The `Idempotency-Key` header is empty, too long or not visible ASCII.",
    "request.idempotency_key_reused": "This `Idempotency-Key` was used with a different request in the last 24 hours.",
    "request.idempotency_key_in_progress": "The first request with this `Idempotency-Key` is still running; "
    "retry with the same key.",
    "resource.not_found": "No record with this id is visible to the calling provider.",
    "api.version_retired": "This API version has been retired; move to the current one.",
    # Filters and paging
    "filter.not_a_hash": "`filter` was sent as a plain value instead of `filter[name]=value`.",
    "filter.invalid_date": "`filter[updated_since]` is not a date-time in the accepted format.",
    "filter.invalid_uuid": "A filter that takes one id was given something that is not a UUID.",
    "filter.invalid_training_status": "`filter[training_status]` is not active, deferred or withdrawn.",
    "filter.cohort_required": "This endpoint needs `filter[cohort]`.",
    "page.invalid": "`page[page]` or `page[per_page]` is not a positive number.",
    "page.invalid_cursor": "`page[cursor]` is neither empty nor a cursor this service gave in `links.next`.",
    # Participants and their actions
    "participant.not_recognised": "The participant id is unknown, or not visible to the calling provider.",
    "participant.course_missing": "`course_identifier` is missing.",
    "participant.course_not_recognised": "`course_identifier` does not match any of the participant's enrolments.",
    "participant.reason_missing": "`reason` is missing.",
    "participant.reason_invalid": "`reason` is not one of the documented reasons for this action.",
    "participant.already_withdrawn": "The participant is already withdrawn from this course.",
    "participant.already_deferred": "The participant is already deferred.",
    "participant.already_active": "The participant is already active (nothing to resume).",
    "participant.withdrawn": "The action is not possible for a withdrawn participant.",
    "schedule.invalid": "`schedule_identifier` is missing or names no schedule of the target cohort.",
    "schedule.unchanged": "The participant already follows this schedule.",
    "schedule.invalid_for_course": "This schedule cannot be used for the participant's course.",
    "schedule.invalidates_declarations": "The new schedule would leave existing declarations outside their "
    "milestones; void them first.",
    "schedule.cohort_cannot_change": "The participant cannot be moved to another cohort.",
    "schedule.no_partnership_for_cohort": "No partnership with the school for the target cohort.",
    # Declarations
    "declaration.npq_not_supported": "NPQ courses are not served by this API.",
    "declaration.participant_withdrawn": "The declaration date is after the participant withdrew.",
    "declaration.date_missing": "`declaration_date` is missing.",
    "declaration.type_missing": "`declaration_type` is missing.",
    "declaration.date_in_future": "`declaration_date` is in the future.",
    "declaration.date_invalid": "`declaration_date` is not an RFC 3339 date-time.",
    "declaration.before_milestone": "`declaration_date` is before the milestone's start.",
    "declaration.after_milestone": "`declaration_date` is after the milestone's end.",
    "declaration.cohort_closed": "The funding contract of the cohort has ended: no more declarations or voids.",
    "declaration.type_not_in_schedule": "`declaration_type` is not a milestone of the participant's schedule.",
    "declaration.duplicate": "A declaration of this type that will be, or has been, paid already exists.",
    "declaration.mentor_type_not_allowed": "Mentors in this cohort may only have started and completed declarations.",
    "declaration.evidence_missing": "`evidence_held` is missing and required for this declaration.",
    "declaration.evidence_invalid": "`evidence_held` is not accepted for this declaration type and course.",
    "declaration.already_voided": "The declaration is already voided.",
    "declaration.clawed_back": "The declaration has been clawed back; it can only be read.",
    "declaration.already_refunded": "The declaration is already awaiting clawback or clawed back.",
    # Partnerships
    "partnership.cohort_missing": "`cohort` is missing.",
    "partnership.cohort_invalid": "`cohort` names no cohort open for partnerships.",
    "partnership.lead_provider_missing": "The calling provider could not be determined.",
    "partnership.school_missing": "`school_id` is missing.",
    "partnership.school_invalid": "`school_id` names no school.",
    "partnership.school_cip_only": "The school has not registered to deliver DfE-funded training.",
    "partnership.school_ineligible": "The school is not eligible for DfE funding.",
    "partnership.already_exists": "The provider already has a confirmed partnership with this school and cohort.",
    "partnership.school_partnered_elsewhere": "Another provider has a confirmed partnership with this school "
    "and cohort.",
    "partnership.school_cohort_not_confirmed": "The school has not confirmed its programme for the cohort.",
    "partnership.delivery_partner_missing": "`delivery_partner_id` is missing.",
    "partnership.delivery_partner_invalid": "`delivery_partner_id` names no delivery partner.",
    "partnership.delivery_partner_not_recognised": "The delivery partner does not work with the provider for "
    "this cohort.",
    "partnership.missing": "The partnership id is missing.",
    "partnership.challenged": "The school challenged this partnership; it can no longer be changed.",
    "partnership.delivery_partner_unchanged": "The partnership already has this delivery partner.",
}


@cache
def message_codes() -> dict[str, str]:
    """Message text (or template) → code. Built on first use: the services import api.errors' neighbours."""
    from api import cursor, errors, filters, idempotency, pagination, parsers, views
    from declarations import services as declarations
    from participants import services as participants

    return {
        errors.BAD_JSON_DETAIL: "request.invalid_body",
        parsers.NUL_IN_BODY: "request.nul_character",
        filters.NUL_IN_FILTER: "filter.nul_character",
        views.DRY_RUN_INVALID: "request.dry_run_invalid",
        idempotency.KEY_INVALID: "request.idempotency_key_invalid",
        idempotency.KEY_REUSED: "request.idempotency_key_reused",
        idempotency.STILL_RUNNING: "request.idempotency_key_in_progress",
        filters.FILTER_NOT_A_HASH: "filter.not_a_hash",
        filters.UPDATED_SINCE_ERROR: "filter.invalid_date",
        filters.UUID_FILTER_ERROR: "filter.invalid_uuid",
        filters.TRAINING_STATUS_ERROR: "filter.invalid_training_status",
        filters.REQUIRED_COHORT_ERROR: "filter.cohort_required",
        pagination.PAGE_ERROR: "page.invalid",
        cursor.CURSOR_ERROR: "page.invalid_cursor",
        # api.ratelimit.too_many_requests words its 429 so (a test of the 429 keeps this in step).
        "More than {limit} requests in {window_seconds} seconds. Retry in {reset} seconds.": "request.too_many",
        participants.PARTICIPANT_NOT_RECOGNISED: "participant.not_recognised",
        participants.COURSE_NOT_RECOGNISED: "participant.course_not_recognised",
        participants.COURSE_MISSING: "participant.course_missing",
        participants.REASON_MISSING: "participant.reason_missing",
        participants.REASON_INVALID: "participant.reason_invalid",
        participants.ALREADY_WITHDRAWN: "participant.already_withdrawn",
        participants.ALREADY_DEFERRED: "participant.already_deferred",
        participants.ALREADY_ACTIVE: "participant.already_active",
        participants.WITHDRAWN_PARTICIPANT: "participant.withdrawn",
        participants.SCHEDULE_INVALID: "schedule.invalid",
        participants.SCHEDULE_ALREADY_ON_PROFILE: "schedule.unchanged",
        participants.SCHEDULE_INVALID_FOR_COURSE: "schedule.invalid_for_course",
        participants.SCHEDULE_INVALIDATES_DECLARATIONS: "schedule.invalidates_declarations",
        participants.COHORT_CANNOT_CHANGE: "schedule.cohort_cannot_change",
        participants.NO_PARTNERSHIP_FOR_COHORT: "schedule.no_partnership_for_cohort",
        declarations.NPQ_NOT_SUPPORTED: "declaration.npq_not_supported",
        declarations.PARTICIPANT_NOT_RECOGNISED: "participant.not_recognised",
        declarations.COURSE_NOT_RECOGNISED: "participant.course_not_recognised",
        declarations.WITHDRAWN_ON: "declaration.participant_withdrawn",
        declarations.DATE_MISSING: "declaration.date_missing",
        declarations.TYPE_MISSING: "declaration.type_missing",
        declarations.DATE_IN_FUTURE: "declaration.date_in_future",
        declarations.DATE_INVALID: "declaration.date_invalid",
        declarations.BEFORE_MILESTONE_START: "declaration.before_milestone",
        declarations.AFTER_MILESTONE_END: "declaration.after_milestone",
        declarations.FUNDING_ENDED: "declaration.cohort_closed",
        "Participant declaration " + declarations.FUNDING_ENDED: "declaration.cohort_closed",
        declarations.TYPE_NOT_IN_SCHEDULE: "declaration.type_not_in_schedule",
        declarations.ALREADY_SUBMITTED: "declaration.duplicate",
        declarations.MENTOR_ONLY_STARTED_COMPLETED: "declaration.mentor_type_not_allowed",
        declarations.EVIDENCE_MISSING: "declaration.evidence_missing",
        declarations.EVIDENCE_NOT_AVAILABLE: "declaration.evidence_invalid",
        declarations.ALREADY_VOIDED: "declaration.already_voided",
        declarations.CLAWED_BACK_VIEW_ONLY: "declaration.clawed_back",
        declarations.ALREADY_REFUNDED: "declaration.already_refunded",
        participants.COHORT_MISSING: "partnership.cohort_missing",
        participants.COHORT_INVALID: "partnership.cohort_invalid",
        participants.LEAD_PROVIDER_MISSING: "partnership.lead_provider_missing",
        participants.SCHOOL_MISSING: "partnership.school_missing",
        participants.SCHOOL_INVALID: "partnership.school_invalid",
        participants.SCHOOL_CIP_ONLY: "partnership.school_cip_only",
        participants.SCHOOL_INELIGIBLE: "partnership.school_ineligible",
        participants.SCHOOL_ALREADY_PARTNERED: "partnership.already_exists",
        participants.SCHOOL_PARTNERED_ELSEWHERE: "partnership.school_partnered_elsewhere",
        participants.SCHOOL_COHORT_NOT_CONFIRMED: "partnership.school_cohort_not_confirmed",
        participants.DELIVERY_PARTNER_MISSING: "partnership.delivery_partner_missing",
        participants.DELIVERY_PARTNER_INVALID: "partnership.delivery_partner_invalid",
        participants.DELIVERY_PARTNER_NOT_RECOGNISED: "partnership.delivery_partner_not_recognised",
        participants.PARTNERSHIP_MISSING: "partnership.missing",
        participants.PARTNERSHIP_CHALLENGED: "partnership.challenged",
        participants.DELIVERY_PARTNER_ALREADY_CONFIRMED: "partnership.delivery_partner_unchanged",
    }


@dataclass(frozen=True)
class Coded:
    code: str
    values: dict  # the template fields' values, e.g. {"at": "2025-01-01T00:00:00Z"}


_FIELD = re.compile(r"\{(\w+)\}")


@cache
def _templates() -> list[tuple[re.Pattern, str]]:
    """Registered messages that have `{field}`s, as regular expressions with named groups."""
    patterns = []
    for text, code in message_codes().items():
        if not _FIELD.search(text):
            continue
        parts = _FIELD.split(text)  # literal, name, literal, name, ..., literal
        regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)" for index, part in enumerate(parts))
        patterns.append((re.compile(f"^{regex}$", re.DOTALL), code))
    return patterns


def lookup(message: str) -> Coded | None:
    code = message_codes().get(message)
    if code is not None:
        return Coded(code, {})
    for pattern, template_code in _templates():
        match = pattern.match(message)
        if match:
            return Coded(template_code, match.groupdict())
    return None


FALLBACK_CODE = "error.unclassified"


def code_for(message: str) -> str:
    """The code of a message; in strict mode an unregistered message is refused (a test fails)."""
    found = lookup(message)
    if found is not None:
        return found.code
    if getattr(settings, "ERROR_CODES_STRICT", False):
        raise UncodedError(
            f"No error code for {message!r}: add it to api.error_codes.message_codes and docs/error-codes.md"
        )
    return FALLBACK_CODE

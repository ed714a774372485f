"""The rewrite's error items (api.md §12): one item per message, in the rewrite's words.

Each error arrives with its code (api/error_codes.py); the code chooses the rewrite's title and
text. The texts are those of the rewrite's code (DFE-Digital/register-early-career-teachers-public,
app/services/api/**, with its config/api_error_mappings.yml applied: `teacher_api_id` reads
`participant_id`, `contract_period_year` reads `cohort`, ...). Errors the rewrite words as the original
does, or has no counterpart for, keep the original's title and text.
"""

# code → (title, detail); a title of None keeps the original's title. `{name}` fields are filled with
# the values the original's message carried (api.error_codes.lookup).
REWRITE_TEXTS: dict[str, tuple[str | None, str]] = {
    "request.invalid_body": ("Bad request", "Correct json data structure required. See API docs for reference."),
    "filter.invalid_date": (None, "The filter '#/updated_since' must be a valid ISO 8601 date"),
    "page.invalid": (
        None,
        "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid positive number",
    ),
    "participant.course_missing": ("course_identifier", "Enter a '#/course_identifier'."),
    "participant.reason_missing": ("reason", "Enter a '#/reason'."),
    "participant.reason_invalid": (
        "reason",
        "The entered '#/reason' is not recognised for the given participant. Check details and try again.",
    ),
    "participant.already_withdrawn": ("participant_id", "The '#/participant_id' is already withdrawn."),
    "participant.already_deferred": ("participant_id", "The '#/participant_id' is already deferred."),
    "participant.already_active": ("participant_id", "The '#/participant_id' is already active."),
    "participant.withdrawn": ("participant_id", "Cannot perform actions on a withdrawn participant"),
    "schedule.invalid": (
        "schedule_identifier",
        "The property '#/schedule_identifier' must be present and correspond to a valid schedule.",
    ),
    "schedule.invalid_for_course": ("schedule_identifier", "Selected schedule is not valid for the course_identifier"),
    "schedule.no_partnership_for_cohort": (
        "cohort",
        "You cannot change a participant to this cohort as you do not have a partnership with the school for the "
        "cohort. Contact the DfE for assistance.",
    ),
    "declaration.participant_withdrawn": (
        "participant_id",
        "This participant withdrew from this course on {at}. Enter a '#/declaration_date' that's on or before the "
        "withdrawal date.",
    ),
    "declaration.type_missing": ("declaration_type", "Enter a '#/declaration_type'."),
    "declaration.duplicate": (
        "declaration_type",
        "A declaration has already been submitted that will be, or has been, paid for this event.",
    ),
    "declaration.cohort_closed": (
        "cohort",
        "You cannot submit or void declarations for the {year} cohort. The funding contract for this cohort has "
        "ended. Get in touch if you need to discuss this with us.",
    ),
    "declaration.already_voided": ("participant_declaration_id", "The declaration has already been voided."),
    "declaration.clawed_back": (
        "participant_declaration_id",
        "This declaration has been clawed-back, so you can only view it.",
    ),
    "declaration.already_refunded": ("participant_declaration_id", "The declaration will or has been refunded"),
    "partnership.cohort_invalid": (
        "cohort",
        "The '#/cohort' you have entered is invalid. Check cohort details and try again.",
    ),
    "partnership.school_invalid": (
        "school_id",
        "The '#/school_id' you have entered is invalid. Check school details and try again. Contact the DfE for "
        "support if you are unable to find the '#/school_id'.",
    ),
    "partnership.already_exists": (
        "school_id",
        "You are already in a confirmed partnership with this school for the entered cohort.",
    ),
    "partnership.school_cip_only": (
        "school_id",
        "This school has only registered school-led participants. Contact the school for more information.",
    ),
}


def rect_errors(coded: list[tuple[str, str, str]]) -> list[dict]:
    """One item per distinct message (the rewrite's `API::Errors::Response`), in validation order."""
    from api.error_codes import lookup

    items = []
    seen = set()
    for title, detail, code in coded:
        rewrite = REWRITE_TEXTS.get(code)
        if rewrite is not None:
            found = lookup(detail)
            rewrite_title, template = rewrite
            title = rewrite_title or title
            detail = template.format(**found.values) if found is not None and found.values else template
        if (title, detail) in seen:
            continue
        seen.add((title, detail))
        items.append({"title": title, "detail": detail, "code": code})
    return items

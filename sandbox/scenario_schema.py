"""Scenarios (reading and checking): build exactly the situation a test or an integrator needs from a declarative file.

`manage.py load_scenario FILE` reads a JSON or YAML document (the format is docs/scenarios.md)
and loads it inside ONE transaction, in two steps:

1. the document is checked against the format before anything is written: required and unknown
   fields, types, dates, vocabularies, cohorts and schedules, duplicate ids and keys;
2. entries are written kind by kind in dependency order (providers, partners, schools,
   partnerships, contracts, statements, participants, their training periods, declarations,
   merges). Each entry is written in a savepoint, so a model validation or database constraint
   failure is reported with the entry it came from. References use natural keys (provider by
   name, school by URN, cohort by start year, ...) and resolve against the file's own entries,
   which are written first, and the rows already in the database.

Any error rolls everything back, so an invalid file writes nothing. Errors from one kind stop the
load before the next kind, so one mistake does not cascade into a page of follow-on errors.

A file describes a whole situation, so loading it again refreshes the same rows: entries are
found by their fixed ids or natural keys and updated to what the file says, rows that already
match are not written at all (their `updated_at` stays), and a second load of an unchanged file is
a no-op. Lists that are an entry's own history (training periods, status changes, contract bands,
a declaration's state changes) are replaced by the file's list; links between top-level entries
are created or updated, never deleted.
"""

import calendar
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from declarations.models import DeclarationState, EvidenceHeld
from declarations.models import IneligibilityReason as DeclarationIneligibility
from ecf import rfc3339
from participants.models import (
    ChallengeReason,
    Cohort,
    ContractFlavour,
    CourseIdentifier,
    DeclarationType,
    DeferralReason,
    EligibilityReason,
    EligibilityStatus,
    EnrolmentKind,
    InductionProgrammeChoice,
    InductionStatus,
    MentorCompletionReason,
    Schedule,
    TrainingStatus,
    WithdrawalReason,
    WorkingPattern,
)
from statements.models import DEFAULT_CONTRACT_VERSION
from statements.models import StatementStatus as Status

# Ids the file leaves out are derived from the entry's natural key, so a reload finds the same row.
SCENARIO_NAMESPACE = uuid.UUID("6f1c7c1e-4b8a-4c57-9d0e-5c3f2a9b7e10")
DEFAULT_SCHEDULE = "ecf-standard-september"


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class ScenarioError(Exception):
    """The file was not loaded; `errors` are "<path>: <problem>" lines, in the order found."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ScenarioSummary:
    """What a load did: per kind, how many rows were created, updated or already as described."""

    counts: dict[str, Counter] = field(default_factory=dict)
    tokens: list[tuple[str, str]] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        self.counts.setdefault(kind, Counter())[outcome] += 1

    def lines(self) -> list[str]:
        width = max((len(kind) for kind in self.counts), default=0)
        lines = []
        for kind, counter in self.counts.items():
            total = sum(counter.values())
            detail = ", ".join(f"{counter[o]} {o}" for o in ("created", "updated", "unchanged") if counter[o])
            lines.append(f"  {kind:<{width}}  {total:>4}  ({detail})")
        if self.tokens:
            lines.append("Tokens (use as `Authorization: Bearer <token>`):")
            lines.extend(f"  {name}: {token}" for name, token in self.tokens)
        return lines


# ---------------------------------------------------------------------------------------
# Reading


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice (plain YAML silently keeps the last one)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    keys = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may repeat keys on purpose
            continue
        key = loader.construct_object(key_node)
        if key in keys:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice", key_node.start_mark)
        keys.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def scenario_read(path: Path) -> Any:
    """The document in a .json file, or in a YAML file (any other name; YAML also reads JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError([f"{path}: cannot read the file ({error.strerror or error})"]) from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except json.JSONDecodeError as error:
        raise ScenarioError([f"{path}: not valid JSON: {error}"]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([f"{path}: not valid YAML: {error}"]) from None


# ---------------------------------------------------------------------------------------
# The format. A schema maps field names to parsers; parsers turn one raw value into a clean one
# or raise _Invalid with the problem, which is reported as "<path>: <problem>".


class _Invalid(Exception):
    pass


@dataclass(frozen=True)
class _Field:
    parse: Callable[[Any, "_Checker"], Any] | None = None
    required: bool = False
    default: Any = None
    nested: "_Schema | None" = None
    many: bool = False
    # An explicit null means "none" rather than "the default" (eligibility: null = not checked yet).
    nullable: bool = False


@dataclass(frozen=True)
class _Schema:
    fields: dict[str, _Field]
    # Cross-field checks on the cleaned entry: check(entry, path, checker).
    check: Callable[[dict, str, "_Checker"], None] | None = None
    # A plain value accepted instead of the mapping (eligibility: eligible).
    shorthand: Callable[[Any], dict] | None = None


def _describe(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def _text(max_length: int | None = None, pattern: str | None = None, what: str = ""):
    def parse(value, _checker):
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _Invalid(f"must be text, not {_describe(value)}")
        text = str(value).strip()
        if not text:
            raise _Invalid("must not be blank")
        if max_length and len(text) > max_length:
            raise _Invalid(f"at most {max_length} characters ({len(text)} given)")
        if pattern and not re.fullmatch(pattern, text):
            raise _Invalid(f"{text!r} is not {what}")
        return text

    return parse


def _email(value, checker):
    text = _text(254)(value, checker)
    try:
        validate_email(text)
    except ValidationError:
        raise _Invalid(f"{text!r} is not an email address") from None
    return text


def _uuid(value, _checker):
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        raise _Invalid(f"{value!r} is not a UUID") from None


def _bool(value, _checker):
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {value!r}")
    return value


def _int(minimum: int = 0, maximum: int | None = None):
    def parse(value, _checker):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"must be a whole number, not {value!r}")
        if value < minimum or (maximum is not None and value > maximum):
            raise _Invalid(
                f"must be between {minimum} and {maximum}" if maximum is not None else f"must be ≥ {minimum}"
            )
        return value

    return parse


def _decimal(minimum: Decimal | None = None, maximum: Decimal | None = None):
    def parse(value, _checker):
        # YAML and JSON numbers arrive as floats; str() keeps the digits as written (0.2, not 0.2000000001).
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _Invalid(f"must be a number, not {_describe(value)}")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise _Invalid(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise _Invalid(f"{value!r} is not a number")
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise _Invalid(f"must be between {minimum} and {maximum}")
        return number

    return parse


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value, _checker):
    if isinstance(value, datetime):
        raise _Invalid("must be a date (YYYY-MM-DD), not a timestamp")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"{value!r} is not a date (YYYY-MM-DD)")


def _datetime(value, _checker):
    """RFC 3339 (ecf.rfc3339), or a bare YYYY-MM-DD meaning midnight UTC. Without a zone: UTC."""
    if isinstance(value, datetime):  # YAML turns unquoted timestamps into datetimes
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return _start_of_day(value)
    if isinstance(value, str):
        parsed = rfc3339.parse(value)
        if parsed is not None:
            return parsed
        if _DATE.fullmatch(value.strip()):
            try:
                return _start_of_day(_date(value, _checker))
            except _Invalid:
                pass
    raise _Invalid(f"{value!r} is not an RFC 3339 timestamp (2025-01-31T10:00:00Z) or a date (2025-01-31)")


def _choice(choices: type[models.TextChoices]):
    def parse(value, _checker):
        if value not in choices.values:
            raise _Invalid(f"{value!r} is not one of {', '.join(choices.values)}")
        return value

    return parse


def _cohort(value, checker):
    year = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    if isinstance(year, bool) or not isinstance(year, int):
        raise _Invalid(f"must be a cohort start year, not {value!r}")
    if year not in checker.cohorts:
        raise _Invalid(f"no cohort {year} (cohorts: {', '.join(map(str, sorted(checker.cohorts)))})")
    return year


_MONTH_NAMES = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}


def _month(value, _checker):
    """ "2025-01" or "January 2025" (the statement's payment month) → (2025, 1)."""
    text = str(value).strip() if isinstance(value, str) else ""
    numeric = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    named = re.fullmatch(r"([A-Za-z]+)\s+(\d{4})", text)
    if numeric and 1 <= int(numeric[2]) <= 12:
        return int(numeric[1]), int(numeric[2])
    if named and named[1].lower() in _MONTH_NAMES:
        return int(named[2]), _MONTH_NAMES[named[1].lower()]
    raise _Invalid(f"{value!r} is not a month (2025-01 or January 2025)")


def _statement_ref(value, checker):
    """A statement by id, or by month ("January 2025") among the provider's statements of the cohort."""
    try:
        return ("id", _uuid(value, checker))
    except _Invalid:
        pass
    try:
        return ("month", _month(value, checker))
    except _Invalid:
        raise _Invalid(f"{value!r} is neither a statement id nor a month (January 2025 or 2025-01)") from None


def _token(value, checker):
    return _text(255, r"[!-~]+", "a token (printable characters, no spaces)")(value, checker)


_NAME = _text(255)
_URN = _text(6, r"\d{1,6}", "a URN (up to 6 digits)")
_TRN = _text(7, r"\d{1,7}", "a TRN (up to 7 digits)")
_VERSION = _text(32)


def _required(parse) -> _Field:
    return _Field(parse=parse, required=True)


def _optional(parse, default=None) -> _Field:
    return _Field(parse=parse, default=default)


def _many(schema: _Schema, required: bool = False) -> _Field:
    return _Field(nested=schema, many=True, required=required, default=())


def _one(schema: _Schema, default=None, nullable: bool = False) -> _Field:
    return _Field(nested=schema, default=default, nullable=nullable)


# --- cross-field checks ------------------------------------------------------------------


def _check_school(entry, path, checker):
    if not checker.seen(("school", entry["urn"]), f"{path}.urn"):
        return
    cohorts = [c["cohort"] for c in entry["cohorts"]]
    for index, cohort in enumerate(cohorts):
        if cohort in cohorts[:index]:
            checker.error(f"{path}.cohorts[{index}].cohort", f"cohort {cohort} given twice")


def _check_band(entry, path, checker):
    if entry["min"] is not None and entry["max"] is not None and entry["max"] < entry["min"]:
        checker.error(f"{path}.max", "must not be below min")


def _check_statement(entry, path, checker):
    if entry["status"] == Status.OPEN and entry["marked_as_paid_at"] is not None:
        checker.error(f"{path}.marked_as_paid_at", "only a payable or paid statement has been authorised for payment")
    year, month = entry["month"]
    checker.seen(("statement", entry["lead_provider"].lower(), entry["cohort"], year, month), f"{path}.month")


def _check_period(entry, path, checker):
    given = [name for name in ("lead_provider", "partnership") if entry[name] is not None]
    if entry["school_led"]:
        given.append("school_led")
    if len(given) != 1:
        checker.error(path, "give exactly one of lead_provider, partnership or school_led: true")
    if entry["end"] is not None and entry["end"] < entry["start"]:
        checker.error(f"{path}.end", "must not be before start")
    if entry["cohort"] is not None and entry["schedule"] is not None:
        checker.schedule_exists(entry["cohort"], entry["schedule"], f"{path}.schedule")


def _check_enrolment(entry, path, checker):
    checker.schedule_exists(entry["cohort"], entry["schedule"], f"{path}.schedule")
    if entry["kind"] == EnrolmentKind.ECT:
        for name in ("mentor_completion_date", "mentor_completion_reason"):
            if entry[name] is not None:
                checker.error(f"{path}.{name}", "only for mentor enrolments")
    elif entry["induction_completion_date"] is not None:
        checker.error(f"{path}.induction_completion_date", "only for ect enrolments")
    for index, period in enumerate(entry["periods"]):
        if period["schedule"] is not None and period["cohort"] is None:
            checker.schedule_exists(entry["cohort"], period["schedule"], f"{path}.periods[{index}].schedule")


def _check_participant(entry, path, checker):
    checker.seen(("participant", entry["id"]), f"{path}.id")
    kinds = Counter(enrolment["kind"] for enrolment in entry["enrolments"] if enrolment["id"] is None)
    for index, enrolment in enumerate(entry["enrolments"]):
        if enrolment["id"] is None and kinds[enrolment["kind"]] > 1:
            checker.error(
                f"{path}.enrolments[{index}].id",
                f"required: the participant has several {enrolment['kind']} enrolments",
            )
            continue
        enrolment_id = enrolment["id"] or _derived_id("enrolment", entry["id"], enrolment["kind"])
        enrolment["id"] = enrolment_id
        if checker.seen(("enrolment", enrolment_id), f"{path}.enrolments[{index}].id"):
            checker.file_enrolments.setdefault(entry["id"], {}).setdefault(enrolment["kind"], []).append(enrolment_id)


_BILLED = {
    DeclarationState.PAYABLE,
    DeclarationState.PAID,
    DeclarationState.AWAITING_CLAWBACK,
    DeclarationState.CLAWED_BACK,
}
_REFUNDABLE = {DeclarationState.AWAITING_CLAWBACK, DeclarationState.CLAWED_BACK}


def _check_declaration(entry, path, checker):
    if entry["course_identifier"] is None and entry["enrolment"] is None:
        checker.error(f"{path}.course_identifier", "required (or give the enrolment id)")
    state = entry["state"]
    if state == DeclarationState.SUBMITTED and entry["statement"] is not None:
        checker.error(f"{path}.statement", "a submitted declaration is on no statement")
    if state in _BILLED and entry["statement"] is None:
        checker.error(f"{path}.statement", f"required for state {state}")
    if state == DeclarationState.CLAWED_BACK and entry["clawback_statement"] is None:
        checker.error(f"{path}.clawback_statement", "required for state clawed_back")
    if state not in _REFUNDABLE and entry["clawback_statement"] is not None:
        checker.error(f"{path}.clawback_statement", "only for awaiting_clawback or clawed_back declarations")
    if entry["ineligibility_reason"] is not None and state != DeclarationState.INELIGIBLE:
        checker.error(f"{path}.ineligibility_reason", "only for ineligible declarations")
    if entry["voided_at"] is not None and state not in (DeclarationState.VOIDED, *_REFUNDABLE):
        checker.error(f"{path}.voided_at", "only for voided, awaiting_clawback or clawed_back declarations")
    if entry["id"] is None:
        entry["id"] = _derived_id(
            "declaration",
            entry["participant"],
            entry["enrolment"] or entry["course_identifier"],
            entry["declaration_type"],
            entry["declaration_date"].isoformat(),
            (entry["lead_provider"] or "").lower(),
        )
    checker.seen(("declaration", entry["id"]), f"{path}.id")


def _check_lead_provider(entry, path, checker):
    checker.seen(("lead_provider", entry["name"].lower()), f"{path}.name")
    if entry["token"] is not None:
        checker.seen(("token", entry["token"]), f"{path}.token")


def _check_delivery_partner(entry, path, checker):
    if checker.seen(("delivery_partner", entry["name"].lower(), entry["id"]), f"{path}.name"):
        checker.file_partners.setdefault(entry["name"].lower(), []).append(entry["id"])


_REASONS = {TrainingStatus.WITHDRAWN: WithdrawalReason, TrainingStatus.DEFERRED: DeferralReason}


def _check_status_change(entry, path, checker):
    reasons = _REASONS.get(entry["training_status"])
    if reasons is None and entry["reason"]:
        checker.error(f"{path}.reason", "only a withdrawal or a deferral has a reason")
    elif reasons is not None and entry["reason"] not in reasons.values:
        checker.error(f"{path}.reason", f"{entry['reason']!r} is not one of {', '.join(reasons.values)}")


def _eligibility_shorthand(value) -> dict:
    return {"status": value}


# --- the schemas ---------------------------------------------------------------------------

LEAD_PROVIDER = _Schema(
    {
        "name": _required(_NAME),
        "id": _optional(_uuid),
        "token": _optional(_token),
        "vat_chargeable": _optional(_bool, True),
        # Which v3 contract /api/v3/ speaks to the provider's tokens (issue 15).
        "contract_flavour": _optional(_choice(ContractFlavour), ContractFlavour.ORIGINAL),
    },
    check=_check_lead_provider,
)
RELATIONSHIP = _Schema({"lead_provider": _required(_NAME), "cohort": _required(_cohort)})
DELIVERY_PARTNER = _Schema(
    {"name": _required(_NAME), "id": _optional(_uuid), "relationships": _many(RELATIONSHIP)},
    check=_check_delivery_partner,
)
INDUCTION_TUTOR = _Schema({"name": _required(_NAME), "email": _required(_email)})
SCHOOL_COHORT = _Schema(
    {
        "cohort": _required(_cohort),
        "induction_programme_choice": _optional(
            _choice(InductionProgrammeChoice), InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME
        ),
        "pupil_premium_uplift": _optional(_bool, False),
        "sparsity_uplift": _optional(_bool, False),
        # The provider the school said it expects to train with (the rewrite's `expression_of_interest`).
        "expression_of_interest": _optional(_NAME),
    }
)
SCHOOL = _Schema(
    {
        "urn": _required(_URN),
        "name": _required(_NAME),
        "id": _optional(_uuid),
        "school_status_code": _optional(_int(0, 99), 1),
        "school_type_code": _optional(_int(0, 99), 1),
        "administrative_district_code": _optional(_text(9), "E09000001"),
        "section_41_approved": _optional(_bool, False),
        "induction_tutor": _one(INDUCTION_TUTOR),
        "primary_contact_email": _optional(_email),
        "secondary_contact_email": _optional(_email),
        "cohorts": _many(SCHOOL_COHORT),
    },
    check=_check_school,
)
CHALLENGE = _Schema({"reason": _required(_choice(ChallengeReason)), "at": _optional(_datetime)})
PARTNERSHIP = _Schema(
    {
        "lead_provider": _required(_NAME),
        "delivery_partner": _required(_NAME),
        "school": _required(_URN),
        "cohort": _required(_cohort),
        "id": _optional(_uuid),
        "relationship": _optional(_bool, False),
        "pending": _optional(_bool, False),
        "challenged": _one(CHALLENGE),
        "challenge_deadline": _optional(_date),
    }
)
BAND = _Schema(
    {
        "min": _optional(_int()),
        "max": _optional(_int()),
        "per_participant": _required(_decimal(Decimal(0))),
        "output_payment_percentage": _optional(_int(0, 100), 60),
        "service_fee_percentage": _optional(_int(0, 100), 40),
    },
    check=_check_band,
)
ECT_CONTRACT = _Schema(
    {
        "lead_provider": _required(_NAME),
        "cohort": _required(_cohort),
        "version": _optional(_VERSION, DEFAULT_CONTRACT_VERSION),
        "recruitment_target": _required(_int()),
        "set_up_fee": _optional(_decimal(), Decimal("0")),
        "uplift_target": _optional(_decimal(Decimal(0), Decimal(1)), Decimal("0")),
        "uplift_amount": _optional(_decimal(Decimal(0))),
        "monthly_service_fee": _optional(_decimal()),
        "vat_rate": _optional(_decimal(Decimal(0), Decimal(1)), Decimal("0.20")),
        "bands": _many(BAND, required=True),
    }
)
MENTOR_CONTRACT = _Schema(
    {
        "lead_provider": _required(_NAME),
        "cohort": _required(_cohort),
        "version": _optional(_VERSION, DEFAULT_CONTRACT_VERSION),
        "recruitment_target": _optional(_int(), 0),
        "payment_per_participant": _optional(_decimal(Decimal(0)), Decimal("1000.00")),
    }
)
CONTRACTS = _Schema({"ect": _many(ECT_CONTRACT), "mentor": _many(MENTOR_CONTRACT)})
STATEMENT = _Schema(
    {
        "lead_provider": _required(_NAME),
        "cohort": _required(_cohort),
        "month": _required(_month),
        "id": _optional(_uuid),
        "deadline_date": _optional(_date),
        "payment_date": _optional(_date),
        "output_fee": _optional(_bool, True),
        "status": _optional(_choice(Status), Status.OPEN),
        "marked_as_paid_at": _optional(_datetime),
        "contract_version": _optional(_VERSION),
        "mentor_contract_version": _optional(_VERSION),
    },
    check=_check_statement,
)
PERIOD = _Schema(
    {
        "school": _required(_URN),
        "lead_provider": _optional(_NAME),
        "partnership": _optional(_uuid),
        "school_led": _optional(_bool, False),
        "start": _required(_datetime),
        "end": _optional(_datetime),
        "cohort": _optional(_cohort),
        "schedule": _optional(_text(64)),
        "training_status": _optional(_choice(TrainingStatus)),
        "induction_status": _optional(_choice(InductionStatus), InductionStatus.ACTIVE),
        "school_transfer": _optional(_bool, False),
        "mentor": _optional(_uuid),
        "email": _optional(_email),
        "id": _optional(_uuid),
        "created_at": _optional(_datetime),
    },
    check=_check_period,
)
STATUS_CHANGE = _Schema(
    {
        "lead_provider": _optional(_NAME),
        "training_status": _required(_choice(TrainingStatus)),
        "reason": _optional(_text(64), ""),
        "at": _required(_datetime),
    },
    check=_check_status_change,
)
ELIGIBILITY = _Schema(
    {"status": _required(_choice(EligibilityStatus)), "reason": _optional(_choice(EligibilityReason), "none")},
    shorthand=_eligibility_shorthand,
)
ENROLMENT = _Schema(
    {
        "id": _optional(_uuid),
        "kind": _required(_choice(EnrolmentKind)),
        "cohort": _required(_cohort),
        "schedule": _optional(_text(64), DEFAULT_SCHEDULE),
        "eligibility": _one(
            ELIGIBILITY, {"status": EligibilityStatus.ELIGIBLE, "reason": EligibilityReason.NONE}, nullable=True
        ),
        "pupil_premium_uplift": _optional(_bool),
        "sparsity_uplift": _optional(_bool),
        "training_status": _optional(_choice(TrainingStatus)),
        "is_active": _optional(_bool, True),
        "validation_trn": _optional(_TRN),
        "induction_start_date": _optional(_date),
        "induction_completion_date": _optional(_date),
        "most_recent_induction_period_end_date": _optional(_date),
        "working_pattern": _optional(_choice(WorkingPattern)),
        "mentor_completion_date": _optional(_date),
        "mentor_completion_reason": _optional(_choice(MentorCompletionReason)),
        "cohort_changed_after_payments_frozen": _optional(_bool, False),
        "created_at": _optional(_datetime),
        "periods": _many(PERIOD),
        "status_changes": _many(STATUS_CHANGE),
    },
    check=_check_enrolment,
)
PARTICIPANT = _Schema(
    {
        "id": _required(_uuid),
        "full_name": _required(_NAME),
        "email": _required(_email),
        "trn": _optional(_TRN),
        "created_at": _optional(_datetime),
        "enrolments": _many(ENROLMENT),
    },
    check=_check_participant,
)
DECLARATION = _Schema(
    {
        "id": _optional(_uuid),
        "participant": _required(_uuid),
        "course_identifier": _optional(_choice(CourseIdentifier)),
        "enrolment": _optional(_uuid),
        "declaration_type": _required(_choice(DeclarationType)),
        "declaration_date": _required(_datetime),
        "lead_provider": _optional(_NAME),
        "cohort": _optional(_cohort),
        "state": _optional(_choice(DeclarationState)),
        "statement": _optional(_statement_ref),
        "clawback_statement": _optional(_statement_ref),
        "evidence_held": _optional(_choice(EvidenceHeld)),
        "delivery_partner": _optional(_NAME),
        "mentor": _optional(_uuid),
        "pupil_premium_uplift": _optional(_bool),
        "sparsity_uplift": _optional(_bool),
        "ineligibility_reason": _optional(_choice(DeclarationIneligibility)),
        "created_at": _optional(_datetime),
        "voided_at": _optional(_datetime),
    },
    check=_check_declaration,
)
MERGE = _Schema({"from": _required(_uuid), "to": _required(_uuid), "at": _optional(_datetime)})
DOCUMENT = _Schema(
    {
        "description": _optional(_text()),
        "lead_providers": _many(LEAD_PROVIDER),
        "delivery_partners": _many(DELIVERY_PARTNER),
        "schools": _many(SCHOOL),
        "partnerships": _many(PARTNERSHIP),
        "contracts": _one(CONTRACTS, {"ect": [], "mentor": []}),
        "statements": _many(STATEMENT),
        "participants": _many(PARTICIPANT),
        "declarations": _many(DECLARATION),
        "merges": _many(MERGE),
    }
)


class _Checker:
    """Step 1: the whole document against the format, collecting every problem (no writes)."""

    def __init__(self):
        self.errors: list[str] = []
        self.cohorts = set(Cohort.objects.values_list("start_year", flat=True))
        self.schedules = {
            (cohort, name)
            for cohort, identifier, alias in Schedule.objects.values_list("cohort_id", "identifier", "identifier_alias")
            for name in (identifier, alias)
            if name
        }
        self._seen: dict[tuple, str] = {}
        # participant id → {kind: [enrolment ids]} for the file's own participants.
        self.file_enrolments: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = {}
        # lower-case name → the fixed ids (or None) of the file's delivery partners of that name.
        self.file_partners: dict[str, list[uuid.UUID | None]] = {}

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def seen(self, key: tuple, path: str) -> bool:
        """Record a key that must be unique in the file; False (and an error) when it repeats."""
        if key in self._seen:
            self.error(path, f"given twice (first at {self._seen[key]})")
            return False
        self._seen[key] = path
        return True

    def schedule_exists(self, cohort: int, identifier: str, path: str) -> None:
        if (cohort, identifier) not in self.schedules:
            self.error(path, f"no schedule {identifier!r} in cohort {cohort}")

    def clean(self, value: Any, schema: _Schema, path: str) -> dict | None:
        if schema.shorthand and not isinstance(value, dict):
            value = schema.shorthand(value)
        if not isinstance(value, dict):
            self.error(path or "document", f"must be a mapping, not {_describe(value)}")
            return None
        before = len(self.errors)
        for key in value:
            if key not in schema.fields:
                self.error(_join(path, key), "unknown field")
        entry = {}
        for name, spec in schema.fields.items():
            where = _join(path, name)
            if value.get(name) is None:
                if spec.required:
                    self.error(where, "required")
                elif name in value and spec.nullable:
                    entry[name] = None
                else:
                    entry[name] = list(spec.default) if spec.many else spec.default
                continue
            entry[name] = self._value(value[name], spec, where)
        if len(self.errors) > before:
            return None
        if schema.check:
            schema.check(entry, path, self)
        return entry if len(self.errors) == before else None

    def _value(self, raw: Any, spec: _Field, where: str) -> Any:
        if spec.nested is None:
            try:
                return spec.parse(raw, self)
            except _Invalid as problem:
                self.error(where, str(problem))
                return None
        if not spec.many:
            return self.clean(raw, spec.nested, where)
        if not isinstance(raw, list):
            self.error(where, f"must be a list, not {_describe(raw)}")
            return None
        if spec.required and not raw:
            self.error(where, "must not be empty")
        return [self.clean(item, spec.nested, f"{where}[{index}]") for index, item in enumerate(raw)]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _derived_id(*parts: Any) -> uuid.UUID:
    return uuid.uuid5(SCENARIO_NAMESPACE, "/".join(str(part) for part in parts))

"""Scenarios (writing): step 2 of `load_scenario`, the entries written kind by kind in one
transaction, each in a savepoint so a failure names the entry it came from. The format and the
checks of step 1 are in sandbox/scenario_schema.py."""

import calendar
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, models, transaction
from django.db.models import ProtectedError

from declarations.models import ActorKind, Declaration, DeclarationState, DeclarationStateChange
from declarations.models import IneligibilityReason as DeclarationIneligibility
from declarations.payments import statement_record_paid
from declarations.services import declaration_lock_teacher
from ecf import clock, rfc3339
from ecf.errors import ServiceValidationError
from participants.models import (
    KIND_FOR_COURSE,
    ApiToken,
    CourseIdentifier,
    DeliveryPartner,
    EligibilityReason,
    Enrolment,
    EnrolmentKind,
    LeadProvider,
    Participant,
    ParticipantIdChange,
    Partnership,
    ProviderRelationship,
    Schedule,
    School,
    SchoolCohort,
    TrainingPeriod,
    TrainingProgramme,
    TrainingStatus,
    TrainingStatusChange,
)
from participants.selectors import LATEST_FIRST
from participants.services import participant_merge
from participants.tokens import api_token_create, find_lead_provider, token_digest
from sandbox.scenario_schema import (
    _BILLED,
    _REFUNDABLE,
    DOCUMENT,
    ScenarioError,
    ScenarioSummary,
    _Checker,
    _derived_id,
    _join,
    _start_of_day,
)
from statements.models import DEFAULT_CONTRACT_VERSION, ContractBand, EctContract, MentorContract, Statement
from statements.models import StatementStatus as Status
from visibility.services import visibility_rebuild

# ---------------------------------------------------------------------------------------
# Step 2: writing


class _Problem(Exception):
    """One entry cannot be written; reported as "<path>: <message>" lines and the entry is skipped."""

    def __init__(self, path: str = "", message: str = "", *, lines: list[str] | None = None):
        self.lines = lines or [f"{path}: {message}"]
        super().__init__("; ".join(self.lines))


# Model constraint names → what they mean in scenario terms (appended to the database's words).
_CONSTRAINTS = {
    "partnership_one_confirmed_per_school_cohort": "a school has at most one confirmed partnership per cohort; "
    "challenge the other one or make one a relationship partnership",
    "partnership_one_per_provider_school_cohort": "a provider has one partnership with a school per cohort",
    "partnership_challenge_fields_together": "a challenge needs both a reason and a time",
    "provider_relationship_unique": "this delivery partner already works with the provider in this cohort",
    "school_cohort_unique": "the school already has this cohort",
    "declaration_one_slot_per_participant_course_type": "the participant already has a submitted, eligible, payable "
    "or paid declaration of this course and type; void one of them",
    "declaration_billable_has_statement": "a billable or refundable declaration needs a statement",
    "declaration_submitted_has_no_statement": "a submitted declaration is on no statement",
    "declaration_clawback_statement_iff_refundable": "a clawback statement exactly when the state is "
    "awaiting_clawback or clawed_back",
    "declaration_reason_only_when_ineligible": "an ineligibility reason only for ineligible declarations",
    "statement_unique_month": "the provider already has a statement for this cohort and month",
    "statement_paid_after_deadline": "payment_date must not be before deadline_date",
    "statement_paid_has_authorisation_time": "a paid statement needs marked_as_paid_at",
    "ect_contract_unique_version": "the provider already has this contract version for the cohort",
    "mentor_contract_unique_version": "the provider already has this mentor contract version for the cohort",
    "band_max_not_below_min": "a band's max must not be below its min",
    "training_period_ends_after_start": "a period must not end before it starts",
    "training_period_school_led_has_no_partnership": "a school-led period has no partnership",
    "enrolment_mentor_completion_only_for_mentors": "mentor completion only for mentor enrolments",
    "enrolment_induction_completion_only_for_ects": "induction completion only for ect enrolments",
    # The triggers of declarations migration 0004: paid financial history is append-only.
    "a paid declaration keeps its statements and amounts": "once paid, a declaration keeps its statements and "
    "what its amount came from; load the changed file into a fresh database instead",
    "a paid declaration cannot be deleted": "paid financial history is kept; load the changed file into a fresh "
    "database instead",
    "state history is append-only": "once paid, a declaration's history only grows: describe the steps that "
    "came after, or load the changed file into a fresh database",
    "a paid statement keeps what it paid": "a paid statement was frozen when it was paid; load the changed file "
    "into a fresh database instead",
    "a paid statement cannot be deleted": "a paid statement was frozen when it was paid",
}
# A paid declaration carries on only by being clawed back (rules §5.3); anything else rewrites what was paid.
_CARRIED_ON = {
    DeclarationState.PAID: (DeclarationState.AWAITING_CLAWBACK, DeclarationState.CLAWED_BACK),
    DeclarationState.AWAITING_CLAWBACK: (DeclarationState.CLAWED_BACK,),
}


def _explain(message: str) -> str:
    for name, meaning in _CONSTRAINTS.items():
        if name in message:
            return f"{message.rstrip('.')} ({meaning})"
    return message


def _database_message(error: Exception) -> str:
    diag = getattr(error.__cause__, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if constraint:
        return _explain(f"violates {constraint}")
    return _explain(str(error).strip().splitlines()[0])


def _end_of_day(day: date) -> datetime:
    return _start_of_day(day + timedelta(days=1)) - timedelta(microseconds=1)


def _assign(obj: models.Model, values: dict[str, Any]) -> bool:
    """Set fields on `obj`; True when any value differs from what it holds."""
    changed = False
    for name, value in values.items():
        model_field = obj._meta.get_field(name)
        if model_field.is_relation and name != model_field.attname:
            if getattr(obj, model_field.attname) != (value.pk if value is not None else None):
                setattr(obj, name, value)
                changed = True
        elif getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


class _Writer:
    def __init__(self, document: dict, checker: _Checker):
        self.document = document
        self.file_enrolments = checker.file_enrolments
        self.file_partners = checker.file_partners
        self.errors: list[str] = []
        self.summary = ScenarioSummary()
        self.now = clock.now()
        self.today = clock.today()
        self.created_participants: set[uuid.UUID] = set()
        self.touched_participants: set[uuid.UUID] = set()
        # Statements the file says are paid and that are not yet: payable while their declarations are
        # written, then recorded as paid and frozen as authorisation freezes them (id -> paid at).
        self.to_pay: dict[uuid.UUID, datetime] = {}

    # --- plumbing --------------------------------------------------------------------------

    def run(self) -> None:
        contracts = self.document["contracts"] or {"ect": [], "mentor": []}
        stages: list[tuple[str, list, Callable]] = [
            ("lead_providers", self.document["lead_providers"], self._lead_provider),
            ("delivery_partners", self.document["delivery_partners"], self._delivery_partner),
            ("schools", self.document["schools"], self._school),
            ("partnerships", self.document["partnerships"], self._partnership),
            ("contracts.ect", contracts["ect"], self._ect_contract),
            ("contracts.mentor", contracts["mentor"], self._mentor_contract),
            ("statements", self.document["statements"], self._statement),
            ("participants", self.document["participants"], self._participant),
            # Periods come after every participant, so a mentor may be listed after their mentee.
            ("participants", self.document["participants"], self._participant_history),
            ("declarations", self.document["declarations"], self._declaration),
            ("merges", self.document["merges"], self._merge),
        ]
        for key, entries, write in stages:
            for index, entry in enumerate(entries):
                self._attempt(f"{key}[{index}]", write, entry)
            if self.errors:
                return
            if key == "declarations":
                self._pay_statements()
        # The sync timestamp (rules §1.4, api updated_since) of people whose records changed.
        touched = self.touched_participants - self.created_participants
        Participant.objects.filter(pk__in=touched).update(updated_at=clock.now())

    def _attempt(self, path: str, write: Callable, entry: dict) -> None:
        try:
            with transaction.atomic():  # a savepoint: a failed entry leaves the transaction usable
                write(entry, path)
        except _Problem as problem:
            self.errors.extend(problem.lines)
        except (IntegrityError, DataError) as error:
            self.errors.append(f"{path}: {_database_message(error)}")
        except ProtectedError as error:
            rows = ", ".join(sorted({str(row) for row in error.protected_objects})[:3])
            self.errors.append(f"{path}: cannot replace it while other rows point at it ({rows})")
        except ServiceValidationError as error:
            self.errors.extend(f"{path}: {detail}" for _, detail in error.errors)

    @staticmethod
    def _validation_messages(path: str, error: ValidationError) -> list[str]:
        if not hasattr(error, "error_dict"):
            return [f"{path}: {_explain(message)}" for message in error.messages]
        return [
            f"{path if name == '__all__' else _join(path, name)}: {_explain(message)}"
            for name, messages in error.message_dict.items()
            for message in messages
        ]

    def _save(self, obj: models.Model, kind: str, values: dict, path: str) -> bool:
        """Create `obj` or bring it to `values`; only a real change is written. True if written.

        The model's own validation (choices, lengths, uniqueness, constraints) runs first, so its
        messages name the field of the entry at `path`.
        """
        adding = obj._state.adding
        changed = _assign(obj, values)
        if adding or changed:
            try:
                obj.full_clean()
            except ValidationError as error:
                raise _Problem(lines=self._validation_messages(path, error)) from None
            obj.save()
        self.summary.count(kind, "created" if adding else "updated" if changed else "unchanged")
        return adding or changed

    @staticmethod
    def _find(model: type[models.Model], path: str, pk: uuid.UUID | None, **natural) -> models.Model:
        """The row with the fixed id, else the one with the natural key, else a new one."""
        by_key = model.objects.filter(**natural).first() if natural else None
        if pk is None:
            return by_key or model()
        by_pk = model.objects.filter(pk=pk).first()
        if by_pk is not None:
            return by_pk
        if by_key is not None:
            raise _Problem(
                f"{path}.id",
                f"this {model._meta.verbose_name} already exists with id {by_key.pk}; use it or leave id out",
            )
        return model(pk=pk)

    # --- references -------------------------------------------------------------------------

    @staticmethod
    def _lead_provider_ref(name: str, path: str) -> LeadProvider:
        provider = find_lead_provider(name)
        if provider is None:
            raise _Problem(path, f"no lead provider {name!r}")
        return provider

    def _delivery_partner_ref(self, name: str, path: str) -> DeliveryPartner:
        """A delivery partner by id, or by name: the file's own partner of that name first."""
        in_file = self.file_partners.get(name.lower(), [])
        if len(in_file) > 1:
            raise _Problem(path, f"the file has several delivery partners called {name!r}; refer to it by id")
        try:
            found = list(DeliveryPartner.objects.filter(pk=uuid.UUID(name)))
        except ValueError:  # not an id, so a name
            if in_file and in_file[0] is not None:
                found = list(DeliveryPartner.objects.filter(pk=in_file[0]))
            else:
                found = list(DeliveryPartner.objects.filter(name=name)[:2]) or list(
                    DeliveryPartner.objects.filter(name__iexact=name)[:2]
                )
        if not found:
            raise _Problem(path, f"no delivery partner {name!r}")
        if len(found) > 1:
            raise _Problem(path, f"several delivery partners are called {name!r}; refer to it by id")
        return found[0]

    @staticmethod
    def _school_ref(urn: str, path: str) -> School:
        school = School.objects.filter(urn=urn).first()
        if school is None:
            raise _Problem(path, f"no school with URN {urn}")
        return school

    @staticmethod
    def _schedule_ref(cohort: int, identifier: str, path: str) -> Schedule:
        schedule = Schedule.objects.for_identifier(cohort_id=cohort, identifier=identifier).first()
        if schedule is None:
            raise _Problem(path, f"no schedule {identifier!r} in cohort {cohort}")
        return schedule

    @staticmethod
    def _participant_ref(participant_id: uuid.UUID, path: str) -> Participant:
        """The participant with this id, or the one a merge retired it into (rules §1.4)."""
        participant = Participant.objects.filter(pk=participant_id).first()
        if participant is None:
            change = ParticipantIdChange.objects.filter(from_participant_id=participant_id).first()
            participant = change.participant if change else None
        if participant is None:
            raise _Problem(path, f"no participant {participant_id}")
        return participant

    def _enrolment_of(self, participant_id: uuid.UUID, kind: str, path: str) -> Enrolment:
        """A participant's enrolment of one kind: the file's own first, else the only one in the database."""
        in_file = self.file_enrolments.get(participant_id, {}).get(kind)
        if in_file:
            if len(in_file) > 1:
                raise _Problem(
                    path, f"participant {participant_id} has several {kind} enrolments; give the enrolment id"
                )
            return Enrolment.objects.get(pk=in_file[0])
        participant = self._participant_ref(participant_id, path)
        found = list(participant.enrolments.filter(kind=kind)[:2])
        if len(found) != 1:
            problem = "no" if not found else "several"
            raise _Problem(path, f"participant {participant_id} has {problem} {kind} enrolment(s)")
        return found[0]

    def _mentor_ref(self, ref: uuid.UUID, path: str) -> Enrolment:
        """A mentor enrolment by its training_record_id, or by its participant's id."""
        enrolment = Enrolment.objects.filter(pk=ref).first()
        if enrolment is None:
            return self._enrolment_of(ref, EnrolmentKind.MENTOR, path)
        if enrolment.kind != EnrolmentKind.MENTOR:
            raise _Problem(path, f"enrolment {ref} is an ect enrolment, not a mentor's")
        return enrolment

    def _statement_ref(self, ref: tuple, provider: LeadProvider, cohort: int, path: str) -> Statement:
        how, value = ref
        if how == "id":
            statement = Statement.objects.filter(pk=value).first()
            if statement is None:
                raise _Problem(path, f"no statement {value}")
        else:
            year, month = value
            statement = Statement.objects.filter(
                lead_provider=provider, cohort_id=cohort, year=year, month=month
            ).first()
            if statement is None:
                name = f"{calendar.month_name[month]} {year}"
                raise _Problem(path, f"no statement {name!r} for {provider.name} cohort {cohort}")
        if statement.lead_provider_id != provider.pk or statement.cohort_id != cohort:
            raise _Problem(path, f"statement {statement} is not {provider.name}'s for cohort {cohort}")
        if not statement.output_fee:
            raise _Problem(path, f"{statement.name} is a service-fee statement; declarations go on output-fee ones")
        return self._as_described(statement)

    def _as_described(self, statement: Statement) -> Statement:
        """The statement as the file describes it: paid, when it is paid once the declarations are in."""
        if statement.pk in self.to_pay:
            statement.status, statement.marked_as_paid_at = Status.PAID, self.to_pay[statement.pk]
        return statement

    def _frozen(self, statement: Statement | None) -> bool:
        """Paid before this load: it pays and claws back exactly what it did."""
        return statement is not None and statement.status == Status.PAID and statement.pk not in self.to_pay

    def _pay_statements(self) -> None:
        """The file's paid statements, in payment order, frozen as authorisation freezes them."""
        statements = Statement.objects.filter(pk__in=self.to_pay).order_by("payment_date", "deadline_date", "id")
        for statement in statements:
            paid_at = self.to_pay[statement.pk]
            with clock.frozen(paid_at):  # calculated when it was authorised, as the back office would have
                statement_record_paid(statement=statement, paid_at=paid_at)

    # --- providers, partners, schools -------------------------------------------------------

    def _lead_provider(self, entry: dict, path: str) -> None:
        provider = self._find(LeadProvider, path, entry["id"], name__iexact=entry["name"])
        values = {
            "name": entry["name"],
            "vat_chargeable": entry["vat_chargeable"],
            "contract_flavour": entry["contract_flavour"],
        }
        self._save(provider, "lead providers", values, path)
        raw = entry["token"]
        if raw is None:
            return
        token = ApiToken.objects.filter(digest=token_digest(raw)).select_related("lead_provider").first()
        if token is not None and token.lead_provider_id != provider.pk:
            raise _Problem(f"{path}.token", f"already the token of {token.lead_provider.name}")
        if token is None or not token.is_active:
            api_token_create(lead_provider=provider, raw_token=raw, label="scenario")
        self.summary.tokens.append((provider.name, raw))

    def _delivery_partner(self, entry: dict, path: str) -> None:
        # Names are not unique in the database, so a partner without a fixed id is found by a
        # name nobody else has.
        if entry["id"] is not None:
            partner = DeliveryPartner.objects.filter(pk=entry["id"]).first() or DeliveryPartner(pk=entry["id"])
        else:
            found = list(DeliveryPartner.objects.filter(name=entry["name"])[:2])
            if len(found) > 1:
                raise _Problem(f"{path}.id", f"required: several delivery partners are called {entry['name']!r}")
            partner = found[0] if found else DeliveryPartner()
        self._save(partner, "delivery partners", {"name": entry["name"]}, path)
        for index, relationship in enumerate(entry["relationships"]):
            where = f"{path}.relationships[{index}]"
            provider = self._lead_provider_ref(relationship["lead_provider"], f"{where}.lead_provider")
            link = ProviderRelationship.objects.filter(
                lead_provider=provider, delivery_partner=partner, cohort_id=relationship["cohort"]
            ).first() or ProviderRelationship(lead_provider=provider, delivery_partner=partner)
            self._save(link, "provider relationships", {"cohort_id": relationship["cohort"]}, where)

    def _school(self, entry: dict, path: str) -> None:
        school = self._find(School, path, entry["id"], urn=entry["urn"])
        tutor = entry["induction_tutor"] or {"name": "", "email": ""}
        values = {
            name: entry[name]
            for name in (
                "urn",
                "name",
                "school_status_code",
                "school_type_code",
                "administrative_district_code",
                "section_41_approved",
            )
        }
        values |= {
            "induction_tutor_name": tutor["name"],
            "induction_tutor_email": tutor["email"],
            "primary_contact_email": entry["primary_contact_email"] or "",
            "secondary_contact_email": entry["secondary_contact_email"] or "",
        }
        self._save(school, "schools", values, path)
        for index, item in enumerate(entry["cohorts"]):
            school_cohort = SchoolCohort.objects.filter(school=school, cohort_id=item["cohort"]).first()
            self._save(
                school_cohort or SchoolCohort(school=school),
                "school cohorts",
                {
                    "cohort_id": item["cohort"],
                    "induction_programme_choice": item["induction_programme_choice"],
                    "pupil_premium_uplift": item["pupil_premium_uplift"],
                    "sparsity_uplift": item["sparsity_uplift"],
                    "expression_of_interest_lead_provider": None
                    if item["expression_of_interest"] is None
                    else self._lead_provider_ref(
                        item["expression_of_interest"], f"{path}.cohorts[{index}].expression_of_interest"
                    ),
                },
                f"{path}.cohorts[{index}]",
            )

    def _partnership(self, entry: dict, path: str) -> None:
        provider = self._lead_provider_ref(entry["lead_provider"], f"{path}.lead_provider")
        partner = self._delivery_partner_ref(entry["delivery_partner"], f"{path}.delivery_partner")
        school = self._school_ref(entry["school"], f"{path}.school")
        natural = {
            "lead_provider": provider,
            "school": school,
            "cohort_id": entry["cohort"],
            "relationship": entry["relationship"],
        }
        if entry["relationship"]:  # a provider may hold relationship records with several partners
            natural["delivery_partner"] = partner
        partnership = self._find(Partnership, path, entry["id"], **natural)
        challenge = entry["challenged"]
        # Without a time, a challenge keeps the moment it was first loaded.
        challenged_at = (challenge["at"] or partnership.challenged_at or self.now) if challenge else None
        values = {
            "lead_provider": provider,
            "delivery_partner": partner,
            "school": school,
            "cohort_id": entry["cohort"],
            "relationship": entry["relationship"],
            "pending": entry["pending"],
            "challenge_deadline": entry["challenge_deadline"],
            "challenge_reason": challenge["reason"] if challenge else None,
            "challenged_at": challenged_at,
        }
        self._save(partnership, "partnerships", values, path)

    # --- money -------------------------------------------------------------------------------

    def _ect_contract(self, entry: dict, path: str) -> None:
        provider = self._lead_provider_ref(entry["lead_provider"], f"{path}.lead_provider")
        natural = {"lead_provider": provider, "cohort_id": entry["cohort"], "version": entry["version"]}
        contract = EctContract.objects.filter(**natural).first() or EctContract(lead_provider=provider)
        terms = (
            "recruitment_target",
            "set_up_fee",
            "uplift_target",
            "uplift_amount",
            "monthly_service_fee",
            "vat_rate",
        )
        values = {"cohort_id": entry["cohort"], "version": entry["version"]} | {name: entry[name] for name in terms}
        self._save(contract, "ECT contracts", values, path)
        self._bands(contract, entry["bands"], path)

    def _bands(self, contract: EctContract, bands: list[dict], path: str) -> None:
        fields = ("min", "max", "per_participant", "output_payment_percentage", "service_fee_percentage")

        def in_order(rows):  # bands are lettered by ascending max, open-ended last
            return sorted(rows, key=lambda row: (row[1] is None, row[1] or 0, row[0] or 0))

        wanted = in_order(tuple(band[name] for name in fields) for band in bands)
        if in_order(contract.bands.values_list(*fields)) == wanted:  # Decimal("995") == Decimal("995.00")
            for _ in wanted:
                self.summary.count("contract bands", "unchanged")
            return
        contract.bands.all().delete()
        for index, band in enumerate(bands):
            self._save(
                ContractBand(contract=contract),
                "contract bands",
                {name: band[name] for name in fields},
                f"{path}.bands[{index}]",
            )

    def _mentor_contract(self, entry: dict, path: str) -> None:
        provider = self._lead_provider_ref(entry["lead_provider"], f"{path}.lead_provider")
        natural = {"lead_provider": provider, "cohort_id": entry["cohort"], "version": entry["version"]}
        contract = MentorContract.objects.filter(**natural).first() or MentorContract(lead_provider=provider)
        values = {
            "cohort_id": entry["cohort"],
            "version": entry["version"],
            "recruitment_target": entry["recruitment_target"],
            "payment_per_participant": entry["payment_per_participant"],
        }
        self._save(contract, "mentor contracts", values, path)

    def _statement(self, entry: dict, path: str) -> None:
        provider = self._lead_provider_ref(entry["lead_provider"], f"{path}.lead_provider")
        cohort = entry["cohort"]
        year, month = entry["month"]
        statement = self._find(
            Statement, path, entry["id"], lead_provider=provider, cohort_id=cohort, year=year, month=month
        )
        # The usual calendar (finance §2.1): deadline the last day of the month before, paid on the 25th.
        first_of_month = date(year, month, 1)
        deadline = entry["deadline_date"] or first_of_month - timedelta(days=1)
        marked_as_paid_at = entry["marked_as_paid_at"]
        if marked_as_paid_at is None and entry["status"] == Status.PAID:
            marked_as_paid_at = _start_of_day(deadline + timedelta(days=1)) + timedelta(hours=12)
        status = entry["status"]
        to_pay = status == Status.PAID and statement.status != Status.PAID
        if to_pay:  # payable until its declarations are written (`_pay_statements`)
            status, marked_as_paid_at, paid_at = Status.PAYABLE, None, marked_as_paid_at
        values = {
            "lead_provider": provider,
            "cohort_id": cohort,
            "year": year,
            "month": month,
            "deadline_date": deadline,
            "payment_date": entry["payment_date"] or first_of_month.replace(day=25),
            "output_fee": entry["output_fee"],
            "status": status,
            "marked_as_paid_at": marked_as_paid_at,
            "ect_contract": self._contract_for(
                EctContract, provider, cohort, entry["contract_version"], f"{path}.contract_version"
            ),
            "mentor_contract": self._contract_for(
                MentorContract, provider, cohort, entry["mentor_contract_version"], f"{path}.mentor_contract_version"
            ),
        }
        self._save(statement, "statements", values, path)
        if to_pay:
            self.to_pay[statement.pk] = paid_at

    @staticmethod
    def _contract_for(model, provider: LeadProvider, cohort: int, version: str | None, path: str):
        """The named contract version; without a version, 0.0.1 when the provider has it."""
        contract = model.objects.filter(
            lead_provider=provider, cohort_id=cohort, version=version or DEFAULT_CONTRACT_VERSION
        ).first()
        if contract is None and version is not None:
            raise _Problem(path, f"{provider.name} has no {model._meta.verbose_name} {version} for cohort {cohort}")
        return contract

    # --- participants ------------------------------------------------------------------------

    def _participant(self, entry: dict, path: str) -> None:
        person = Participant.objects.filter(pk=entry["id"]).first()
        if person is None and ParticipantIdChange.objects.filter(from_participant_id=entry["id"]).exists():
            # Retired by a merge (typically this file's, on an earlier load): its records live on in
            # the participant that holds the id now; recreating the row would revive a retired id.
            holder = self._participant_ref(entry["id"], f"{path}.id")
            self.summary.count("participants", "unchanged")
        else:
            holder = person or Participant(pk=entry["id"])
            values = {"full_name": entry["full_name"], "email": entry["email"], "trn": entry["trn"]}
            if entry["created_at"] is not None:
                values["created_at"] = entry["created_at"]
            if self._save(holder, "participants", values, path) and person is None:
                self.created_participants.add(holder.pk)
        for index, enrolment in enumerate(entry["enrolments"]):
            self._enrolment(enrolment, f"{path}.enrolments[{index}]", holder, entry)

    def _enrolment(self, entry: dict, path: str, holder: Participant, person: dict) -> None:
        schedule = self._schedule_ref(entry["cohort"], entry["schedule"], f"{path}.schedule")
        enrolment = Enrolment.objects.filter(pk=entry["id"]).first() or Enrolment(pk=entry["id"])
        eligibility = entry["eligibility"] or {"status": None, "reason": EligibilityReason.NONE}
        school_pupil_premium, school_sparsity = self._school_uplifts(entry, path)
        changes = entry["status_changes"]
        values = {
            "participant": holder,
            "kind": entry["kind"],
            "schedule": schedule,
            "is_active": entry["is_active"],
            "training_status": entry["training_status"]
            or (changes[-1]["training_status"] if changes else TrainingStatus.ACTIVE),
            "eligibility_status": eligibility["status"],
            "eligibility_reason": eligibility["reason"],
            "validation_trn": entry["validation_trn"] or person["trn"],
            "pupil_premium_uplift": _given(entry["pupil_premium_uplift"], school_pupil_premium),
            "sparsity_uplift": _given(entry["sparsity_uplift"], school_sparsity),
        }
        values |= {
            name: entry[name]
            for name in (
                "induction_start_date",
                "induction_completion_date",
                "most_recent_induction_period_end_date",
                "working_pattern",
                "mentor_completion_date",
                "mentor_completion_reason",
                "cohort_changed_after_payments_frozen",
            )
        }
        # Registered with the person unless the file says otherwise (then "now", at creation only).
        created_at = entry["created_at"] or person["created_at"]
        if created_at is not None:
            values["created_at"] = created_at
        if self._save(enrolment, "enrolments", values, path):
            self.touched_participants.add(holder.pk)

    def _school_uplifts(self, entry: dict, path: str) -> tuple[bool, bool]:
        """Uplift flags default to those of the first period's school for its cohort (finance §1.7)."""
        if not entry["periods"]:
            return False, False
        first = entry["periods"][0]
        school = self._school_ref(first["school"], f"{path}.periods[0].school")
        flags = SchoolCohort.objects.filter(school=school, cohort_id=first["cohort"] or entry["cohort"])
        return flags.values_list("pupil_premium_uplift", "sparsity_uplift").first() or (False, False)

    def _participant_history(self, entry: dict, path: str) -> None:
        for index, item in enumerate(entry["enrolments"]):
            where = f"{path}.enrolments[{index}]"
            enrolment = Enrolment.objects.select_related("schedule").get(pk=item["id"])
            changed = self._periods(item, where, enrolment)
            if self._status_changes(item, where, enrolment) or changed:
                self.touched_participants.add(enrolment.participant_id)

    def _periods(self, item: dict, path: str, enrolment: Enrolment) -> bool:
        kept, changed, previous_created = [], False, None
        for index, period in enumerate(item["periods"]):
            where = f"{path}.periods[{index}]"
            school = self._school_ref(period["school"], f"{where}.school")
            cohort = period["cohort"] or item["cohort"]
            schedule = enrolment.schedule
            if period["schedule"] is not None:
                schedule = self._schedule_ref(cohort, period["schedule"], f"{where}.schedule")
            # Without created_at a period is created at its start, kept in file order: the API's
            # "latest period" and the pairing of transfers both sort by it.
            created_at = period["created_at"] or period["start"]
            if previous_created is not None and created_at <= previous_created:
                created_at = previous_created + timedelta(seconds=1)
            previous_created = created_at
            last = index == len(item["periods"]) - 1
            period_id = period["id"] or _derived_id("period", enrolment.pk, index)
            row = TrainingPeriod.objects.filter(pk=period_id).first() or TrainingPeriod(pk=period_id)
            values = {
                "enrolment": enrolment,
                "school": school,
                "cohort_id": cohort,
                "training_programme": TrainingProgramme.SCHOOL_LED
                if period["school_led"]
                else TrainingProgramme.PROVIDER_LED,
                "partnership": self._period_partnership(period, where, school, cohort),
                "schedule": schedule,
                "mentor": self._mentor_ref(period["mentor"], f"{where}.mentor") if period["mentor"] else None,
                "email": period["email"] or "",
                "start_date": period["start"],
                "end_date": period["end"],
                # A provider's withdrawal or deferral shows on the enrolment's current period.
                "training_status": period["training_status"]
                or (enrolment.training_status if last else TrainingStatus.ACTIVE),
                "induction_status": period["induction_status"],
                "school_transfer": period["school_transfer"],
                "created_at": created_at,
            }
            changed = self._save(row, "training periods", values, where) or changed
            kept.append(period_id)
        removed, _ = enrolment.training_periods.exclude(pk__in=kept).delete()
        return changed or bool(removed)

    def _period_partnership(self, period: dict, path: str, school: School, cohort: int) -> Partnership | None:
        if period["school_led"]:
            return None
        if period["partnership"] is not None:
            partnership = Partnership.objects.filter(pk=period["partnership"]).first()
            if partnership is None:
                raise _Problem(f"{path}.partnership", f"no partnership {period['partnership']}")
            if partnership.school_id != school.pk or partnership.cohort_id != cohort:
                raise _Problem(
                    f"{path}.partnership",
                    f"partnership {partnership.pk} is not with school {school.urn} in cohort {cohort}",
                )
            return partnership
        provider = self._lead_provider_ref(period["lead_provider"], f"{path}.lead_provider")
        # The provider's own partnership first; a relationship record only when that is all there is.
        partnership = (
            Partnership.objects.filter(lead_provider=provider, school=school, cohort_id=cohort)
            .order_by("relationship", "created_at")
            .first()
        )
        if partnership is None:
            raise _Problem(
                f"{path}.lead_provider",
                f"{provider.name} has no partnership with school {school.urn} in cohort {cohort}; "
                "add one to partnerships",
            )
        return partnership

    def _status_changes(self, item: dict, path: str, enrolment: Enrolment) -> bool:
        wanted = []
        for index, change in enumerate(item["status_changes"]):
            provider = None
            if change["lead_provider"] is not None:
                where = f"{path}.status_changes[{index}].lead_provider"
                provider = self._lead_provider_ref(change["lead_provider"], where)
            wanted.append(
                (provider.pk if provider else None, change["training_status"], change["reason"], change["at"])
            )
        existing = enrolment.training_status_changes.order_by("created_at", "id").values_list(
            "lead_provider_id", "training_status", "reason", "created_at"
        )
        if list(existing) == wanted:
            for _ in wanted:
                self.summary.count("status changes", "unchanged")
            return False
        enrolment.training_status_changes.all().delete()
        for provider_id, status, reason, at in wanted:
            TrainingStatusChange.objects.create(
                enrolment=enrolment, lead_provider_id=provider_id, training_status=status, reason=reason, created_at=at
            )
            self.summary.count("status changes", "created")
        return True

    # --- declarations ------------------------------------------------------------------------

    def _declaration(self, entry: dict, path: str) -> None:
        participant = self._participant_ref(entry["participant"], f"{path}.participant")
        enrolment = self._declaration_enrolment(entry, path, participant)
        course = enrolment.course_identifier
        if entry["course_identifier"] not in (None, course):
            raise _Problem(f"{path}.course_identifier", f"enrolment {enrolment.pk} is {course}")
        provider = self._declaration_provider(entry, path, enrolment)
        cohort = entry["cohort"] or enrolment.schedule.cohort_id
        period = self._declaration_period(entry, path, enrolment, provider)
        state = entry["state"] or (DeclarationState.ELIGIBLE if enrolment.is_fundable else DeclarationState.SUBMITTED)
        if state == DeclarationState.SUBMITTED and entry["statement"] is not None:
            raise _Problem(
                f"{path}.statement", "the participant is not fundable, so the declaration is submitted: on no statement"
            )
        statement, clawback = self._declaration_statements(entry, path, state, provider, cohort)
        created_at = entry["created_at"] or entry["declaration_date"]
        history = self._history(entry, path, state, created_at, statement, clawback)

        mentor = None
        if entry["mentor"] is not None:
            if course != CourseIdentifier.ECF_INDUCTION:
                raise _Problem(f"{path}.mentor", "only an ECT's declaration has a mentor")
            mentor = self._participant_ref(entry["mentor"], f"{path}.mentor")
        elif course == CourseIdentifier.ECF_INDUCTION and period is not None and period.mentor_id:
            mentor = period.mentor.participant
        if entry["delivery_partner"] is not None:
            partner = self._delivery_partner_ref(entry["delivery_partner"], f"{path}.delivery_partner")
        else:
            partner = period.partnership.delivery_partner if period is not None and period.partnership else None

        # The lock every write of a teacher's declarations takes (issue 13.1), so a scenario loaded
        # while providers post cannot pay one teacher twice either.
        declaration_lock_teacher(trn=participant.trn, participant_id=participant.pk)
        declaration = Declaration.objects.filter(pk=entry["id"]).first()
        self._refuse_adding_to_frozen(declaration, statement, clawback, path)
        if declaration is not None and declaration.state != state:
            if declaration.state in _CARRIED_ON or declaration.state == DeclarationState.CLAWED_BACK:
                # Paid history is append-only (declarations migration 0004): carry it on, never replace it.
                self._carry_on(declaration, state, clawback, path)
            else:
                # An edited state means a different history. The database lets a state move only one
                # legal step (declarations migration 0002), so the row is replaced, keeping its id.
                declaration.delete()
                declaration = None
        declaration = declaration or Declaration(pk=entry["id"])
        values = {
            "enrolment": enrolment,
            "participant": participant,
            "lead_provider": provider,
            "cohort_id": cohort,
            "course_identifier": course,
            "declaration_type": entry["declaration_type"],
            "declaration_date": entry["declaration_date"],
            "state": state,
            "ineligibility_reason": entry["ineligibility_reason"]
            or (DeclarationIneligibility.DUPLICATE if state == DeclarationState.INELIGIBLE else None),
            "evidence_held": entry["evidence_held"],
            "delivery_partner": partner,
            "mentor": mentor,
            "pupil_premium_uplift": _given(entry["pupil_premium_uplift"], enrolment.pupil_premium_uplift),
            "sparsity_uplift": _given(entry["sparsity_uplift"], enrolment.sparsity_uplift),
            "statement": statement,
            "clawback_statement": clawback,
            "created_at": created_at,
        }
        self._save(declaration, "declarations", values, path)
        self._write_history(declaration, provider, history)

    def _refuse_adding_to_frozen(self, declaration, statement, clawback, path: str) -> None:
        """A statement paid before this load takes no new line: what it paid is frozen."""
        if self._frozen(statement) and getattr(declaration, "statement_id", None) != statement.pk:
            raise _Problem(f"{path}.statement", f"{statement.name} was paid before: it takes no new declaration")
        if self._frozen(clawback) and getattr(declaration, "clawback_statement_id", None) != clawback.pk:
            raise _Problem(f"{path}.clawback_statement", f"{clawback.name} was paid before: it claws back nothing new")

    @staticmethod
    def _carry_on(declaration: Declaration, state: str, clawback: Statement | None, path: str) -> None:
        """Take a paid declaration on to `state` one lawful step at a time (paid → awaiting_clawback →
        clawed_back), as voiding and then paying the clawback statement would."""
        steps = _CARRIED_ON.get(declaration.state, ())
        if state not in steps:
            raise _Problem(
                f"{path}.state",
                f"declaration {declaration.pk} is {declaration.state}: paid financial history cannot be rewritten, "
                f"only carried on ({' or '.join(steps) or 'nothing follows clawed_back'}); "
                "load the changed file into a fresh database instead",
            )
        for step in steps[: steps.index(state) + 1]:
            Declaration.objects.filter(pk=declaration.pk).update(state=step, clawback_statement=clawback)
        declaration.refresh_from_db()

    def _declaration_enrolment(self, entry: dict, path: str, participant: Participant) -> Enrolment:
        if entry["enrolment"] is not None:
            enrolment = Enrolment.objects.select_related("schedule").filter(pk=entry["enrolment"]).first()
            if enrolment is None:
                raise _Problem(f"{path}.enrolment", f"no enrolment {entry['enrolment']}")
            if enrolment.participant_id != participant.pk:
                raise _Problem(
                    f"{path}.enrolment", f"enrolment {enrolment.pk} is not participant {entry['participant']}'s"
                )
            return enrolment
        kind = KIND_FOR_COURSE[entry["course_identifier"]]
        return self._enrolment_of(entry["participant"], kind, f"{path}.course_identifier")

    def _declaration_provider(self, entry: dict, path: str, enrolment: Enrolment) -> LeadProvider:
        if entry["lead_provider"] is not None:
            return self._lead_provider_ref(entry["lead_provider"], f"{path}.lead_provider")
        latest = (
            enrolment.training_periods.filter(partnership__isnull=False)
            .select_related("partnership__lead_provider")
            .order_by(*LATEST_FIRST)
            .first()
        )
        if latest is None:
            raise _Problem(
                f"{path}.lead_provider", "required: the enrolment has no provider-led period to take it from"
            )
        return latest.partnership.lead_provider

    @staticmethod
    def _declaration_period(entry: dict, path: str, enrolment: Enrolment, provider: LeadProvider):
        """The provider's latest period starting on or before the declaration date (rules §4.7)."""
        periods = enrolment.training_periods.filter(partnership__lead_provider=provider)
        if not periods.exists():
            raise _Problem(
                f"{path}.lead_provider",
                f"{provider.name} has no training period for enrolment {enrolment.pk}, so it could not have declared",
            )
        return (
            periods.filter(start_date__lte=entry["declaration_date"])
            .select_related("partnership__delivery_partner", "mentor__participant")
            .order_by(*LATEST_FIRST)
            .first()
        )

    def _declaration_statements(self, entry, path, state, provider, cohort):
        """The statement that pays it and the one that claws it back, consistent with the state."""
        statement = clawback = None
        if entry["statement"] is not None:
            statement = self._statement_ref(entry["statement"], provider, cohort, f"{path}.statement")
        elif state in (DeclarationState.ELIGIBLE, DeclarationState.INELIGIBLE):
            statement = self._next_statement(state, provider, cohort, f"{path}.statement")
        if entry["clawback_statement"] is not None:
            clawback = self._statement_ref(entry["clawback_statement"], provider, cohort, f"{path}.clawback_statement")
        elif state == DeclarationState.AWAITING_CLAWBACK:
            clawback = self._next_statement(state, provider, cohort, f"{path}.clawback_statement")

        # The money reads the statement's status; a declaration's state must agree with it (finance §2.6).
        expected = {
            DeclarationState.ELIGIBLE: (Status.OPEN,),
            DeclarationState.PAYABLE: (Status.PAYABLE,),
            DeclarationState.PAID: (Status.PAID,),
            DeclarationState.AWAITING_CLAWBACK: (Status.PAID,),
            DeclarationState.CLAWED_BACK: (Status.PAID,),
        }
        if statement is not None and state in expected and statement.status not in expected[state]:
            raise _Problem(
                f"{path}.statement",
                f"{statement.name} is {statement.status}; "
                f"a {state} declaration sits on a {' or '.join(expected[state])} statement",
            )
        if clawback is not None:
            wanted = (Status.PAID,) if state == DeclarationState.CLAWED_BACK else (Status.OPEN, Status.PAYABLE)
            if clawback.status not in wanted:
                raise _Problem(
                    f"{path}.clawback_statement",
                    f"{clawback.name} is {clawback.status}; "
                    f"a {state} declaration is clawed back on a {' or '.join(wanted)} statement",
                )
            if clawback.payment_date <= statement.payment_date:
                raise _Problem(f"{path}.clawback_statement", f"must be paid after {statement.name}, which paid it")
        return statement, clawback

    def _next_statement(self, state: str, provider: LeadProvider, cohort: int, path: str) -> Statement | None:
        statement = Statement.objects.next_output_for(lead_provider_id=provider.pk, cohort_id=cohort, today=self.today)
        if statement is None and state != DeclarationState.INELIGIBLE:
            raise _Problem(
                path,
                f"required: {provider.name} has no open output statement for cohort {cohort} with a deadline on or "
                f"after {self.today} to default to",
            )
        return statement

    def _history(self, entry, path, state, submitted_at, statement, clawback) -> list[tuple[str, str, str, datetime]]:
        """A plausible path from submitted to `state`: (state, actor kind, reason, at) steps."""
        provider, run = ActorKind.LEAD_PROVIDER, ActorKind.PAYMENT_RUN
        steps = [(DeclarationState.SUBMITTED, provider, "", submitted_at)]

        def step(new_state, actor, at, reason=""):
            steps.append((new_state, actor, reason, max(at, steps[-1][3])))

        if state == DeclarationState.INELIGIBLE:
            step(DeclarationState.INELIGIBLE, provider, submitted_at, "duplicate")
        elif statement is not None:
            if submitted_at > _end_of_day(statement.deadline_date):
                raise _Problem(
                    f"{path}.statement",
                    f"{statement.name}'s deadline ({statement.deadline_date}) passed before the declaration was "
                    f"submitted ({rfc3339.format_timestamp(submitted_at)}); it lands on a later statement",
                )
            step(DeclarationState.ELIGIBLE, provider, submitted_at)
            # The payable job runs the day after the deadline; authorisation pays it. A voided
            # declaration was payable first only if it was voided after its statement's deadline.
            voided_late = statement.status != Status.OPEN and (
                entry["voided_at"] is None or entry["voided_at"] > _end_of_day(statement.deadline_date)
            )
            if state in _BILLED or (state == DeclarationState.VOIDED and voided_late):
                step(DeclarationState.PAYABLE, run, _start_of_day(statement.deadline_date + timedelta(days=1)))
            if state in (DeclarationState.PAID, *_REFUNDABLE):
                step(DeclarationState.PAID, run, statement.marked_as_paid_at or _start_of_day(statement.payment_date))
        if state in (DeclarationState.VOIDED, *_REFUNDABLE):
            last = steps[-1][3]
            voided_at = entry["voided_at"] or last + timedelta(days=1)
            if clawback is not None and entry["voided_at"] is None:
                voided_at = max(last, min(voided_at, _end_of_day(clawback.deadline_date)))
            if voided_at < last:
                raise _Problem(
                    f"{path}.voided_at", f"before the declaration was {steps[-1][0]} ({rfc3339.format_timestamp(last)})"
                )
            if clawback is not None and voided_at > _end_of_day(clawback.deadline_date):
                raise _Problem(
                    f"{path}.clawback_statement",
                    f"{clawback.name}'s deadline ({clawback.deadline_date}) is before the void "
                    f"({rfc3339.format_timestamp(voided_at)}); the clawback lands on a later statement",
                )
            void_state = (
                DeclarationState.VOIDED if state == DeclarationState.VOIDED else DeclarationState.AWAITING_CLAWBACK
            )
            step(void_state, provider, voided_at)
        if state == DeclarationState.CLAWED_BACK:
            step(DeclarationState.CLAWED_BACK, run, clawback.marked_as_paid_at or _start_of_day(clawback.payment_date))
        return steps

    def _write_history(self, declaration: Declaration, provider: LeadProvider, steps: list) -> None:
        wanted, previous = [], ""
        for state, actor, reason, at in steps:
            lead_provider_id = provider.pk if actor == ActorKind.LEAD_PROVIDER else None
            wanted.append((previous, state, reason, actor, lead_provider_id, at))
            previous = state
        existing = list(
            declaration.state_changes.order_by("created_at", "id").values_list(
                "from_state", "state", "reason", "actor_kind", "actor_lead_provider_id", "created_at"
            )
        )
        if existing == wanted:
            return
        if existing == wanted[: len(existing)]:
            wanted = wanted[len(existing) :]  # carried on: only the new steps (paid history is append-only)
        else:
            declaration.state_changes.all().delete()  # refused by the database once paid (migration 0004)
        DeclarationStateChange.objects.bulk_create(
            DeclarationStateChange(
                declaration=declaration,
                from_state=from_state,
                state=state,
                reason=reason,
                actor_kind=actor,
                actor_lead_provider_id=lead_provider_id,
                created_at=at,
            )
            for from_state, state, reason, actor, lead_provider_id, at in wanted
        )

    # --- merges ------------------------------------------------------------------------------

    def _merge(self, entry: dict, path: str) -> None:
        retired = Participant.objects.filter(pk=entry["from"]).first()
        if retired is None:
            if ParticipantIdChange.objects.filter(from_participant_id=entry["from"]).exists():
                self.summary.count("merges", "unchanged")  # applied by an earlier load
                return
            raise _Problem(f"{path}.from", f"no participant {entry['from']}")
        target = Participant.objects.filter(pk=entry["to"]).first()
        if target is None:
            change = ParticipantIdChange.objects.filter(from_participant_id=entry["to"]).first()
            hint = f"; it was merged into {change.participant_id}" if change else ""
            raise _Problem(f"{path}.to", f"no participant {entry['to']}{hint}")
        change = participant_merge(from_participant=retired, to_participant=target)
        if entry["at"] is not None:
            # `at` is when the merge happened (the API's changed_at); the target's sync time stays now.
            ParticipantIdChange.objects.filter(pk=change.pk).update(created_at=entry["at"])
        self.summary.count("merges", "created")


@transaction.atomic
def scenario_load(*, data: Any) -> ScenarioSummary:
    """Check the document, then write it, all in one transaction; ScenarioError writes nothing."""
    checker = _Checker()
    document = checker.clean({} if data is None else data, DOCUMENT, "")
    if checker.errors:
        raise ScenarioError(checker.errors)
    writer = _Writer(document, checker)
    writer.run()
    if writer.errors:
        raise ScenarioError(writer.errors)  # leaving the atomic block with it rolls everything back
    # Entries write rows directly (and may touch anyone: a challenged partnership, a merge), so the
    # read model of visibility is recomputed whole, in the same transaction.
    visibility_rebuild()
    return writer.summary

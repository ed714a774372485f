"""The bulk writer: `sandbox_seed` saves the world, then writes participant drafts in batches of
plain rows (COPY on PostgreSQL, executemany on SQLite), one transaction per batch."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connections, models, router, transaction

from declarations.models import (
    REFUNDABLE_STATES,
    Declaration,
    DeclarationAttempt,
    DeclarationState,
    DeclarationStateChange,
)
from declarations.payments import authorisation_refusals, statement_authorise_payment, statements_mark_payable
from ecf import clock
from participants.models import (
    ApiToken,
    ContractFlavour,
    DeliveryPartner,
    Enrolment,
    LeadProvider,
    Participant,
    Partnership,
    ProviderRelationship,
    ScheduleChange,
    School,
    SchoolCohort,
    TrainingPeriod,
    TrainingStatusChange,
)
from participants.tokens import api_token_create
from sandbox.generator import ParticipantDraft, ParticipantFactory
from sandbox.world import (
    ADMIN_LOGIN,
    COHORTS,
    CONTRACT_BANDS,
    DEFAULT_PARTICIPANTS,
    DEFAULT_SEED,
    FINANCE_LOGIN,
    INSERT_BATCH,
    LAST_UPLIFT_COHORT,
    NAMESPACE,
    PARTICIPANT_BATCH,
    REWRITE_FLAVOURED_PROVIDERS,
    PartnershipDraft,
    StatementBook,
    World,
    _at,
    _last_day_of_previous_month,
    build_world,
    load_schedules,
    school_count_for,
    stable_id,
)
from statements.models import (
    DEFAULT_CONTRACT_VERSION,
    ContractBand,
    EctContract,
    MentorContract,
    Statement,
    StatementStatus,
)
from statements.permissions import ensure_finance_group
from visibility.changes import visibility_changed, visibility_deferred
from visibility.services import visibility_refresh

# ---------------------------------------------------------------------------------------
# Writing to the database


class SandboxConflict(Exception):
    """The database holds rows that clash with the sandbox (another seed, hand-made data)."""


@dataclass
class SeedReport:
    seed: int
    participants: int
    providers: list[tuple[str, str]]  # (name, token)
    logins: list[tuple[str, str, str, bool]]  # (username, password, role, created by this run)
    counts: list[tuple[str, int, int]]  # (what, before, after)
    participants_already_there: int
    declaration_states: dict[str, int]
    statement_statuses: dict[str, int]


ProgressFn = Callable[[int, int], None]

COUNTED = (
    ("lead providers", LeadProvider),
    ("API tokens", ApiToken),
    ("delivery partners", DeliveryPartner),
    ("provider relationships", ProviderRelationship),
    ("schools", School),
    ("school cohorts", SchoolCohort),
    ("partnerships", Partnership),
    ("ECT contracts", EctContract),
    ("contract bands", ContractBand),
    ("mentor contracts", MentorContract),
    ("statements", Statement),
    ("participants", Participant),
    ("enrolments", Enrolment),
    ("training periods", TrainingPeriod),
    ("training status changes", TrainingStatusChange),
    ("schedule changes", ScheduleChange),
    ("declarations", Declaration),
    ("declaration state changes", DeclarationStateChange),
    ("declaration attempts", DeclarationAttempt),
)


def sandbox_seed(
    *, seed: int = DEFAULT_SEED, participants: int = DEFAULT_PARTICIPANTS, progress: ProgressFn | None = None
) -> SeedReport:
    """Build, or top up, the sandbox for `seed` with `participants` people. Safe to run again."""
    if participants < 0:
        raise ValueError("participants must be 0 or more")
    before = _counts()
    # Generated history stops at the start of today: the same day always gives the same data,
    # whatever the hour the command runs.
    now = _at(clock.today())
    schedules = load_schedules()
    missing = [cohort for cohort in COHORTS if (cohort, "ecf-standard-september") not in schedules]
    if missing:
        raise SandboxConflict(f"cohorts {missing} have no schedules: run `manage.py migrate` first")
    world = build_world(seed=seed, school_count=school_count_for(participants), now=now)
    with transaction.atomic():
        book = _save_world(world)
        logins = _ensure_users()
    factory = ParticipantFactory(world, schedules, book)
    # Participant i depends on those before it only, so drafting can stop after the last missing one.
    ids = [stable_id(seed, "participant", index) for index in range(participants)]
    stored = _existing_ids(Participant, ids)
    needed = max((index + 1 for index, id_ in enumerate(ids) if id_ not in stored), default=0)
    voids: list[LaterVoid] = []
    for start in range(0, needed, PARTICIPANT_BATCH):
        drafts = [factory.draft(index) for index in range(start, min(start + PARTICIPANT_BATCH, needed))]
        voids += _save_participants(drafts, stored, book)
        if progress:
            progress(start + len(drafts), participants)
    if progress and needed < participants:
        progress(participants, participants)
    with visibility_deferred():  # one refresh of the read model after the year's payment runs
        _catch_up_statements(world, today=now.date(), voids=voids)
    after = _counts()
    return SeedReport(
        seed=seed,
        participants=participants,
        providers=[(provider.name, provider.token) for provider in world.providers],
        logins=logins,
        counts=[(label, before[label], after[label]) for label, _ in COUNTED],
        participants_already_there=len(stored),
        declaration_states=_tally(Declaration, "state"),
        statement_statuses=_tally(Statement, "status"),
    )


def _counts() -> dict[str, int]:
    return {label: model.objects.count() for label, model in COUNTED}


def _tally(model, field_name: str) -> dict[str, int]:
    rows = model.objects.values_list(field_name).annotate(n=models.Count("pk")).order_by(field_name)
    return dict(rows)


def _insert(model, rows: Iterable, *, ignore_conflicts: bool = False) -> None:
    model.objects.bulk_create(list(rows), batch_size=INSERT_BATCH, ignore_conflicts=ignore_conflicts)


def _existing_ids(model, ids: Iterable) -> set:
    """Which of `ids` are already stored (in chunks: SQLite limits query parameters)."""
    ids = list(ids)
    found = set()
    for start in range(0, len(ids), 900):
        found.update(model.objects.filter(pk__in=ids[start : start + 900]).values_list("pk", flat=True))
    return found


def _require_all(model, ids: list, what: str) -> None:
    missing = len(ids) - len(_existing_ids(model, ids))
    if missing:
        raise SandboxConflict(
            f"{missing} {what} could not be written because they clash with rows already in the database "
            "(another --seed, or data made by hand). Seed an empty database, or use the seed that built this one."
        )


def _save_world(world: World) -> StatementBook:
    _save_providers(world)
    _insert(
        DeliveryPartner,
        (
            DeliveryPartner(id=p.id, name=p.name, created_at=p.created_at, updated_at=p.created_at)
            for p in world.partners
        ),
        ignore_conflicts=True,
    )
    relationships = []
    for provider in world.providers:
        for cohort in COHORTS:
            at = datetime(cohort - 1, 12, 1, 9, tzinfo=UTC)
            relationships += [
                ProviderRelationship(
                    lead_provider_id=provider.id,
                    delivery_partner_id=p.id,
                    cohort_id=cohort,
                    created_at=at,
                    updated_at=at,
                )
                for p in world.relationships[(provider.key, cohort)]
            ]
    _insert(ProviderRelationship, relationships, ignore_conflicts=True)
    _save_schools(world)
    contracts = _save_contracts(world)
    _save_statements(world, contracts)
    return StatementBook(
        _output_statements(world).only(
            "id", "lead_provider_id", "cohort_id", "deadline_date", "payment_date", "status", "marked_as_paid_at"
        ),
        today=world.now.date(),
    )


def _output_statements(world: World):
    provider_ids = [provider.id for provider in world.providers]
    return Statement.objects.output().filter(lead_provider_id__in=provider_ids, cohort_id__in=COHORTS)


def _save_providers(world: World) -> None:
    """Providers are found by name (it is unique), so a provider made by hand is reused, not doubled."""
    existing = {p.name: p for p in LeadProvider.objects.filter(name__in=[p.name for p in world.providers])}
    created = datetime(2021, 4, 1, 9, tzinfo=UTC)
    new = []
    for provider in world.providers:
        if provider.name in existing:
            provider.id = existing[provider.name].id
        else:
            new.append(LeadProvider(id=provider.id, name=provider.name, created_at=created, updated_at=created))
    _insert(LeadProvider, new)
    for provider in world.providers:
        lead_provider = existing.get(provider.name) or next(p for p in new if p.id == provider.id)
        api_token_create(lead_provider=lead_provider, raw_token=provider.token, label="sandbox")
    # Both contract flavours in every sandbox (issue 15); a flavour changed in the back office is kept on top-ups.
    rewrite = [provider.id for provider in world.providers if provider.name in REWRITE_FLAVOURED_PROVIDERS]
    LeadProvider.objects.filter(id__in=[lead_provider.id for lead_provider in new], pk__in=rewrite).update(
        contract_flavour=ContractFlavour.REWRITE
    )


def _save_schools(world: World) -> None:
    _insert(
        School,
        (
            School(
                id=s.id,
                urn=s.urn,
                name=s.name,
                school_status_code=s.status_code,
                school_type_code=s.type_code,
                administrative_district_code=s.district,
                section_41_approved=s.section_41,
                induction_tutor_name=s.tutor_name,
                induction_tutor_email=s.tutor_email,
                primary_contact_email=f"office@school{s.urn}.example.com",
                created_at=s.created_at,
                updated_at=s.updated_at,
            )
            for s in world.schools
        ),
        ignore_conflicts=True,
    )
    _require_all(School, [s.id for s in world.schools], "schools")
    _insert(
        SchoolCohort,
        (
            SchoolCohort(
                school_id=school.id,
                cohort_id=sc.cohort,
                induction_programme_choice=sc.choice,
                pupil_premium_uplift=sc.pupil_premium,
                sparsity_uplift=sc.sparsity,
                created_at=sc.created_at,
                updated_at=max([sc.created_at] + [p.updated_at for p in sc.challenged]),
            )
            for school in world.schools
            for sc in school.cohorts.values()
        ),
        ignore_conflicts=True,
    )
    partnerships = list(world.partnerships())
    _insert(Partnership, (_partnership_row(p) for p in partnerships), ignore_conflicts=True)
    _require_all(Partnership, [p.id for p in partnerships], "partnerships")


def _partnership_row(p: PartnershipDraft) -> Partnership:
    return Partnership(
        id=p.id,
        lead_provider_id=p.provider.id,
        delivery_partner_id=p.partner.id,
        school_id=p.school.id,
        cohort_id=p.cohort,
        relationship=p.relationship,
        challenge_deadline=p.challenge_deadline,
        challenged_at=p.challenged_at,
        challenge_reason=p.challenge_reason,
        report_id=uuid.uuid5(NAMESPACE, f"report:{p.id}"),
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _save_contracts(world: World) -> dict[tuple, tuple[int, int | None]]:
    """Contract F for every provider and cohort, and £1,000 mentor contracts from 2025."""
    provider_ids = [provider.id for provider in world.providers]
    ect, mentor = [], []
    for provider in world.providers:
        for cohort in COHORTS:
            at = datetime(cohort, 4, 1, 9, tzinfo=UTC)
            ect.append(
                EctContract(
                    lead_provider_id=provider.id,
                    cohort_id=cohort,
                    version=DEFAULT_CONTRACT_VERSION,
                    recruitment_target=6000,
                    set_up_fee=Decimal("149651"),
                    uplift_target=Decimal("0.33"),
                    uplift_amount=Decimal("100") if cohort <= LAST_UPLIFT_COHORT else None,
                    created_at=at,
                    updated_at=at,
                )
            )
            if cohort >= 2025:
                mentor.append(
                    MentorContract(
                        lead_provider_id=provider.id,
                        cohort_id=cohort,
                        version=DEFAULT_CONTRACT_VERSION,
                        recruitment_target=3000,
                        payment_per_participant=Decimal("1000.00"),
                        created_at=at,
                        updated_at=at,
                    )
                )
    _insert(EctContract, ect, ignore_conflicts=True)
    _insert(MentorContract, mentor, ignore_conflicts=True)
    scope = {"lead_provider_id__in": provider_ids, "cohort_id__in": COHORTS, "version": DEFAULT_CONTRACT_VERSION}
    ect_ids = {(c.lead_provider_id, c.cohort_id): c.id for c in EctContract.objects.filter(**scope)}
    mentor_ids = {(c.lead_provider_id, c.cohort_id): c.id for c in MentorContract.objects.filter(**scope)}
    with_bands = set(
        ContractBand.objects.filter(contract_id__in=ect_ids.values()).values_list("contract_id", flat=True)
    )
    _insert(
        ContractBand,
        (
            ContractBand(contract_id=contract_id, min=low, max=high, per_participant=price)
            for contract_id in ect_ids.values()
            if contract_id not in with_bands
            for low, high, price in CONTRACT_BANDS
        ),
    )
    return {key: (contract_id, mentor_ids.get(key)) for key, contract_id in ect_ids.items()}


def statement_calendar(cohort: int) -> list[tuple[int, int, bool]]:
    """(year, month, output fee) from November of the start year (finance.md §2.1)."""
    last = (cohort + 3, 8) if cohort == 2023 else (cohort + 3, 5)
    months, year, month = [], cohort, 11
    while (year, month) <= last:
        months.append((year, month, month in (1, 4, 8, 10)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _save_statements(world: World, contracts) -> None:
    """Every statement starts open, as the back office creates them; the payment runs of the year
    then take them where they are today (`_catch_up_statements`)."""
    rows = []
    for provider in world.providers:
        for cohort in COHORTS:
            ect_contract, mentor_contract = contracts[(provider.id, cohort)]
            created = min(datetime(cohort, 5, 10, 7, tzinfo=UTC), world.now)
            for year, month, output in statement_calendar(cohort):
                deadline, payment = _last_day_of_previous_month(year, month), date(year, month, 25)
                rows.append(
                    Statement(
                        id=stable_id(world.seed, "statement", provider.key, cohort, year, month),
                        lead_provider_id=provider.id,
                        cohort_id=cohort,
                        year=year,
                        month=month,
                        deadline_date=deadline,
                        payment_date=payment,
                        output_fee=output,
                        status=StatementStatus.OPEN,
                        ect_contract_id=ect_contract,
                        mentor_contract_id=mentor_contract,
                        created_at=created,
                        updated_at=created,
                    )
                )
    _insert(Statement, rows, ignore_conflicts=True)


def _catch_up_statements(world: World, *, today: date, voids: list[LaterVoid]) -> None:
    """Run the year's payment runs that are due by `today` and have not run, in clock order, through
    the services themselves: the payable job the day after each deadline (`statements_mark_payable`,
    which catches up a top-up's older statements too), then authorisation at 09:00 on each payment
    date (`statement_authorise_payment`, which freezes what was paid). The declarations were written
    in the states those runs leave them in (sandbox.world.StatementBook), so the runs move only what
    an earlier run left behind. A statement with nothing to pay stays payable, as in the back office.
    Service-fee statements stay open: they are never authorised (declarations.payments). Paid
    declarations voided later are voided between the authorisations, at their time, so that each
    statement is frozen as it stood when it was paid."""
    voids = sorted(voids, key=lambda void: void.at)
    due = list(
        _output_statements(world)
        .exclude(status=StatementStatus.PAID)
        .filter(deadline_date__lt=today)
        .order_by("payment_date", "deadline_date", "id")
    )
    days = sorted(
        {s.deadline_date + timedelta(days=1) for s in due} | {s.payment_date for s in due if s.payment_date < today}
    )
    for day in days:
        with clock.frozen(_at(day)):
            statements_mark_payable(today=day)
        for statement in (s for s in due if s.payment_date == day):
            voids = _void_paid_before(voids, _at(day, 9))
            _authorise(statement, at=_at(day, 9))
    _void_paid_before(voids, world.now + timedelta(days=1))


@dataclass(frozen=True)
class LaterVoid:
    """A paid declaration its provider voids later (rules §5.3): written as paid, and voided (awaiting
    clawback on `clawback_statement_id`) in clock order by `_catch_up_statements`; the clawback
    statement's authorisation then claws it back."""

    declaration_id: uuid.UUID
    clawback_statement_id: uuid.UUID
    change: dict  # the awaiting_clawback history row

    @property
    def at(self) -> datetime:
        return self.change["created_at"]


def _void_paid_before(voids: list[LaterVoid], instant: datetime) -> list[LaterVoid]:
    """Void the paid declarations voided before `instant` (as declaration_void does: awaiting
    clawback on the next statement, one history row); returns the later ones."""
    done = [void for void in voids if void.at < instant]
    if done:
        with transaction.atomic():
            TableWriter(DeclarationStateChange).write([void.change for void in done])
            Declaration.objects.bulk_update(
                [
                    Declaration(
                        pk=void.declaration_id,
                        state=DeclarationState.AWAITING_CLAWBACK,
                        clawback_statement_id=void.clawback_statement_id,
                        updated_at=void.at,
                    )
                    for void in done
                ],
                ["state", "clawback_statement_id", "updated_at"],
                batch_size=INSERT_BATCH,
            )
            # Bypassing declaration_void, the voids bring the read model of visibility along themselves.
            voided = Declaration.objects.filter(pk__in=[void.declaration_id for void in done])
            visibility_changed(participant_ids=list(voided.values_list("participant_id", flat=True)))
    return voids[len(done) :]


def _authorise(statement: Statement, *, at: datetime) -> None:
    statement = Statement.objects.get(pk=statement.pk)  # as the payable job left it
    with clock.frozen(at):
        if not authorisation_refusals(statement):
            statement_authorise_payment(statement=statement)


def _ensure_users() -> list[tuple[str, str, str, bool]]:
    """The back-office logins; existing users keep their passwords, the finance user its group."""
    user_model = get_user_model()
    username, password = ADMIN_LOGIN
    admin_created = not user_model.objects.filter(username=username).exists()
    if admin_created:
        user_model.objects.create_superuser(username, f"{username}@example.com", password)
    username, password = FINANCE_LOGIN
    finance = user_model.objects.filter(username=username).first()
    finance_created = finance is None
    if finance_created:
        finance = user_model.objects.create_user(username, f"{username}@example.com", password, is_staff=True)
    finance.groups.add(ensure_finance_group())
    return [(*ADMIN_LOGIN, "superuser", admin_created), (*FINANCE_LOGIN, "finance group", finance_created)]


def _save_participants(drafts: list[ParticipantDraft], stored: set, book: StatementBook) -> list[LaterVoid]:
    """Write the drafts not stored yet, with everything that hangs off them; returns the voids of
    paid declarations, which wait for the payment runs (`_catch_up_statements`)."""
    new = [d for d in drafts if d.id not in stored]
    if not new:
        return []
    _drop_lines_on_paid_statements(new, book)
    _drop_dangling_duplicates(new)
    _drop_dangling_mentors(new)
    rows = _Rows()
    for draft in new:
        rows.add(draft)
    with transaction.atomic():
        _insert(Partnership, rows.partnerships.values(), ignore_conflicts=True)
        for model, batch in rows.tables.items():
            TableWriter(model).write(batch)
        # The rows bypass the services, so the batch brings the read model of visibility along itself.
        visibility_refresh(participant_ids=[draft.id for draft in new])
    return rows.voids


def _drop_lines_on_paid_statements(drafts: list[ParticipantDraft], book: StatementBook) -> None:
    """A top-up's newcomers declare nothing a statement paid before this run would pay or claw back:
    what it paid is frozen (a real provider's declaration after the deadline lands on a later
    statement). Dropped here, not in the generator, so that the people already stored are drafted
    again exactly as they were written."""
    closed = book.closed_ids()
    if not closed:
        return
    for draft in drafts:
        for enrolment in draft.enrolments:
            enrolment.declarations = [
                d
                for d in enrolment.declarations
                if d.row["statement_id"] not in closed and d.row["clawback_statement_id"] not in closed
            ]


def _drop_dangling_mentors(drafts: list[ParticipantDraft]) -> None:
    """A top-up on a later day may draft an earlier person differently from how they were stored
    (today moved); a newcomer then keeps a mentor only if that mentor's enrolment exists."""
    ours = {e.id for d in drafts for e in d.enrolments}
    wanted = {p.mentor.enrolment_id for d in drafts for e in d.enrolments for p in e.periods if p.mentor} - ours
    missing = wanted - _existing_ids(Enrolment, wanted)
    if not missing:
        return
    for draft in drafts:
        for enrolment in draft.enrolments:
            gone = {p.mentor.participant_id for p in enrolment.periods if p.mentor and p.mentor.enrolment_id in missing}
            for period in enrolment.periods:
                if period.mentor and period.mentor.enrolment_id in missing:
                    period.mentor = None
            for declaration in enrolment.declarations:
                if declaration.row["mentor_id"] in gone:
                    declaration.row["mentor_id"] = None


def _drop_dangling_duplicates(drafts: list[ParticipantDraft]) -> None:
    """A duplicate declaration may point at one written by an earlier run on another day, which
    may differ: keep it only when what it supersedes really exists."""
    ours = {d.id for p in drafts for e in p.enrolments for d in e.declarations}
    wanted = {
        d.row["superseded_by_id"]
        for p in drafts
        for e in p.enrolments
        for d in e.declarations
        if d.row.get("superseded_by_id") and d.row["superseded_by_id"] not in ours
    }
    present = ours | _existing_ids(Declaration, wanted)
    for draft in drafts:
        for enrolment in draft.enrolments:
            enrolment.declarations = [
                d
                for d in enrolment.declarations
                if d.row.get("superseded_by_id") is None or d.row["superseded_by_id"] in present
            ]


class _Rows:
    """The rows of a batch of new participants, as field dicts grouped by table (in FK order)."""

    def __init__(self):
        self.partnerships: dict[uuid.UUID, Partnership] = {}
        self.voids: list[LaterVoid] = []
        self.tables: dict[type[models.Model], list[dict]] = {
            model: []
            for model in (
                Participant,
                Enrolment,
                TrainingPeriod,
                TrainingStatusChange,
                ScheduleChange,
                Declaration,
                DeclarationStateChange,
                DeclarationAttempt,
            )
        }

    def add(self, draft: ParticipantDraft) -> None:
        tables = self.tables
        for partnership in draft.relationship_partnerships:
            if partnership.id not in self.partnerships:
                self.partnerships[partnership.id] = _partnership_row(partnership)
        tables[Participant].append(draft.row)
        email = draft.row["email"]
        for enrolment in draft.enrolments:
            tables[Enrolment].append(enrolment.row)
            tables[TrainingPeriod] += [
                {
                    "id": period.id,
                    "enrolment_id": enrolment.id,
                    "school_id": period.school.id,
                    "cohort_id": period.partnership.cohort,
                    "partnership_id": period.partnership.id,
                    "schedule_id": period.schedule.id,
                    "mentor_id": period.mentor.enrolment_id if period.mentor else None,
                    "email": email,
                    "start_date": period.start,
                    "end_date": period.end,
                    "training_status": period.training_status,
                    "induction_status": period.induction_status,
                    "school_transfer": period.school_transfer,
                    "created_at": period.created_at,
                    "updated_at": period.updated_at,
                }
                for period in enrolment.periods
            ]
            tables[TrainingStatusChange] += [{"enrolment_id": enrolment.id, **c} for c in enrolment.status_changes]
            tables[ScheduleChange] += [{"enrolment_id": enrolment.id, **c} for c in enrolment.schedule_changes]
            for declaration in enrolment.declarations:
                row, changes = self._as_paid(declaration)
                tables[Declaration].append(row)
                tables[DeclarationStateChange] += [{"declaration_id": declaration.id, **change} for change in changes]
                tables[DeclarationAttempt].append(declaration.attempt)

    def _as_paid(self, declaration) -> tuple[dict, list[dict]]:
        """A clawback is history after the payment: the declaration is written as it was paid, its
        void kept for later (LaterVoid) and its clawing back left to the clawback statement's
        authorisation, which writes that step itself."""
        if declaration.state not in REFUNDABLE_STATES:
            return declaration.row, declaration.changes
        changes = declaration.changes
        paid = next(i for i, change in enumerate(changes) if change["state"] == DeclarationState.PAID)
        void = changes[paid + 1]
        self.voids.append(
            LaterVoid(
                declaration.id, declaration.row["clawback_statement_id"], {"declaration_id": declaration.id, **void}
            )
        )
        row = declaration.row | {
            "state": DeclarationState.PAID,
            "clawback_statement_id": None,
            "updated_at": changes[paid]["created_at"],
        }
        return row, changes[: paid + 1]


class TableWriter:
    """Appends plain rows to one table, much faster than model instances through bulk_create.

    Only for rows known to be new (nothing is ignored: a broken constraint fails loudly). Values
    are adapted the way Django's fields would for this database; PostgreSQL gets them by COPY.
    Fields missing from a row take their model default; a missing field whose default is computed
    (a uuid, the clock) is a bug and raises KeyError.
    """

    def __init__(self, model: type[models.Model]):
        self.connection = connections[router.db_for_write(model)]
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
        self.defaults = {
            f.attname: f.get_default() for f in self.fields if not (f.has_default() and callable(f.default))
        }
        self.adapters = [self._adapter(f) for f in self.fields]

    def _adapter(self, field) -> Callable | None:
        """How one column's Python value becomes a database parameter (None: as it is)."""
        target = field.target_field if field.is_relation else field
        if self.connection.vendor == "postgresql":
            return (
                None
                if not isinstance(target, models.JSONField)
                else (lambda v, f=field: f.get_db_prep_save(v, self.connection))
            )
        if isinstance(target, models.UUIDField):
            return lambda value: value.hex
        if isinstance(target, models.DateTimeField):
            return self.connection.ops.adapt_datetimefield_value
        if isinstance(target, models.DateField):
            return self.connection.ops.adapt_datefield_value
        if isinstance(target, models.DecimalField | models.JSONField):
            return lambda value, f=field: f.get_db_prep_save(value, self.connection)
        return None

    def _tuples(self, rows: list[dict]):
        names = [f.attname for f in self.fields]
        defaults = self.defaults
        adapters = list(zip(range(len(names)), self.adapters, strict=True))
        converted = [(i, adapt) for i, adapt in adapters if adapt is not None]
        for row in rows:
            values = [row[name] if name in row else defaults[name] for name in names]
            for i, adapt in converted:
                if values[i] is not None:
                    values[i] = adapt(values[i])
            yield values

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {quote(self.table)} ({columns}) FROM STDIN") as copy:
                    for values in self._tuples(rows):
                        copy.write_row(values)
                return
            placeholders = ", ".join(["%s"] * len(self.fields))
            sql = f"INSERT INTO {quote(self.table)} ({columns}) VALUES ({placeholders})"
            tuples = self._tuples(rows)
            while chunk := list(itertools.islice(tuples, INSERT_BATCH)):
                cursor.executemany(sql, chunk)

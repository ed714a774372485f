"""`manage.py seed_sandbox`: a deterministic, idempotent sandbox that follows the domain rules.

The clock is frozen on 10 October 2026: the October 2026 output statements are then between their
deadline and their payment date, so the sandbox holds payable declarations as well as paid, eligible
and clawed-back ones (on most days of a year no output statement is payable).
"""

import hashlib
import io
import re
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from rest_framework.test import APIClient

from declarations.models import (
    BILLABLE_STATES,
    REFUNDABLE_STATES,
    ActorKind,
    Declaration,
    DeclarationAttempt,
    DeclarationState,
    DeclarationStateChange,
)
from ecf import clock
from participants.models import (
    ApiToken,
    DeliveryPartner,
    EligibilityStatus,
    Enrolment,
    InductionStatus,
    LeadProvider,
    Milestone,
    Participant,
    Partnership,
    ProviderRelationship,
    ScheduleChange,
    School,
    SchoolCohort,
    TrainingPeriod,
    TrainingStatus,
    TrainingStatusChange,
)
from sandbox.world import DEFAULT_PARTICIPANTS
from sandbox.writer import COUNTED, statement_calendar
from statements.calculation import calculate_statement
from statements.freezing import frozen_figures, round_money
from statements.models import ContractBand, EctContract, MentorContract, Statement, StatementStatus
from statements.permissions import FINANCE_GROUP

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)
SMALL = 200


def seed(*args: str) -> str:
    out = io.StringIO()
    with clock.frozen(NOW):
        call_command("seed_sandbox", "--participants", str(SMALL), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def table_counts() -> dict[str, int]:
    counts = {label: model.objects.count() for label, model in COUNTED}
    counts["users"] = get_user_model().objects.count()
    return counts


def printed_tokens(output: str) -> dict[str, str]:
    block = output.split("Lead providers and their tokens:\n", 1)[1].split("\n\n", 1)[0]
    return dict(re.fullmatch(r"\s+(.+?)\s{2,}(\S+)", line).groups() for line in block.splitlines())


# Every seeded table, with its rows as they would be compared between two databases. Integer keys
# are left out (they come from sequences); everything else, uuids included, must match.
FINGERPRINTED = (
    LeadProvider,
    DeliveryPartner,
    ProviderRelationship,
    School,
    SchoolCohort,
    Partnership,
    EctContract,
    ContractBand,
    MentorContract,
    Statement,
    Participant,
    Enrolment,
    TrainingPeriod,
    TrainingStatusChange,
    ScheduleChange,
    Declaration,
    DeclarationStateChange,
    DeclarationAttempt,
)


def _sequence_number(field) -> bool:
    """An integer key, or a link to one: assigned by the database, not by the seed."""
    target = field.related_model._meta.pk if field.is_relation else field
    return target.primary_key and target.get_internal_type() == "BigAutoField"


def fingerprint() -> str:
    digest = hashlib.sha256()
    for model in FINGERPRINTED:
        names = [f.attname for f in model._meta.concrete_fields if not _sequence_number(f)]
        for row in sorted(model.objects.values_list(*names), key=repr):
            digest.update(repr((model.__name__, row)).encode())
    return digest.hexdigest()


def wipe_sandbox() -> None:
    """Empty every seeded table (reference data and users stay), as in a fresh database. TRUNCATE,
    as a new database would be made: paid history refuses row deletes (declarations migration 0004)."""
    tables = [
        model._meta.db_table
        for model in (
            DeclarationAttempt,
            DeclarationStateChange,
            Declaration,
            TrainingStatusChange,
            ScheduleChange,
            TrainingPeriod,
            Enrolment,
            Participant,
            Statement,
            ContractBand,
            EctContract,
            MentorContract,
            Partnership,
            SchoolCohort,
            School,
            ProviderRelationship,
            DeliveryPartner,
            ApiToken,
            LeadProvider,
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no deferred check
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


# ---------------------------------------------------------------------------------------
# What a developer gets


def test_small_seed_builds_every_kind_of_data():
    seed()

    states = Counter(Declaration.objects.values_list("state", flat=True))
    assert set(states) == set(DeclarationState.values), states
    assert Participant.objects.count() == SMALL
    assert LeadProvider.objects.count() == 7
    assert School.objects.count() == 300
    assert TrainingPeriod.objects.filter(school_transfer=True).exists()
    assert TrainingPeriod.objects.filter(induction_status=InductionStatus.LEAVING, end_date__isnull=False).exists()
    assert Enrolment.objects.filter(training_status=TrainingStatus.WITHDRAWN).exists()
    assert Enrolment.objects.filter(training_status=TrainingStatus.DEFERRED).exists()
    assert TrainingStatusChange.objects.filter(training_status=TrainingStatus.ACTIVE).exists()  # a resume
    assert ScheduleChange.objects.exists()
    assert Partnership.objects.filter(challenge_reason__isnull=False).exists()
    assert Partnership.objects.filter(relationship=True).exists()
    assert Participant.objects.filter(enrolments__kind="ect").filter(enrolments__kind="mentor").exists()
    assert Enrolment.objects.filter(induction_completion_date__isnull=False).exists()
    assert Enrolment.objects.filter(mentor_completion_date__isnull=False).exists()
    assert set(Statement.objects.values_list("status", flat=True)) == set(StatementStatus.values)
    assert set(Enrolment.objects.values_list("eligibility_status", flat=True)) >= {
        EligibilityStatus.ELIGIBLE,
        EligibilityStatus.MANUAL_CHECK,
        EligibilityStatus.INELIGIBLE,
        None,
    }
    assert School.objects.filter(school_status_code=2).exists()  # closed
    assert School.objects.cip_only().exists()
    assert School.objects.filter(administrative_district_code__startswith="W").exists()


def test_output_lists_tokens_logins_and_counts():
    output = seed()

    assert "sandbox-ambition-institute" in output
    assert "admin" in output and "sandbox-admin-password" in output
    assert "finance" in output and "sandbox-finance-password" in output
    assert re.search(r"participants\s+200\s+\+200", output)
    assert "Declarations by state:" in output


def test_every_printed_token_authenticates():
    tokens = printed_tokens(seed())

    assert len(tokens) == 7
    for name, token in tokens.items():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.get("/api/v3/ping")
        assert response.status_code == 200, name
        assert response.json()["data"]["attributes"]["name"] == name


def test_largest_provider_holds_about_a_third_of_the_participants():
    seed("--participants", "1500")

    first_provider = {}
    for enrolment_id, provider in TrainingPeriod.objects.order_by("-start_date").values_list(
        "enrolment__participant_id", "partnership__lead_provider__name"
    ):
        first_provider[enrolment_id] = provider  # the earliest period is seen last
    by_provider = Counter(first_provider.values())
    assert by_provider.most_common(1)[0][0] == "Ambition Institute"
    assert 0.25 < by_provider["Ambition Institute"] / len(first_provider) < 0.42, by_provider


def test_finance_user_is_staff_in_the_finance_group_and_admin_is_superuser():
    seed()

    user_model = get_user_model()
    finance = user_model.objects.get(username="finance")
    assert finance.is_staff and not finance.is_superuser
    assert finance.groups.filter(name=FINANCE_GROUP).exists()
    assert finance.check_password("sandbox-finance-password")
    assert user_model.objects.get(username="admin").is_superuser


def test_existing_users_keep_their_passwords_but_finance_regains_its_group():
    user_model = get_user_model()
    user_model.objects.create_superuser("admin", "a@example.com", "my own password")
    user_model.objects.create_user("finance", "f@example.com", "mine too")

    seed()

    assert user_model.objects.get(username="admin").check_password("my own password")
    finance = user_model.objects.get(username="finance")
    assert finance.check_password("mine too")
    assert finance.groups.filter(name=FINANCE_GROUP).exists()


# ---------------------------------------------------------------------------------------
# Deterministic and idempotent


def test_running_twice_changes_no_table():
    seed()
    first = table_counts()

    output = seed()

    assert table_counts() == first
    assert "Participants already there: 200, added: 0." in output


def test_a_larger_run_adds_only_the_missing_participants():
    seed("--participants", "120")
    first_ids = set(Participant.objects.values_list("id", flat=True))
    first_declarations = set(Declaration.objects.values_list("id", "state"))

    output = seed("--participants", "200")

    assert Participant.objects.count() == 200
    assert first_ids < set(Participant.objects.values_list("id", flat=True))
    assert first_declarations <= set(Declaration.objects.values_list("id", "state"))
    assert "Participants already there: 120, added: 80." in output


def test_a_top_up_weeks_later_catches_up_the_statements_and_keeps_the_paid_ones_frozen():
    seed("--participants", "120")
    frozen_before = dict(Statement.objects.filter(status=StatementStatus.PAID).values_list("id", "paid_amounts"))
    first_run = set(Declaration.objects.values_list("id", flat=True))
    later = NOW + timedelta(days=45)  # 24 November: October 2026 paid on the 25th, November 2026 payable

    out = io.StringIO()
    with clock.frozen(later):  # participant 225 is a second account of an earlier one
        call_command("seed_sandbox", "--participants", "300", stdout=out, stderr=io.StringIO())

    assert "Participants already there: 120, added: 180." in out.getvalue()
    # What was paid stays exactly as it was paid, and takes no newcomer's declaration.
    assert dict(Statement.objects.filter(pk__in=frozen_before).values_list("id", "paid_amounts")) == frozen_before
    newcomers = Declaration.objects.exclude(pk__in=first_run)
    assert newcomers.exists()
    assert not newcomers.filter(Q(statement_id__in=frozen_before) | Q(clawback_statement_id__in=frozen_before)).exists()
    # The older statements are where the payment runs would have left them by then (catch-up).
    assert_statements_follow_the_payment_runs(later.date())
    assert_declaration_states_agree_with_their_statements()
    october = Statement.objects.get(lead_provider__name="Ambition Institute", cohort_id=2025, year=2026, month=10)
    assert (october.status, october.marked_as_paid_at) == (StatementStatus.PAID, datetime(2026, 10, 25, 9, tzinfo=UTC))
    with clock.frozen(october.marked_as_paid_at):
        assert october.paid_amounts == frozen_figures(calculate_statement(october))
    paid_by_the_catch_up = DeclarationStateChange.objects.filter(
        declaration__statement=october, state=DeclarationState.PAID, created_at=october.marked_as_paid_at
    )
    assert paid_by_the_catch_up.filter(declaration__created_at__lte=NOW).exists()  # payable on the first run
    for duplicate in Declaration.objects.filter(state=DeclarationState.INELIGIBLE):
        assert duplicate.superseded_by_id is not None


def test_the_same_seed_gives_the_same_rows_and_ids_in_a_fresh_database():
    seed()
    first = fingerprint()
    participants = set(Participant.objects.values_list("id", flat=True))

    wipe_sandbox()
    assert Participant.objects.count() == 0
    seed()

    assert set(Participant.objects.values_list("id", flat=True)) == participants
    assert fingerprint() == first


def test_a_different_seed_gives_different_data():
    seed()
    first = fingerprint()
    trns = set(Participant.objects.values_list("trn", flat=True))

    wipe_sandbox()
    seed("--seed", "2")

    assert fingerprint() != first
    assert trns.isdisjoint(set(Participant.objects.values_list("trn", flat=True)) - {None})


def test_a_second_seed_in_the_same_database_is_refused_rather_than_mixed():
    seed()
    before = table_counts()

    with pytest.raises(CommandError, match="another --seed"):
        seed("--seed", "2")

    assert table_counts() == before


def test_default_is_a_thousand_participants():
    assert DEFAULT_PARTICIPANTS == 1000


# ---------------------------------------------------------------------------------------
# The data follows the rules


@pytest.fixture
def seeded():
    seed()


def test_timestamps_come_from_the_data_ordered_and_not_in_the_future(seeded):
    timestamped = [model for model in FINGERPRINTED if any(f.name == "created_at" for f in model._meta.fields)]
    assert len(timestamped) == len(FINGERPRINTED) - 1  # all but contract bands
    for model in timestamped:
        assert not model.objects.filter(created_at__gt=NOW).exists(), model
        if any(f.name == "updated_at" for f in model._meta.fields):
            assert not model.objects.filter(created_at__gt=F("updated_at")).exists(), model
            assert not model.objects.filter(updated_at__gt=NOW).exists(), model
    stale = Participant.objects.filter(enrolments__training_periods__updated_at__gt=F("updated_at"))
    assert not stale.exists()


def test_declarations_are_in_their_milestone_window_and_not_in_the_future(seeded):
    windows = {(m.schedule_id, m.declaration_type): (m.start_date, m.milestone_date) for m in Milestone.objects.all()}
    for declaration in Declaration.objects.select_related("enrolment"):
        start, end = windows[(declaration.enrolment.schedule_id, declaration.declaration_type)]
        day = declaration.declaration_date.date()
        assert day >= start and (end is None or day <= end), declaration
        assert declaration.declaration_date <= declaration.created_at <= declaration.updated_at <= NOW


def test_each_declaration_sits_on_the_first_output_statement_after_it_was_made(seeded):
    statements = {}
    for statement in Statement.objects.filter(output_fee=True).order_by("deadline_date"):
        statements.setdefault((statement.lead_provider_id, statement.cohort_id), []).append(statement)
    for declaration in Declaration.objects.exclude(statement=None).select_related("statement", "clawback_statement"):
        candidates = statements[(declaration.lead_provider_id, declaration.cohort_id)]
        expected = next(s for s in candidates if s.deadline_date >= declaration.created_at.date())
        assert declaration.statement == expected, declaration
        status = declaration.statement.status
        if declaration.state == DeclarationState.PAID:
            assert status == StatementStatus.PAID
        elif declaration.state == DeclarationState.PAYABLE:
            assert status == StatementStatus.PAYABLE
        elif declaration.state == DeclarationState.ELIGIBLE:
            assert status == StatementStatus.OPEN
        if declaration.state in REFUNDABLE_STATES:
            assert declaration.statement.status == StatementStatus.PAID
            assert declaration.clawback_statement.deadline_date > declaration.statement.deadline_date
            clawed_back = declaration.clawback_statement.status == StatementStatus.PAID
            assert clawed_back == (declaration.state == DeclarationState.CLAWED_BACK)


def test_non_fundable_participants_declarations_stay_submitted_without_a_statement(seeded):
    for declaration in Declaration.objects.exclude(enrolment__eligibility_status=EligibilityStatus.ELIGIBLE):
        assert declaration.state in (DeclarationState.SUBMITTED, DeclarationState.VOIDED)
        assert declaration.statement_id is None
    assert not Declaration.objects.filter(state=DeclarationState.SUBMITTED).exclude(statement=None).exists()


def test_state_history_ends_in_the_state_and_names_who_did_it(seeded):
    histories = {}
    for change in DeclarationStateChange.objects.order_by("created_at", "id"):
        histories.setdefault(change.declaration_id, []).append(change)
    for declaration in Declaration.objects.all():
        history = histories[declaration.id]
        assert history[0].from_state == "" and history[0].state == DeclarationState.SUBMITTED
        assert all(a.state == b.from_state for a, b in zip(history, history[1:], strict=False))
        assert history[-1].state == declaration.state
        for change in history:
            by_payment_run = change.state in ("payable", "paid", "clawed_back")
            assert change.actor_kind == (ActorKind.PAYMENT_RUN if by_payment_run else ActorKind.LEAD_PROVIDER)
            if not by_payment_run:
                assert change.actor_lead_provider_id == declaration.lead_provider_id
    attempts = Counter(DeclarationAttempt.objects.values_list("declaration_id", flat=True))
    assert set(attempts) == set(Declaration.objects.values_list("id", flat=True))
    assert set(attempts.values()) == {1}


def test_voided_declarations_keep_their_statement_and_may_be_sent_again(seeded):
    voided = Declaration.objects.filter(state=DeclarationState.VOIDED)
    assert voided.exclude(statement=None).exists()
    holding = set(
        Declaration.objects.filter(state__in=BILLABLE_STATES).values_list("participant_id", "declaration_type")
    )
    assert any((v.participant_id, v.declaration_type) in holding for v in voided)


def test_duplicates_share_a_trn_and_are_superseded_by_the_other_persons_declaration(seeded):
    duplicates = Declaration.objects.filter(state=DeclarationState.INELIGIBLE).select_related(
        "participant", "superseded_by__participant"
    )
    assert duplicates.exists()
    for duplicate in duplicates:
        original = duplicate.superseded_by
        assert duplicate.ineligibility_reason == "duplicate"
        assert original.participant_id != duplicate.participant_id
        assert original.participant.trn == duplicate.participant.trn
        assert original.declaration_type == duplicate.declaration_type
        assert original.created_at < duplicate.created_at


def test_trns_are_seven_digits_and_shared_only_by_accounts_of_one_teacher(seeded):
    people = {}
    for trn, name in Participant.objects.exclude(trn=None).values_list("trn", "full_name"):
        assert re.fullmatch(r"\d{7}", trn)
        people.setdefault(trn, set()).add(name)
    assert all(len(names) == 1 for names in people.values())
    assert Participant.objects.exclude(trn=None).count() > len(people)  # some teachers have two accounts


def test_evidence_follows_the_cohort_rules(seeded):
    basic = {"training-event-attended", "self-study-material-completed", "other"}
    for declaration in Declaration.objects.all():
        if declaration.cohort_id <= 2024:
            if declaration.declaration_type == "started":
                assert declaration.evidence_held is None
            else:
                assert declaration.evidence_held in basic
        elif declaration.declaration_type == "retained-2":
            assert declaration.evidence_held.startswith("75-percent")
        elif declaration.declaration_type == "completed":
            assert (
                declaration.evidence_held.startswith("75-percent") or declaration.evidence_held == "one-term-induction"
            )


def test_mentors_in_mentor_funded_cohorts_only_start_and_complete(seeded):
    types = set(
        Declaration.objects.filter(course_identifier="ecf-mentor", cohort_id__gte=2025).values_list(
            "declaration_type", flat=True
        )
    )
    assert types and types <= {"started", "completed"}


def test_declarations_take_partner_mentor_and_uplifts_from_the_training_record(seeded):
    for declaration in Declaration.objects.select_related("enrolment"):
        period = (
            TrainingPeriod.objects.filter(enrolment=declaration.enrolment, start_date__lte=declaration.declaration_date)
            .select_related("partnership", "mentor")
            .order_by("-start_date")
            .first()
        )
        assert declaration.delivery_partner_id == period.partnership.delivery_partner_id
        assert declaration.mentor_id == (period.mentor.participant_id if period.mentor else None)
        assert declaration.pupil_premium_uplift == declaration.enrolment.pupil_premium_uplift
        assert declaration.sparsity_uplift == declaration.enrolment.sparsity_uplift


def test_ects_are_mentored_by_a_mentor_registered_at_their_school(seeded):
    periods = TrainingPeriod.objects.exclude(mentor=None).select_related("mentor", "enrolment")
    assert periods.exists()
    for period in periods:
        assert period.enrolment.kind == "ect"
        assert period.mentor.kind == "mentor"
        assert period.mentor.training_periods.filter(school_id=period.school_id).exists()


def test_training_history_is_consistent_with_the_enrolment(seeded):
    for enrolment in Enrolment.objects.prefetch_related("training_periods", "training_status_changes"):
        periods = sorted(enrolment.training_periods.all(), key=lambda p: p.start_date)
        latest = periods[-1]
        assert latest.end_date is None
        assert enrolment.training_status == latest.training_status
        assert enrolment.schedule_id == latest.schedule_id
        for earlier, later in zip(periods, periods[1:], strict=False):
            assert earlier.end_date == later.start_date
            assert earlier.induction_status in (InductionStatus.CHANGED, InductionStatus.LEAVING)
            if earlier.induction_status == InductionStatus.LEAVING:
                assert later.school_transfer and later.school_id != earlier.school_id
        for change in enrolment.training_status_changes.all():
            assert any(
                p.start_date == change.created_at and p.training_status == change.training_status for p in periods
            )
        assert all(p.created_at <= p.updated_at <= NOW for p in periods)
        assert enrolment.created_at <= enrolment.updated_at <= NOW
        assert enrolment.participant.created_at <= enrolment.created_at
        assert enrolment.updated_at <= enrolment.participant.updated_at


def test_some_transfers_are_still_to_come_and_some_change_provider(seeded):
    leaving = TrainingPeriod.objects.filter(induction_status=InductionStatus.LEAVING)
    assert leaving.filter(end_date__gt=NOW).exists()
    joining = TrainingPeriod.objects.filter(school_transfer=True).select_related("partnership")
    changed_provider = 0
    for period in joining:
        before = leaving.filter(enrolment_id=period.enrolment_id, end_date=period.start_date).get()
        changed_provider += before.partnership.lead_provider_id != period.partnership.lead_provider_id
    assert changed_provider


def test_partnerships_respect_relationships_and_one_confirmed_per_school_cohort(seeded):
    relationships = set(
        ProviderRelationship.objects.values_list("lead_provider_id", "delivery_partner_id", "cohort_id")
    )
    for partnership in Partnership.objects.all():
        assert (partnership.lead_provider_id, partnership.delivery_partner_id, partnership.cohort_id) in relationships
    confirmed = Counter(Partnership.objects.confirmed().values_list("school_id", "cohort_id"))
    assert set(confirmed.values()) == {1}
    # Some partners only work with a provider in some cohorts.
    per_pair = Counter((lp, dp) for lp, dp, _ in relationships)
    assert min(per_pair.values()) < 4


def test_contracts_and_statement_calendar_follow_the_finance_spec(seeded):
    contract = EctContract.objects.get(lead_provider__name="Ambition Institute", cohort_id=2024)
    assert (contract.recruitment_target, contract.set_up_fee, contract.uplift_amount) == (6000, 149651, 100)
    assert [(b.min, b.max, b.per_participant, b.output_payment_percentage) for b in contract.bands.all()] == [
        (None, 2000, 995, 60),
        (2001, 4000, 979, 60),
        (4001, 6000, 966, 60),
    ]
    assert EctContract.objects.get(lead_provider__name="Capita", cohort_id=2025).uplift_amount is None
    assert not MentorContract.objects.filter(cohort_id__lte=2024).exists()
    assert MentorContract.objects.get(lead_provider__name="Capita", cohort_id=2026).payment_per_participant == 1000

    contract = EctContract.objects.get(lead_provider__name="Teach First", cohort_id=2024)
    statements = Statement.objects.filter(lead_provider__name="Teach First", cohort_id=2024).order_by("payment_date")
    assert len(statements) == len(statement_calendar(2024))
    assert (statements[0].year, statements[0].month) == (2024, 11)
    outputs = [(s.year, s.month) for s in statements if s.output_fee]
    assert outputs == [
        (2025, 1),
        (2025, 4),
        (2025, 8),
        (2025, 10),
        (2026, 1),
        (2026, 4),
        (2026, 8),
        (2026, 10),
        (2027, 1),
        (2027, 4),
    ]
    for statement in statements:
        assert statement.payment_date.day == 25
        assert statement.deadline_date == statement.payment_date.replace(day=1) - timedelta(days=1)
        assert statement.ect_contract == contract
    assert_statements_follow_the_payment_runs(NOW.date())


# ---------------------------------------------------------------------------------------
# A real year (issue 17): the payment runs have run, paid statements are frozen, ECTs have mentors


def has_lines(statement) -> bool:
    return statement.declarations.exists() or statement.clawback_declarations.exists()


def assert_statements_follow_the_payment_runs(today) -> None:
    """Open until the deadline; payable the day after (the payable job); paid at 09:00 on the payment
    date when it has something to pay (authorisation refuses one with nothing); service-fee
    statements are never authorised, so they stay open (declarations.payments)."""
    for statement in Statement.objects.all():
        if not statement.output_fee or statement.deadline_date >= today:
            expected = (StatementStatus.OPEN, None)
        elif statement.payment_date < today and has_lines(statement):
            expected = (StatementStatus.PAID, datetime.combine(statement.payment_date, time(9), UTC))
        else:
            expected = (StatementStatus.PAYABLE, None)
        assert (statement.status, statement.marked_as_paid_at) == expected, statement


def assert_declaration_states_agree_with_their_statements() -> None:
    expected = {
        DeclarationState.ELIGIBLE: StatementStatus.OPEN,
        DeclarationState.PAYABLE: StatementStatus.PAYABLE,
        DeclarationState.PAID: StatementStatus.PAID,
        DeclarationState.AWAITING_CLAWBACK: StatementStatus.PAID,
        DeclarationState.CLAWED_BACK: StatementStatus.PAID,
    }
    for declaration in Declaration.objects.filter(state__in=expected).select_related("statement"):
        assert declaration.statement.status == expected[declaration.state], declaration


def test_statements_are_where_the_years_payment_runs_leave_them(seeded):
    assert_statements_follow_the_payment_runs(NOW.date())
    assert_declaration_states_agree_with_their_statements()
    assert Statement.objects.filter(status=StatementStatus.PAID).exists()
    assert Statement.objects.filter(status=StatementStatus.PAYABLE, payment_date__gte=NOW.date()).exists()


def test_every_paid_statement_holds_the_snapshot_authorisation_froze(seeded):
    paid = Statement.objects.filter(status=StatementStatus.PAID)
    assert paid.count() > 10
    for statement in paid:
        assert statement.paid_amounts, statement
        # The money is what the statement's lines pay now, to the penny (nothing was added after).
        now = frozen_figures(calculate_statement(statement))
        assert statement.paid_amounts["total"] == now["total"], statement
        assert statement.paid_amounts == round_money(statement.paid_amounts)  # pennies (issue 13.4)


def counted(figures, key: str) -> int:
    """The sum of every `key` count anywhere in a snapshot."""
    if isinstance(figures, dict):
        return sum(
            value if name == key and isinstance(value, int) else counted(value, key) for name, value in figures.items()
        )
    if isinstance(figures, list):
        return sum(counted(item, key) for item in figures)
    return 0


def test_a_paid_statement_is_frozen_before_the_clawbacks_that_came_after_it(seeded):
    """A declaration paid in January and voided in March was paid, not clawed back, when January was
    authorised: January's snapshot counts only what January itself clawed back."""
    later_clawbacks = 0
    for statement in Statement.objects.filter(status=StatementStatus.PAID):
        assert counted(statement.paid_amounts, "clawed_back") == statement.clawback_declarations.count(), statement
        later_clawbacks += statement.declarations.filter(state=DeclarationState.CLAWED_BACK).count()
    assert later_clawbacks  # the seed has some, so the check above can tell


def test_nearly_every_ect_has_a_mentor_registered_at_their_school():
    seed("--participants", "1000")

    ects = TrainingPeriod.objects.filter(enrolment__kind="ect")
    share = ects.exclude(mentor=None).count() / ects.count()
    assert 0.92 <= share <= 0.97, share  # 1 in 20 waits for their school to name one (sandbox/world.py)
    for period in ects.exclude(mentor=None).select_related("mentor"):
        assert period.mentor.kind == "mentor"
        assert period.mentor.training_periods.filter(school_id=period.school_id).exists()


def test_the_seeded_paid_history_cannot_be_rewritten(seeded):
    paid = Declaration.objects.filter(state=DeclarationState.PAID).first()
    elsewhere = Statement.objects.filter(lead_provider=paid.lead_provider, cohort=paid.cohort).exclude(
        pk=paid.statement_id
    )[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Declaration.objects.filter(pk=paid.pk).update(statement=elsewhere)
    with pytest.raises(IntegrityError), transaction.atomic():
        paid.state_changes.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.filter(pk=paid.statement_id).update(paid_amounts={})


def test_the_links_printed_are_where_make_run_serves(db):
    """`make run PORT=8101` passes its port: the links must not say 8000."""
    out = io.StringIO()
    call_command(
        "seed_sandbox", "--participants", "0", "--base-url", "http://localhost:8101", stdout=out, stderr=io.StringIO()
    )

    assert "http://localhost:8101/api/v3/" in out.getvalue()
    assert "http://localhost:8101/admin/" in out.getvalue()
    assert "8000" not in out.getvalue()


def _read_model_rows() -> dict[str, list[str]]:
    from visibility.services import TABLES

    rows = {}
    for model, _, _ in TABLES:
        # The transaction stamps differ between a refresh and a rebuild by construction; the rest must not.
        columns = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "xid")]
        rows[model.__name__] = sorted(map(str, model.objects.values_list(*columns)))
    return rows


def test_the_seeded_read_model_equals_a_rebuild_after_the_years_payment_runs():
    """The payment runs refresh the read model once at the end (visibility_deferred), not per run."""
    from visibility.services import visibility_rebuild

    seed()
    seeded = _read_model_rows()
    visibility_rebuild()

    assert seeded == _read_model_rows()
    assert all(seeded.values())

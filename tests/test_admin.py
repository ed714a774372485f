"""The back office: every list and record opens, lists cost a constant number of queries, staff find
records by the ids they have, and history, money and token secrets cannot be edited."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from declarations.models import (
    ActorKind,
    Declaration,
    DeclarationAttempt,
    DeclarationState,
    DeclarationStateChange,
)
from ecf import clock
from participants.models import (
    ApiToken,
    Cohort,
    DeliveryPartner,
    EarlyRollOutMentor,
    Enrolment,
    LeadProvider,
    Participant,
    ParticipantIdChange,
    Partnership,
    ProviderRelationship,
    Schedule,
    ScheduleChange,
    School,
    SchoolCohort,
    TrainingPeriod,
    TrainingStatusChange,
)
from participants.tokens import api_token_create
from statements.models import (
    Adjustment,
    ContractBand,
    EctContract,
    MentorContract,
    Statement,
    StatementStatus,
)
from statements.permissions import ensure_finance_group

pytestmark = pytest.mark.django_db

OUR_APPS = {"participants", "statements", "declarations"}
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label in OUR_APPS),
    key=lambda model: model._meta.label,
)
HISTORY_MODELS = [DeclarationStateChange, DeclarationAttempt, TrainingStatusChange, ScheduleChange, ParticipantIdChange]
INSTANT = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# Builders: one provider's whole world, `n` keeps names and numbers unique.


def build_world(n: int) -> dict:
    cohort = Cohort.objects.get(pk=2024)
    schedule = Schedule.objects.get(cohort=cohort, identifier="ecf-standard-september")
    provider = LeadProvider.objects.create(name=f"Provider {n}")
    partner = DeliveryPartner.objects.create(name=f"Delivery partner {n}")
    ProviderRelationship.objects.create(lead_provider=provider, delivery_partner=partner, cohort=cohort)
    school = School.objects.create(urn=f"{100000 + n}", name=f"School {n}")
    SchoolCohort.objects.create(school=school, cohort=cohort)
    partnership = Partnership.objects.create(
        lead_provider=provider, delivery_partner=partner, school=school, cohort=cohort
    )
    participant = Participant.objects.create(
        full_name=f"Person {n}", email=f"person{n}@example.com", trn=f"{1000000 + n}"
    )
    ParticipantIdChange.objects.create(
        participant=participant, from_participant_id=uuid.uuid4(), to_participant_id=participant.id
    )
    enrolment = Enrolment.objects.create(participant=participant, kind="ect", schedule=schedule)
    TrainingPeriod.objects.create(
        enrolment=enrolment,
        school=school,
        cohort=cohort,
        partnership=partnership,
        schedule=schedule,
        start_date=datetime(2024, 9, 1, tzinfo=UTC),
    )
    TrainingStatusChange.objects.create(
        enrolment=enrolment, lead_provider=provider, training_status="deferred", reason="parental-leave"
    )
    ScheduleChange.objects.create(enrolment=enrolment, schedule=schedule)
    EarlyRollOutMentor.objects.get_or_create(trn=f"{2000000 + n}", defaults={"loaded_at": INSTANT})
    api_token_create(lead_provider=provider, label=f"token {n}")
    contract = EctContract.objects.create(lead_provider=provider, cohort=cohort, recruitment_target=100)
    ContractBand.objects.create(contract=contract, min=0, max=100, per_participant=Decimal("1000.00"))
    MentorContract.objects.create(lead_provider=provider, cohort=cohort)
    statement = make_statement(provider, cohort, month=1, ect_contract=contract)
    Adjustment.objects.create(statement=statement, payment_type="Correction", amount=Decimal("-50.00"))
    declaration = Declaration.objects.create(
        enrolment=enrolment,
        participant=participant,
        lead_provider=provider,
        cohort=cohort,
        course_identifier="ecf-induction",
        declaration_type="started",
        declaration_date=datetime(2024, 10, 1, tzinfo=UTC),
        state=DeclarationState.ELIGIBLE,
        statement=statement,
        delivery_partner=partner,
    )
    DeclarationStateChange.objects.create(
        declaration=declaration, state="submitted", actor_kind=ActorKind.LEAD_PROVIDER, actor_lead_provider=provider
    )
    DeclarationStateChange.objects.create(
        declaration=declaration, from_state="submitted", state="eligible", actor_kind=ActorKind.SYSTEM
    )
    DeclarationAttempt.objects.create(
        lead_provider=provider,
        participant=participant,
        course_identifier="ecf-induction",
        declaration_type="started",
        declaration_date="2024-10-01T00:00:00Z",
        declaration=declaration,
    )
    return {
        "provider": provider,
        "school": school,
        "participant": participant,
        "enrolment": enrolment,
        "statement": statement,
        "declaration": declaration,
    }


def make_statement(provider, cohort, *, month: int, status=StatementStatus.OPEN, **fields) -> Statement:
    return Statement.objects.create(
        lead_provider=provider,
        cohort=cohort,
        year=2025,
        month=month,
        deadline_date=date(2025, month, 1),
        payment_date=date(2025, month, 25),
        status=status,
        marked_as_paid_at=INSTANT if status == StatementStatus.PAID else None,
        **fields,
    )


@pytest.fixture
def world():
    with clock.frozen(INSTANT):
        return build_world(1)


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


@pytest.fixture
def finance_client(client):
    user = User.objects.create_user("finance", "finance@example.com", "pw", is_staff=True)
    user.groups.add(ensure_finance_group())
    client.force_login(user)
    return client


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def found(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


# ---------------------------------------------------------------------------------------
# Every registered model opens


def test_every_model_of_the_three_apps_is_registered():
    from django.apps import apps

    models = {model for app in OUR_APPS for model in apps.get_app_config(app).get_models()}
    assert models - set(REGISTERED) == set()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_superuser_opens_the_list_and_a_record(superuser_client, world, model):
    changelist = superuser_client.get(url(model, "changelist"), {"status": "all"} if model is Statement else {})
    row = model.objects.order_by("pk").first()

    assert changelist.status_code == 200
    assert superuser_client.get(url(model, "change", row.pk)).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_a_list_costs_the_same_queries_whatever_its_length(superuser_client, model):
    with clock.frozen(INSTANT):
        build_world(1)
    with CaptureQueriesContext(connection) as one_world:
        assert superuser_client.get(url(model, "changelist")).status_code == 200
    with clock.frozen(INSTANT):
        build_world(2)
        build_world(3)
    with CaptureQueriesContext(connection) as three_worlds:
        assert superuser_client.get(url(model, "changelist")).status_code == 200

    assert len(three_worlds) == len(one_world), [q["sql"] for q in three_worlds.captured_queries]


# ---------------------------------------------------------------------------------------
# Search by the ids people have


@pytest.mark.parametrize(
    "term",
    [
        lambda w: w["participant"].trn,
        lambda w: w["participant"].email,
        lambda w: "PERSON1@example.com",
        lambda w: str(w["participant"].id),
        lambda w: str(w["participant"].id_changes.get().from_participant_id),
        lambda w: str(w["enrolment"].id),
        lambda w: str(w["declaration"].id),
    ],
    ids=["trn", "email", "email-any-case", "participant-id", "retired-participant-id", "training-record-id", "decl-id"],
)
def test_participant_search_finds_the_person_by_any_id_they_have(superuser_client, world, term):
    with clock.frozen(INSTANT):
        build_world(2)

    response = superuser_client.get(url(Participant, "changelist"), {"q": term(world)})

    assert found(response) == [world["participant"]]


def test_participant_search_for_an_unknown_id_finds_nobody(superuser_client, world):
    response = superuser_client.get(url(Participant, "changelist"), {"q": str(uuid.uuid4())})

    assert found(response) == []


def test_declaration_search_by_id_trn_and_statement(superuser_client, world):
    with clock.frozen(INSTANT):
        build_world(2)
    declaration = world["declaration"]

    for term in (str(declaration.id), world["participant"].trn, str(world["statement"].id)):
        response = superuser_client.get(url(Declaration, "changelist"), {"q": term})
        assert found(response) == [declaration], term


def test_school_search_by_urn_and_name(superuser_client, world):
    with clock.frozen(INSTANT):
        build_world(2)

    assert found(superuser_client.get(url(School, "changelist"), {"q": "100001"})) == [world["school"]]
    assert found(superuser_client.get(url(School, "changelist"), {"q": "school 1"})) == [world["school"]]


def test_statement_search_by_id_and_provider_name(superuser_client, world):
    with clock.frozen(INSTANT):
        build_world(2)

    by_id = superuser_client.get(url(Statement, "changelist"), {"q": str(world["statement"].id)})
    by_provider = superuser_client.get(url(Statement, "changelist"), {"q": "provider 1"})

    assert found(by_id) == [world["statement"]]
    assert found(by_provider) == [world["statement"]]


# ---------------------------------------------------------------------------------------
# Lists show what staff look for


def test_school_list_shows_funding_eligibility_and_filters_on_it(superuser_client, db):
    eligible = School.objects.create(urn="200001", name="Open academy")
    cip_only = School.objects.create(urn="200002", name="Independent school", school_type_code=10)
    closed = School.objects.create(urn="200003", name="Closed school", school_status_code=2)

    response = superuser_client.get(url(School, "changelist"))
    assert response.status_code == 200
    school_admin = admin.site._registry[School]
    assert [school_admin.eligible_for_funding(s) for s in (eligible, cip_only, closed)] == [True, False, False]
    assert [school_admin.cip_only(s) for s in (eligible, cip_only, closed)] == [False, True, False]

    assert found(superuser_client.get(url(School, "changelist"), {"funding": "eligible"})) == [eligible]
    assert found(superuser_client.get(url(School, "changelist"), {"funding": "cip_only"})) == [cip_only]
    assert found(superuser_client.get(url(School, "changelist"), {"funding": "neither"})) == [closed]


def test_statement_list_shows_open_and_payable_statements_by_default(superuser_client, world):
    provider, cohort = world["provider"], world["statement"].cohort
    payable = make_statement(provider, cohort, month=2, status=StatementStatus.PAYABLE)
    paid = make_statement(provider, cohort, month=3, status=StatementStatus.PAID)

    by_default = superuser_client.get(url(Statement, "changelist"))
    everything = superuser_client.get(url(Statement, "changelist"), {"status": "all"})
    only_paid = superuser_client.get(url(Statement, "changelist"), {"status": "paid"})

    assert found(by_default) == [world["statement"], payable]
    assert found(everything) == [world["statement"], payable, paid]
    assert found(only_paid) == [paid]
    assert b"January 2025" in by_default.content


# ---------------------------------------------------------------------------------------
# Read-only history, money and secrets


@pytest.mark.parametrize("model", [*HISTORY_MODELS, Declaration], ids=lambda model: model._meta.label)
def test_history_and_declarations_cannot_be_added(superuser_client, world, model):
    changelist = superuser_client.get(url(model, "changelist"))

    assert url(model, "add").encode() not in changelist.content
    assert superuser_client.get(url(model, "add")).status_code == 403


@pytest.mark.parametrize("model", [*HISTORY_MODELS, Declaration], ids=lambda model: model._meta.label)
def test_history_and_declarations_cannot_be_edited_or_deleted(superuser_client, world, model):
    row = model.objects.order_by("pk").first()

    assert superuser_client.post(url(model, "change", row.pk), {}).status_code == 403
    assert superuser_client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_api_token_page_never_shows_the_digest(superuser_client, world):
    token = ApiToken.objects.get()

    change_page = superuser_client.get(url(ApiToken, "change", token.pk))
    changelist = superuser_client.get(url(ApiToken, "changelist"))

    assert change_page.status_code == 200
    assert token.digest.encode() not in change_page.content
    assert token.digest.encode() not in changelist.content
    assert b"token 1" in change_page.content


def test_api_tokens_are_issued_by_command_not_by_the_add_form(superuser_client, world):
    changelist = superuser_client.get(url(ApiToken, "changelist"))

    assert url(ApiToken, "add").encode() not in changelist.content
    assert superuser_client.get(url(ApiToken, "add")).status_code == 403


def test_revoke_action_revokes_the_selected_tokens_at_the_clocks_time(superuser_client, world):
    api_token_create(lead_provider=world["provider"], label="kept")
    to_revoke = ApiToken.objects.get(label="token 1")

    with clock.frozen(INSTANT):
        response = superuser_client.post(
            url(ApiToken, "changelist"),
            {"action": "revoke_tokens", admin.helpers.ACTION_CHECKBOX_NAME: [to_revoke.pk]},
        )

    assert response.status_code == 302
    to_revoke.refresh_from_db()
    assert to_revoke.revoked_at == INSTANT
    assert ApiToken.objects.get(label="kept").revoked_at is None


def test_statement_status_cannot_be_changed_from_its_form(superuser_client, world):
    statement = world["statement"]
    form = {
        "deadline_date": "2025-01-02",
        "payment_date": "2025-01-25",
        "output_fee": "on",
        "ect_contract": statement.ect_contract_id,
        "status": StatementStatus.PAID,
        "marked_as_paid_at_0": "2025-01-20",
        "marked_as_paid_at_1": "10:00:00",
        "adjustments-TOTAL_FORMS": "0",
        "adjustments-INITIAL_FORMS": "0",
    }

    response = superuser_client.post(url(Statement, "change", statement.pk), form)

    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.deadline_date == date(2025, 1, 2)
    assert statement.status == StatementStatus.OPEN
    assert statement.marked_as_paid_at is None


def test_a_statement_can_only_use_its_own_providers_contract(superuser_client, world):
    with clock.frozen(INSTANT):
        other = build_world(2)
    statement = world["statement"]
    form = {
        "deadline_date": "2025-01-01",
        "payment_date": "2025-01-25",
        "output_fee": "on",
        "ect_contract": other["statement"].ect_contract_id,
        "adjustments-TOTAL_FORMS": "0",
        "adjustments-INITIAL_FORMS": "0",
    }

    response = superuser_client.post(url(Statement, "change", statement.pk), form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors.keys() == {"ect_contract"}
    statement.refresh_from_db()
    assert statement.ect_contract.lead_provider == world["provider"]


def adjustments_inline(response):
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.opts.model is Adjustment]
    return formset


def test_adjustments_are_editable_only_while_the_statement_takes_them(superuser_client, world):
    provider, cohort = world["provider"], world["statement"].cohort
    paid = make_statement(provider, cohort, month=2, status=StatementStatus.PAID)
    service_fee_only = make_statement(provider, cohort, month=3, output_fee=False)

    open_inline = adjustments_inline(superuser_client.get(url(Statement, "change", world["statement"].pk)))
    paid_inline = adjustments_inline(superuser_client.get(url(Statement, "change", paid.pk)))
    fee_inline = adjustments_inline(superuser_client.get(url(Statement, "change", service_fee_only.pk)))

    assert (open_inline.has_add_permission, open_inline.has_change_permission) == (True, True)
    assert (paid_inline.has_add_permission, paid_inline.has_change_permission) == (False, False)
    assert (fee_inline.has_add_permission, fee_inline.has_change_permission) == (False, False)


def test_an_adjustment_cannot_be_added_to_a_paid_statement(superuser_client, world):
    paid = make_statement(world["provider"], world["statement"].cohort, month=2, status=StatementStatus.PAID)

    response = superuser_client.post(
        url(Adjustment, "add"), {"statement": paid.pk, "payment_type": "Late fee", "amount": "100.00"}
    )

    assert response.status_code == 200
    assert b"Adjustments can only be made on an output statement that is not paid." in response.content
    assert not paid.adjustments.exists()


def test_a_paid_statements_adjustment_cannot_be_edited_or_deleted(superuser_client, world):
    paid = make_statement(world["provider"], world["statement"].cohort, month=2, status=StatementStatus.PAID)
    adjustment = Adjustment.objects.create(statement=paid, payment_type="Correction", amount=Decimal("10.00"))

    change = superuser_client.post(
        url(Adjustment, "change", adjustment.pk), {"statement": paid.pk, "payment_type": "X", "amount": "99.00"}
    )
    delete = superuser_client.post(url(Adjustment, "delete", adjustment.pk), {"post": "yes"})

    assert (change.status_code, delete.status_code) == (403, 403)
    adjustment.refresh_from_db()
    assert adjustment.amount == Decimal("10.00")


# ---------------------------------------------------------------------------------------
# The finance group


@pytest.mark.parametrize("model", [m for m in REGISTERED if m is not ApiToken], ids=lambda model: model._meta.label)
def test_finance_user_can_read_every_record_but_tokens(finance_client, world, model):
    row = model.objects.order_by("pk").first()

    assert finance_client.get(url(model, "changelist")).status_code == 200
    assert finance_client.get(url(model, "change", row.pk)).status_code == 200


def test_finance_user_cannot_see_api_tokens(finance_client, world):
    assert finance_client.get(url(ApiToken, "changelist")).status_code == 403
    assert finance_client.get(url(ApiToken, "change", ApiToken.objects.get().pk)).status_code == 403


def test_finance_user_cannot_add_lead_providers(finance_client, world):
    assert finance_client.get(url(LeadProvider, "add")).status_code == 403
    assert finance_client.get(url(LeadProvider, "changelist")).status_code == 200


def test_finance_user_cannot_move_a_statements_dates(finance_client, world):
    statement = world["statement"]
    deadline = statement.deadline_date

    finance_client.post(
        url(Statement, "change", statement.pk),
        {"deadline_date": "2031-01-01", "payment_date": "2031-01-25", "output_fee": "on"},
    )

    statement.refresh_from_db()
    assert statement.deadline_date == deadline

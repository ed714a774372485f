import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from declarations.models import Declaration, DeclarationStateChange
from ecf import clock
from ecf.errors import ServiceValidationError
from participants.models import (
    ApiToken,
    DeliveryPartner,
    Enrolment,
    LeadProvider,
    Participant,
    ParticipantIdChange,
    Partnership,
    ProviderRelationship,
    Schedule,
    School,
    SchoolCohort,
    TrainingPeriod,
    TrainingStatusChange,
)
from participants.services import participant_merge
from statements.models import ContractBand, EctContract, MentorContract, Statement

pytestmark = pytest.mark.django_db

SCENARIOS = Path(__file__).resolve().parent.parent / "docs" / "scenarios"
FUNDABLE_ECT = SCENARIOS / "fundable_ect.yaml"
TWO_PROVIDERS = SCENARIOS / "two_providers.yaml"
LOAD_DAY = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

ALICE = uuid.UUID("a11ce000-0000-4000-8000-000000000001")
BEN = uuid.UUID("b0b00000-0000-4000-8000-000000000002")
CAROL = uuid.UUID("c4201000-0000-4000-8000-000000000003")
DAN = uuid.UUID("da400000-0000-4000-8000-000000000004")
EVE = uuid.UUID("e4e00000-0000-4000-8000-000000000005")
EVE_DUPLICATE = uuid.UUID("e4e00000-0000-4000-8000-000000000006")

WRITTEN_MODELS = (
    LeadProvider,
    ApiToken,
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
    ParticipantIdChange,
    Enrolment,
    TrainingPeriod,
    TrainingStatusChange,
    Declaration,
    DeclarationStateChange,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN_MODELS}


def load(path: Path, capsys=None) -> str:
    with clock.frozen(LOAD_DAY):
        call_command("load_scenario", str(path))
    return capsys.readouterr().out if capsys else ""


def write_scenario(tmp_path: Path, document: dict, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    text = json.dumps(document, default=lambda value: value.isoformat()) if name.endswith(".json") else None
    path.write_text(text or yaml.safe_dump(document, sort_keys=False))
    return path


def minimal_scenario() -> dict:
    """The smallest useful world: a provider with a partnership and one fundable ECT."""
    return {
        "lead_providers": [{"name": "Ambition Institute", "token": "test-token-ambition"}],
        "delivery_partners": [
            {
                "name": "Rise Teaching School Hub",
                "relationships": [{"lead_provider": "Ambition Institute", "cohort": 2024}],
            }
        ],
        "schools": [{"urn": "100001", "name": "Ashfield Primary School", "cohorts": [{"cohort": 2024}]}],
        "partnerships": [
            {
                "lead_provider": "Ambition Institute",
                "delivery_partner": "Rise Teaching School Hub",
                "school": "100001",
                "cohort": 2024,
            }
        ],
        "statements": [{"lead_provider": "Ambition Institute", "cohort": 2024, "month": "January 2027"}],
        "participants": [
            {
                "id": "11111111-1111-4111-8111-111111111111",
                "full_name": "Emma Clarke",
                "email": "emma@example.com",
                "trn": "1234567",
                "enrolments": [
                    {
                        "kind": "ect",
                        "cohort": 2024,
                        "periods": [{"school": "100001", "lead_provider": "Ambition Institute", "start": "2024-09-01"}],
                    }
                ],
            }
        ],
    }


def load_failure(tmp_path: Path, document: dict) -> str:
    """Load a scenario that must fail; return the error text after checking nothing was written."""
    before = row_counts()
    with pytest.raises(CommandError) as failure:
        load(write_scenario(tmp_path, document))
    assert row_counts() == before
    return str(failure.value)


# ---------------------------------------------------------------------------------------
# The example files


def test_fundable_ect_example_builds_a_fundable_ect_visible_to_its_provider(capsys):
    output = load(FUNDABLE_ECT, capsys)

    enrolment = Enrolment.objects.select_related("participant", "schedule").get()
    assert enrolment.participant.full_name == "Emma Clarke"
    assert enrolment.is_fundable
    assert (enrolment.schedule.identifier, enrolment.schedule.cohort_id) == ("ecf-standard-september", 2025)
    period = enrolment.training_periods.select_related("partnership__lead_provider", "school").get()
    assert period.partnership.lead_provider.name == "Ambition Institute"
    assert not period.partnership.is_challenged
    assert period.school.is_eligible_for_funding
    assert period.start_date == datetime(2025, 9, 1, tzinfo=UTC)
    open_statements = Statement.objects.filter(cohort_id=2025, status="open", output_fee=True)
    assert [s.name for s in open_statements][:2] == ["January 2027", "April 2027"]
    assert open_statements.first().ect_contract.bands.count() == 3
    assert MentorContract.objects.get().payment_per_participant == Decimal("1000.00")
    assert "ambition-fundable-ect-token" in output

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer ambition-fundable-ect-token")
    response = client.get("/api/v3/ping")
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["name"] == "Ambition Institute"


def test_two_providers_example_builds_what_it_describes():
    load(TWO_PROVIDERS)

    assert LeadProvider.objects.count() == 2
    assert Statement.objects.count() == 8
    for token in ("ambition-two-providers-token", "bpn-two-providers-token"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get("/api/v3/ping").status_code == 200

    started = Declaration.objects.select_related("statement", "delivery_partner", "mentor").get(
        participant_id=ALICE, declaration_type="started"
    )
    assert started.state == "paid"
    assert (started.statement.name, started.statement.lead_provider.name) == ("January 2025", "Ambition Institute")
    assert started.delivery_partner.name == "Rise Teaching School Hub"
    assert started.mentor_id == CAROL
    assert started.pupil_premium_uplift  # from Ashfield Primary's 2024 cohort, through the enrolment
    assert list(started.state_changes.values_list("state", "actor_kind")) == [
        ("submitted", "lead_provider"),
        ("eligible", "lead_provider"),
        ("payable", "payment_run"),
        ("paid", "payment_run"),
    ]

    clawed = Declaration.objects.select_related("statement", "clawback_statement").get(
        participant_id=ALICE, declaration_type="retained-1"
    )
    assert clawed.state == "clawed_back"
    assert (clawed.statement.name, clawed.clawback_statement.name) == ("April 2025", "August 2025")
    history = list(clawed.state_changes.values_list("state", "created_at"))
    assert [state for state, _ in history][-3:] == ["paid", "awaiting_clawback", "clawed_back"]
    assert history[-2][1] == datetime(2025, 5, 20, 11, 0, tzinfo=UTC)
    assert [at for _, at in history] == sorted(at for _, at in history)

    transfer = TrainingPeriod.objects.filter(enrolment__participant_id=BEN).order_by("created_at")
    assert [
        (p.school.urn, p.partnership.lead_provider.name, p.induction_status, p.school_transfer) for p in transfer
    ] == [
        ("100001", "Ambition Institute", "leaving", False),
        ("100002", "Best Practice Network", "active", True),
    ]
    retained = Declaration.objects.get(participant_id=BEN, declaration_type="retained-2")
    assert (retained.lead_provider.name, retained.delivery_partner.name) == (
        "Best Practice Network",
        "North West Maths Hub",
    )

    dan = Enrolment.objects.get(participant_id=DAN)
    assert dan.training_status == "withdrawn"
    assert dan.training_periods.get().training_status == "withdrawn"
    withdrawal = dan.training_status_changes.get()
    assert (withdrawal.lead_provider.name, withdrawal.reason) == ("Best Practice Network", "left-teaching-profession")

    challenged = Partnership.objects.get(school__urn="100003", lead_provider__name="Ambition Institute")
    assert (challenged.challenge_reason, challenged.challenged_at) == (
        "another_provider",
        datetime(2024, 10, 1, 9, 30, tzinfo=UTC),
    )
    assert Partnership.objects.confirmed().get(school__urn="100003").lead_provider.name == "Best Practice Network"

    assert Declaration.objects.get(participant_id=CAROL).state == "submitted"
    assert Declaration.objects.get(participant_id=CAROL).statement is None

    change = ParticipantIdChange.objects.get()
    assert (change.participant_id, change.from_participant_id, change.to_participant_id) == (EVE, EVE_DUPLICATE, EVE)
    assert change.created_at == datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
    assert not Participant.objects.filter(pk=EVE_DUPLICATE).exists()
    assert Enrolment.objects.filter(participant_id=EVE).count() == 2
    assert sorted(Declaration.objects.filter(participant_id=EVE).values_list("state", flat=True)) == ["paid", "voided"]


def test_both_examples_load_into_the_same_database():
    load(TWO_PROVIDERS)
    load(FUNDABLE_ECT)

    assert LeadProvider.objects.count() == 2  # the examples share Ambition Institute's id
    assert Partnership.objects.filter(school__urn="100001").count() == 2  # cohorts 2024 and 2025
    assert Participant.objects.count() == 6


def test_loading_a_scenario_twice_leaves_the_rows_as_they_were(capsys):
    load(TWO_PROVIDERS)
    counts = row_counts()
    synced = dict(Participant.objects.values_list("id", "updated_at"))
    history = list(DeclarationStateChange.objects.order_by("id").values_list("id", flat=True))
    capsys.readouterr()

    output = load(TWO_PROVIDERS, capsys)

    assert row_counts() == counts
    assert dict(Participant.objects.values_list("id", "updated_at")) == synced
    assert list(DeclarationStateChange.objects.order_by("id").values_list("id", flat=True)) == history
    assert "created" not in output and "updated" not in output


def test_changing_a_loaded_scenario_updates_the_same_rows(tmp_path):
    document = minimal_scenario()
    load(write_scenario(tmp_path, document))
    participant = Participant.objects.get()
    first_sync = participant.updated_at

    document["participants"][0]["enrolments"][0]["periods"][0]["induction_status"] = "leaving"
    document["schools"][0]["name"] = "Ashfield Primary Academy"
    with clock.frozen(datetime(2026, 12, 1, tzinfo=UTC)):
        call_command("load_scenario", str(write_scenario(tmp_path, document)))

    assert School.objects.get().name == "Ashfield Primary Academy"
    assert TrainingPeriod.objects.get().induction_status == "leaving"
    participant.refresh_from_db()
    assert participant.updated_at > first_sync  # a provider syncing by updated_since sees the change


def test_editing_a_declarations_state_rewrites_its_history_under_the_same_id(tmp_path):
    document = minimal_scenario()
    document["declarations"] = [
        {
            "id": "22222222-2222-4222-8222-222222222222",
            "participant": "11111111-1111-4111-8111-111111111111",
            "course_identifier": "ecf-induction",
            "declaration_type": "started",
            "declaration_date": "2024-10-01T10:00:00Z",
            "state": "voided",
        }
    ]
    load(write_scenario(tmp_path, document))

    document["declarations"][0]["state"] = "eligible"  # voided → eligible is no legal move
    load(write_scenario(tmp_path, document))

    declaration = Declaration.objects.get()
    assert str(declaration.id) == "22222222-2222-4222-8222-222222222222"
    assert declaration.state == "eligible"
    assert list(declaration.state_changes.values_list("state", flat=True)) == ["submitted", "eligible"]


def test_a_json_file_loads_like_yaml(tmp_path):
    path = write_scenario(tmp_path, yaml.safe_load(FUNDABLE_ECT.read_text()), name="fundable.json")

    load(path)

    assert Enrolment.objects.get().is_fundable


def test_declaration_defaults_follow_a_submission(tmp_path):
    document = minimal_scenario()
    document["declarations"] = [
        {
            "participant": "11111111-1111-4111-8111-111111111111",
            "course_identifier": "ecf-induction",
            "declaration_type": "started",
            "declaration_date": "2024-10-01T10:00:00Z",
        }
    ]

    load(write_scenario(tmp_path, document))

    declaration = Declaration.objects.select_related("statement", "delivery_partner").get()
    assert declaration.state == "eligible"  # the participant is fundable
    assert declaration.statement.name == "January 2027"  # the next open output statement on the load day
    assert declaration.lead_provider.name == "Ambition Institute"
    assert declaration.delivery_partner.name == "Rise Teaching School Hub"
    assert declaration.created_at == datetime(2024, 10, 1, 10, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# Errors: all found are reported with the entry's path, and nothing is written


def test_missing_required_field_names_the_entry(tmp_path):
    document = minimal_scenario()
    document["lead_providers"].append({"token": "another"})

    assert "lead_providers[1].name: required" in load_failure(tmp_path, document)


def test_unknown_field_is_an_error(tmp_path):
    document = minimal_scenario()
    document["schools"][0]["urm"] = document["schools"][0].pop("urn")

    message = load_failure(tmp_path, document)

    assert "schools[0].urm: unknown field" in message
    assert "schools[0].urn: required" in message


def test_unknown_schedule_names_the_enrolment(tmp_path):
    document = minimal_scenario()
    document["participants"][0]["enrolments"][0]["schedule"] = "ecf-foo"

    message = load_failure(tmp_path, document)

    assert "participants[0].enrolments[0].schedule: no schedule 'ecf-foo' in cohort 2024" in message


def test_unknown_statement_names_the_declaration(tmp_path):
    document = minimal_scenario()
    document["declarations"] = [
        {
            "participant": "11111111-1111-4111-8111-111111111111",
            "course_identifier": "ecf-induction",
            "declaration_type": "started",
            "declaration_date": "2024-10-01T10:00:00Z",
            "state": "eligible",
            "statement": "January 2031",
        }
    ]

    message = load_failure(tmp_path, document)

    assert "declarations[0].statement: no statement 'January 2031' for Ambition Institute cohort 2024" in message


def test_unknown_provider_reference_names_the_entry(tmp_path):
    document = minimal_scenario()
    document["partnerships"][0]["lead_provider"] = "Nobody Institute"

    assert "partnerships[0].lead_provider: no lead provider 'Nobody Institute'" in load_failure(tmp_path, document)


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        ("start", "2024-13-01", "participants[0].enrolments[0].periods[0].start: '2024-13-01' is not an RFC 3339"),
        ("start", "1 September 2024", "participants[0].enrolments[0].periods[0].start: '1 September 2024' is not"),
        ("end", "2024-08-01", "participants[0].enrolments[0].periods[0].end: must not be before start"),
    ],
)
def test_bad_dates_name_the_field(tmp_path, where, value, expected):
    document = minimal_scenario()
    document["participants"][0]["enrolments"][0]["periods"][0][where] = value

    assert expected in load_failure(tmp_path, document)


def test_bad_plain_date_is_refused(tmp_path):
    document = minimal_scenario()
    document["partnerships"][0]["challenge_deadline"] = "2024-02-30"

    assert "partnerships[0].challenge_deadline: '2024-02-30' is not a date (YYYY-MM-DD)" in load_failure(
        tmp_path, document
    )


def test_constraint_violation_names_the_entry_and_writes_nothing(tmp_path):
    document = minimal_scenario()
    document["lead_providers"].append({"name": "Best Practice Network"})
    document["delivery_partners"][0]["relationships"].append({"lead_provider": "Best Practice Network", "cohort": 2024})
    document["partnerships"].append(
        {
            "lead_provider": "Best Practice Network",
            "delivery_partner": "Rise Teaching School Hub",
            "school": "100001",
            "cohort": 2024,
        }
    )

    message = load_failure(tmp_path, document)

    assert "partnerships[1]: " in message
    assert "partnership_one_confirmed_per_school_cohort" in message
    assert "at most one confirmed partnership per cohort" in message


def test_declaration_state_must_agree_with_its_statement(tmp_path):
    document = minimal_scenario()
    document["declarations"] = [
        {
            "participant": "11111111-1111-4111-8111-111111111111",
            "course_identifier": "ecf-induction",
            "declaration_type": "started",
            "declaration_date": "2024-10-01T10:00:00Z",
            "state": "paid",
            "statement": "January 2027",
        }
    ]

    message = load_failure(tmp_path, document)

    assert "declarations[0].statement: January 2027 is open; a paid declaration sits on a paid statement" in message


def test_every_entry_with_a_problem_is_reported(tmp_path):
    document = minimal_scenario()
    document["lead_providers"][0]["vat_chargeable"] = "yes please"
    document["schools"][0]["urn"] = "ABC"
    document["statements"][0]["month"] = "Smarch 2027"
    document["participants"][0]["email"] = "not-an-email"

    message = load_failure(tmp_path, document)

    assert "lead_providers[0].vat_chargeable: must be true or false" in message
    assert "schools[0].urn: 'ABC' is not a URN" in message
    assert "statements[0].month: 'Smarch 2027' is not a month" in message
    assert "participants[0].email: 'not-an-email' is not an email address" in message
    assert "(4 error(s))" in message


def test_withdrawal_reason_must_be_a_withdrawal_reason(tmp_path):
    document = minimal_scenario()
    document["participants"][0]["enrolments"][0]["status_changes"] = [
        {
            "lead_provider": "Ambition Institute",
            "training_status": "withdrawn",
            "reason": "bereavement",
            "at": "2025-01-01",
        }
    ]

    message = load_failure(tmp_path, document)

    assert "participants[0].enrolments[0].status_changes[0].reason: 'bereavement' is not one of" in message


def test_duplicate_keys_in_yaml_are_refused(tmp_path):
    path = tmp_path / "duplicate.yaml"
    path.write_text("lead_providers:\n  - name: A\n    name: B\n")

    with pytest.raises(CommandError, match="key 'name' given twice"):
        load(path)


def test_command_line_exits_with_status_1_and_reports_on_stderr(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("lead_providers: [\n")

    result = subprocess.run(
        [sys.executable, "manage.py", "load_scenario", str(path)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "not valid YAML" in result.stderr
    assert "nothing was written" in result.stderr


# ---------------------------------------------------------------------------------------
# participant_merge


def make_participant(name: str, *, kind: str = "ect") -> Participant:
    participant = Participant.objects.create(full_name=name, email=f"{name.lower().replace(' ', '.')}@example.com")
    Enrolment.objects.create(
        participant=participant,
        kind=kind,
        schedule=Schedule.objects.get(cohort_id=2024, identifier="ecf-standard-september"),
    )
    return participant


def make_declaration(participant: Participant, *, state: str = "submitted", mentor: Participant | None = None):
    provider, _ = LeadProvider.objects.get_or_create(name="Ambition Institute")
    enrolment = participant.enrolments.first()
    statement = None
    if state not in ("submitted", "voided"):
        statement, _ = Statement.objects.get_or_create(
            lead_provider=provider,
            cohort_id=2024,
            year=2027,
            month=1,
            defaults={"deadline_date": date(2026, 12, 31), "payment_date": date(2027, 1, 25)},
        )
    return Declaration.objects.create(
        enrolment=enrolment,
        participant=participant,
        lead_provider=provider,
        cohort_id=2024,
        course_identifier=enrolment.course_identifier,
        declaration_type="started",
        declaration_date=datetime(2024, 10, 1, tzinfo=UTC),
        state=state,
        statement=statement,
        mentor=mentor,
    )


def test_merge_moves_everything_to_the_target_and_retires_the_id():
    duplicate, person = make_participant("Eve Evans"), make_participant("Eve Evans")
    mentor, mentor_duplicate = (
        make_participant("Carol Clarke", kind="mentor"),
        make_participant("C Clarke", kind="mentor"),
    )
    declaration = make_declaration(duplicate, state="voided", mentor=mentor_duplicate)
    retired_id = duplicate.id
    merged_at = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)

    with clock.frozen(merged_at):
        participant_merge(from_participant=duplicate, to_participant=person)
        participant_merge(from_participant=mentor_duplicate, to_participant=mentor)

    assert not Participant.objects.filter(pk=retired_id).exists()
    change = ParticipantIdChange.objects.get(from_participant_id=retired_id)
    assert (change.participant_id, change.to_participant_id, change.created_at) == (person.id, person.id, merged_at)
    assert Enrolment.objects.filter(participant=person).count() == 2
    declaration.refresh_from_db()
    assert (declaration.participant_id, declaration.mentor_id) == (person.id, mentor.id)
    person.refresh_from_db()
    assert person.updated_at == merged_at


def test_merge_chain_leaves_both_id_changes_on_the_last_participant():
    first, second, third = make_participant("A"), make_participant("B"), make_participant("C")
    first_id, second_id = first.id, second.id

    participant_merge(from_participant=first, to_participant=second)
    participant_merge(from_participant=second, to_participant=third)

    assert set(third.id_changes.values_list("from_participant_id", "to_participant_id")) == {
        (first_id, second_id),
        (second_id, third.id),
    }
    assert Participant.objects.filter(pk__in=[first_id, second_id]).count() == 0
    assert Enrolment.objects.filter(participant=third).count() == 3


def test_merge_into_itself_is_refused():
    person = make_participant("Eve Evans")

    with pytest.raises(ServiceValidationError) as refusal:
        participant_merge(from_participant=person, to_participant=person)

    assert refusal.value.errors == [("participant_id", "A participant cannot be merged into itself.")]


def test_merge_is_refused_when_both_hold_the_same_declaration_slot():
    duplicate, person = make_participant("Eve Evans"), make_participant("Eve Evans")
    make_declaration(person, state="paid")
    clash = make_declaration(duplicate, state="eligible")

    with pytest.raises(ServiceValidationError) as refusal:
        participant_merge(from_participant=duplicate, to_participant=person)

    (attribute, message), *_ = refusal.value.errors
    assert attribute == "participant_id"
    assert f"void declaration {clash.id}" in message
    assert Participant.objects.filter(pk=duplicate.pk).exists()


def test_merge_in_a_scenario_that_would_break_the_slot_is_reported_with_the_merge(tmp_path):
    document = yaml.safe_load(TWO_PROVIDERS.read_text())
    eve_duplicate_started = document["declarations"][-1]
    eve_duplicate_started.update({"state": "submitted"})
    eve_duplicate_started.pop("voided_at")

    message = load_failure(tmp_path, document)

    assert "merges[0]: Both participants have a started ecf-induction declaration" in message


# ---------------------------------------------------------------------------------------
# The format page


@pytest.mark.parametrize("example", [FUNDABLE_ECT, TWO_PROVIDERS], ids=lambda path: path.name)
def test_the_format_page_shows_each_example_in_full(example):
    page = (SCENARIOS.parent / "scenarios.md").read_text()

    assert f"```yaml\n{example.read_text()}```" in page

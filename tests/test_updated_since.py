"""`updated_since` you can trust: for each kind of change, the changed records, and nothing else, come
back in the next incremental sync of every endpoint (issue 5).

The world is built at T0 (tests/worlds.py's `build_world` for background, plus the subjects of the
changes below); at T1 exactly one change is made through the service that makes it; then every
sync is read with `filter[updated_since]=T1`, as provider A (the `lead_provider` fixture) and as
provider B, and each must return exactly the expected records. Delivery partners have no
`updated_since` filter: there the records whose `updated_at` is at or after T1 are compared.

A change a provider cannot see touches nothing; a record that disappears from a provider's view
(a challenged partnership's participants) cannot come back in its sync and does not.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from declarations.payments import statement_authorise_payment, statements_mark_payable
from declarations.services import declaration_submit, declaration_void, enrolment_set_eligibility
from declarations.state_machine import Actor
from ecf import clock, rfc3339
from participants import selectors
from participants.models import ChallengeReason, InductionProgrammeChoice, TrainingProgramme, WithdrawalReason
from participants.services import (
    delivery_partner_update,
    lead_provider_update,
    participant_change_email,
    participant_change_schedule,
    participant_correct_details,
    participant_defer,
    participant_join_school,
    participant_leave_school,
    participant_merge,
    participant_resume,
    participant_withdraw,
    partnership_challenge,
    partnership_change_delivery_partner,
    partnership_confirm,
    provider_relationship_create,
    school_cohort_update,
    school_update,
    training_period_assign_mentor,
    training_period_change_email,
)
from participants.tokens import api_token_create
from statements.services import adjustment_create
from tests.factories import (
    DeclarationFactory,
    DeliveryPartnerFactory,
    EnrolmentFactory,
    LeadProviderFactory,
    ParticipantFactory,
    PartnershipFactory,
    ProviderRelationshipFactory,
    SchoolCohortFactory,
    SchoolFactory,
    StatementFactory,
    TrainingPeriodFactory,
    enrolled_participant,
    get_cohort,
)
from tests.worlds import WORLD_NOW, build_world

pytestmark = pytest.mark.django_db

T0 = WORLD_NOW  # 2025-02-10 12:00 UTC
T1 = T0 + timedelta(hours=21, minutes=30)
SINCE = {"filter[updated_since]": rfc3339.format_timestamp(T1)}


# ---------------------------------------------------------------------------------------
# The world: background records plus one subject per change


def build_subjects(a, b) -> SimpleNamespace:
    """Records the changes act on; all made at T0. Each subject has its own school unless stated."""
    w = SimpleNamespace(a=a, b=b)
    w.ect = enrolled_participant(lead_provider=a)
    w.ect_2025 = PartnershipFactory(
        lead_provider=a, school=w.ect.school, cohort=2025, delivery_partner=w.ect.delivery_partner
    )
    w.deferred = enrolled_participant(lead_provider=a, training_status="deferred")
    # Provider B's partnership at another school, and a school nobody partners yet.
    w.school_b = SchoolFactory()
    SchoolCohortFactory(school=w.school_b, cohort=2024)
    w.partnership_b = PartnershipFactory(lead_provider=b, school=w.school_b, cohort=2024)
    w.school_new = SchoolFactory()
    SchoolCohortFactory(school=w.school_new, cohort=2024)
    # A mentor trained by a third provider (a candidate unfunded mentor of A).
    w.outside_mentor = enrolled_participant(kind="mentor")
    # Not yet checked by DfE, with a submitted declaration waiting for the check.
    w.unchecked = enrolled_participant(lead_provider=a, fundable=False)
    w.unchecked_declaration = DeclarationFactory(enrolment=w.unchecked.enrolment, submitted=True)
    # Provider-led training at a school with no partnership yet.
    w.waiting_school = SchoolFactory()
    SchoolCohortFactory(school=w.waiting_school, cohort=2024)
    w.waiting = TrainingPeriodFactory(
        enrolment=EnrolmentFactory(fundable=True),
        partnership=None,
        school=w.waiting_school,
        cohort=2024,
        training_programme=TrainingProgramme.PROVIDER_LED,
    ).enrolment.participant
    # A partnership whose delivery partner will change, and one that will be challenged.
    w.dp_person = enrolled_participant(lead_provider=a)
    w.new_delivery_partner = DeliveryPartnerFactory()
    ProviderRelationshipFactory(lead_provider=a, delivery_partner=w.new_delivery_partner, cohort=2024)
    w.challenged = enrolled_participant(lead_provider=a)
    # Duplicate records of one person, and of one mentor (whose mentee shows the mentor's id).
    w.duplicate = enrolled_participant(lead_provider=a)
    w.duplicate_declaration = DeclarationFactory(enrolment=w.duplicate.enrolment, eligible=True)
    w.original = ParticipantFactory()
    w.mentor_duplicate = enrolled_participant(lead_provider=a, kind="mentor")
    w.mentee = enrolled_participant(
        lead_provider=a, school=w.mentor_duplicate.school, mentor=w.mentor_duplicate.enrolment
    )
    w.mentor_original = ParticipantFactory()
    # Declarations to void; statements to make payable, pay and adjust (cohort 2023, fixed months).
    w.eligible_declaration = DeclarationFactory(enrolment=w.ect.enrolment, eligible=True)
    w.paid_declaration = DeclarationFactory(enrolment=w.dp_person.enrolment, paid=True)
    w.due_statement = StatementFactory(lead_provider=a, cohort=2023, year=2025, month=2)  # deadline 31 Jan
    w.due_declaration = DeclarationFactory(statement=w.due_statement, eligible=True)
    w.payable_statement = StatementFactory(lead_provider=a, cohort=2023, year=2025, month=1, payable=True)
    w.payable_declaration = DeclarationFactory(statement=w.payable_statement, payable=True)
    w.clawback_declaration = DeclarationFactory(clawback_statement=w.payable_statement, awaiting_clawback=True)
    StatementFactory(lead_provider=a, cohort=2023, year=2025, month=4)  # takes new clawbacks
    w.unrelated_delivery_partner = DeliveryPartnerFactory()
    return w


@pytest.fixture
def world(lead_provider):
    b = LeadProviderFactory(name="Provider B")
    with clock.frozen(T0):
        build_world(lead_provider, T0)
        return build_subjects(lead_provider, b)


# ---------------------------------------------------------------------------------------
# The syncs


def _client(lead_provider) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    return client


def _ids(client, url: str, **params) -> set[str]:
    response = client.get(url, {**SINCE, **params})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["data"]}


def _delivery_partners_changed(client) -> set[str]:
    """No `updated_since` filter on this list (api.md): the rows whose `updated_at` is T1 or later."""
    response = client.get("/api/v3/delivery-partners")
    assert response.status_code == 200
    return {row["id"] for row in response.json()["data"] if rfc3339.parse(row["attributes"]["updated_at"]) >= T1}


SYNCS = {
    "participants": lambda c: _ids(c, "/api/v3/participants/ecf"),
    "v1_participants": lambda c: _ids(c, "/api/v1/participants/ecf"),
    "partnerships": lambda c: _ids(c, "/api/v3/partnerships/ecf"),
    "schools": lambda c: _ids(c, "/api/v3/schools/ecf", **{"filter[cohort]": "2024"}),
    "unfunded_mentors": lambda c: _ids(c, "/api/v3/unfunded-mentors/ecf"),
    "declarations": lambda c: _ids(c, "/api/v3/participant-declarations"),
    "statements": lambda c: _ids(c, "/api/v3/statements"),
    "transfers": lambda c: _ids(c, "/api/v3/participants/ecf/transfers"),
    "delivery_partners": _delivery_partners_changed,
}


# ---------------------------------------------------------------------------------------
# The table: (change at T1, expected records per sync as provider A, and as provider B)


@dataclass(frozen=True)
class Change:
    name: str
    change: object  # callable(world), run at T1
    a: dict = field(default_factory=dict)  # sync name -> callable(world) -> records, as provider A
    b: dict = field(default_factory=dict)  # the same, as provider B
    schools: object = None  # callable(world) -> schools: every provider sees the same (rules §8.1)
    prepare: object = None  # callable(world), run at T0 after the world is built

    def expected(self, side: str, sync: str, world) -> set[str]:
        if sync == "schools":
            return self.schools(world) if self.schools else set()
        return getattr(self, side).get(sync, lambda w: set())(world)


def person(*names):
    """The participant ids of these subjects (an EnrolledParticipant or a Participant)."""
    return lambda w: {str(getattr(getattr(w, n), "participant", getattr(w, n)).id) for n in names}


def records(*names):
    return lambda w: {str(getattr(w, n).id) for n in names}


def _ect_course(w):
    return {"participant_id": w.ect.participant.id, "course_identifier": "ecf-induction"}


def _leave(w, end=date(2025, 3, 31)):
    participant_leave_school(enrolment=w.ect.enrolment, end_date=end)


def _submit(w):
    w.submitted = declaration_submit(
        lead_provider=w.a,
        attributes={
            "participant_id": str(w.ect.participant.id),
            "course_identifier": "ecf-induction",
            "declaration_type": "retained-1",
            "declaration_date": "2025-02-03T10:00:00Z",
            "evidence_held": "training-event-attended",
        },
    )


def _confirm_partnership(w):
    w.confirmed = partnership_confirm(
        lead_provider=w.a,
        cohort=2024,
        school_id=str(w.waiting_school.id),
        delivery_partner_id=str(w.ect.delivery_partner.id),
    )


def _transfer_people(lead_provider, *, visible=False) -> set[str]:
    """The people in the provider's transfers (the ones it can see as participants, if `visible`)."""
    people = selectors.transfer_participants(lead_provider.pk)
    if visible:
        people = people.filter(id__in=selectors.visible_participants(lead_provider.pk).values("id"))
    return {str(pk) for pk in people.values_list("id", flat=True)}


PARTICIPANT_ONLY = {"participants": person("ect"), "v1_participants": person("ect")}

CHANGES = [
    Change(
        "withdraw",
        lambda w: participant_withdraw(lead_provider=w.a, reason=WithdrawalReason.OTHER, **_ect_course(w)),
        a=PARTICIPANT_ONLY,
    ),
    Change(
        "defer",
        lambda w: participant_defer(lead_provider=w.a, reason="parental-leave", **_ect_course(w)),
        a=PARTICIPANT_ONLY,
    ),
    Change(
        "resume",
        lambda w: participant_resume(
            lead_provider=w.a, participant_id=w.deferred.participant.id, course_identifier="ecf-induction"
        ),
        a={"participants": person("deferred"), "v1_participants": person("deferred")},
    ),
    Change(
        "change schedule",
        lambda w: participant_change_schedule(
            lead_provider=w.a, schedule_identifier="ecf-standard-january", **_ect_course(w)
        ),
        a=PARTICIPANT_ONLY,
        prepare=lambda w: declaration_void(declaration=w.eligible_declaration, actor=Actor.provider(w.a)),
    ),
    Change(
        "change cohort",
        lambda w: participant_change_schedule(
            lead_provider=w.a, schedule_identifier="ecf-standard-september", cohort="2025", **_ect_course(w)
        ),
        a=PARTICIPANT_ONLY,
        prepare=lambda w: declaration_void(declaration=w.eligible_declaration, actor=Actor.provider(w.a)),
    ),
    Change("leave school", _leave, a={**PARTICIPANT_ONLY, "transfers": person("ect")}),
    Change(
        "join school, same provider (relationship partnership)",
        lambda w: participant_join_school(enrolment=w.ect.enrolment, school=w.school_new, start_date=date(2025, 4, 1)),
        # `in_partnership` of the new school flips: the relationship partnership counts (rules §8.1).
        a={**PARTICIPANT_ONLY, "transfers": person("ect")},
        schools=records("school_new"),
        prepare=_leave,
    ),
    Change(
        "join school, new provider",
        lambda w: participant_join_school(
            enrolment=w.ect.enrolment, school=w.school_b, start_date=date(2025, 4, 1), lead_provider=w.b
        ),
        # The person moved; A's view of them is unchanged, but its transfer now has a joining side.
        a={**PARTICIPANT_ONLY, "transfers": person("ect")},
        b={**PARTICIPANT_ONLY, "transfers": person("ect")},
        prepare=_leave,
    ),
    Change(
        "join school, new provider, leaver not reported",
        lambda w: participant_join_school(
            enrolment=w.ect.enrolment, school=w.school_b, start_date=date(2025, 4, 1), lead_provider=w.b
        ),
        a={**PARTICIPANT_ONLY, "transfers": person("ect")},
        b={**PARTICIPANT_ONLY, "transfers": person("ect")},
    ),
    Change(
        "assign mentor",
        lambda w: training_period_assign_mentor(enrolment=w.ect.enrolment, mentor=w.outside_mentor.enrolment),
        a={**PARTICIPANT_ONLY, "unfunded_mentors": person("outside_mentor")},
    ),
    Change(
        "change email",
        lambda w: participant_change_email(participant=w.ect.participant, email="new.address@example.com"),
        a=PARTICIPANT_ONLY,
    ),
    Change(
        "change a training record's preferred email",
        lambda w: training_period_change_email(enrolment=w.ect.enrolment, email="school.address@example.com"),
        a=PARTICIPANT_ONLY,
    ),
    Change(
        "unfunded mentor's email change",
        lambda w: participant_change_email(participant=w.outside_mentor.participant, email="mentor@example.com"),
        a={"unfunded_mentors": person("outside_mentor")},
        prepare=lambda w: training_period_assign_mentor(enrolment=w.ect.enrolment, mentor=w.outside_mentor.enrolment),
    ),
    Change(
        "name corrected",
        lambda w: participant_correct_details(participant=w.ect.participant, full_name="Corrected Name", trn="7654321"),
        a=PARTICIPANT_ONLY,
    ),
    Change(
        "unfunded mentor's TRN corrected",
        lambda w: participant_correct_details(
            participant=w.outside_mentor.participant, full_name=w.outside_mentor.participant.full_name, trn="7654322"
        ),
        a={"unfunded_mentors": person("outside_mentor")},
        prepare=lambda w: training_period_assign_mentor(enrolment=w.ect.enrolment, mentor=w.outside_mentor.enrolment),
    ),
    Change(
        "eligibility check passes",
        lambda w: enrolment_set_eligibility(enrolment=w.unchecked.enrolment, status="eligible", reason="none"),
        a={
            "participants": person("unchecked"),
            "v1_participants": person("unchecked"),
            "declarations": records("unchecked_declaration"),
        },
    ),
    Change(
        "eligibility check fails",
        lambda w: enrolment_set_eligibility(enrolment=w.ect.enrolment, status="ineligible", reason="active_flags"),
        a=PARTICIPANT_ONLY,
    ),
    Change(
        "partnership confirmed at the school",
        _confirm_partnership,
        a={
            "partnerships": records("confirmed"),
            "participants": person("waiting"),
            "v1_participants": person("waiting"),
        },
        schools=records("waiting_school"),
    ),
    Change(
        "partnership delivery partner changed",
        lambda w: partnership_change_delivery_partner(
            lead_provider=w.a, partnership=w.dp_person.partnership, delivery_partner_id=str(w.new_delivery_partner.id)
        ),
        a={
            "partnerships": lambda w: {str(w.dp_person.partnership.id)},
            "participants": person("dp_person"),
            "v1_participants": person("dp_person"),
        },
    ),
    Change(
        "partnership challenged",
        lambda w: partnership_challenge(partnership=w.challenged.partnership, reason=ChallengeReason.MISTAKE),
        # Its participants are no longer A's to see; the school is no longer in partnership.
        a={"partnerships": lambda w: {str(w.challenged.partnership.id)}},
        schools=lambda w: {str(w.challenged.school.id)},
    ),
    Change(
        "merge",
        lambda w: participant_merge(from_participant=w.duplicate.participant, to_participant=w.original),
        a={
            "participants": records("original"),
            "v1_participants": records("original"),
            "declarations": records("duplicate_declaration"),
        },
    ),
    Change(
        "merge of a mentor",
        lambda w: participant_merge(from_participant=w.mentor_duplicate.participant, to_participant=w.mentor_original),
        # The mentee shows the mentor's id, which changed.
        a={
            "participants": lambda w: {str(w.mentor_original.id), str(w.mentee.participant.id)},
            "v1_participants": lambda w: {str(w.mentor_original.id), str(w.mentee.participant.id)},
        },
    ),
    Change("declaration submitted", _submit, a={"declarations": lambda w: {str(w.submitted.id)}}),
    Change(
        "declaration voided",
        lambda w: declaration_void(declaration=w.eligible_declaration, actor=Actor.provider(w.a)),
        a={"declarations": records("eligible_declaration")},
    ),
    Change(
        "paid declaration clawed back",
        lambda w: declaration_void(declaration=w.paid_declaration, actor=Actor.provider(w.a)),
        a={"declarations": records("paid_declaration")},
    ),
    Change(
        "statement becomes payable",
        lambda w: statements_mark_payable(),
        a={"statements": records("due_statement"), "declarations": records("due_declaration")},
    ),
    Change(
        "statement paid",
        lambda w: statement_authorise_payment(statement=w.payable_statement),
        a={
            "statements": records("payable_statement"),
            "declarations": records("payable_declaration", "clawback_declaration"),
        },
    ),
    Change(
        "statement adjusted",
        lambda w: adjustment_create(statement=w.due_statement, payment_type="Correction", amount=Decimal("10")),
        a={"statements": records("due_statement")},
    ),
    Change(
        "school URN changed",
        lambda w: school_update(school=w.ect.school, urn="999999"),
        a={"partnerships": lambda w: {str(w.ect.partnership.id), str(w.ect_2025.id)}, **PARTICIPANT_ONLY},
        schools=lambda w: {str(w.ect.school.id)},
    ),
    Change(
        "school renamed",
        lambda w: school_update(school=w.ect.school, name="Renamed Academy"),
        a={"partnerships": lambda w: {str(w.ect.partnership.id), str(w.ect_2025.id)}},
        schools=lambda w: {str(w.ect.school.id)},
    ),
    Change(
        "school cohort programme choice changed",
        lambda w: school_cohort_update(
            school=w.ect.school,
            cohort=get_cohort(2024),
            induction_programme_choice=InductionProgrammeChoice.DESIGN_OUR_OWN,
        ),
        schools=lambda w: {str(w.ect.school.id)},
    ),
    Change(
        "delivery partner renamed",
        lambda w: delivery_partner_update(delivery_partner=w.ect.delivery_partner, name="Renamed partner"),
        a={
            "partnerships": lambda w: {str(w.ect.partnership.id), str(w.ect_2025.id)},
            "delivery_partners": lambda w: {str(w.ect.delivery_partner.id)},
        },
    ),
    Change(
        "lead provider renamed",
        lambda w: lead_provider_update(lead_provider=w.b, name="Provider B, renamed"),
        # Transfers show both providers' names; B submitted no declaration. The transfers sync reads the
        # person's timestamp, which the participants syncs share.
        a={**PARTICIPANT_ONLY, "transfers": person("ect")},
        b={**PARTICIPANT_ONLY, "transfers": person("ect")},
        prepare=lambda w: participant_join_school(
            enrolment=w.ect.enrolment, school=w.school_b, start_date=date(2025, 4, 1), lead_provider=w.b
        ),
    ),
    Change(
        "lead provider renamed: its declarations show the new name",
        lambda w: lead_provider_update(lead_provider=w.a, name="Provider A, renamed"),
        a={
            "declarations": lambda w: {str(pk) for pk in w.a.declarations.values_list("id", flat=True)},
            "transfers": lambda w: _transfer_people(w.a),
            "participants": lambda w: _transfer_people(w.a, visible=True),
            "v1_participants": lambda w: _transfer_people(w.a, visible=True),
        },
    ),
    Change(
        "delivery partner starts working with the provider",
        lambda w: provider_relationship_create(
            lead_provider=w.a, delivery_partner=w.unrelated_delivery_partner, cohort=get_cohort(2024)
        ),
        a={"delivery_partners": records("unrelated_delivery_partner")},
    ),
]


@pytest.mark.parametrize("case", CHANGES, ids=[case.name for case in CHANGES])
def test_the_next_sync_returns_exactly_the_changed_records(world, case):
    if case.prepare is not None:
        with clock.frozen(T0):
            case.prepare(world)
    with clock.frozen(T1):
        case.change(world)
    clients = {"a": _client(world.a), "b": _client(world.b)}

    with clock.frozen(T1 + timedelta(minutes=5)):
        synced = {(side, name): sync(client) for side, client in clients.items() for name, sync in SYNCS.items()}

    expected = {(side, name): case.expected(side, name, world) for side in clients for name in SYNCS}
    assert synced == expected


def test_a_change_before_the_sync_time_is_not_returned_again(world):
    """The other half of the contract: `updated_since` after the change returns nothing."""
    with clock.frozen(T1):
        participant_withdraw(lead_provider=world.a, reason=WithdrawalReason.OTHER, **_ect_course(world))
    client = _client(world.a)
    later = {"filter[updated_since]": rfc3339.format_timestamp(T1 + timedelta(seconds=1))}

    response = client.get("/api/v3/participants/ecf", later)

    assert response.json()["data"] == []


def test_the_world_is_quiet_when_nothing_changes(world):
    clients = {"a": _client(world.a), "b": _client(world.b)}

    with clock.frozen(T1):
        synced = {(side, name): sync(client) for side, client in clients.items() for name, sync in SYNCS.items()}

    assert synced == {key: set() for key in synced}


def test_every_kind_of_record_is_in_the_full_sync(world):
    """Guard against a vacuous table: without `updated_since` each endpoint lists records."""
    client = _client(world.a)
    with clock.frozen(T1):
        counts = {
            url: len(client.get(url, params).json()["data"])
            for url, params in (
                ("/api/v3/participants/ecf", {}),
                ("/api/v1/participants/ecf", {}),
                ("/api/v3/partnerships/ecf", {}),
                ("/api/v3/schools/ecf", {"filter[cohort]": "2024"}),
                ("/api/v3/unfunded-mentors/ecf", {}),
                ("/api/v3/participant-declarations", {}),
                ("/api/v3/statements", {}),
                ("/api/v3/participants/ecf/transfers", {}),
                ("/api/v3/delivery-partners", {}),
            )
        }

    assert all(count > 0 for count in counts.values()), counts

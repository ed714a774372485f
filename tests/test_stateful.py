"""The positive path, as a state machine (issue 13, "the checks must be able to fail").

tests/test_fuzz.py sends generated requests one at a time, and a 422 is a documented answer: an
API that refused every valid declaration would pass it. Here hypothesis drives a provider through
sequences of valid requests over the API (the WSGI app in-process, as the fuzz tests): submit a
declaration for a fundable participant, read it back, void it, withdraw, defer, resume and change
the schedule, in any version, in any order. A small model of the participants decides which
requests are valid; a valid request must be answered 200 and the answer must agree with the model,
and after every step the participant's GET shows what the model expects. Requests the model knows
are refused (a second declaration of a type held, resuming an active participant) must be a 422.

Each example runs in a savepoint that is rolled back, so every sequence starts from the same world.
`make test` runs FUZZ_STATEFUL_EXAMPLES (default 8) sequences of up to 12 steps with a fixed seed;
`make fuzz` runs more, with a new seed.
"""

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from ecf import clock
from participants.models import Milestone, Schedule
from statements.models import StatementStatus
from tests.factories import StatementFactory, enrolled_participant

FUZZ_STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "8"))
STEPS = int(os.environ.get("FUZZ_STATEFUL_STEPS", "12"))
RANDOM_SEED = os.environ.get("FUZZ_SEED", "") == "random"
# Filled as the machine runs; `make fuzz` prints them (tests/fuzz_report.py).
STATEFUL_FIGURES: dict[str, int] = {"sequences": 0, "steps": 0}

COHORT = 2024
SET_UP = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
# 2024 standard-september's `started` and every milestone of the extended and reduced schedules
# are open; the output statements' deadlines are ahead.
WORLD_NOW = datetime(2024, 12, 10, 12, 0, tzinfo=UTC)
PARTICIPANTS = 3
SCHEDULES = ("ecf-standard-september", "ecf-extended-september", "ecf-reduced-september", "ecf-standard-january")
VERSIONS = ("v1", "v2", "v3")
LIVE_STATES = ("submitted", "eligible", "payable", "paid")
WITHDRAW_REASONS = ("left-teaching-profession", "moved-school", "switched-to-school-led", "other")
DEFER_REASONS = ("bereavement", "long-term-sickness", "parental-leave", "career-break", "other")


@dataclass
class Person:
    """What the model knows of one participant."""

    id: str
    training_status: str = "active"
    schedule: str = "ecf-standard-september"
    # declaration type -> (id, declaration_date) of its live declaration
    declarations: dict[str, tuple[str, datetime]] = field(default_factory=dict)


@dataclass(frozen=True)
class Declared:
    id: str
    person: str
    declaration_type: str


def milestones_of_cohort() -> dict[str, dict[str, tuple[date, date | None]]]:
    """schedule identifier -> declaration type -> (start date, milestone date)."""
    windows: dict[str, dict[str, tuple[date, date | None]]] = {}
    for milestone in Milestone.objects.filter(schedule__cohort_id=COHORT, schedule__identifier__in=SCHEDULES).values(
        "schedule__identifier", "declaration_type", "start_date", "milestone_date"
    ):
        windows.setdefault(milestone["schedule__identifier"], {})[milestone["declaration_type"]] = (
            milestone["start_date"],
            milestone["milestone_date"],
        )
    return windows


def declaration_date_for(window: tuple[date, date | None], now: datetime) -> datetime | None:
    """A date the window accepts on any schedule change rule (strictly after its first day, rules
    §3.5 S4), in the past; None when the window has not opened far enough."""
    start, end = window
    when = datetime.combine(start + timedelta(days=1), time(10), tzinfo=UTC)
    if when >= now - timedelta(hours=1) or (end is not None and when.date() > end):
        return None
    return when


def fits(window: tuple[date, date | None] | None, declared_at: datetime) -> bool:
    """Whether a live declaration still fits a schedule's window for its type (rules §3.5 S4)."""
    if window is None:
        return False
    start, end = window
    after_start = declared_at >= datetime.combine(start + timedelta(days=1), time.min, tzinfo=UTC)
    return after_start and (end is None or declared_at.date() <= end)


@dataclass
class World:
    token: str
    people: list[str]
    windows: dict[str, dict[str, tuple[date, date | None]]]


@pytest.fixture
def stateful_world(lead_provider) -> World:
    from participants.tokens import api_token_create

    with clock.frozen(SET_UP):
        people = [str(enrolled_participant(lead_provider=lead_provider).participant.id) for _ in range(PARTICIPANTS)]
    for year, month, deadline in ((2025, 1, date(2024, 12, 31)), (2025, 4, date(2025, 3, 31))):
        StatementFactory(
            lead_provider=lead_provider,
            cohort=COHORT,
            year=year,
            month=month,
            deadline_date=deadline,
            payment_date=date(year, month, 25),
            output_fee=True,
            status=StatementStatus.OPEN,
        )
    assert Schedule.objects.filter(cohort_id=COHORT, identifier__in=SCHEDULES).count() == len(SCHEDULES)
    return World(api_token_create(lead_provider=lead_provider), people, milestones_of_cohort())


def body(kind: str, **attributes) -> dict:
    return {"data": {"type": kind, "attributes": attributes}}


class ProviderJourney(RuleBasedStateMachine):
    """One provider's valid requests, checked against a model of its participants."""

    world: World  # set by the test before the machine runs
    declared = Bundle("declared")

    def __init__(self):
        super().__init__()
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.world.token}")
        self.people = {person_id: Person(person_id) for person_id in self.world.people}
        self.now = WORLD_NOW
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        STATEFUL_FIGURES["sequences"] += 1

    def teardown(self):
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    # --- the transport ---------------------------------------------------------------------

    def call(self, method: str, path: str, payload: dict | None = None):
        STATEFUL_FIGURES["steps"] += 1
        self.now += timedelta(minutes=7)  # every step at its own instant, as in life
        with clock.frozen(self.now):
            return getattr(self.client, method)(path, payload, format="json")

    def expect(self, response, status: int, what: str) -> dict:
        assert response.status_code == status, (
            f"{what}: expected {status}, got {response.status_code}: {response.content[:600]!r}"
        )
        return response.json() if status == 200 else {}

    def person(self, person_id: str) -> Person:
        return self.people[person_id]

    def action_path(self, version: str, person_id: str, action: str) -> str:
        return f"/api/{version}/participants/ecf/{person_id}/{action}"

    def declarable(self) -> list[tuple[str, str, datetime]]:
        """(person, type, date) of every declaration the service must accept now."""
        options = []
        for person in self.people.values():
            if person.training_status == "withdrawn":
                continue  # allowed when dated before the withdrawal; the model keeps to the plain case
            for declaration_type, window in self.world.windows[person.schedule].items():
                declared_at = declaration_date_for(window, self.now)
                if declared_at is not None and declaration_type not in person.declarations:
                    options.append((person.id, declaration_type, declared_at))
        return sorted(options)

    # --- declarations ------------------------------------------------------------------------

    @precondition(lambda self: self.declarable())
    @rule(target=declared, data=st.data(), version=st.sampled_from(VERSIONS))
    def submit_a_declaration(self, data, version):
        person_id, declaration_type, declared_at = data.draw(st.sampled_from(self.declarable()), label="declaration")
        attributes = {
            "participant_id": person_id,
            "declaration_type": declaration_type,
            "declaration_date": declared_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "course_identifier": "ecf-induction",
            "evidence_held": "training-event-attended",
        }
        response = self.call(
            "post", f"/api/{version}/participant-declarations", body("participant-declaration", **attributes)
        )
        data_ = self.expect(response, 200, f"{version} POST of a valid {declaration_type} declaration")["data"]
        assert data_["attributes"]["state"] == "eligible", data_
        self.person(person_id).declarations[declaration_type] = (data_["id"], declared_at)
        return Declared(data_["id"], person_id, declaration_type)

    @rule(declaration=declared, version=st.sampled_from(VERSIONS))
    def read_a_declaration_back(self, declaration, version):
        response = self.call("get", f"/api/{version}/participant-declarations/{declaration.id}")
        data_ = self.expect(response, 200, f"{version} GET of declaration {declaration.id}")["data"]
        held = self.person(declaration.person).declarations.get(declaration.declaration_type)
        expected = "eligible" if held and held[0] == declaration.id else "voided"
        assert (data_["id"], data_["attributes"]["state"]) == (declaration.id, expected), data_

    @rule(declaration=consumes(declared), version=st.sampled_from(VERSIONS))
    def void_a_declaration(self, declaration, version):
        held = self.person(declaration.person).declarations
        response = self.call("put", f"/api/{version}/participant-declarations/{declaration.id}/void")
        if held.get(declaration.declaration_type, ("",))[0] != declaration.id:
            self.expect(response, 422, f"{version} void of the voided declaration {declaration.id}")
            return
        data_ = self.expect(response, 200, f"{version} void of eligible declaration {declaration.id}")["data"]
        assert data_["attributes"]["state"] == "voided", data_
        del held[declaration.declaration_type]

    @precondition(lambda self: any(p.declarations for p in self.people.values()))
    @rule(data=st.data(), version=st.sampled_from(VERSIONS))
    def declare_a_held_type_again(self, data, version):
        """A second declaration of a type the participant holds is refused (rules §4.4 V10)."""
        person = data.draw(st.sampled_from([p for p in self.people.values() if p.declarations]), label="person")
        declaration_type = data.draw(st.sampled_from(sorted(person.declarations)), label="type")
        declared_at = person.declarations[declaration_type][1]
        attributes = {
            "participant_id": person.id,
            "declaration_type": declaration_type,
            "declaration_date": declared_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "course_identifier": "ecf-induction",
            "evidence_held": "training-event-attended",
        }
        response = self.call(
            "post", f"/api/{version}/participant-declarations", body("participant-declaration", **attributes)
        )
        self.expect(response, 422, f"{version} second {declaration_type} declaration")

    # --- participant actions ------------------------------------------------------------------

    def acted(self, response, version: str, what: str, *, training_status: str, schedule: str) -> None:
        attributes = self.expect(response, 200, f"{version} {what}")["data"]["attributes"]
        shown = attributes["ecf_enrolments"][0] if version == "v3" else attributes
        assert (shown["training_status"], shown["schedule_identifier"]) == (training_status, schedule), shown

    @precondition(lambda self: any(p.training_status != "withdrawn" for p in self.people.values()))
    @rule(data=st.data(), version=st.sampled_from(VERSIONS), reason=st.sampled_from(WITHDRAW_REASONS))
    def withdraw(self, data, version, reason):
        person = data.draw(st.sampled_from([p for p in self.people.values() if p.training_status != "withdrawn"]))
        payload = body("participant-withdraw", reason=reason, course_identifier="ecf-induction")
        response = self.call("put", self.action_path(version, person.id, "withdraw"), payload)
        person.training_status = "withdrawn"
        self.acted(response, version, "withdraw", training_status="withdrawn", schedule=person.schedule)

    @precondition(lambda self: any(p.training_status == "active" for p in self.people.values()))
    @rule(data=st.data(), version=st.sampled_from(VERSIONS), reason=st.sampled_from(DEFER_REASONS))
    def defer(self, data, version, reason):
        person = data.draw(st.sampled_from([p for p in self.people.values() if p.training_status == "active"]))
        payload = body("participant-defer", reason=reason, course_identifier="ecf-induction")
        response = self.call("put", self.action_path(version, person.id, "defer"), payload)
        person.training_status = "deferred"
        self.acted(response, version, "defer", training_status="deferred", schedule=person.schedule)

    @rule(data=st.data(), version=st.sampled_from(VERSIONS))
    def resume(self, data, version):
        person = data.draw(st.sampled_from(sorted(self.people.values(), key=lambda p: p.id)))
        response = self.call(
            "put",
            self.action_path(version, person.id, "resume"),
            body("participant-resume", course_identifier="ecf-induction"),
        )
        if person.training_status == "active":
            self.expect(response, 422, f"{version} resume of an active participant")
            return
        person.training_status = "active"
        self.acted(response, version, "resume", training_status="active", schedule=person.schedule)

    def schedule_changes(self) -> list[tuple[str, str]]:
        """(person, schedule) of every change of schedule the service must accept now (rules §3.5)."""
        options = []
        for person in self.people.values():
            if person.training_status == "withdrawn":
                continue  # S3
            for schedule in SCHEDULES:
                windows = self.world.windows[schedule]
                keeps_declarations = all(fits(windows.get(t), at) for t, (_, at) in person.declarations.items())
                if schedule != person.schedule and keeps_declarations:
                    options.append((person.id, schedule))
        return sorted(options)

    @precondition(lambda self: self.schedule_changes())
    @rule(data=st.data(), version=st.sampled_from(VERSIONS))
    def change_schedule(self, data, version):
        person_id, schedule = data.draw(st.sampled_from(self.schedule_changes()), label="change")
        person = self.person(person_id)
        payload = body("participant-change-schedule", schedule_identifier=schedule, course_identifier="ecf-induction")
        response = self.call("put", self.action_path(version, person_id, "change-schedule"), payload)
        person.schedule = schedule
        self.acted(
            response,
            version,
            f"change-schedule to {schedule}",
            training_status=person.training_status,
            schedule=schedule,
        )

    # --- what a provider reads afterwards ---------------------------------------------------------

    @invariant()
    def every_participant_reads_as_the_model_says(self):
        response = self.call("get", "/api/v3/participants/ecf?page[per_page]=50")
        shown = {
            row["id"]: row["attributes"]["ecf_enrolments"][0]
            for row in self.expect(response, 200, "v3 participants list")["data"]
        }
        for person in self.people.values():
            enrolment = shown[person.id]
            assert (enrolment["training_status"], enrolment["schedule_identifier"]) == (
                person.training_status,
                person.schedule,
            ), (person, enrolment)
        response = self.call("get", "/api/v3/participant-declarations?page[per_page]=100")
        live = {
            row["id"]
            for row in self.expect(response, 200, "v3 declarations list")["data"]
            if row["attributes"]["state"] in LIVE_STATES
        }
        assert live == {held[0] for p in self.people.values() for held in p.declarations.values()}


@pytest.mark.django_db
def test_valid_requests_in_any_order_are_accepted_and_read_back(stateful_world):
    ProviderJourney.world = stateful_world
    journey_settings = settings(
        max_examples=FUZZ_STATEFUL_EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=not RANDOM_SEED,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    run_state_machine_as_test(ProviderJourney, settings=journey_settings)

"""PUT /api/v3/participants/ecf/{id}/withdraw | defer | resume | change-schedule (rules §3, api.md §11.2).

Each rules.md §12 vector is a test named after its behaviour; the vector id is in the docstring.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ecf import clock
from participants.models import (
    InductionStatus,
    Participant,
    ScheduleChange,
    TrainingPeriod,
    TrainingStatusChange,
)
from tests.error_items import without_checked_codes
from tests.factories import (
    DeclarationFactory,
    DeliveryPartnerFactory,
    LeadProviderFactory,
    ParticipantIdChangeFactory,
    PartnershipFactory,
    TrainingPeriodFactory,
    enrolled_participant,
    get_schedule,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/participants/ecf"

SET_UP = datetime(2024, 9, 2, 10, 0, tzinfo=UTC)
NOW = datetime(2024, 12, 10, 12, 0, tzinfo=UTC)  # PV-28's today
NOW_TEXT = "2024-12-10T12:00:00Z"
# 2022's payments froze on 2025-06-16; 2024's are still open (rules §3.7).
AFTER_2022_FROZE = datetime(2025, 9, 10, 12, 0, tzinfo=UTC)

NOT_RECOGNISED = (
    "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again."
)
COURSE_NOT_RECOGNISED = (
    "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again."
)
COURSE_MISSING = "Enter a '#/course_identifier' value for this participant."
REASON_MISSING = "The property '#/reason' must be present"
REASON_INVALID = "The property '#/reason' must be a valid reason"
SCHEDULE_INVALID = "The property '#/schedule_identifier' must be present and correspond to a valid schedule"
INVALIDATES_DECLARATIONS = "Changing schedule would invalidate existing declarations. Please void them first."
COHORT_CANNOT_CHANGE = "You cannot change the '#/cohort' field"
NO_PARTNERSHIP = (
    "You cannot change a participant to this cohort as you do not have a partnership with the school for the "
    "cohort. Contact the DfE for assistance."
)
BAD_JSON = [
    {
        "title": "Bad request",
        "detail": "correct json data structure required. See API docs for reference",
        "code": "request.invalid_body",
    }
]


def act(client, participant_id, action, *, now=NOW, **attributes):
    body = {"data": {"type": f"participant-{action}", "attributes": attributes}}
    with clock.frozen(now):
        return client.put(f"{URL}/{participant_id}/{action}", body, format="json")


def errors(response) -> list[dict]:
    assert response.status_code == 422, response.content
    return without_checked_codes(response.json()["errors"])


def enrolment_shown(response) -> dict:
    assert response.status_code == 200, response.content
    (enrolment,) = response.json()["data"]["attributes"]["ecf_enrolments"]
    return enrolment


def periods(enrolment) -> list[TrainingPeriod]:
    return list(TrainingPeriod.objects.filter(enrolment=enrolment).order_by("start_date", "created_at"))


@pytest.fixture
def ect(lead_provider):
    """P: an ECT on 2024 ecf-standard-september, training with A since the 2024 registration start."""
    with clock.frozen(SET_UP):
        return enrolled_participant(lead_provider=lead_provider)


def enrolled(lead_provider, **kwargs):
    with clock.frozen(SET_UP):
        return enrolled_participant(lead_provider=lead_provider, **kwargs)


# --- Withdraw (PV-25) ---------------------------------------------------------------------------


def test_withdraw_without_a_reason_reports_both_reason_messages(provider_client, ect):
    """PV-25 (a)."""
    response = act(provider_client, ect.participant.id, "withdraw", course_identifier="ecf-induction")

    assert errors(response) == [{"title": "reason", "detail": f"{REASON_MISSING}, {REASON_INVALID}"}]


@pytest.mark.parametrize("reason", ["invalid-value", "school-left-fip"])
def test_withdraw_with_a_reason_not_in_the_list_is_refused(provider_client, ect, reason):
    """PV-25 (b), (c): `school-left-fip` was renamed in 2025 and is refused on input."""
    response = act(provider_client, ect.participant.id, "withdraw", course_identifier="ecf-induction", reason=reason)

    assert errors(response) == [{"title": "reason", "detail": REASON_INVALID}]
    assert TrainingStatusChange.objects.count() == 0


@pytest.mark.parametrize("reason", ["switched-to-school-led", "other"])
def test_withdraw_records_the_withdrawal_and_answers_with_the_participant(provider_client, lead_provider, ect, reason):
    """PV-25 (d), (e)."""
    response = act(provider_client, ect.participant.id, "withdraw", course_identifier="ecf-induction", reason=reason)

    enrolment = enrolment_shown(response)
    assert response.json()["data"]["id"] == str(ect.participant.id)
    assert enrolment["training_status"] == "withdrawn"
    assert enrolment["withdrawal"] == {"reason": reason, "date": NOW_TEXT}
    assert enrolment["deferral"] is None
    assert enrolment["participant_status"] == "active"  # school-reported, not changed by the provider
    change = TrainingStatusChange.objects.get(enrolment=ect.enrolment)
    assert (change.lead_provider, change.training_status, change.reason, change.created_at) == (
        lead_provider,
        "withdrawn",
        reason,
        NOW,
    )
    ect.enrolment.refresh_from_db()
    assert ect.enrolment.training_status == "withdrawn"


def test_withdraw_closes_the_period_and_opens_a_withdrawn_copy(provider_client, ect):
    act(provider_client, ect.participant.id, "withdraw", course_identifier="ecf-induction", reason="other")

    old, new = periods(ect.enrolment)
    assert (old.end_date, old.induction_status, old.training_status) == (NOW, InductionStatus.CHANGED, "active")
    assert (new.start_date, new.end_date, new.induction_status, new.training_status) == (
        NOW,
        None,
        InductionStatus.ACTIVE,
        "withdrawn",
    )
    assert (new.partnership, new.school, new.schedule, new.cohort) == (
        old.partnership,
        old.school,
        old.schedule,
        old.cohort,
    )


def test_a_period_that_starts_in_the_future_is_edited_in_place(provider_client, lead_provider):
    joining = enrolled(lead_provider, start_date=NOW + timedelta(days=20))

    response = act(
        provider_client, joining.participant.id, "withdraw", course_identifier="ecf-induction", reason="other"
    )

    assert enrolment_shown(response)["participant_status"] == "joining"
    (period,) = periods(joining.enrolment)
    assert (period.start_date, period.training_status) == (NOW + timedelta(days=20), "withdrawn")


def test_a_period_that_has_ended_is_edited_in_place(provider_client, lead_provider):
    left = enrolled(lead_provider)
    TrainingPeriod.objects.filter(pk=left.training_period.pk).update(
        end_date=NOW - timedelta(days=3), induction_status=InductionStatus.LEAVING
    )

    response = act(provider_client, left.participant.id, "withdraw", course_identifier="ecf-induction", reason="other")

    assert enrolment_shown(response)["participant_status"] == "left"
    (period,) = periods(left.enrolment)
    assert (period.end_date, period.training_status) == (NOW - timedelta(days=3), "withdrawn")


def test_a_leaving_participant_stays_leaving_after_a_withdrawal(provider_client, lead_provider):
    leaving = enrolled(lead_provider)
    TrainingPeriod.objects.filter(pk=leaving.training_period.pk).update(
        end_date=NOW + timedelta(days=10), induction_status=InductionStatus.LEAVING
    )

    response = act(
        provider_client, leaving.participant.id, "withdraw", course_identifier="ecf-induction", reason="moved-school"
    )

    assert enrolment_shown(response)["participant_status"] == "leaving"
    old, new = periods(leaving.enrolment)
    assert (old.end_date, old.induction_status) == (NOW, InductionStatus.CHANGED)
    assert (new.start_date, new.end_date, new.induction_status) == (NOW, NOW + timedelta(days=10), "leaving")


def test_withdrawal_by_one_provider_leaves_the_other_providers_period_alone(provider_client, lead_provider, ect):
    other = LeadProviderFactory()
    with clock.frozen(SET_UP):
        theirs = TrainingPeriodFactory(enrolment=ect.enrolment, partnership=PartnershipFactory(lead_provider=other))

    act(provider_client, ect.participant.id, "withdraw", course_identifier="ecf-induction", reason="other")

    theirs_now = TrainingPeriod.objects.filter(enrolment=ect.enrolment, partnership__lead_provider=other)
    assert [(p.pk, p.training_status, p.end_date) for p in theirs_now] == [(theirs.pk, "active", None)]


# --- State guards (PV-26), defer and resume ---------------------------------------------------


def test_withdrawing_a_withdrawn_participant_is_refused(provider_client, lead_provider):
    """PV-26: withdraw P1 (withdrawn by A)."""
    p1 = enrolled(lead_provider, training_status="withdrawn")

    response = act(provider_client, p1.participant.id, "withdraw", course_identifier="ecf-induction", reason="other")

    assert errors(response) == [{"title": "participant_profile", "detail": "The participant is already withdrawn"}]


def test_deferring_a_deferred_participant_is_refused(provider_client, lead_provider):
    """PV-26: defer P2 (deferred by A)."""
    p2 = enrolled(lead_provider, training_status="deferred")

    response = act(provider_client, p2.participant.id, "defer", course_identifier="ecf-induction", reason="other")

    assert errors(response) == [{"title": "participant_profile", "detail": "The participant is already deferred"}]


def test_deferring_a_withdrawn_participant_is_refused(provider_client, lead_provider):
    """PV-26: defer P1 (withdrawn by A), reason `other`."""
    p1 = enrolled(lead_provider, training_status="withdrawn")

    response = act(provider_client, p1.participant.id, "defer", course_identifier="ecf-induction", reason="other")

    assert errors(response) == [{"title": "participant_profile", "detail": "The participant is already withdrawn"}]


def test_resuming_an_active_participant_is_refused(provider_client, ect):
    """PV-26: resume P3 (active)."""
    response = act(provider_client, ect.participant.id, "resume", course_identifier="ecf-induction")

    assert errors(response) == [{"title": "participant_profile", "detail": "The participant is already active"}]


@pytest.mark.parametrize("status", ["deferred", "withdrawn"])
def test_deferred_and_withdrawn_participants_can_be_resumed(provider_client, lead_provider, status):
    """PV-26: resume P2 (deferred) and P1 (withdrawn) → active."""
    participant = enrolled(lead_provider, training_status=status)

    response = act(provider_client, participant.participant.id, "resume", course_identifier="ecf-induction")

    enrolment = enrolment_shown(response)
    assert (enrolment["training_status"], enrolment["withdrawal"], enrolment["deferral"]) == ("active", None, None)
    newest = TrainingStatusChange.objects.filter(enrolment=participant.enrolment).latest("created_at")
    assert (newest.training_status, newest.reason, newest.created_at) == ("active", "", NOW)
    participant.enrolment.refresh_from_db()
    assert participant.enrolment.training_status == "active"


def test_a_deferred_participant_can_be_withdrawn(provider_client, lead_provider):
    deferred = enrolled(lead_provider, training_status="deferred")

    response = act(
        provider_client, deferred.participant.id, "withdraw", course_identifier="ecf-induction", reason="other"
    )

    assert enrolment_shown(response)["training_status"] == "withdrawn"


def test_defer_records_the_deferral(provider_client, ect):
    response = act(
        provider_client, ect.participant.id, "defer", course_identifier="ecf-induction", reason="career-break"
    )

    enrolment = enrolment_shown(response)
    assert enrolment["training_status"] == "deferred"
    assert enrolment["deferral"] == {"reason": "career-break", "date": NOW_TEXT}
    assert enrolment["withdrawal"] is None
    assert [p.training_status for p in periods(ect.enrolment)] == ["active", "deferred"]


@pytest.mark.parametrize(
    ("reason", "detail"),
    [
        (None, f"{REASON_MISSING}, {REASON_INVALID}"),
        ("", f"{REASON_MISSING}, {REASON_INVALID}"),
        ("moved-school", REASON_INVALID),
    ],
)
def test_defer_reason_must_be_a_deferral_reason(provider_client, ect, reason, detail):
    attributes = {"course_identifier": "ecf-induction", **({} if reason is None else {"reason": reason})}

    response = act(provider_client, ect.participant.id, "defer", **attributes)

    assert errors(response) == [{"title": "reason", "detail": detail}]


def test_defer_checks_the_reason_even_for_an_unknown_participant(provider_client, ect):
    response = act(provider_client, uuid.uuid4(), "defer", course_identifier="ecf-induction", reason="bad")

    assert errors(response) == [
        {"title": "participant_id", "detail": NOT_RECOGNISED},
        {"title": "reason", "detail": REASON_INVALID},
    ]


# --- Checks common to every action (api.md §11.2 rows 1-4) -------------------------------------

ACTIONS = {
    "withdraw": {"reason": "other"},
    "defer": {"reason": "other"},
    "resume": {},
    "change-schedule": {"schedule_identifier": "ecf-standard-january"},
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("participant_id", [str(uuid.UUID(int=1)), "not-a-uuid"])
def test_an_unknown_participant_is_a_422_on_participant_id(provider_client, ect, action, participant_id):
    response = act(provider_client, participant_id, action, course_identifier="ecf-induction", **ACTIONS[action])

    assert errors(response) == [{"title": "participant_id", "detail": NOT_RECOGNISED}]


@pytest.mark.parametrize("action", list(ACTIONS))
def test_another_providers_participant_is_refused_like_an_unknown_one(provider_client, lead_provider, action):
    theirs = enrolled(LeadProviderFactory(), training_status="deferred" if action == "resume" else "active")

    response = act(provider_client, theirs.participant.id, action, course_identifier="ecf-induction", **ACTIONS[action])

    assert errors(response) == [{"title": "participant_id", "detail": NOT_RECOGNISED}]
    assert periods(theirs.enrolment) == [theirs.training_period]
    assert not TrainingStatusChange.objects.filter(lead_provider=lead_provider).exists()


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_participant_seen_only_through_a_challenged_partnership_is_refused(provider_client, lead_provider, action):
    """decisions §4: a provider acts only on participants it can see."""
    with clock.frozen(SET_UP):
        challenged = PartnershipFactory(lead_provider=lead_provider, challenged=True)
    hidden = enrolled(lead_provider, partnership=challenged)

    response = act(provider_client, hidden.participant.id, action, course_identifier="ecf-induction", **ACTIONS[action])

    assert errors(response) == [{"title": "participant_id", "detail": NOT_RECOGNISED}]
    assert periods(hidden.enrolment) == [hidden.training_period]


def test_an_invisible_participant_gets_exactly_the_errors_of_an_unknown_one(provider_client):
    """Nothing in the answer tells a provider that someone it cannot see exists (decisions §4)."""
    theirs = enrolled(LeadProviderFactory())

    answers = [
        errors(act(provider_client, participant_id, "withdraw", reason="bad"))
        for participant_id in (theirs.participant.id, uuid.uuid4())
    ]

    assert (
        answers[0]
        == answers[1]
        == [
            {"title": "participant_id", "detail": NOT_RECOGNISED},
            {"title": "course_identifier", "detail": COURSE_MISSING},
        ]
    )


def test_an_enrolment_trained_by_another_provider_is_refused(provider_client, lead_provider, ect):
    """The person is visible through their ECT enrolment; their mentor enrolment is another provider's."""
    enrolled(LeadProviderFactory(), participant=ect.participant, kind="mentor")

    response = act(provider_client, ect.participant.id, "withdraw", course_identifier="ecf-mentor", reason="other")

    assert errors(response) == [{"title": "participant_id", "detail": NOT_RECOGNISED}]


def test_a_course_the_participant_does_not_follow_is_refused(provider_client, ect):
    response = act(provider_client, ect.participant.id, "withdraw", course_identifier="ecf-mentor", reason="other")

    assert errors(response) == [{"title": "course_identifier", "detail": COURSE_NOT_RECOGNISED}]


@pytest.mark.parametrize("course", [None, "", "   "])
def test_a_missing_course_gets_both_course_messages(provider_client, ect, course):
    attributes = {"reason": "other", **({} if course is None else {"course_identifier": course})}

    response = act(provider_client, ect.participant.id, "withdraw", **attributes)

    assert errors(response) == [{"title": "course_identifier", "detail": f"{COURSE_NOT_RECOGNISED}, {COURSE_MISSING}"}]


def test_an_unknown_participant_without_a_course_gets_both_errors(provider_client, ect):
    response = act(provider_client, uuid.uuid4(), "resume")

    assert errors(response) == [
        {"title": "participant_id", "detail": NOT_RECOGNISED},
        {"title": "course_identifier", "detail": COURSE_MISSING},
    ]


def test_a_retired_participant_id_still_works(provider_client, ect):
    """api.md §16.21: the id a merge retired is accepted; the answer is the person under their current id."""
    retired = ParticipantIdChangeFactory(participant=ect.participant)

    response = act(
        provider_client, retired.from_participant_id, "withdraw", course_identifier="ecf-induction", reason="other"
    )

    assert response.status_code == 200, response.content
    assert response.json()["data"]["id"] == str(ect.participant.id)
    assert enrolment_shown(response)["training_status"] == "withdrawn"


# --- The request body ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload", [{}, {"attributes": {"course_identifier": "ecf-induction"}}, {"data": "x"}, [{"data": {}}]]
)
def test_a_body_without_a_data_object_is_a_400(provider_client, ect, payload):
    with clock.frozen(NOW):
        response = provider_client.put(f"{URL}/{ect.participant.id}/resume", payload, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == BAD_JSON


@pytest.mark.parametrize(
    ("content", "content_type"), [("{not json", "application/json"), ("reason=other", "text/plain")]
)
def test_an_unreadable_body_is_a_400(provider_client, ect, content, content_type):
    with clock.frozen(NOW):
        response = provider_client.put(f"{URL}/{ect.participant.id}/resume", content, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["errors"] == BAD_JSON


def test_the_type_and_unknown_attributes_are_ignored(provider_client, ect):
    """api.md §16.7."""
    body = {"data": {"type": "anything", "attributes": {"course_identifier": "ecf-induction", "colour": "blue"}}}
    with clock.frozen(NOW):
        response = provider_client.put(f"{URL}/{ect.participant.id}/defer", body, format="json")

    # Only the missing reason is reported: the type and the stray attribute are no error.
    assert errors(response) == [{"title": "reason", "detail": f"{REASON_MISSING}, {REASON_INVALID}"}]


def test_missing_attributes_count_as_empty(provider_client, ect):
    with clock.frozen(NOW):
        response = provider_client.put(
            f"{URL}/{ect.participant.id}/resume", {"data": {"type": "participant-resume"}}, format="json"
        )

    assert errors(response) == [{"title": "course_identifier", "detail": f"{COURSE_NOT_RECOGNISED}, {COURSE_MISSING}"}]


def test_the_token_is_required(api_client, ect):
    response = act(api_client, ect.participant.id, "resume", course_identifier="ecf-induction")

    assert response.status_code == 401


# --- Every action moves the sync timestamp (rules §3.6) ------------------------------------------


@pytest.mark.parametrize(
    ("action", "status", "attributes"),
    [
        ("withdraw", "active", {"reason": "other"}),
        ("defer", "active", {"reason": "other"}),
        ("resume", "deferred", {}),
        ("change-schedule", "active", {"schedule_identifier": "ecf-standard-january"}),
    ],
)
def test_every_action_brings_the_participant_back_into_an_updated_since_sync(
    provider_client, lead_provider, action, status, attributes
):
    person = enrolled(lead_provider, training_status=status).participant
    since = {"filter[updated_since]": NOW_TEXT}
    with clock.frozen(NOW):
        before = provider_client.get(URL, since).json()["data"]

    response = act(provider_client, person.id, action, course_identifier="ecf-induction", **attributes)

    assert response.status_code == 200, response.content
    assert response.json()["data"]["attributes"]["updated_at"] == NOW_TEXT
    with clock.frozen(NOW):
        after = provider_client.get(URL, since).json()["data"]
    assert before == []
    assert [item["id"] for item in after] == [str(person.id)]
    assert Participant.objects.get(pk=person.pk).updated_at == NOW


# --- Change schedule: guards (PV-27) --------------------------------------------------------------


def change_schedule(client, participant, *, now=NOW, **attributes):
    return act(client, participant.id, "change-schedule", now=now, course_identifier="ecf-induction", **attributes)


def test_changing_to_the_current_schedule_is_refused(provider_client, ect):
    """PV-27 (a)."""
    response = change_schedule(
        provider_client, ect.participant, schedule_identifier="ecf-standard-september", cohort=2024
    )

    assert errors(response) == [
        {"title": "schedule_identifier", "detail": "Selected schedule is already on the profile"}
    ]


def test_a_withdrawn_participant_cannot_change_schedule(provider_client, lead_provider):
    """PV-27 (b)."""
    withdrawn = enrolled(lead_provider, training_status="withdrawn")

    response = change_schedule(provider_client, withdrawn.participant, schedule_identifier="ecf-standard-january")

    assert errors(response) == [
        {"title": "participant_id", "detail": "Cannot perform actions on a withdrawn participant"}
    ]


def test_a_deferred_participant_can_change_schedule(provider_client, lead_provider):
    deferred = enrolled(lead_provider, training_status="deferred")

    response = change_schedule(provider_client, deferred.participant, schedule_identifier="ecf-standard-january")

    enrolment = enrolment_shown(response)
    assert (enrolment["schedule_identifier"], enrolment["training_status"]) == ("ecf-standard-january", "deferred")


def test_cohort_cannot_change_while_declarations_are_billable(provider_client, lead_provider, ect):
    """PV-27 (c): the declaration also falls outside the 2025 window, so S4 reports it too."""
    with clock.frozen(SET_UP):
        DeclarationFactory(enrolment=ect.enrolment, eligible=True)
        PartnershipFactory(lead_provider=lead_provider, school=ect.school, cohort=2025)

    response = change_schedule(
        provider_client, ect.participant, schedule_identifier="ecf-standard-september", cohort=2025
    )

    assert errors(response) == [
        {"title": "schedule_identifier", "detail": INVALIDATES_DECLARATIONS},
        {"title": "cohort", "detail": COHORT_CANNOT_CHANGE},
    ]


@pytest.mark.parametrize("partnership_2025", [None, "challenged", "relationship"])
def test_cohort_change_needs_a_confirmed_partnership_with_the_school(
    provider_client, lead_provider, ect, partnership_2025
):
    """PV-27 (d): none, only a challenged one, or only a relationship one."""
    with clock.frozen(SET_UP):
        if partnership_2025 == "challenged":
            PartnershipFactory(lead_provider=lead_provider, school=ect.school, cohort=2025, challenged=True)
        if partnership_2025 == "relationship":
            PartnershipFactory(lead_provider=lead_provider, school=ect.school, cohort=2025, relationship=True)

    response = change_schedule(
        provider_client, ect.participant, schedule_identifier="ecf-standard-september", cohort="2025"
    )

    assert errors(response) == [{"title": "cohort", "detail": NO_PARTNERSHIP}]


def test_schedule_identifier_is_required(provider_client, ect):
    """PV-27 (e)."""
    response = change_schedule(provider_client, ect.participant)

    assert errors(response) == [{"title": "schedule_identifier", "detail": SCHEDULE_INVALID}]


def test_a_schedule_unknown_in_the_cohort_is_refused_as_invalid(provider_client, ect):
    """decisions §3."""
    response = change_schedule(provider_client, ect.participant, schedule_identifier="ecf-standard-march")

    assert errors(response) == [{"title": "schedule_identifier", "detail": SCHEDULE_INVALID}]
    assert ScheduleChange.objects.count() == 0


def test_an_unknown_cohort_has_no_schedules_and_no_partnership(provider_client, ect):
    response = change_schedule(
        provider_client, ect.participant, schedule_identifier="ecf-standard-january", cohort=2031
    )

    assert errors(response) == [
        {"title": "schedule_identifier", "detail": SCHEDULE_INVALID},
        {"title": "cohort", "detail": NO_PARTNERSHIP},
    ]


# --- Change schedule: success and the declaration-fit check (PV-28) -----------------------------


def test_change_schedule_moves_the_participant_to_the_new_schedule(provider_client, ect):
    """PV-28: today 2024-12-10, no declarations, 2024 ecf-standard-september → ecf-standard-january."""
    response = change_schedule(
        provider_client, ect.participant, schedule_identifier="ecf-standard-january", cohort=2024
    )

    enrolment = enrolment_shown(response)
    assert (enrolment["schedule_identifier"], enrolment["cohort"], enrolment["training_status"]) == (
        "ecf-standard-january",
        "2024",
        "active",
    )
    january = get_schedule(cohort=2024, identifier="ecf-standard-january")
    change = ScheduleChange.objects.get(enrolment=ect.enrolment)
    assert (change.schedule, change.created_at) == (january, NOW)
    old, new = periods(ect.enrolment)
    assert (old.end_date, old.induction_status, old.schedule.identifier) == (NOW, "changed", "ecf-standard-september")
    assert (new.start_date, new.schedule, new.cohort_id, new.partnership) == (NOW, january, 2024, ect.partnership)
    ect.enrolment.refresh_from_db()
    assert ect.enrolment.schedule == january


def test_change_schedule_refused_when_a_declaration_falls_outside_the_new_window(provider_client, ect):
    """PV-28: an eligible started of 2024-09-15 is before the 2024 ecf-standard-january started window (2025-01-01)."""
    with clock.frozen(SET_UP):
        DeclarationFactory(
            enrolment=ect.enrolment, eligible=True, declaration_date=datetime(2024, 9, 15, 10, tzinfo=UTC)
        )

    response = change_schedule(
        provider_client, ect.participant, schedule_identifier="ecf-standard-january", cohort=2024
    )

    assert errors(response) == [{"title": "schedule_identifier", "detail": INVALIDATES_DECLARATIONS}]
    assert ScheduleChange.objects.count() == 0


def test_another_providers_declaration_counts_in_the_fit_check(provider_client, ect):
    with clock.frozen(SET_UP):
        DeclarationFactory(
            enrolment=ect.enrolment,
            lead_provider=LeadProviderFactory(),
            submitted=True,
            declaration_date=datetime(2024, 9, 15, 10, tzinfo=UTC),
        )

    response = change_schedule(provider_client, ect.participant, schedule_identifier="ecf-standard-january")

    assert errors(response) == [{"title": "schedule_identifier", "detail": INVALIDATES_DECLARATIONS}]


def test_voided_declarations_do_not_block_a_change(provider_client, ect):
    with clock.frozen(SET_UP):
        DeclarationFactory(enrolment=ect.enrolment, voided=True, declaration_date=datetime(2024, 9, 15, 10, tzinfo=UTC))

    response = change_schedule(provider_client, ect.participant, schedule_identifier="ecf-standard-january")

    assert enrolment_shown(response)["schedule_identifier"] == "ecf-standard-january"


@pytest.mark.parametrize(
    ("declared_at", "fits"),
    [
        (datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC), False),  # the start of the start day itself
        (datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC), True),
        (datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC), True),  # any time on the milestone day
        (datetime(2025, 4, 1, 0, 0, 0, tzinfo=UTC), False),
    ],
)
def test_fit_check_window_edges(provider_client, lead_provider, declared_at, fits):
    """2024 ecf-standard-january `started`: 2025-01-01 → 2025-03-31; an extended schedule accepts any of these."""
    extended = enrolled(lead_provider, schedule_identifier="ecf-extended-september")
    with clock.frozen(SET_UP):
        DeclarationFactory(enrolment=extended.enrolment, eligible=True, declaration_date=declared_at)

    response = change_schedule(
        provider_client,
        extended.participant,
        now=datetime(2025, 5, 1, tzinfo=UTC),
        schedule_identifier="ecf-standard-january",
    )

    if fits:
        assert enrolment_shown(response)["schedule_identifier"] == "ecf-standard-january"
    else:
        assert errors(response) == [{"title": "schedule_identifier", "detail": INVALIDATES_DECLARATIONS}]


def test_a_declaration_type_the_new_schedule_lacks_invalidates_the_change(provider_client, lead_provider):
    """Standard schedules have no extended-1 milestone (rules §3.5 S4, recommended message)."""
    extended = enrolled(lead_provider, schedule_identifier="ecf-extended-september")
    with clock.frozen(SET_UP):
        DeclarationFactory(enrolment=extended.enrolment, eligible=True, declaration_type="extended-1")

    response = change_schedule(provider_client, extended.participant, schedule_identifier="ecf-standard-september")

    assert errors(response) == [{"title": "schedule_identifier", "detail": INVALIDATES_DECLARATIONS}]


def test_cohort_change_trains_under_the_partnership_of_the_new_cohort(provider_client, lead_provider, ect):
    with clock.frozen(SET_UP):
        partnership_2025 = PartnershipFactory(
            lead_provider=lead_provider, school=ect.school, cohort=2025, delivery_partner=DeliveryPartnerFactory()
        )

    response = change_schedule(
        provider_client, ect.participant, schedule_identifier="ecf-standard-september", cohort="2025"
    )

    enrolment = enrolment_shown(response)
    assert (enrolment["cohort"], enrolment["schedule_identifier"], enrolment["delivery_partner_id"]) == (
        "2025",
        "ecf-standard-september",
        str(partnership_2025.delivery_partner_id),
    )
    assert enrolment["cohort_changed_after_payments_frozen"] is False
    new = periods(ect.enrolment)[-1]
    assert (new.cohort_id, new.partnership, new.schedule) == (2025, partnership_2025, get_schedule(cohort=2025))
    with clock.frozen(NOW):
        assert provider_client.get(URL, {"filter[cohort]": "2025"}).json()["data"][0]["id"] == str(ect.participant.id)
        assert provider_client.get(URL, {"filter[cohort]": "2024"}).json()["data"] == []


def test_a_relationship_partnership_allows_a_schedule_only_change(provider_client, lead_provider):
    """rules §3.5 S8: accepted when the cohort stays and only the schedule changes."""
    with clock.frozen(SET_UP):
        relationship = PartnershipFactory(lead_provider=lead_provider, cohort=2024, relationship=True)
    transferred = enrolled(lead_provider, partnership=relationship)

    response = change_schedule(provider_client, transferred.participant, schedule_identifier="ecf-standard-january")

    assert enrolment_shown(response)["schedule_identifier"] == "ecf-standard-january"
    assert periods(transferred.enrolment)[-1].partnership == relationship


# --- Frozen cohorts (rules §3.7) ------------------------------------------------------------------


def frozen_2022(lead_provider, *, kind="ect", completed=False):
    """A 2022 participant with billable 2022 declarations; A partners the school in 2024 and 2025 too."""
    with clock.frozen(AFTER_2022_FROZE - timedelta(days=400)):
        participant = enrolled_participant(lead_provider=lead_provider, cohort=2022, kind=kind)
        DeclarationFactory(enrolment=participant.enrolment, paid=True)
        DeclarationFactory(enrolment=participant.enrolment, eligible=True, declaration_type="retained-1")
        if completed:
            DeclarationFactory(enrolment=participant.enrolment, eligible=True, declaration_type="completed")
        for year in (2024, 2025):
            PartnershipFactory(lead_provider=lead_provider, school=participant.school, cohort=year)
    return participant


def test_an_ect_in_a_frozen_cohort_may_move_to_2024_with_its_declarations(provider_client, lead_provider):
    stuck = frozen_2022(lead_provider)

    response = change_schedule(
        provider_client,
        stuck.participant,
        now=AFTER_2022_FROZE,
        schedule_identifier="ecf-extended-september",
        cohort=2024,
    )

    enrolment = enrolment_shown(response)
    assert (
        enrolment["cohort"],
        enrolment["schedule_identifier"],
        enrolment["cohort_changed_after_payments_frozen"],
    ) == (
        "2024",
        "ecf-extended-september",
        True,
    )
    stuck.enrolment.refresh_from_db()
    assert stuck.enrolment.schedule == get_schedule(cohort=2024, identifier="ecf-extended-september")
    assert stuck.enrolment.cohort_changed_after_payments_frozen is True


def test_an_ect_in_a_frozen_cohort_may_not_move_anywhere_but_2024(provider_client, lead_provider):
    stuck = frozen_2022(lead_provider)

    response = change_schedule(
        provider_client,
        stuck.participant,
        now=AFTER_2022_FROZE,
        schedule_identifier="ecf-extended-september",
        cohort=2025,
    )

    assert {"title": "cohort", "detail": COHORT_CANNOT_CHANGE} in errors(response)


def test_mentors_do_not_get_the_frozen_cohort_exception(provider_client, lead_provider):
    mentor = frozen_2022(lead_provider, kind="mentor")

    response = act(
        provider_client,
        mentor.participant.id,
        "change-schedule",
        now=AFTER_2022_FROZE,
        course_identifier="ecf-mentor",
        schedule_identifier="ecf-extended-september",
        cohort=2024,
    )

    assert {"title": "cohort", "detail": COHORT_CANNOT_CHANGE} in errors(response)


def test_an_ect_with_a_billable_completed_does_not_get_the_exception(provider_client, lead_provider):
    finished = frozen_2022(lead_provider, completed=True)

    response = change_schedule(
        provider_client,
        finished.participant,
        now=AFTER_2022_FROZE,
        schedule_identifier="ecf-extended-september",
        cohort=2024,
    )

    assert {"title": "cohort", "detail": COHORT_CANNOT_CHANGE} in errors(response)


def test_after_the_move_frozen_declarations_no_longer_constrain_schedule_changes(provider_client, lead_provider):
    stuck = frozen_2022(lead_provider)
    change_schedule(
        provider_client,
        stuck.participant,
        now=AFTER_2022_FROZE,
        schedule_identifier="ecf-extended-september",
        cohort=2024,
    )

    response = change_schedule(
        provider_client,
        stuck.participant,
        now=AFTER_2022_FROZE + timedelta(days=1),
        schedule_identifier="ecf-standard-january",
    )

    enrolment = enrolment_shown(response)
    assert (enrolment["cohort"], enrolment["schedule_identifier"]) == ("2024", "ecf-standard-january")
    assert enrolment["cohort_changed_after_payments_frozen"] is True


def test_a_moved_ect_may_go_back_to_its_frozen_cohort(provider_client, lead_provider):
    stuck = frozen_2022(lead_provider)
    change_schedule(
        provider_client,
        stuck.participant,
        now=AFTER_2022_FROZE,
        schedule_identifier="ecf-extended-september",
        cohort=2024,
    )

    response = change_schedule(
        provider_client,
        stuck.participant,
        now=AFTER_2022_FROZE + timedelta(days=1),
        schedule_identifier="ecf-standard-september",
        cohort=2022,
    )

    enrolment = enrolment_shown(response)
    assert (enrolment["cohort"], enrolment["schedule_identifier"]) == ("2022", "ecf-standard-september")
    assert enrolment["cohort_changed_after_payments_frozen"] is False

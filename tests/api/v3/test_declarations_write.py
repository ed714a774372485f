"""POST /api/v3/participant-declarations and PUT …/{id}/void (rules §4, §5; api.md §11.1, §11.4).

Each rules.md §12 vector is a test named after its behaviour; the vector id is in the docstring.
"""

from datetime import UTC, date, datetime

import pytest

from declarations.models import Declaration, DeclarationAttempt, DeclarationState
from ecf import clock
from participants.models import EnrolmentKind
from statements.models import StatementStatus
from tests.error_items import without_checked_codes
from tests.factories import (
    DeclarationFactory,
    LeadProviderFactory,
    ParticipantFactory,
    PartnershipFactory,
    StatementFactory,
    TrainingPeriodFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/participant-declarations"
NOT_RECOGNISED = (
    "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again."
)
ALREADY_SUBMITTED = "A declaration has already been submitted that will be, or has been, paid for this event"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def statement(lead_provider, cohort, year, month, deadline, *, output_fee=True, status=StatementStatus.OPEN):
    extra = {"marked_as_paid_at": at(year, month, 1)} if status == StatementStatus.PAID else {}
    return StatementFactory(
        lead_provider=lead_provider,
        cohort=cohort,
        year=year,
        month=month,
        deadline_date=deadline,
        payment_date=date(year, month, 25),
        output_fee=output_fee,
        status=status,
        **extra,
    )


def body(participant, **attributes) -> dict:
    attributes = {
        "participant_id": str(participant.id),
        "declaration_type": "started",
        "declaration_date": "2024-06-01T00:00:00Z",
        "course_identifier": "ecf-induction",
        **attributes,
    }
    return {"data": {"type": "participant-declaration", "attributes": attributes}}


TODAY = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
VOID_DAY = datetime(2025, 2, 10, 12, 0, tzinfo=UTC)


def post(client, payload, now=TODAY):
    with clock.frozen(now):
        return client.post(URL, payload, format="json")


def errors(response) -> list[dict]:
    assert response.status_code == 422, response.content
    return without_checked_codes(response.json()["errors"])


@pytest.fixture
def calendar_2024(lead_provider):
    """A's 2024 statements of PV-01."""
    return {
        "November 2024": statement(lead_provider, 2024, 2024, 11, date(2024, 10, 31), output_fee=False),
        "January 2025": statement(lead_provider, 2024, 2025, 1, date(2024, 12, 31)),
        "April 2025": statement(lead_provider, 2024, 2025, 4, date(2025, 3, 31)),
    }


@pytest.fixture
def ect(lead_provider):
    with clock.frozen(at(2024, 6, 1)):
        mentor = enrolled_participant(lead_provider=lead_provider, kind=EnrolmentKind.MENTOR)
        return enrolled_participant(lead_provider=lead_provider, school=mentor.school, mentor=mentor.enrolment)


def test_fundable_ect_started_lands_on_next_output_statement(provider_client, lead_provider, ect, calendar_2024):
    """PV-01."""
    response = post(provider_client, body(ect.participant, evidence_held="training-event-attended"))

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    attributes = data["attributes"]
    assert data["type"] == "participant-declaration"
    assert attributes["state"] == "eligible"
    assert attributes["statement_id"] == str(calendar_2024["January 2025"].id)
    assert attributes["clawback_statement_id"] is None
    assert attributes["evidence_held"] is None
    assert attributes["delivery_partner_id"] == str(ect.delivery_partner.id)
    assert attributes["mentor_id"] == str(ect.training_period.mentor.participant_id)
    assert attributes["lead_provider_name"] == lead_provider.name
    assert attributes["declaration_date"] == "2024-06-01T00:00:00Z"
    attempt = DeclarationAttempt.objects.get()
    assert str(attempt.declaration_id) == data["id"]
    assert attempt.errors is None


def test_non_fundable_participant_is_submitted_without_a_statement(provider_client, lead_provider):
    """PV-02."""
    with clock.frozen(at(2024, 6, 1)):
        ect = enrolled_participant(lead_provider=lead_provider, fundable=False, eligibility_status="manual_check")

    response = post(provider_client, body(ect.participant, declaration_date="2024-09-10T10:00:00Z"))

    assert response.status_code == 200, response.content
    assert response.json()["data"]["attributes"]["state"] == "submitted"
    assert response.json()["data"]["attributes"]["statement_id"] is None


def test_fundable_participant_without_a_future_output_statement_is_refused(provider_client, ect):
    """PV-03."""
    response = post(provider_client, body(ect.participant, declaration_date="2024-09-10T10:00:00Z"))

    assert errors(response) == [
        {
            "title": "cohort",
            "detail": "You cannot submit or void declarations for the 2024 cohort. The funding contract for this "
            "cohort has ended. Get in touch if you need to discuss this with us",
        }
    ]
    assert Declaration.objects.count() == 0
    assert DeclarationAttempt.objects.count() == 1


def test_reposting_the_same_type_is_refused_as_a_duplicate(provider_client, ect, calendar_2024):
    """PV-04."""
    assert post(provider_client, body(ect.participant)).status_code == 200

    again = post(provider_client, body(ect.participant))
    later_date = post(provider_client, body(ect.participant, declaration_date="2024-06-01T00:00:01Z"))

    assert errors(again) == [{"title": "base", "detail": ALREADY_SUBMITTED}]
    assert errors(later_date) == [{"title": "base", "detail": ALREADY_SUBMITTED}]
    assert Declaration.objects.count() == 1
    assert DeclarationAttempt.objects.count() == 3


def test_another_providers_declaration_holds_the_slot_too(provider_client, ect, calendar_2024):
    """rules §4.6: the slot is across providers."""
    DeclarationFactory(enrolment=ect.enrolment, lead_provider=LeadProviderFactory(), eligible=True)

    assert errors(post(provider_client, body(ect.participant))) == [{"title": "base", "detail": ALREADY_SUBMITTED}]


def test_a_voided_declaration_frees_the_slot(provider_client, ect, calendar_2024):
    DeclarationFactory(enrolment=ect.enrolment, voided=True)

    assert post(provider_client, body(ect.participant)).status_code == 200


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("2021-06-21 08:46:29", "Enter a valid RCF3339 '#/declaration_date'."),
        ("2023-19-01T11:21:55Z", "Enter a valid RCF3339 '#/declaration_date'."),
        ("2024-06-01", "Enter a valid RCF3339 '#/declaration_date'."),
        ("", "Enter a '#/declaration_date'."),
    ],
)
def test_badly_formatted_declaration_date(provider_client, ect, calendar_2024, value, detail):
    """PV-05."""
    assert errors(post(provider_client, body(ect.participant, declaration_date=value))) == [
        {"title": "declaration_date", "detail": detail}
    ]


def test_declaration_before_the_milestone_start_is_refused(provider_client, ect, calendar_2024):
    """PV-06."""
    before = post(provider_client, body(ect.participant, declaration_date="2024-05-31T23:59:59Z"))

    assert errors(before) == [
        {"title": "declaration_date", "detail": "Enter a '#/declaration_date' that's on or after the milestone start."}
    ]
    assert post(provider_client, body(ect.participant, declaration_date="2024-06-01T00:00:00Z")).status_code == 200


def test_milestone_day_itself_is_inside_the_window(provider_client, lead_provider, ect):
    """PV-07."""
    statement(lead_provider, 2024, 2025, 6, date(2025, 5, 31))
    DeclarationFactory(enrolment=ect.enrolment, eligible=True)
    now = at(2025, 5, 10, 12, 0)
    retained = {"declaration_type": "retained-1", "evidence_held": "training-event-attended"}

    after = post(provider_client, body(ect.participant, declaration_date="2025-04-01T00:00:00Z", **retained), now)
    on_the_day = post(provider_client, body(ect.participant, declaration_date="2025-03-31T23:00:00Z", **retained), now)

    assert errors(after) == [
        {"title": "declaration_date", "detail": "Enter a '#/declaration_date' that's before the milestone end date."}
    ]
    assert on_the_day.status_code == 200


def test_future_declaration_date_is_refused(provider_client, ect, calendar_2024):
    """PV-08."""
    response = post(provider_client, body(ect.participant, declaration_date="2024-10-16T00:00:00Z"))

    assert errors(response) == [
        {
            "title": "declaration_date",
            "detail": "The '#/declaration_date' value cannot be a future date. Check the date and try again.",
        }
    ]


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        (None, "Enter a '#/evidence_held' value for this participant."),
        ("", "Enter a '#/evidence_held' value for this participant."),
        ("anything", "Enter an available '#/evidence_held' type for this participant's event and course."),
        ("other", None),
    ],
)
def test_evidence_is_required_for_retained_in_cohorts_before_2025(
    provider_client, lead_provider, ect, evidence, expected
):
    """PV-09."""
    statement(lead_provider, 2024, 2025, 4, date(2025, 3, 31))
    DeclarationFactory(enrolment=ect.enrolment, eligible=True)
    attributes = {"declaration_type": "retained-1", "declaration_date": "2025-02-01T09:00:00Z"}
    if evidence is not None:
        attributes["evidence_held"] = evidence

    response = post(provider_client, body(ect.participant, **attributes), at(2025, 2, 15, 12, 0))

    if expected is None:
        assert response.status_code == 200
        assert response.json()["data"]["attributes"]["evidence_held"] == "other"
    else:
        assert errors(response) == [{"title": "evidence_held", "detail": expected}]


@pytest.mark.parametrize("evidence", ["anything", "test"])
def test_started_evidence_is_discarded_before_2025(provider_client, ect, calendar_2024, evidence):
    """PV-10."""
    response = post(provider_client, body(ect.participant, evidence_held=evidence))

    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["evidence_held"] is None


@pytest.fixture
def cohort_2025(lead_provider):
    """Today 2025-10-01, an output statement for 2025 with deadline 2025-10-31, P (ECT) and M (mentor)."""
    statement(lead_provider, 2025, 2025, 11, date(2025, 10, 31))
    with clock.frozen(at(2025, 6, 1)):
        mentor = enrolled_participant(lead_provider=lead_provider, cohort=2025, kind=EnrolmentKind.MENTOR)
        ect = enrolled_participant(lead_provider=lead_provider, cohort=2025, school=mentor.school)
    return ect, mentor


@pytest.mark.parametrize(
    ("evidence", "accepted", "stored"),
    [
        (None, True, None),
        ("anything", False, None),
        ("materials-engaged-with-offline", True, "materials-engaged-with-offline"),
    ],
)
def test_detailed_evidence_for_started_in_2025(provider_client, cohort_2025, evidence, accepted, stored):
    """PV-11."""
    ect, _ = cohort_2025
    attributes = {"declaration_date": "2025-09-15T10:00:00Z"}
    if evidence is not None:
        attributes["evidence_held"] = evidence

    response = post(provider_client, body(ect.participant, **attributes), at(2025, 10, 1, 12, 0))

    if accepted:
        assert response.status_code == 200
        assert response.json()["data"]["attributes"]["evidence_held"] == stored
    else:
        assert errors(response) == [
            {
                "title": "evidence_held",
                "detail": "Enter an available '#/evidence_held' type for this participant's event and course.",
            }
        ]


def test_detailed_evidence_per_declaration_type(provider_client, cohort_2025):
    """PV-12."""
    ect, mentor = cohort_2025
    now = at(2025, 10, 1, 12, 0)
    not_available = "Enter an available '#/evidence_held' type for this participant's event and course."

    def send(person, course, declaration_type, evidence=None):
        attributes = {"declaration_type": declaration_type, "declaration_date": "2025-09-20T10:00:00Z"}
        attributes["course_identifier"] = course
        if evidence is not None:
            attributes["evidence_held"] = evidence
        return post(provider_client, body(person.participant, **attributes), now)

    assert errors(send(ect, "ecf-induction", "retained-1", "one-term-induction")) == [
        {"title": "evidence_held", "detail": not_available}
    ]
    assert send(ect, "ecf-induction", "retained-1", "other").status_code == 200
    assert errors(send(mentor, "ecf-mentor", "completed", "one-term-induction")) == [
        {"title": "evidence_held", "detail": not_available}
    ]
    assert errors(send(mentor, "ecf-mentor", "completed")) == [
        {"title": "evidence_held", "detail": "Enter a '#/evidence_held' value for this participant."}
    ]
    assert send(mentor, "ecf-mentor", "completed", "75-percent-engagement-met").status_code == 200


@pytest.mark.parametrize(
    "declaration_type",
    ["retained-1", "retained-2", "retained-3", "retained-4", "extended-1", "extended-2", "extended-3"],
)
def test_mentors_in_mentor_funding_cohorts_only_send_started_or_completed(
    provider_client, lead_provider, declaration_type
):
    """PV-13."""
    statement(lead_provider, 2025, 2025, 11, date(2025, 10, 31))
    with clock.frozen(at(2025, 9, 1)):
        mentor = enrolled_participant(
            lead_provider=lead_provider,
            cohort=2025,
            kind=EnrolmentKind.MENTOR,
            schedule_identifier="ecf-extended-september",
        )
    attributes = {
        "course_identifier": "ecf-mentor",
        "declaration_type": declaration_type,
        "declaration_date": "2025-09-20T10:00:00Z",
        "evidence_held": "other",
    }

    response = post(provider_client, body(mentor.participant, **attributes), at(2025, 10, 1, 12, 0))

    assert {
        "title": "declaration_type",
        "detail": (
            "You cannot send retained or extended declarations for participants who began their mentor training after "
            "June 2025. Resubmit this declaration with either a started or completed declaration."
        ),
    } in errors(response)


def test_mentors_before_2025_may_send_retained(provider_client, lead_provider):
    """PV-13, the 2024 half."""
    statement(lead_provider, 2024, 2025, 4, date(2025, 3, 31))
    with clock.frozen(at(2024, 6, 1)):
        mentor = enrolled_participant(lead_provider=lead_provider, kind=EnrolmentKind.MENTOR)
    attributes = {
        "course_identifier": "ecf-mentor",
        "declaration_type": "retained-1",
        "declaration_date": "2025-02-01T10:00:00Z",
        "evidence_held": "other",
    }

    assert post(provider_client, body(mentor.participant, **attributes), at(2025, 2, 15)).status_code == 200


def test_mentor_funding_rule_does_not_affect_ects(provider_client, cohort_2025):
    """PV-14."""
    ect, mentor = cohort_2025
    now = at(2025, 10, 1, 12, 0)
    date_sent = {"declaration_date": "2025-09-20T10:00:00Z"}

    retained = post(
        provider_client, body(ect.participant, declaration_type="retained-1", evidence_held="other", **date_sent), now
    )
    started = post(provider_client, body(mentor.participant, course_identifier="ecf-mentor", **date_sent), now)
    completed = post(
        provider_client,
        body(
            mentor.participant,
            course_identifier="ecf-mentor",
            declaration_type="completed",
            evidence_held="75-percent-engagement-met",
            **date_sent,
        ),
        now,
    )

    assert [retained.status_code, started.status_code, completed.status_code] == [200, 200, 200]


def test_completed_mentor_declaration_sets_mentor_funding_end(provider_client, lead_provider, cohort_2025):
    """rules §4.10."""
    _, mentor = cohort_2025
    attributes = {
        "course_identifier": "ecf-mentor",
        "declaration_type": "completed",
        "declaration_date": "2025-09-20T10:00:00Z",
        "evidence_held": "75-percent-engagement-met",
    }
    response = post(provider_client, body(mentor.participant, **attributes), at(2025, 10, 1, 12, 0))
    mentor.enrolment.refresh_from_db()
    assert mentor.enrolment.mentor_completion_date == date(2025, 9, 20)
    assert mentor.enrolment.mentor_completion_reason == "completed_declaration_received"

    with clock.frozen(at(2025, 10, 2)):
        provider_client.put(f"{URL}/{response.json()['data']['id']}/void")

    mentor.enrolment.refresh_from_db()
    assert mentor.enrolment.mentor_completion_date is None
    assert mentor.enrolment.mentor_completion_reason is None


@pytest.mark.parametrize("course", ["ecf-mentor", "typoed-course-name"])
def test_course_identifier_must_match_the_participant(provider_client, ect, calendar_2024, course):
    """PV-15."""
    assert errors(post(provider_client, body(ect.participant, course_identifier=course))) == [
        {
            "title": "course_identifier",
            "detail": "The entered '#/course_identifier' is not recognised for the given participant. "
            "Check details and try again.",
        }
    ]


def test_npq_courses_are_refused_before_anything_else(provider_client, ect):
    assert errors(post(provider_client, body(ect.participant, course_identifier="npq-headship"))) == [
        {"title": "course_identifier", "detail": "NPQ Courses are no longer supported"}
    ]
    assert DeclarationAttempt.objects.count() == 0


def test_participant_of_another_provider_is_not_recognised(provider_client, calendar_2024):
    """PV-16."""
    with clock.frozen(at(2024, 6, 1)):
        theirs = enrolled_participant(lead_provider=LeadProviderFactory())

    assert errors(post(provider_client, body(theirs.participant))) == [
        {"title": "participant_id", "detail": NOT_RECOGNISED}
    ]
    assert Declaration.objects.count() == 0
    assert DeclarationAttempt.objects.count() == 1


def test_participant_seen_only_through_a_challenged_partnership_is_not_recognised(provider_client, ect, calendar_2024):
    """decisions §4."""
    ect.partnership.challenge_reason = "mistake"
    ect.partnership.challenged_at = at(2024, 9, 1)
    ect.partnership.save()

    assert errors(post(provider_client, body(ect.participant))) == [
        {"title": "participant_id", "detail": NOT_RECOGNISED}
    ]


def test_unknown_and_malformed_participant_ids_create_no_attempt(provider_client, calendar_2024):
    for participant_id in ["c0ffee00-0000-4000-8000-000000000000", "not-a-uuid"]:
        payload = body(ParticipantFactory.build(), participant_id=participant_id)
        assert errors(post(provider_client, payload)) == [{"title": "participant_id", "detail": NOT_RECOGNISED}]
    assert DeclarationAttempt.objects.count() == 0


@pytest.mark.parametrize(
    ("declaration_date", "accepted"),
    [("2024-09-10T12:00:01Z", False), ("2024-09-10T12:00:00Z", False), ("2024-09-10T11:59:59Z", True)],
)
def test_declarations_after_a_withdrawal_are_refused(
    provider_client, lead_provider, calendar_2024, declaration_date, accepted
):
    """PV-17."""
    with clock.frozen(at(2024, 9, 10, 12, 0)):
        ect = enrolled_participant(lead_provider=lead_provider, training_status="withdrawn", start_date=at(2024, 6, 1))

    response = post(provider_client, body(ect.participant, declaration_date=declaration_date))

    if accepted:
        assert response.status_code == 200
    else:
        assert errors(response) == [
            {
                "title": "participant_id",
                "detail": "This participant withdrew from this course on 2024-09-10T12:00:00Z. "
                "Enter a '#/declaration_date' that's on or before the withdrawal date.",
            }
        ]


def test_deferred_participants_can_still_be_declared_for(provider_client, lead_provider, calendar_2024):
    with clock.frozen(at(2024, 6, 1)):
        ect = enrolled_participant(lead_provider=lead_provider, training_status="deferred")

    assert post(provider_client, body(ect.participant)).status_code == 200


def test_empty_attributes_give_three_errors_in_order(provider_client):
    """PV-18."""
    response = post(provider_client, {"data": {"type": "participant-declaration", "attributes": {}}})

    assert errors(response) == [
        {"title": "participant_id", "detail": NOT_RECOGNISED},
        {"title": "declaration_date", "detail": "Enter a '#/declaration_date'."},
        {"title": "declaration_type", "detail": "Enter a '#/declaration_type'."},
    ]


@pytest.mark.parametrize("payload", [{}, [], "text", {"attributes": {}}])
def test_missing_json_api_envelope_is_a_400(provider_client, payload):
    """PV-19."""
    response = post(provider_client, payload)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "correct json data structure required. See API docs for reference",
                "code": "request.invalid_body",
            }
        ]
    }


def test_malformed_json_is_a_400_in_the_envelope(provider_client):
    """decisions §2."""
    with clock.frozen(at(2024, 10, 15)):
        response = provider_client.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["title"] == "Bad request"


def test_unknown_declaration_type_does_not_exist_for_the_schedule(provider_client, ect, calendar_2024):
    assert errors(post(provider_client, body(ect.participant, declaration_type="extended-1"))) == [
        {"title": "declaration_type", "detail": "The property '#/declaration_type' does not exist for this schedule."}
    ]


def test_same_trn_under_another_account_is_accepted_as_ineligible(provider_client, lead_provider, ect, calendar_2024):
    """rules §4.6: a duplicate account of the same teacher."""
    with clock.frozen(at(2024, 6, 1)):
        twin = enrolled_participant(
            lead_provider=lead_provider, participant=ParticipantFactory(trn=ect.participant.trn)
        )
    first = post(provider_client, body(ect.participant))

    second = post(provider_client, body(twin.participant))

    assert second.status_code == 200
    attributes = second.json()["data"]["attributes"]
    assert attributes["state"] == "ineligible"
    assert attributes["ineligible_for_funding_reason"] == "duplicate_declaration"
    assert attributes["statement_id"] is None
    declaration = Declaration.objects.get(pk=second.json()["data"]["id"])
    assert str(declaration.superseded_by_id) == first.json()["data"]["id"]


def test_uplift_flags_are_copied_and_delivery_partner_taken_at_the_declaration_date(
    provider_client, lead_provider, calendar_2024
):
    with clock.frozen(at(2024, 6, 1)):
        ect = enrolled_participant(lead_provider=lead_provider, sparsity_uplift=True, start_date=at(2024, 6, 1))
    later = PartnershipFactory(lead_provider=lead_provider)
    ect.training_period.end_date = at(2024, 9, 1)
    ect.training_period.save()
    TrainingPeriodFactory(enrolment=ect.enrolment, partnership=later, start_date=at(2024, 9, 1))

    response = post(provider_client, body(ect.participant, declaration_date="2024-07-01T00:00:00Z"))

    declaration = Declaration.objects.get(pk=response.json()["data"]["id"])
    assert declaration.sparsity_uplift is True
    assert declaration.delivery_partner_id == ect.delivery_partner.id


def test_retired_participant_id_is_still_accepted(provider_client, ect, calendar_2024):
    """api.md §16.21."""
    from tests.factories import ParticipantIdChangeFactory

    change = ParticipantIdChangeFactory(participant=ect.participant, to_participant_id=ect.participant.id)

    response = post(provider_client, body(ect.participant, participant_id=str(change.from_participant_id)))

    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["participant_id"] == str(ect.participant.id)


def test_has_passed_and_unknown_attributes_are_ignored(provider_client, ect, calendar_2024):
    response = post(provider_client, body(ect.participant, has_passed=True, colour="blue"))

    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["has_passed"] is None


# --- Void -----------------------------------------------------------------------------------------


def void(client, declaration_id, now=VOID_DAY):
    with clock.frozen(now):
        return client.put(f"{URL}/{declaration_id}/void")


@pytest.mark.parametrize("state", ["submitted", "eligible", "payable", "ineligible"])
def test_void_of_an_unpaid_declaration(provider_client, lead_provider, state):
    """PV-20."""
    ect = enrolled_participant(lead_provider=lead_provider)
    declaration = DeclarationFactory(enrolment=ect.enrolment, **{state: True})

    response = void(provider_client, declaration.id)

    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert attributes["state"] == "voided"
    assert attributes["statement_id"] is None
    assert attributes["clawback_statement_id"] is None
    declaration.refresh_from_db()
    assert declaration.state == DeclarationState.VOIDED
    assert declaration.state_changes.filter(state="voided", actor_lead_provider=lead_provider).exists()


def test_void_of_paid_declaration_creates_clawback_on_next_output_statement(provider_client, lead_provider):
    """PV-21."""
    january = statement(lead_provider, 2024, 2025, 1, date(2024, 12, 31), status=StatementStatus.PAID)
    statement(lead_provider, 2024, 2025, 3, date(2025, 2, 28), output_fee=False)
    april = statement(lead_provider, 2024, 2025, 4, date(2025, 3, 31))
    ect = enrolled_participant(lead_provider=lead_provider)
    declaration = DeclarationFactory(enrolment=ect.enrolment, paid=True, statement=january)

    response = void(provider_client, declaration.id)

    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert attributes["state"] == "awaiting-clawback"
    assert attributes["statement_id"] == str(january.id)
    assert attributes["clawback_statement_id"] == str(april.id)
    declaration.refresh_from_db()
    assert declaration.statement_line_state(april.id) == "awaiting_clawback"
    assert declaration.statement_line_state(january.id) == "paid"
    assert declaration.state_changes.filter(state="awaiting_clawback").exists()


def test_void_of_paid_declaration_without_an_output_statement_left(provider_client, lead_provider):
    """PV-22."""
    paid = statement(lead_provider, 2022, 2023, 2, date(2023, 1, 31), status=StatementStatus.PAID)
    ect = enrolled_participant(lead_provider=lead_provider, cohort=2022)
    declaration = DeclarationFactory(enrolment=ect.enrolment, paid=True, statement=paid)

    response = void(provider_client, declaration.id)

    assert errors(response) == [
        {
            "title": "Invalid action",
            "detail": "Participant declaration You cannot submit or void declarations for the 2022 cohort. The "
            "funding contract for this cohort has ended. Get in touch if you need to discuss this with us",
        }
    ]
    declaration.refresh_from_db()
    assert declaration.state == DeclarationState.PAID


@pytest.mark.parametrize(
    ("state", "detail"),
    [
        ("voided", "This declaration has already been voided."),
        ("awaiting_clawback", "This declaration has been clawed-back, so you can only view it."),
        ("clawed_back", "This declaration has been clawed-back, so you can only view it."),
    ],
)
def test_void_is_refused_for_voided_and_clawback_states(provider_client, lead_provider, state, detail):
    """PV-23."""
    ect = enrolled_participant(lead_provider=lead_provider)
    declaration = DeclarationFactory(enrolment=ect.enrolment, **{state: True})

    assert errors(void(provider_client, declaration.id)) == [{"title": "Invalid action", "detail": detail}]


def test_voiding_twice_gives_already_voided_the_second_time(provider_client, lead_provider):
    """PV-23."""
    ect = enrolled_participant(lead_provider=lead_provider)
    declaration = DeclarationFactory(enrolment=ect.enrolment, eligible=True)

    assert void(provider_client, declaration.id).status_code == 200
    assert errors(void(provider_client, declaration.id)) == [
        {"title": "Invalid action", "detail": "This declaration has already been voided."}
    ]


def test_another_providers_declaration_cannot_be_voided(provider_client, lead_provider):
    """rules §5.3: 404 even when the declaration is visible in the list."""
    ect = enrolled_participant(lead_provider=lead_provider)
    theirs = DeclarationFactory(enrolment=ect.enrolment, lead_provider=LeadProviderFactory(), eligible=True)

    response = void(provider_client, theirs.id)

    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}
    theirs.refresh_from_db()
    assert theirs.state == DeclarationState.ELIGIBLE


def test_void_of_unknown_or_malformed_id_is_not_found(provider_client):
    assert void(provider_client, "c0ffee00-0000-4000-8000-000000000000").status_code == 404
    assert void(provider_client, "nope").status_code == 404
